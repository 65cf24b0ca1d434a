package io.historystreams.cli;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.Checkpoint;
import io.historystreams.archive.FetchObserver;
import io.historystreams.archive.FileType;
import io.historystreams.archive.HistoryArchive;
import io.historystreams.verify.FailureList;
import io.historystreams.verify.FailureReason;
import io.historystreams.verify.Hash;
import io.historystreams.verify.HasVerifier;
import io.historystreams.verify.HistoryArchiveState;
import io.historystreams.verify.VerificationException;
import io.historystreams.verify.VerificationLimits;
import io.historystreams.verify.VerificationReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * {@code scan}: whether every file of a range is in the archive, without reading them: each checkpoint's state file is
 * read (it names the buckets), every other file is asked for with an HTTP {@code HEAD} (a directory: looked up), each
 * bucket once. Finds the files an archive lacks in minutes where {@code verify} reads terabytes; finds no damage.
 */
@Command(name = "scan", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Check that every file of a range of checkpoints is in the archive, without reading them (HTTP "
                + "HEAD; the state files are read, for the buckets they name): missing files, found fast, not damaged "
                + "ones (verify reads the files). Exit 0: every file there; 1: some missing, or a state file that "
                + "cannot be read; 2: could not run; 3: the archive could not be reached.")
public final class ScanCommand implements java.util.concurrent.Callable<Integer> {
    /** Checkpoints in flight at once, per fetch slot: enough to keep the slots busy, few enough to stay small. */
    private static final int WINDOW_PER_SLOT = 4;

    @Mixin
    ArchiveOptions archive;

    @Mixin
    RangeOptions opts;

    @Spec
    CommandSpec spec;

    /** One checkpoint's scan: what is missing or could not be read, and whether it has an SCP file. */
    record Scanned(long checkpoint, List<VerificationException> problems, boolean withoutScp, int buckets) {
        boolean complete() {
            return problems.isEmpty();
        }
    }

    @Override
    public Integer call() throws Exception {
        final PrintWriter out = spec.commandLine().getOut();
        final PrintWriter err = spec.commandLine().getErr();
        final long started = System.nanoTime();
        final long startedMillis = System.currentTimeMillis();
        try (HistoryArchive ha = archive.open(FetchObserver.NONE)) {
            final Path report = opts.report;
            final ArchiveOptions.Range range;
            try {
                range = opts.resolve(archive, ha);
            } catch (final ArchiveOptions.NothingToDo e) {
                return VerifyCommand.nothingToDo(e, "scan", ha.sourceNames(), report, out, err, VerifyCommand.zeros(
                        "complete", "incomplete", "filesMissing", "filesUnreadable", "withoutScp", "distinctBuckets",
                        "distinctBucketsMissing", "distinctBucketsUnreadable", "allPresent"));
            } catch (final IllegalArgumentException e) {
                return VerifyCommand.couldNotRun(e, "scan", ha.sourceNames(), report, err, "allPresent",
                        startedMillis);
            }
            if (report != null) {
                try {
                    VerificationReport.checkWritable(report);
                } catch (final IOException e) {
                    err.println("error: " + e.getMessage());
                    return ExitCode.COULD_NOT_RUN;
                }
            }
            range.warnings("scanned").forEach(err::println);
            err.flush();
            final List<Long> checkpoints = Checkpoint.range(range.first(), range.last());
            final BucketLookups buckets = new BucketLookups();
            final ExecutorService pool = Executors.newFixedThreadPool(archive.concurrency(), r -> {
                final Thread t = new Thread(r, "scan");
                t.setDaemon(true);
                return t;
            });
            int complete = 0;
            int withProblems = 0;
            int withoutScp = 0;
            long filesMissing = 0;
            long filesUnreadable = 0;
            long lastProgress = System.nanoTime();
            try (OutputStream os = report == null ? null : VerificationReport.openPartial(report);
                    JsonGenerator g = os == null ? null
                            : new JsonFactory().createGenerator(os, JsonEncoding.UTF8).useDefaultPrettyPrinter()) {
                if (g != null) {
                    VerificationReport.writeHead(g, "scan", java.time.Instant.ofEpochMilli(startedMillis).toString(),
                            ha.sourceNames(), range.first(), range.last(), range.warnings("scanned"));
                }
                // in checkpoint order, a window in flight: memory does not grow with the range
                final Deque<CompletableFuture<Scanned>> inFlight = new ArrayDeque<>();
                final int window = Math.max(1, archive.concurrency() * WINDOW_PER_SLOT);
                int next = 0;
                int done = 0;
                while (done < checkpoints.size()) {
                    while (next < checkpoints.size() && inFlight.size() < window) {
                        final long cp = checkpoints.get(next++);
                        inFlight.add(CompletableFuture.supplyAsync(() -> scan(ha, cp, range.passphrase(), buckets,
                                pool), pool).thenCompose(s -> s).exceptionally(t -> internalError(cp, t)));
                    }
                    final Scanned s = inFlight.poll().join();
                    done++;
                    if (s.complete()) {
                        complete++;
                    } else {
                        withProblems++;
                        final long absent = s.problems().stream()
                                .filter(VerificationException::absentFromEverySource).count();
                        filesMissing += absent;
                        filesUnreadable += s.problems().size() - absent;
                        out.println(line(s));
                    }
                    if (s.withoutScp()) {
                        withoutScp++;
                    }
                    if (g != null) {
                        writeCheckpoint(g, s);
                    }
                    if (!opts.quiet && System.nanoTime() - lastProgress > 2_000_000_000L) {
                        lastProgress = System.nanoTime();
                        err.printf("scanned %d of %d checkpoints%n", done, checkpoints.size());
                        err.flush();
                    }
                }
                final int bucketsMissing = buckets.missing();
                final long ms = (System.nanoTime() - started) / 1_000_000;
                final String withoutScpNote = withoutScp == 0 ? null : withoutScp + " checkpoint(s) without an SCP "
                        + "file (optional: stellar-core writes none when it does not publish SCP messages)";
                out.printf("%d checkpoints scanned: %d complete, %d incomplete (%d files missing, %d unreadable); %d "
                        + "distinct buckets, %d missing, %d unreadable; %.2f s%n", checkpoints.size(), complete,
                        withProblems, filesMissing, filesUnreadable, buckets.lookedUp(), bucketsMissing,
                        buckets.unreadable(), ms / 1000.0);
                if (withoutScpNote != null) {
                    out.println("note: " + withoutScpNote);
                }
                if (!opts.quiet) {
                    // the same every run: a cron job's mail held it each time (a trial)
                    out.println("note: existence only: no file but the state files was read, so damaged files are "
                            + "not found here; verify reads and checks them");
                }
                out.flush();
                if (g != null) {
                    g.writeEndArray();
                    g.writeObjectFieldStart("summary");
                    g.writeNumberField("checkpoints", checkpoints.size());
                    g.writeNumberField("complete", complete);
                    g.writeNumberField("incomplete", withProblems);
                    g.writeNumberField("filesMissing", filesMissing);
                    g.writeNumberField("filesUnreadable", filesUnreadable);
                    g.writeNumberField("withoutScp", withoutScp);
                    g.writeNumberField("distinctBuckets", buckets.lookedUp());
                    g.writeNumberField("distinctBucketsMissing", bucketsMissing);
                    g.writeNumberField("distinctBucketsUnreadable", buckets.unreadable());
                    g.writeArrayFieldStart("askedWithGets");
                    for (final String name : ha.sourcesAskedWithGets()) {
                        g.writeString(name);
                    }
                    g.writeEndArray();
                    g.writeNumberField("elapsedMillis", ms);
                    g.writeStringField("finishedAt", VerificationReport.now());
                    g.writeBooleanField("allPresent", withProblems == 0);
                    g.writeEndObject();
                    g.writeEndObject();
                }
            } catch (final IOException e) {
                err.println("error: " + e.getMessage());
                return ExitCode.COULD_NOT_RUN;
            } finally {
                pool.shutdownNow();
            }
            if (report != null) {
                try {
                    VerificationReport.moveIntoPlace(report);
                } catch (final IOException e) {
                    err.println("error: " + e.getMessage());
                    return ExitCode.COULD_NOT_RUN;
                }
            }
            return withProblems == 0 ? ExitCode.OK : ExitCode.VERIFICATION_FAILED;
        }
    }

    /**
     * Scans one checkpoint (on a pool thread): reads its state file, asks for its other files, and for the buckets it
     * names that no checkpoint asked for yet (on the pool; the others' answers are shared).
     */
    private static CompletableFuture<Scanned> scan(final HistoryArchive ha, final long cp, final String passphrase,
            final BucketLookups buckets, final ExecutorService pool) {
        final List<VerificationException> problems = new ArrayList<>();
        HistoryArchiveState has = null;
        try {
            has = ha.fetch(ArchivePaths.has(cp), in -> HasVerifier.verify(in, ArchivePaths.has(cp), cp, passphrase,
                    VerificationLimits.defaults())).value();
        } catch (final VerificationException e) {
            // its other files are still looked for (a trial's mirror lacked the ledger file too, said a run later);
            // the buckets it names are not known
            problems.add(e.withFile(ArchivePaths.has(cp)));
        }
        for (final FileType type : List.of(FileType.LEDGER, FileType.TRANSACTIONS, FileType.RESULTS)) {
            final VerificationException e = exists(ha, ArchivePaths.checkpointFile(type, cp));
            if (e != null) {
                problems.add(e);
            }
        }
        final VerificationException scp = exists(ha, ArchivePaths.checkpointFile(FileType.SCP, cp));
        // (a checkpoint whose state file is not there either is not one "without an SCP file": it is not there)
        final boolean withoutScp = scp != null && scp.absentFromEverySource() && has != null;
        if (scp != null && !scp.absentFromEverySource()) {
            problems.add(scp);
        }
        final List<CompletableFuture<VerificationException>> named = new ArrayList<>();
        for (final Hash b : has == null ? java.util.Set.<Hash>of() : has.buckets()) {
            named.add(buckets.lookUp(b, h -> CompletableFuture.supplyAsync(
                    () -> exists(ha, ArchivePaths.bucket(h.hex())), pool)));
        }
        return CompletableFuture.allOf(named.toArray(CompletableFuture[]::new)).thenApply(v -> {
            for (final CompletableFuture<VerificationException> f : named) {
                if (f.join() != null) {
                    problems.add(f.join());
                }
            }
            return new Scanned(cp, problems, withoutScp, named.size());
        });
    }

    /**
     * The buckets asked for, each once while the checkpoints scanned name it (the answers of the latest {@value #KEPT}
     * kept), and those missing.
     */
    static final class BucketLookups {
        static final int KEPT = 1 << 16;
        private final io.historystreams.verify.RecentFutures<Hash, VerificationException> kept =
                new io.historystreams.verify.RecentFutures<>(KEPT);
        private final java.util.Set<Hash> missing = ConcurrentHashMap.newKeySet();
        private final java.util.Set<Hash> unreadable = ConcurrentHashMap.newKeySet();

        CompletableFuture<VerificationException> lookUp(final Hash hash,
                final java.util.function.Function<Hash, CompletableFuture<VerificationException>> ask) {
            return kept.get(hash, h -> ask.apply(h).whenComplete((e, t) -> {
                if (e != null && e.absentFromEverySource()) {
                    missing.add(h);
                } else if (e != null || t != null) {
                    unreadable.add(h); // the server failing, not the file absent (a trial read them as missing)
                }
            }));
        }

        /** Bucket look-ups made (the distinct buckets, unless one was named again after its answer was dropped). */
        long lookedUp() {
            return kept.started();
        }

        int missing() {
            return missing.size();
        }

        int unreadable() {
            return unreadable.size();
        }
    }

    /** A checkpoint whose scan failed for a reason of this process (a bug, the environment): said, not a crash. */
    private static Scanned internalError(final long cp, final Throwable t) {
        final Throwable cause = t instanceof java.util.concurrent.CompletionException && t.getCause() != null
                ? t.getCause() : t;
        return new Scanned(cp, List.of(new VerificationException(FailureReason.INTERNAL_ERROR,
                ArchivePaths.has(cp), String.valueOf(cause))), false, 0);
    }

    /** Null when a source has {@code path}; otherwise why not (MISSING_FILE when every source said it has not). */
    private static VerificationException exists(final HistoryArchive ha, final String path) {
        try {
            ha.exists(path);
            return null;
        } catch (final VerificationException e) {
            return e.withFile(path);
        }
    }

    static String line(final Scanned s) {
        return FailureList.line(s.checkpoint(), "INCOMPLETE", s.problems());
    }

    private static void writeCheckpoint(final JsonGenerator g, final Scanned s) throws IOException {
        g.writeStartObject();
        g.writeNumberField("checkpoint", s.checkpoint());
        g.writeStringField("hex", String.format("0x%x", s.checkpoint()));
        g.writeStringField("status", s.complete() ? "COMPLETE" : "INCOMPLETE");
        g.writeNumberField("buckets", s.buckets());
        if (s.withoutScp()) {
            g.writeBooleanField("withoutScp", true);
        }
        if (!s.complete()) {
            g.writeArrayFieldStart("problems");
            for (final VerificationException e : s.problems()) {
                g.writeStartObject();
                g.writeStringField("reason", e.reason().name());
                g.writeStringField("file", e.file());
                if (e.source() != null) {
                    g.writeStringField("source", e.source());
                }
                g.writeStringField("detail", e.detail());
                g.writeEndObject();
            }
            g.writeEndArray();
        }
        g.writeEndObject();
    }
}
