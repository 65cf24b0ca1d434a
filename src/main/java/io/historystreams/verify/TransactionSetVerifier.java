package io.historystreams.verify;

import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a checkpoint's {@code transactions-*.xdr.gz} and computes each entry's transaction-set hash on the raw
 * bytes (stellar-core's {@code TxSetXDRFrame} hashing): legacy sets hash {@code previousLedgerHash ‖ txs},
 * generalized sets (ext v1, protocol 20+) hash the whole {@code GeneralizedTransactionSet}. Comparing the hashes
 * with the headers is a cross-file check ({@link CheckpointCrossCheck}).
 */
public final class TransactionSetVerifier {

    /** Receives each entry's set with its raw XDR ({@code buf[offset, offset+length)}), e.g. for ledger events. */
    @FunctionalInterface
    public interface SetSink {
        void accept(LedgerSetHash set, byte[] buf, int offset, int length);
    }

    private TransactionSetVerifier() {
    }

    public static List<LedgerSetHash> verify(final InputStream gz, final String file, final long checkpoint,
            final VerificationLimits limits) throws IOException, VerificationException {
        return verify(gz, file, checkpoint, limits, null);
    }

    public static List<LedgerSetHash> verify(final InputStream gz, final String file, final long checkpoint,
            final VerificationLimits limits, final SetSink sink) throws IOException, VerificationException {
        final List<LedgerSetHash> out = new ArrayList<>();
        final EntryOrder order = new EntryOrder(file, checkpoint);
        final MessageDigest sha = Hash.sha256();
        XdrRecordStream.forEach(gz, file, limits, r -> {
            final Entry e = readEntry(r, sha);
            order.accept(e.set().ledgerSeq());
            if (sink != null) {
                sink.accept(e.set(), r.buffer(), e.start(), e.end() - e.start());
            }
            out.add(e.set());
        });
        return out;
    }

    /** One parsed entry: its set hash and where the set's XDR lies in the record buffer. */
    public record Entry(LedgerSetHash set, int start, int end) {
    }

    /**
     * Parses one {@code TransactionHistoryEntry} and hashes its set: legacy sets hash {@code previousLedgerHash ‖
     * txs}, generalized sets (ext v1) the whole {@code GeneralizedTransactionSet}.
     */
    public static Entry readEntry(final XdrReader r, final MessageDigest sha) throws VerificationException {
        final long seq = r.readUnsignedInt("ledgerSeq");
        final int prevHashAt = r.position();
        final Hash previous = r.readHash("txSet.previousLedgerHash");
        final int count = r.readCount(4, "txSet.txs");
        if (count == 0 && r.remaining() >= 4 && peekInt(r) == 1) {
            // ext v1: the GeneralizedTransactionSet is the rest of the record
            r.readInt("ext");
            final int setStart = r.position();
            final int setEnd = r.limit();
            if (r.readInt("GeneralizedTransactionSet version") != 1) {
                throw r.malformed("GeneralizedTransactionSet version is not 1");
            }
            final Hash named = r.readHash("GeneralizedTransactionSet.previousLedgerHash");
            return new Entry(new LedgerSetHash(seq, r.sha256(setStart, setEnd), true, -1, named), setStart, setEnd);
        }
        if (count == 0 && r.remaining() >= 4 && peekInt(r) != 0) {
            throw r.malformed("unknown TransactionHistoryEntry ext " + peekInt(r) + " (0: legacy set, 1: generalized)");
        }
        // ext v0: the legacy set; its txs run up to the record's final ext word
        final int txsStart = r.position();
        final int txsEnd = r.limit() - 4;
        if (txsEnd < txsStart) {
            throw r.malformed("record too short for a TransactionHistoryEntry");
        }
        final XdrReader ext = new XdrReader(r.buffer(), txsEnd, 4, r.file(), r.recordIndex());
        final int extType = ext.readInt("ext");
        if (extType != 0) {
            throw r.malformed("TransactionHistoryEntry ext " + extType + " with " + count + " legacy transactions");
        }
        if (count == 0 && txsEnd != txsStart) {
            throw r.malformed((txsEnd - txsStart) + " stray bytes in an empty legacy set");
        }
        if (count > 0 && txsEnd - txsStart < count * 4) {
            throw r.malformed(count + " transactions cannot fit in " + (txsEnd - txsStart) + " bytes");
        }
        sha.reset();
        r.digest(sha, prevHashAt, prevHashAt + Hash.SIZE);
        r.digest(sha, txsStart, txsEnd);
        return new Entry(new LedgerSetHash(seq, Hash.digest(sha), false, count, previous), prevHashAt, txsEnd);
    }

    private static int peekInt(final XdrReader r) {
        final byte[] b = r.buffer();
        final int p = r.position();
        return ((b[p] & 0xff) << 24) | ((b[p + 1] & 0xff) << 16) | ((b[p + 2] & 0xff) << 8) | (b[p + 3] & 0xff);
    }
}
