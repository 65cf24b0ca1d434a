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
     * Every header's txSetHash against the file's sets; a ledger without an entry must carry the empty set built in
     * the previous ledger's protocol.
     *
     * @param previousLedgerVersion the protocol of the ledger before the first header (the previous checkpoint's last),
     *                              or null when not known: then the first ledger, without an entry, is only checked
     *                              to carry one of the empty forms up to its own protocol, and the caller completes
     *                              the check once it knows ({@link #firstEmptySetPending}, {@link #firstEmptySet})
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
            } else if (!emptySetMatches(h, prevVersion)) {
                throw emptySetMismatch(h, file);
            }
            prevVersion = h.ledgerVersion();
        }
        if (!byLedger.isEmpty()) {
            throw new VerificationException(FailureReason.WRONG_CHECKPOINT, file,
                    "entries for ledgers without a header: " + byLedger.keySet());
        }
    }

    private static VerificationException emptySetMismatch(final LedgerHeaderSummary h, final String file) {
        return new VerificationException(FailureReason.TX_SET_HASH_MISMATCH, file, "ledger " + h.ledgerSeq()
                + " has no transaction entry but its header's txSetHash " + h.txSetHash().shortHex()
                + " is not the empty set's (an entry is missing)");
    }

    /**
     * True when {@link #transactionSets} could not finish the first ledger's check without the previous ledger's
     * protocol: the first ledger (not genesis) has no entry.
     */
    public static boolean firstEmptySetPending(final List<LedgerHeaderSummary> headers,
            final List<LedgerSetHash> sets) {
        final LedgerHeaderSummary first = headers.get(0);
        return first.ledgerSeq() != 1 && sets.stream().noneMatch(s -> s.ledgerSeq() == first.ledgerSeq());
    }

    /**
     * The rest of the check {@link #firstEmptySetPending} names: the first ledger's empty set in the form of
     * {@code previousLast}'s protocol (the set is built before the upgrade in that ledger applies).
     */
    public static void firstEmptySet(final LedgerHeaderSummary previousLast, final LedgerHeaderSummary first,
            final String file) throws VerificationException {
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
