package io.historystreams.topology;

import io.historystreams.events.CheckpointFailed;
import io.historystreams.events.Hashes;
import io.historystreams.events.LedgerHeaderFact;
import io.historystreams.events.TxSetFormat;
import io.historystreams.verify.FailureReason;
import io.historystreams.verify.Hash;
import io.historystreams.verify.LedgerHeaderSummary;
import io.historystreams.verify.LedgerSetHash;
import io.historystreams.verify.VerificationException;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** Translations between the verification engine's facts and their event (Avro) form. */
final class Facts {
    private Facts() {
    }

    static LedgerHeaderFact header(final LedgerHeaderSummary h) {
        return LedgerHeaderFact.newBuilder().setLedgerSeq(h.ledgerSeq()).setHash(Hashes.hash32(h.hash().bytes()))
                .setPreviousLedgerHash(Hashes.hash32(h.previousLedgerHash().bytes()))
                .setTxSetHash(Hashes.hash32(h.txSetHash().bytes()))
                .setTxSetResultHash(Hashes.hash32(h.txSetResultHash().bytes()))
                .setBucketListHash(Hashes.hash32(h.bucketListHash().bytes())).setCloseTime(h.closeTime())
                .setLedgerVersion(h.ledgerVersion()).setVersionUpgrade(h.versionUpgrade()).build();
    }

    static LedgerHeaderSummary header(final LedgerHeaderFact f) {
        return new LedgerHeaderSummary(f.getLedgerSeq(), hash(f.getHash()), hash(f.getPreviousLedgerHash()),
                hash(f.getTxSetHash()), hash(f.getTxSetResultHash()), hash(f.getBucketListHash()), f.getCloseTime(),
                f.getLedgerVersion(), f.getVersionUpgrade());
    }

    static List<LedgerHeaderSummary> headers(final List<LedgerHeaderFact> facts) {
        final List<LedgerHeaderSummary> out = new ArrayList<>(facts.size());
        for (final LedgerHeaderFact f : facts) {
            out.add(header(f));
        }
        return out;
    }

    static io.historystreams.events.LedgerSetHash set(final LedgerSetHash s, final boolean transactions) {
        return io.historystreams.events.LedgerSetHash.newBuilder().setLedgerSeq(s.ledgerSeq())
                .setHash(Hashes.hash32(s.hash().bytes()))
                .setFormat(transactions ? (s.generalized() ? TxSetFormat.GENERALIZED : TxSetFormat.LEGACY) : null)
                .setPreviousLedgerHash(transactions && s.previousLedgerHash() != null
                        ? Hashes.hash32(s.previousLedgerHash().bytes()) : null)
                .build();
    }

    static List<io.historystreams.events.LedgerSetHash> sets(final List<LedgerSetHash> sets,
            final boolean transactions) {
        final List<io.historystreams.events.LedgerSetHash> out = new ArrayList<>(sets.size());
        for (final LedgerSetHash s : sets) {
            out.add(set(s, transactions));
        }
        return out;
    }

    static List<LedgerSetHash> sets(final List<io.historystreams.events.LedgerSetHash> sets) {
        final List<LedgerSetHash> out = new ArrayList<>(sets.size());
        for (final io.historystreams.events.LedgerSetHash s : sets) {
            out.add(new LedgerSetHash(s.getLedgerSeq(), hash(s.getHash()), s.getFormat() == TxSetFormat.GENERALIZED,
                    -1, s.getPreviousLedgerHash() == null ? null : hash(s.getPreviousLedgerHash())));
        }
        return out;
    }

    static Hash hash(final io.historystreams.events.Hash32 h) {
        return Hash.of(h.bytes());
    }

    static CheckpointFailed failure(final long checkpoint, final String archive, final VerificationException e,
            final int attempt, final long nowMillis) {
        return CheckpointFailed.newBuilder().setCheckpoint(checkpoint).setArchive(archive)
                .setReason(e.reason().name()).setFile(e.file()).setSource(e.source()).setDetail(e.detail())
                .setRetryable(e.reason().retryable()).setAttempt(attempt).setFailedAt(Instant.ofEpochMilli(nowMillis))
                .setFailures(List.of(line(e))).build();
    }

    static VerificationException internal(final String file, final Throwable t) {
        return new VerificationException(FailureReason.INTERNAL_ERROR, file, t.toString(), t);
    }

    static String line(final VerificationException e) {
        return e.reason() + " " + (e.file() == null ? "-" : e.file()) + (e.source() == null ? "" : " (" + e.source()
                + ")") + ": " + e.detail();
    }
}
