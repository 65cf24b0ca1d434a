package io.historystreams.verify;

import io.historystreams.archive.Checkpoint;

import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;

/**
 * Verifies a checkpoint's {@code ledger-*.xdr.gz} on its own (stellar-core's {@code VerifyLedgerChainWork}, minus
 * the link to the previous checkpoint, which is a cross-file check): each entry's hash is SHA-256 of its header
 * bytes, headers chain by sequence and previousLedgerHash, and the file holds exactly the checkpoint's ledgers.
 */
public final class LedgerHeaderVerifier {
    private static final int LEDGER_UPGRADE_VERSION = 1;
    /** Bytes of LedgerHeader after ledgerSeq with a v0 ext: totalCoins..skipList (168) + ext (4). */
    private static final int HEADER_TAIL_MIN = 172;

    /** Receives each verified header with its raw XDR ({@code buf[offset, offset+length)}), e.g. for ledger events. */
    @FunctionalInterface
    public interface HeaderSink {
        void accept(LedgerHeaderSummary header, byte[] buf, int offset, int length);
    }

    private LedgerHeaderVerifier() {
    }

    public static List<LedgerHeaderSummary> verify(final InputStream gz, final String file, final long checkpoint,
            final VerificationLimits limits) throws IOException, VerificationException {
        return verify(gz, file, checkpoint, limits, null);
    }

    public static List<LedgerHeaderSummary> verify(final InputStream gz, final String file, final long checkpoint,
            final VerificationLimits limits, final HeaderSink sink) throws IOException, VerificationException {
        final long first = Checkpoint.firstLedger(checkpoint);
        final int expected = Checkpoint.ledgerCount(checkpoint);
        final List<LedgerHeaderSummary> headers = new ArrayList<>(expected);
        final MessageDigest sha = Hash.sha256();
        XdrRecordStream.forEach(gz, file, limits, r -> {
            if (headers.size() == expected) {
                throw new VerificationException(FailureReason.WRONG_LEDGER_SET, file,
                        "more than the " + expected + " headers of checkpoint " + checkpoint);
            }
            final LedgerHeaderSummary h = parse(r, sha);
            final LedgerHeaderSummary prev = headers.isEmpty() ? null : headers.get(headers.size() - 1);
            if (prev == null) {
                if (h.ledgerSeq() != first) {
                    throw new VerificationException(
                            Checkpoint.containing(Math.max(1, h.ledgerSeq())) == checkpoint
                                    ? FailureReason.WRONG_LEDGER_SET : FailureReason.WRONG_CHECKPOINT,
                            file, "first header is ledger " + h.ledgerSeq() + ", checkpoint " + checkpoint
                                    + " starts at " + first);
                }
            } else {
                if (h.ledgerSeq() != prev.ledgerSeq() + 1) {
                    throw new VerificationException(FailureReason.HEADER_CHAIN_BROKEN, file,
                            "ledger " + h.ledgerSeq() + " follows ledger " + prev.ledgerSeq());
                }
                if (!h.previousLedgerHash().equals(prev.hash())) {
                    throw new VerificationException(FailureReason.HEADER_CHAIN_BROKEN, file,
                            "ledger " + h.ledgerSeq() + " previousLedgerHash " + h.previousLedgerHash().shortHex()
                                    + " is not ledger " + prev.ledgerSeq() + "'s hash " + prev.hash().shortHex());
                }
            }
            if (sink != null) {
                sink.accept(h, r.buffer(), r.start() + Hash.SIZE, r.limit() - r.start() - Hash.SIZE - 4);
            }
            headers.add(h);
        });
        if (headers.size() != expected) {
            throw new VerificationException(FailureReason.WRONG_LEDGER_SET, file, "holds " + headers.size()
                    + " headers, checkpoint " + checkpoint + " has " + expected + " (ledgers " + first + ".."
                    + checkpoint + ")");
        }
        return headers;
    }

    /** Parses one {@code LedgerHeaderHistoryEntry} and checks its self-hash. */
    static LedgerHeaderSummary parse(final XdrReader r, final MessageDigest sha) throws VerificationException {
        final Hash entryHash = r.readHash("entry hash");
        final int headerStart = r.position();
        final int headerEnd = r.limit() - 4;
        if (headerEnd - headerStart < 4) {
            throw r.malformed("record too short for a LedgerHeaderHistoryEntry");
        }
        // the self-hash first: any flipped byte of the header is a hash mismatch, whatever field it lands in
        sha.reset();
        r.digest(sha, headerStart, headerEnd);
        final Hash computed = Hash.digest(sha);
        if (!computed.equals(entryHash)) {
            throw new VerificationException(FailureReason.HEADER_HASH_MISMATCH, r.file(), "record #"
                    + r.recordIndex() + " entry hash " + entryHash.shortHex() + " but SHA-256 of its header is "
                    + computed.shortHex());
        }
        final int ledgerVersion = r.readInt("ledgerVersion");
        final Hash previous = r.readHash("previousLedgerHash");
        final Hash txSetHash = r.readHash("scpValue.txSetHash");
        final long closeTime = r.readLong("scpValue.closeTime");
        final int upgrades = r.readCount(4, "scpValue.upgrades");
        if (upgrades > 6) {
            throw r.malformed("scpValue.upgrades holds " + upgrades + " entries, at most 6 allowed");
        }
        boolean versionUpgrade = false;
        for (int i = 0; i < upgrades; i++) {
            final int at = r.position();
            final int len = r.skipVarOpaque(128, "scpValue.upgrades[" + i + "]");
            if (len >= 8) {
                final XdrReader u = new XdrReader(r.buffer(), at + 4, len, null, r.recordIndex());
                versionUpgrade |= u.readInt("upgrade type") == LEDGER_UPGRADE_VERSION;
            }
        }
        final int extType = r.readInt("scpValue.ext");
        if (extType == 1) {
            r.readInt("nodeID type");
            r.skip(32, "nodeID");
            r.skipVarOpaque(64, "signature");
        } else if (extType != 0) {
            throw r.malformed("unknown StellarValue ext " + extType);
        }
        final Hash resultHash = r.readHash("txSetResultHash");
        final Hash bucketListHash = r.readHash("bucketListHash");
        final long seq = r.readUnsignedInt("ledgerSeq");
        if (r.position() > headerEnd) {
            throw r.malformed("header too short: its fields up to ledgerSeq run " + (r.position() - headerEnd)
                    + " bytes past its end");
        }
        if (headerEnd - r.position() < HEADER_TAIL_MIN) {
            throw r.malformed("header ends " + (headerEnd - r.position()) + " bytes after ledgerSeq, at least "
                    + HEADER_TAIL_MIN + " expected");
        }
        final XdrReader tail = new XdrReader(r.buffer(), headerEnd, 4, null, r.recordIndex());
        if (tail.readInt("entry ext") != 0) {
            throw r.malformed("LedgerHeaderHistoryEntry ext is not 0");
        }
        return new LedgerHeaderSummary(seq, entryHash, previous, txSetHash, resultHash, bucketListHash, closeTime,
                ledgerVersion, versionUpgrade);
    }
}
