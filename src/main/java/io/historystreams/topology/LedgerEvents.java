package io.historystreams.topology;

import io.historystreams.events.CheckpointVerified;
import io.historystreams.events.FileRef;
import io.historystreams.events.Hashes;
import io.historystreams.events.LedgerVerified;
import io.historystreams.events.TxSetFormat;
import io.historystreams.verify.LedgerHeaderVerifier;
import io.historystreams.verify.ResultSetVerifier;
import io.historystreams.verify.TransactionSetVerifier;
import io.historystreams.verify.VerificationException;
import io.historystreams.verify.XdrReader;
import io.historystreams.verify.XdrRecordStream;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Builds the per-ledger events of a verified checkpoint from its stored ledger, transactions and results files,
 * reading the three in step (one ledger at a time: memory does not grow with the size of the checkpoint).
 */
final class LedgerEvents {
    private static final byte[] EMPTY_RESULT_SET = new byte[4];

    private LedgerEvents() {
    }

    static int emit(final PipelineContext ctx, final CheckpointVerified cp, final Consumer<LedgerVerified> sink)
            throws VerificationException {
        final FileRef ledger = file(cp, "ledger/");
        final FileRef txs = file(cp, "transactions/");
        final FileRef results = file(cp, "results/");
        final int[] count = {0};
        try (InputStream l = StoredFiles.open(ctx, ledger);
                InputStream t = StoredFiles.open(ctx, txs);
                InputStream r = StoredFiles.open(ctx, results);
                SetCursor txCursor = new SetCursor(t, txs.getPath(), ctx, true);
                SetCursor resultCursor = new SetCursor(r, results.getPath(), ctx, false)) {
            final VerificationException[] error = {null};
            LedgerHeaderVerifier.verify(l, ledger.getPath(), cp.getCheckpoint(), ctx.limits(),
                    (h, buf, off, len) -> {
                        if (error[0] != null) {
                            return;
                        }
                        try {
                            final byte[] tx = txCursor.at(h.ledgerSeq());
                            final byte[] res = resultCursor.at(h.ledgerSeq());
                            sink.accept(LedgerVerified.newBuilder().setLedgerSeq(h.ledgerSeq())
                                    .setCheckpoint(cp.getCheckpoint()).setArchive(cp.getArchive())
                                    .setHash(Hashes.hash32(h.hash().bytes()))
                                    .setPreviousLedgerHash(Hashes.hash32(h.previousLedgerHash().bytes()))
                                    .setCloseTime(h.closeTime()).setProtocolVersion(h.ledgerVersion())
                                    .setHeaderXdr(ByteBuffer.wrap(Arrays.copyOfRange(buf, off, off + len)))
                                    .setTransactionSetXdr(tx == null ? null : ByteBuffer.wrap(tx))
                                    .setTransactionSetFormat(tx == null ? null
                                            : txCursor.generalized ? TxSetFormat.GENERALIZED : TxSetFormat.LEGACY)
                                    .setResultSetXdr(ByteBuffer.wrap(res == null ? EMPTY_RESULT_SET : res))
                                    .setTxSetHash(Hashes.hash32(h.txSetHash().bytes()))
                                    .setTxSetResultHash(Hashes.hash32(h.txSetResultHash().bytes())).build());
                            count[0]++;
                        } catch (final VerificationException | IOException e) {
                            error[0] = e instanceof VerificationException v ? v : Facts.internal(txs.getPath(), e);
                        }
                    });
            if (error[0] != null) {
                throw error[0];
            }
        } catch (final IOException e) {
            throw Facts.internal(ledger.getPath(), e);
        }
        return count[0];
    }

    private static FileRef file(final CheckpointVerified cp, final String prefix) throws VerificationException {
        for (final FileRef f : cp.getFiles()) {
            if (f.getPath().startsWith(prefix)) {
                return f;
            }
        }
        throw Facts.internal(prefix, new IllegalStateException("verified checkpoint " + cp.getCheckpoint()
                + " lists no " + prefix + " file"));
    }

    /** Walks a transactions or results file one entry at a time, in ledger order. */
    private static final class SetCursor implements AutoCloseable {
        private final XdrRecordStream records;
        private final boolean transactions;
        private final MessageDigest sha = io.historystreams.verify.Hash.sha256();
        private long currentSeq = -1;
        private byte[] current;
        private boolean generalized;
        private boolean exhausted;

        SetCursor(final InputStream in, final String path, final PipelineContext ctx, final boolean transactions)
                throws IOException, VerificationException {
            this.records = XdrRecordStream.open(in, path, ctx.limits().maxXdrFileRawBytes(),
                    ctx.limits().maxRecordBytes());
            this.transactions = transactions;
        }

        /** The set XDR of a ledger, or null when the file has no entry for it. */
        byte[] at(final long seq) throws IOException, VerificationException {
            while (!exhausted && currentSeq < seq) {
                if (!records.next()) {
                    exhausted = true;
                    break;
                }
                final XdrReader r = records.record();
                final TransactionSetVerifier.Entry e = transactions ? TransactionSetVerifier.readEntry(r, sha)
                        : ResultSetVerifier.readEntry(r);
                currentSeq = e.set().ledgerSeq();
                current = Arrays.copyOfRange(r.buffer(), e.start(), e.end());
                if (transactions) {
                    generalized = e.set().generalized();
                }
            }
            return currentSeq == seq ? current : null;
        }

        @Override
        public void close() throws IOException {
            records.close();
        }
    }
}
