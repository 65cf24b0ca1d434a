package io.historystreams.topology;

import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.Checkpoint;
import io.historystreams.archive.FileType;
import io.historystreams.archive.HistoryArchive;
import io.historystreams.blob.BlobStoreFailure;
import io.historystreams.events.BucketRequest;
import io.historystreams.events.CheckpointRequest;
import io.historystreams.events.HasDownloaded;
import io.historystreams.events.Hashes;
import io.historystreams.events.LedgerHeadersDownloaded;
import io.historystreams.events.RequestReason;
import io.historystreams.events.ResultsDownloaded;
import io.historystreams.events.ScpDownloaded;
import io.historystreams.events.TransactionsDownloaded;
import io.historystreams.verify.ArchiveStart;
import io.historystreams.verify.FailureReason;
import io.historystreams.verify.Hash;
import io.historystreams.verify.HasVerifier;
import io.historystreams.verify.HistoryArchiveState;
import io.historystreams.verify.LedgerHeaderSummary;
import io.historystreams.verify.LedgerHeaderVerifier;
import io.historystreams.verify.LedgerSetHash;
import io.historystreams.verify.ResultSetVerifier;
import io.historystreams.verify.ScpVerifier;
import io.historystreams.verify.TransactionSetVerifier;
import io.historystreams.verify.VerificationException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The fetch-and-verify work for each per-checkpoint file type (stellar-core's {@code GetHistoryArchiveStateWork},
 * {@code DownloadLedgerHeadersWork}, ...): each produces its "downloaded" event, or a failure event naming the file,
 * the source and the reason.
 */
final class CheckpointFileWork {
    private static final Logger LOG = LoggerFactory.getLogger(CheckpointFileWork.class);
    private final Names names;

    /**
     * Child names the outputs go to: a downloaded event goes both to its topic's sink (for consumers) and to the join,
     * which is in the same task (same key, same partition), so it needs no round trip through the topic; the HAS
     * work also sends one request per bucket the HAS names to {@code buckets}, the bucket fetcher of the same task.
     */
    record Names(String downloaded, String join, String buckets, String failures) {
    }

    CheckpointFileWork(final Names names) {
        this.names = names;
    }

    /** A downloaded event, to its topic and to the join. */
    private List<Out> downloaded(final long cp, final Object event) {
        return List.of(new Out(names.downloaded(), cp, event), new Out(names.join(), cp, event));
    }

    private List<Out> failed(final CheckpointRequest r, final VerificationException e, final String path,
            final long now) {
        return List.of(new Out(names.failures(), r.getCheckpoint(),
                Facts.failure(r.getCheckpoint(), r.getArchive(), e.withFile(path), r.getAttempt(), now)));
    }

    @FunctionalInterface
    private interface Body {
        List<Out> run(HistoryArchive archive) throws VerificationException;
    }

    FetchFileProcessor.Work has() {
        return (ctx, r, now) -> {
            final long cp = r.getCheckpoint();
            final String path = ArchivePaths.has(cp);
            return guardedWith(ctx, r, path, now, archive -> {
                // the document is small (capped): read once, parsed, checked, and carried in the event as text
                final FileFetcher.Stored<HasRead> s = FileFetcher.fetch(ctx, archive, path,
                        (in, p) -> {
                            final byte[] bytes = HasVerifier.readCapped(in, p, ctx.limits().maxHasBytes());
                            final HistoryArchiveState parsed = HistoryArchiveState.parse(bytes, p);
                            HasVerifier.check(parsed, p, cp, r.getNetworkPassphrase());
                            return new HasRead(parsed, bytes);
                        });
                final HistoryArchiveState has = s.value().has();
                final List<String> buckets = new ArrayList<>();
                for (final Hash b : has.buckets()) {
                    buckets.add(b.hex());
                }
                final String json = new String(s.value().bytes(), StandardCharsets.UTF_8);
                final List<Out> out = new ArrayList<>();
                out.addAll(downloaded(cp, HasDownloaded.newBuilder().setCheckpoint(cp)
                        .setArchive(r.getArchive()).setFile(s.file()).setVersion(has.version())
                        .setCurrentLedger(has.currentLedger()).setNetworkPassphrase(has.networkPassphrase())
                        .setBucketListHash(Hashes.hash32(has.bucketListHash().bytes())).setBuckets(buckets)
                        .setJson(json).build()));
                for (final String b : buckets) {
                    out.add(new Out(names.buckets(), b, BucketRequest.newBuilder().setHash(b).setCheckpoint(cp)
                            .setArchive(r.getArchive()).setSources(r.getSources())
                            .setRequestedAt(Instant.ofEpochMilli(now)).setAttempt(r.getAttempt()).build()));
                }
                return out;
            });
        };
    }

    FetchFileProcessor.Work ledger() {
        return (ctx, r, now) -> {
            final long cp = r.getCheckpoint();
            final String path = ArchivePaths.checkpointFile(FileType.LEDGER, cp);
            return guardedWith(ctx, r, path, now, archive -> {
                // a checkpoint's ledger file is also its successor's anchor: one download serves both
                final FileFetcher.Stored<List<LedgerHeaderSummary>> s = ctx.ledgerFiles().get(
                        archive.readFrom(), path, 2, () -> FileFetcher.fetch(ctx, archive, path,
                                (in, p) -> LedgerHeaderVerifier.verify(in, p, cp, ctx.limits())));
                final LedgerHeadersDownloaded.Builder b = LedgerHeadersDownloaded.newBuilder().setCheckpoint(cp)
                        .setArchive(r.getArchive()).setFile(s.file()).setHeaders(s.value().stream()
                                .map(Facts::header).toList());
                if (cp > Checkpoint.FREQUENCY - 1) {
                    // the anchor: the previous checkpoint's last header, from its own verified ledger file
                    final long prev = Checkpoint.previous(cp);
                    final String prevPath = ArchivePaths.checkpointFile(FileType.LEDGER, prev);
                    final FileFetcher.Stored<List<LedgerHeaderSummary>> p;
                    // from every source of the request (its notFrom is about this checkpoint's copies)
                    final HistoryArchive all = ctx.archive(r.getSources());
                    try {
                        p = ctx.ledgerFiles().get(all.readFrom(), prevPath, 2, () -> FileFetcher.fetch(ctx, all,
                                prevPath, (in, pp) -> LedgerHeaderVerifier.verify(in, pp, prev, ctx.limits())));
                    } catch (final VerificationException e) {
                        if (!r.getPredecessorRequested() && ArchiveStart.holdsNothingOf(all, prev, e)) {
                            // the archive starts here: no anchor, the chain check passes it as ARCHIVE_START
                            LOG.info(ArchiveStart.describe(cp, prev));
                            return downloaded(cp, b.build());
                        }
                        // said as verify says it: this checkpoint fails because its predecessor's file did
                        throw new VerificationException(e.reason(), e.file(), "the link to the previous checkpoint "
                                + "cannot be checked, its ledger file failed: " + e.detail(), e)
                                .withSource(e.source());
                    }
                    final LedgerHeaderSummary last = p.value().get(p.value().size() - 1);
                    // and its own link, to the checkpoint before it: an anchor from a checkpoint that failed is
                    // believed only when it links to what was verified before it
                    b.setPreviousCheckpointLastHash(Hashes.hash32(last.hash().bytes()))
                            .setPreviousCheckpointLastVersion(last.ledgerVersion())
                            .setPreviousCheckpointFirstPreviousHash(Hashes.hash32(
                                    p.value().get(0).previousLedgerHash().bytes()));
                }
                return downloaded(cp, b.build());
            });
        };
    }

    FetchFileProcessor.Work transactions() {
        return (ctx, r, now) -> {
            final long cp = r.getCheckpoint();
            final String path = ArchivePaths.checkpointFile(FileType.TRANSACTIONS, cp);
            return guardedWith(ctx, r, path, now, archive -> {
                final FileFetcher.Stored<List<LedgerSetHash>> s = FileFetcher.fetch(ctx, archive, path,
                        (in, p) -> TransactionSetVerifier.verify(in, p, cp, ctx.limits()));
                int txs = 0;
                for (final LedgerSetHash h : s.value()) {
                    txs = h.count() < 0 || txs < 0 ? -1 : txs + h.count();
                }
                return downloaded(cp, TransactionsDownloaded.newBuilder().setCheckpoint(cp)
                        .setArchive(r.getArchive()).setFile(s.file()).setEntries(Facts.sets(s.value(), true))
                        .setTransactionCount(txs).build());
            });
        };
    }

    FetchFileProcessor.Work results() {
        return (ctx, r, now) -> {
            final long cp = r.getCheckpoint();
            final String path = ArchivePaths.checkpointFile(FileType.RESULTS, cp);
            return guardedWith(ctx, r, path, now, archive -> {
                final FileFetcher.Stored<List<LedgerSetHash>> s = FileFetcher.fetch(ctx, archive, path,
                        (in, p) -> ResultSetVerifier.verify(in, p, cp, ctx.limits()));
                return downloaded(cp, ResultsDownloaded.newBuilder().setCheckpoint(cp)
                        .setArchive(r.getArchive()).setFile(s.file()).setEntries(Facts.sets(s.value(), false))
                        .build());
            });
        };
    }

    /**
     * The SCP file, or its absence (SCP files are optional: absent is an outcome, not a failure). A checkpoint of a
     * tailed archive is verified for good once, so an absence recorded there stays in its events and its mirrors: when
     * the archive is live ({@link RequestReason#TAIL}) and has the previous checkpoint's SCP file, a "not present" is
     * more likely a file not there yet or a passing error (a CDN's cached 404) than a checkpoint without SCP messages.
     * The attempt then fails as a missing file (retryable), and the gate tries the checkpoint again after its backoff;
     * its last attempt ({@code maxAttempts}) takes the absence as the answer.
     */
    FetchFileProcessor.Work scp(final int maxAttempts) {
        return (ctx, r, now) -> {
            final long cp = r.getCheckpoint();
            final String path = ArchivePaths.checkpointFile(FileType.SCP, cp);
            return guardedWith(ctx, r, path, now, archive -> {
                try {
                    final FileFetcher.Stored<ScpVerifier.ScpSummary> s = FileFetcher.fetch(ctx, archive, path,
                            (in, p) -> ScpVerifier.verify(in, p, cp, ctx.limits()));
                    return downloaded(cp, ScpDownloaded.newBuilder().setCheckpoint(cp)
                            .setArchive(r.getArchive()).setFile(s.file()).setPresent(true)
                            .setEntryCount(s.value().entryCount()).build());
                } catch (final VerificationException e) {
                    if (e.reason() != FailureReason.MISSING_FILE) {
                        throw e;
                    }
                    if (r.getReason() == RequestReason.TAIL && r.getAttempt() + 1 < maxAttempts
                            && previousHasScp(archive, cp)) {
                        throw new VerificationException(FailureReason.MISSING_FILE, path, e.detail()
                                + "; the archive is live and has the previous checkpoint's SCP file, so the checkpoint"
                                + " is tried again before this one is taken as absent (attempt " + (r.getAttempt() + 1)
                                + " of " + maxAttempts + ")", e).withSource(e.source());
                    }
                    return downloaded(cp, ScpDownloaded.newBuilder().setCheckpoint(cp)
                            .setArchive(r.getArchive()).setFile(null).setPresent(false).setEntryCount(0).build());
                }
            });
        };
    }

    /**
     * Whether the archive has the SCP file of the checkpoint before {@code cp} (only asked, not read). A source that
     * cannot answer counts as having it: asking again is the cautious side.
     */
    private static boolean previousHasScp(final HistoryArchive archive, final long cp) {
        if (cp < 2 * Checkpoint.FREQUENCY - 1) {
            return false;
        }
        try {
            return archive.fetch(ArchivePaths.checkpointFile(FileType.SCP, cp - Checkpoint.FREQUENCY), in -> true)
                    .value();
        } catch (final VerificationException e) {
            return e.reason() != FailureReason.MISSING_FILE;
        }
    }

    private List<Out> guardedWith(final PipelineContext ctx, final CheckpointRequest r, final String path,
            final long now, final Body body) {
        try {
            return body.run(ctx.archive(r));
        } catch (final VerificationException e) {
            return failed(r, e, path, now);
        } catch (final BlobStoreFailure e) {
            throw e; // not the checkpoint's failure: it stops the pipeline (AsyncWork)
        } catch (final RuntimeException e) {
            return failed(r, Facts.internal(path, e), path, now);
        }
    }

    private record HasRead(HistoryArchiveState has, byte[] bytes) {
    }
}
