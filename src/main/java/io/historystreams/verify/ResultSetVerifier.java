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

    public static List<LedgerSetHash> verify(final InputStream gz, final String file, final long checkpoint,
            final VerificationLimits limits) throws IOException, VerificationException {
        return verify(gz, file, checkpoint, limits, null);
    }

    public static List<LedgerSetHash> verify(final InputStream gz, final String file, final long checkpoint,
            final VerificationLimits limits, final TransactionSetVerifier.SetSink sink)
            throws IOException, VerificationException {
        final List<LedgerSetHash> out = new ArrayList<>();
        final EntryOrder order = new EntryOrder(file, checkpoint);
        try (XdrRecordStream records = XdrRecordStream.open(gz, file, limits.maxXdrFileRawBytes(),
                limits.maxRecordBytes())) {
            while (records.next()) {
                final XdrReader r = records.record();
                final long seq = r.readUnsignedInt("ledgerSeq");
                order.accept(seq);
                final int setStart = r.position();
                final int setEnd = r.limit() - 4;
                final int count = r.readCount(4, "txResultSet.results");
                if (setEnd < r.position()) {
                    throw r.malformed("record too short for a TransactionHistoryResultEntry");
                }
                final XdrReader ext = new XdrReader(r.buffer(), setEnd, 4, file, r.recordIndex());
                if (ext.readInt("ext") != 0) {
                    throw r.malformed("TransactionHistoryResultEntry ext is not 0");
                }
                final LedgerSetHash set = new LedgerSetHash(seq, r.sha256(setStart, setEnd), false, count);
                if (sink != null) {
                    sink.accept(set, r.buffer(), setStart, setEnd - setStart);
                }
                out.add(set);
            }
        }
        return out;
    }
}
