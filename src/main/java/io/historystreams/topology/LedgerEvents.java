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
    /** Room in a ledger event for what is not a set or the header: hashes, numbers, names, Avro framing. */
    private static final int EVENT_OVERHEAD_BYTES = 64 * 1024;
    /**
     * The most a checkpoint's ledger events may hold together: they are kept until the last is read (a checkpoint
     * whose files fail half way emits none). Pubnet's largest sets are a few MB: 64 of them fit many times over.
     */
    static final long MAX_CHECKPOINT_EVENT_BYTES = 256L << 20;

    private LedgerEvents() {
    }

    static int emit(final PipelineContext ctx, final CheckpointVerified cp, final Consumer<LedgerVerified> sink)
            throws VerificationException {
        final FileRef ledger = file(cp, "ledger/");
        final FileRef txs = file(cp, "transactions/");
        final FileRef results = file(cp, "results/");
        final int[] count = {0};
        final long[] total = {0};
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
                            total[0] += fits(h.ledgerSeq(), len, tx, res, total[0], txs.getPath());
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

    /**
     * The size of a ledger event's sets and header, when it fits in a Kafka message of the pipeline's topics and the
     * checkpoint's events together stay within {@link #MAX_CHECKPOINT_EVENT_BYTES}; else TOO_LARGE. Only a forged
     * archive gets there: stellar-core floods no transaction set over its 16 MiB overlay message limit, but a set is
     * verified against its header's hash alone, so an archive can chain headers to a set of any size.
     */
    static long fits(final long ledgerSeq, final int headerBytes, final byte[] tx, final byte[] res,
            final long before, final String path) throws VerificationException {
        final long size = (long) headerBytes + (tx == null ? 0 : tx.length) + (res == null ? 0 : res.length);
        if (size + EVENT_OVERHEAD_BYTES > Topics.MAX_MESSAGE_BYTES) {
            throw new VerificationException(io.historystreams.verify.FailureReason.TOO_LARGE, path, "ledger "
                    + ledgerSeq + "'s transaction set (" + (tx == null ? 0 : tx.length) + " bytes) and result set ("
                    + (res == null ? 0 : res.length) + " bytes) are too large for one ledger event (a Kafka message of "
                    + "at most " + (Topics.MAX_MESSAGE_BYTES >> 20) + " MiB); stellar-core floods no transaction set "
                    + "over 16 MiB");
        }
        if (before + size > MAX_CHECKPOINT_EVENT_BYTES) {
            throw new VerificationException(io.historystreams.verify.FailureReason.TOO_LARGE, path, "the ledger "
                    + "events of the checkpoint up to ledger " + ledgerSeq + " hold more than "
                    + (MAX_CHECKPOINT_EVENT_BYTES >> 20) + " MiB of sets and headers");
        }
        return size;
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
