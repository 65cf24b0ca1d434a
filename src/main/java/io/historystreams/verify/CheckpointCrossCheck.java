package io.historystreams.verify;

import java.security.MessageDigest;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The checks that need more than one file of a checkpoint: transaction and result sets against every header
 * (ledgers without an entry have the empty set), the HAS bucket-list hash against the checkpoint header, and the
 * link from the first header to the previous checkpoint's last.
 */
public final class CheckpointCrossCheck {
    /** The first protocol whose transaction sets are generalized (CAP-0042). */
    static final int GENERALIZED_TX_SET_PROTOCOL = 20;
    /** The first protocol whose Soroban phase is the parallel form (CAP-0063). */
    static final int PARALLEL_SOROBAN_PHASE_PROTOCOL = 23;
    private static final Hash EMPTY_RESULT_SET = Hash.sha256(new byte[4]);

    private CheckpointCrossCheck() {
    }

    /**
     * Every header's txSetHash against the file's sets; a set must also name its header's previousLedgerHash and
     * have the form of the previous ledger's protocol (generalized from protocol 20: the set is built before an
     * upgrade in its ledger applies; stellar-core refuses a set of the other form). A ledger without an entry must
     * carry the empty set built in the previous ledger's protocol.
     *
     * @param previousLedgerVersion the protocol of the ledger before the first header (the previous checkpoint's last),
     *                              or null when not known: then the first ledger's set (or empty set) is only checked
     *                              to have a form its own protocol allows, and the caller completes the check once it
     *                              knows ({@link #firstSetPending}, {@link #firstSet})
     */
    public static void transactionSets(final List<LedgerHeaderSummary> headers, final List<LedgerSetHash> sets,
            final Integer previousLedgerVersion, final String file) throws VerificationException {
        final Map<Long, LedgerSetHash> byLedger = index(sets);
        Integer prevVersion = previousLedgerVersion;
        for (final LedgerHeaderSummary h : headers) {
            final LedgerSetHash set = byLedger.remove(h.ledgerSeq());
            if (set != null) {
                if (!set.hash().equals(h.txSetHash())) {
                    throw new VerificationException(FailureReason.TX_SET_HASH_MISMATCH, file, "ledger "
                            + h.ledgerSeq() + " transaction set hashes to " + set.hash().shortHex()
                            + ", its header says " + h.txSetHash().shortHex());
                }
                setFitsHeader(h, set, prevVersion, file);
            } else if (!emptySetMatches(h, prevVersion)) {
                throw emptySetMismatch(h, prevVersion, file);
            }
            prevVersion = h.ledgerVersion();
        }
        if (!byLedger.isEmpty()) {
            throw new VerificationException(FailureReason.WRONG_CHECKPOINT, file,
                    "entries for ledgers without a header: " + byLedger.keySet());
        }
    }

    /**
     * A set whose hash matched its header: it names the header's previous ledger, and has the form of the previous
     * ledger's protocol (when {@code prevVersion} is null, a form {@code h}'s own protocol allows: protocols only
     * rise, so a generalized set below protocol 20 is wrong whatever came before).
     */
    private static void setFitsHeader(final LedgerHeaderSummary h, final LedgerSetHash set, final Integer prevVersion,
            final String file) throws VerificationException {
        if (set.previousLedgerHash() != null && !set.previousLedgerHash().equals(h.previousLedgerHash())) {
            throw new VerificationException(FailureReason.TX_SET_HASH_MISMATCH, file, "ledger " + h.ledgerSeq()
                    + " transaction set names previous ledger hash " + set.previousLedgerHash().shortHex()
                    + ", its header's previousLedgerHash is " + h.previousLedgerHash().shortHex());
        }
        if (prevVersion != null ? set.generalized() != generalizedIn(prevVersion)
                : set.generalized() && !generalizedIn(h.ledgerVersion())) {
            throw formMismatch(h, set.generalized(), prevVersion != null ? prevVersion : h.ledgerVersion(),
                    prevVersion != null ? "the previous ledger's" : "its own", file);
        }
    }

    private static boolean generalizedIn(final int protocol) {
        return protocol >= GENERALIZED_TX_SET_PROTOCOL;
    }

    private static VerificationException formMismatch(final LedgerHeaderSummary h, final boolean generalized,
            final int protocol, final String whose, final String file) {
        return new VerificationException(FailureReason.TX_SET_HASH_MISMATCH, file, "ledger " + h.ledgerSeq()
                + " has a " + (generalized ? "generalized" : "legacy") + " transaction set, but " + whose
                + " protocol " + protocol + " makes " + (generalizedIn(protocol) ? "generalized" : "legacy")
                + " sets (generalized from protocol " + GENERALIZED_TX_SET_PROTOCOL + ")");
    }

    private static VerificationException emptySetMismatch(final LedgerHeaderSummary h, final Integer prevVersion,
            final String file) {
        return new VerificationException(FailureReason.TX_SET_HASH_MISMATCH, file, "ledger " + h.ledgerSeq()
                + " has no transaction entry but its header's txSetHash " + h.txSetHash().shortHex()
                + " is not the empty set" + (h.ledgerSeq() == 1 ? " of genesis (all zeros)"
                        : prevVersion == null ? " in any form up to its protocol " + h.ledgerVersion()
                        : " in the form of the previous ledger's protocol " + prevVersion)
                + " (an entry is missing, or the header names a set of another form)");
    }

    /**
     * The first ledger's transaction set, when {@link #transactionSets} could not finish its check without the
     * previous ledger's protocol.
     *
     * @param entry the ledger's entry, or null when it has none (its header must then carry the empty set)
     */
    public record FirstSet(LedgerSetHash entry) {
    }

    /**
     * What {@link #transactionSets} left of the first ledger's check for want of the previous ledger's protocol, else
     * null (genesis, or an entry whose form its own protocol settles: legacy below protocol 20).
     */
    public static FirstSet firstSetPending(final List<LedgerHeaderSummary> headers, final List<LedgerSetHash> sets) {
        final LedgerHeaderSummary first = headers.get(0);
        if (first.ledgerSeq() == 1) {
            return null;
        }
        final LedgerSetHash set = sets.stream().filter(s -> s.ledgerSeq() == first.ledgerSeq()).findFirst()
                .orElse(null);
        return set == null || generalizedIn(first.ledgerVersion()) ? new FirstSet(set) : null;
    }

    /**
     * The rest of the check {@link #firstSetPending} names: the first ledger's set (or empty set) in the form of
     * {@code previousLast}'s protocol (the set is built before the upgrade in that ledger applies).
     */
    public static void firstSet(final LedgerHeaderSummary previousLast, final LedgerHeaderSummary first,
            final FirstSet set, final String file) throws VerificationException {
        if (set.entry() != null) {
            if (set.entry().generalized() != generalizedIn(previousLast.ledgerVersion())) {
                throw formMismatch(first, set.entry().generalized(), previousLast.ledgerVersion(),
                        "the previous ledger's", file);
            }
            return;
        }
        if (!emptyTxSetHash(first.previousLedgerHash(), previousLast.ledgerVersion()).equals(first.txSetHash())) {
            throw new VerificationException(FailureReason.TX_SET_HASH_MISMATCH, file, "ledger " + first.ledgerSeq()
                    + " has no transaction entry but its header's txSetHash " + first.txSetHash().shortHex()
                    + " is not the empty set in the form of the previous ledger's protocol "
                    + previousLast.ledgerVersion());
        }
    }

    private static boolean emptySetMatches(final LedgerHeaderSummary h, final Integer prevVersion) {
        if (h.ledgerSeq() == 1) {
            return h.txSetHash().isZero();
        }
        if (prevVersion != null) {
            return emptyTxSetHash(h.previousLedgerHash(), prevVersion).equals(h.txSetHash());
        }
        // the first ledger of a checkpoint whose predecessor is not known yet: any form up to its own protocol here,
        // the exact one once the previous ledger's protocol is known (firstEmptySet). Its own protocol is not taken
        // for the previous one: they differ in an upgrade ledger, and in headers whose protocol changed without one
        for (final int v : new int[] {0, GENERALIZED_TX_SET_PROTOCOL, PARALLEL_SOROBAN_PHASE_PROTOCOL}) {
            if (v <= h.ledgerVersion() && emptyTxSetHash(h.previousLedgerHash(), v).equals(h.txSetHash())) {
                return true;
            }
        }
        return false;
    }

    /** stellar-core's {@code makeEmpty(previousLedgerHash, protocol)} hash. */
    public static Hash emptyTxSetHash(final Hash previousLedgerHash, final int protocol) {
        final MessageDigest d = Hash.sha256();
        if (protocol < GENERALIZED_TX_SET_PROTOCOL) {
            previousLedgerHash.writeTo(d);
            return Hash.digest(d);
        }
        d.update(word(1));
        previousLedgerHash.writeTo(d);
        d.update(word(2)); // two phases
        d.update(word(0)); // classic phase v0
        d.update(word(0)); // no components
        if (protocol < PARALLEL_SOROBAN_PHASE_PROTOCOL) {
            d.update(word(0)); // soroban phase v0
            d.update(word(0)); // no components
        } else {
            d.update(word(1)); // soroban phase v1 (parallel)
            d.update(word(0)); // no base fee
            d.update(word(0)); // no execution stages
        }
        return Hash.digest(d);
    }

    private static byte[] word(final int v) {
        return new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
    }

    /** Every header's txSetResultHash against the file's result sets; no entry means the empty set. */
    public static void resultSets(final List<LedgerHeaderSummary> headers, final List<LedgerSetHash> sets,
            final String file) throws VerificationException {
        final Map<Long, LedgerSetHash> byLedger = index(sets);
        for (final LedgerHeaderSummary h : headers) {
            final LedgerSetHash set = byLedger.remove(h.ledgerSeq());
            final Hash expected = h.ledgerSeq() == 1 ? Hash.ZERO : EMPTY_RESULT_SET;
            if (set != null) {
                if (!set.hash().equals(h.txSetResultHash())) {
                    throw new VerificationException(FailureReason.RESULT_SET_HASH_MISMATCH, file, "ledger "
                            + h.ledgerSeq() + " result set hashes to " + set.hash().shortHex()
                            + ", its header says " + h.txSetResultHash().shortHex());
                }
            } else if (!expected.equals(h.txSetResultHash())) {
                throw new VerificationException(FailureReason.RESULT_SET_HASH_MISMATCH, file, "ledger "
                        + h.ledgerSeq() + " has no result entry but its header's txSetResultHash "
                        + h.txSetResultHash().shortHex() + " is not the empty set's (an entry is missing)");
            }
        }
        if (!byLedger.isEmpty()) {
            throw new VerificationException(FailureReason.WRONG_CHECKPOINT, file,
                    "entries for ledgers without a header: " + byLedger.keySet());
        }
    }

    /** The HAS bucket-list hash must equal the checkpoint ledger header's bucketListHash. */
    public static void bucketList(final HistoryArchiveState has, final List<LedgerHeaderSummary> headers,
            final String file) throws VerificationException {
        final LedgerHeaderSummary last = headers.get(headers.size() - 1);
        if (last.ledgerSeq() != has.currentLedger()) {
            throw new VerificationException(FailureReason.WRONG_CHECKPOINT, file, "HAS currentLedger "
                    + has.currentLedger() + " but the last header is ledger " + last.ledgerSeq());
        }
        final Hash computed = has.bucketListHash();
        if (!computed.equals(last.bucketListHash())) {
            throw new VerificationException(FailureReason.BUCKET_LIST_HASH_MISMATCH, file, "HAS bucket list hashes to "
                    + computed.shortHex() + ", ledger " + last.ledgerSeq() + " header says "
                    + last.bucketListHash().shortHex());
        }
    }

    /** The first header's previousLedgerHash must be the hash of the previous checkpoint's last header. */
    public static void chainLink(final LedgerHeaderSummary previousLast, final List<LedgerHeaderSummary> headers,
            final String file) throws VerificationException {
        final LedgerHeaderSummary first = headers.get(0);
        if (previousLast.ledgerSeq() + 1 != first.ledgerSeq()) {
            throw new IllegalArgumentException("ledger " + previousLast.ledgerSeq() + " does not precede "
                    + first.ledgerSeq());
        }
        if (!first.previousLedgerHash().equals(previousLast.hash())) {
            throw new VerificationException(FailureReason.CHAIN_LINK_BROKEN, file, "ledger " + first.ledgerSeq()
                    + " previousLedgerHash " + first.previousLedgerHash().shortHex() + " is not ledger "
                    + previousLast.ledgerSeq() + "'s hash " + previousLast.hash().shortHex());
        }
    }

    /**
     * Genesis (ledger 1) links to nothing and holds nothing: protocol 0, and an all-zero previousLedgerHash, txSetHash
     * and txSetResultHash (so a transaction or result entry for it is refused too).
     */
    public static void genesis(final List<LedgerHeaderSummary> headers, final String file)
            throws VerificationException {
        final LedgerHeaderSummary first = headers.get(0);
        if (first.ledgerSeq() != 1) {
            return;
        }
        if (!first.previousLedgerHash().isZero()) {
            throw new VerificationException(FailureReason.CHAIN_LINK_BROKEN, file,
                    "genesis ledger 1 has a non-zero previousLedgerHash");
        }
        if (first.ledgerVersion() != 0) {
            throw new VerificationException(FailureReason.CHAIN_LINK_BROKEN, file,
                    "genesis ledger 1 has protocol " + first.ledgerVersion() + ", not 0");
        }
        if (!first.txSetHash().isZero() || !first.txSetResultHash().isZero()) {
            throw new VerificationException(FailureReason.CHAIN_LINK_BROKEN, file, "genesis ledger 1 has a non-zero "
                    + (first.txSetHash().isZero() ? "txSetResultHash" : "txSetHash") + " (it holds no transactions)");
        }
    }

    private static Map<Long, LedgerSetHash> index(final List<LedgerSetHash> sets) {
        final Map<Long, LedgerSetHash> m = new HashMap<>(sets.size() * 2);
        for (final LedgerSetHash s : sets) {
            m.put(s.ledgerSeq(), s);
        }
        return m;
    }
}
