package io.historystreams.verify;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a checkpoint's {@code results-*.xdr.gz} and hashes each {@code TransactionResultSet} on its raw bytes
 * (stellar-core's {@code VerifyTxResultsWork}); the comparison with every header is in {@link CheckpointCrossCheck}.
 */
public final class ResultSetVerifier {

    private ResultSetVerifier() {
    }

    /** Parses one {@code TransactionHistoryResultEntry} and hashes its {@code TransactionResultSet}. */
    public static TransactionSetVerifier.Entry readEntry(final XdrReader r) throws VerificationException {
        final long seq = r.readUnsignedInt("ledgerSeq");
        final int setStart = r.position();
        final int setEnd = r.limit() - 4;
        final int count = r.readCount(4, "txResultSet.results");
        if (setEnd < r.position()) {
            throw r.malformed("record too short for a TransactionHistoryResultEntry");
        }
        final XdrReader ext = new XdrReader(r.buffer(), setEnd, 4, r.file(), r.recordIndex());
        if (ext.readInt("ext") != 0) {
            throw r.malformed("TransactionHistoryResultEntry ext is not 0");
        }
        return new TransactionSetVerifier.Entry(new LedgerSetHash(seq, r.sha256(setStart, setEnd), false, count, null),
                setStart, setEnd);
    }

    public static List<LedgerSetHash> verify(final InputStream gz, final String file, final long checkpoint,
            final VerificationLimits limits) throws IOException, VerificationException {
        return verify(gz, file, checkpoint, limits, null);
    }

    public static List<LedgerSetHash> verify(final InputStream gz, final String file, final long checkpoint,
            final VerificationLimits limits, final TransactionSetVerifier.SetSink sink)
            throws IOException, VerificationException {
        final List<LedgerSetHash> out = new ArrayList<>();
        final EntryOrder order = new EntryOrder(file, checkpoint);
        XdrRecordStream.forEach(gz, file, limits, r -> {
            final TransactionSetVerifier.Entry e = readEntry(r);
            order.accept(e.set().ledgerSeq());
            if (sink != null) {
                sink.accept(e.set(), r.buffer(), e.start(), e.end() - e.start());
            }
            out.add(e.set());
        });
        return out;
    }
}
