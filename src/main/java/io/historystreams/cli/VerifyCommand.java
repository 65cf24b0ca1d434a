package io.historystreams.cli;

import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.Checkpoint;
import io.historystreams.archive.FetchObserver;
import io.historystreams.archive.FileType;
import io.historystreams.archive.HistoryArchive;
import io.historystreams.verify.ArchiveStart;
import io.historystreams.verify.ArchiveVerifier;
import io.historystreams.verify.CheckpointOutcome;
import io.historystreams.verify.FailureReason;
import io.historystreams.verify.FailureList;
import io.historystreams.verify.VerificationException;
import io.historystreams.verify.VerificationLimits;
import io.historystreams.verify.VerificationReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;

/** {@code verify}: checks a range of an archive directly, without Kafka. */
@Command(name = "verify", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Verify every file of a range of checkpoints (no Kafka). Exit 0: all verified; "
                + "1: a checkpoint failed or is incomplete; 2: could not run; 3: the archive could not be reached.")
public final class VerifyCommand implements Callable<Integer> {
    @Mixin
    ArchiveOptions archive;

    @Mixin
    RangeOptions opts;

    @Spec
    CommandSpec spec;

    /**
     * A summary's fields with nothing counted: 0 for each, true for the one that says all is well ({@code all…}),
     * empty for lists ({@code notes}, {@code warnings}, {@code takenBackOutsideRange}).
     */
    static java.util.Map<String, Object> zeros(final String... fields) {
        final java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        for (final String f : fields) {
            m.put(f, f.startsWith("all") ? (Object) Boolean.TRUE : f.equals("notes") || f.equals("warnings")
                    || f.equals("takenBackOutsideRange") ? List.of() : (Object) 0);
        }
        return m;
    }

    /** Says there is nothing to do (on the summary's stream) and writes the report of it, if one is asked for. */
    static int nothingToDo(final ArchiveOptions.NothingToDo e, final String command, final List<String> sources,
            final Path report, final PrintWriter out, final PrintWriter err, final java.util.Map<String, Object> summary) {
        if (report != null) {
            try {
                // first: a report that cannot be written is refused before anything is said done (a trial read
                // "nothing to do" and then the refusal, exit 2)
                VerificationReport.writeNothingToDo(report, command, sources, e.from(), e.current(), e.getMessage(),
                        summary);
            } catch (final java.io.IOException io) {
                err.println("error: " + io.getMessage());
                return ExitCode.COULD_NOT_RUN;
            }
        }
        out.println("0 checkpoints: " + e.getMessage());
        out.flush();
        return ExitCode.OK;
    }

    /** Whether every failure of {@code o} is a fetch that failed (or a check that needed such a file). */
    static boolean fetchOnly(final CheckpointOutcome o) {
        return o.failures().stream().anyMatch(f -> f.reason() == FailureReason.FETCH_FAILED)
                && o.failures().stream().allMatch(f -> f.reason() == FailureReason.FETCH_FAILED
                        || f.reason() == FailureReason.DEPENDENCY_FAILED);
    }

    /**
     * Says why the run could not start, and writes the report of it when no source answered (exit 3; a refusal of the
     * arguments, exit 2, writes none: the path may be what was wrong).
     */
    static int couldNotRun(final IllegalArgumentException e, final String command, final List<String> sources,
            final Path report, final PrintWriter err, final String allKey, final long startedMillis) {
        err.println("error: " + e.getMessage());
        if (report != null && e instanceof ArchiveOptions.Unreachable) {
            try {
                VerificationReport.writeUnreachable(report, command, sources, e.getMessage(), allKey, startedMillis);
            } catch (final java.io.IOException io) {
                err.println("error: " + io.getMessage());
            }
        }
        return ExitCode.couldNotRun(e);
    }

    @Override
    public Integer call() throws Exception {
        final PrintWriter out = spec.commandLine().getOut();
        final PrintWriter err = spec.commandLine().getErr();
        final long started = System.nanoTime();
        final long startedMillis = System.currentTimeMillis();
        try (HistoryArchive ha = archive.open(FetchObserver.NONE)) {
            final ArchiveOptions.Range range;
            try {
                range = opts.resolve(archive, ha);
            } catch (final ArchiveOptions.NothingToDo e) {
                return nothingToDo(e, "verify", ha.sourceNames(), opts.report, out, err, zeros("verified",
                        "incomplete", "failed", "ledgerHeaders", "transactionSets", "resultSets",
                        "distinctBucketsVerified", "distinctBucketsFailed", "distinctBucketsMissing", "bytes",
                        "allVerified", "notes", "warnings"));
            } catch (final IllegalArgumentException e) {
                return couldNotRun(e, "verify", ha.sourceNames(), opts.report, err, "allVerified", startedMillis);
            }
            range.warnings().forEach(err::println);
            final long first = range.first();
            final long last = range.last();
            final String passphrase = range.passphrase();
            final List<Long> checkpoints = Checkpoint.range(first, last);
            final ArchiveVerifier.Options options = new ArchiveVerifier.Options(passphrase,
                    VerificationLimits.defaults(), archive.concurrency());
            final AtomicInteger done = new AtomicInteger();
            final java.util.concurrent.atomic.AtomicReference<java.io.IOException> reportFailed =
                    new java.util.concurrent.atomic.AtomicReference<>();
            final Progress progress = opts.quiet ? null : new Progress(err, checkpoints.size(), done);
            final LeadingAbsent leading = new LeadingAbsent();
            final AtomicInteger unfetched = new AtomicInteger();
            final List<String> startNotes = java.util.Collections.synchronizedList(new ArrayList<>());
            // said after the summary, as ingest says them: the verified checkpoints, those without an SCP file, and
            // the files another source's copy replaced (a trial: only the report and a log WARN said so)
            final List<Long> verified = java.util.Collections.synchronizedList(new ArrayList<>());
            final java.util.Set<Long> withoutScp = java.util.concurrent.ConcurrentHashMap.newKeySet();
            final List<io.historystreams.service.OutcomeWatcher.BlamedFile> replaced =
                    java.util.Collections.synchronizedList(new ArrayList<>());
            try (ArchiveVerifier verifier = new ArchiveVerifier(ha, options);
                    VerificationReport rep = opts.report == null ? null
                            : VerificationReport.start(opts.report, "verify", ha.sourceNames(), first, last,
                                    range.warnings())) {
                final ArchiveVerifier.Summary s = verifier.verify(checkpoints, o -> {
                    done.incrementAndGet();
                    leading.add(o);
                    if (o.status() == CheckpointOutcome.Status.VERIFIED) {
                        verified.add(o.checkpoint());
                        for (final io.historystreams.verify.FileOutcome f : o.files()) {
                            if (f.type() == io.historystreams.archive.FileType.SCP
                                    && f.status() == io.historystreams.verify.FileOutcome.Status.ABSENT) {
                                withoutScp.add(o.checkpoint());
                            }
                            if (!f.blamed().isEmpty()) {
                                replaced.add(new io.historystreams.service.OutcomeWatcher.BlamedFile(f.path(),
                                        f.blamed()));
                            }
                        }
                    }
                    if (o.status() == CheckpointOutcome.Status.FAILED && fetchOnly(o)) {
                        unfetched.incrementAndGet();
                    }
                    if (o.status() != CheckpointOutcome.Status.VERIFIED) {
                        out.println(failureLine(o));
                    } else if (o.link() == CheckpointOutcome.Link.ARCHIVE_START) {
                        final String start = ArchiveStart.describe(o.checkpoint(), Checkpoint.previous(o.checkpoint()));
                        out.println("note: " + start);
                        startNotes.add(start);
                    }
                    // a report that cannot be written (a full disk) does not stop the verification: its verdict is
                    // still printed, then the report's error
                    if (rep != null && reportFailed.get() == null) {
                        try {
                            rep.checkpoint(o);
                        } catch (final java.io.IOException e) {
                            reportFailed.set(e);
                        }
                    }
                    if (progress != null) {
                        progress.maybePrint();
                    }
                });
                final long ms = (System.nanoTime() - started) / 1_000_000;
                // where the archive starts, for a range that begins below it: said after the summary, and in the
                // report's (a report read alone did not say it)
                final List<String> notes = new ArrayList<>();
                if (leading.count == checkpoints.size() && range.current() >= 0
                        && Checkpoint.containing(range.current()) > checkpoints.get(checkpoints.size() - 1)) {
                    // none of the range is there: the archive may start after it
                    final long after = ArchiveStart.startWithin(ha, checkpoints.get(0),
                            Checkpoint.containing(range.current()));
                    if (after >= 0) {
                        notes.add(ArchiveStart.startsAfterWarning(checkpoints.get(0),
                                checkpoints.get(checkpoints.size() - 1), after));
                    }
                } else if (leading.count > 0 && leading.next >= 0) {
                    notes.add(String.format("the archive holds nothing of %s: it may start at %d (0x%x), and --from %d "
                            + "verifies it from there", leading.count == 1 ? "checkpoint " + leading.last
                            + ", the first of the range" : "checkpoints " + checkpoints.get(0) + ".." + leading.last
                            + ", the first " + leading.count + " of the range", leading.next, leading.next,
                            Checkpoint.firstLedger(leading.next)));
                }
                if (unfetched.get() > 0) {
                    // told apart from damage (a trial: a server failing on some files read as 25 checkpoints failed)
                    notes.add(unfetched.get() + " of the failed checkpoints failed only because files could not be "
                            + "fetched (FETCH_FAILED: the source failing or too slow, after every retry), not on their "
                            + "content: run again to verify them");
                }
                final List<String> badCopies = IngestCommand.badCopies(replaced);
                final String scp = IngestCommand.withoutScp(verified.stream().sorted().toList(), withoutScp::contains,
                        "; if the archive should have them, repair it");
                if (scp != null) {
                    notes.add(scp.substring("note: ".length()));
                }
                if (rep != null && reportFailed.get() == null) {
                    try {
                        // with the archive-start notes said with their checkpoints (a trial: a report read alone
                        // did not have them)
                        final List<String> all = new ArrayList<>(startNotes);
                        all.addAll(notes);
                        rep.finish(s, ms, null, all, badCopies.stream()
                                .map(w -> w.substring("warning: ".length())).toList());
                    } catch (final java.io.IOException e) {
                        reportFailed.set(e);
                    }
                }
                out.printf("%d checkpoints: %d verified, %d incomplete, %d failed; %d headers, %d transaction sets, "
                        + "%d result sets, %d distinct buckets (%d failed, %d missing); %.1f MB in %.2f s%n",
                        s.checkpoints(), s.verified(), s.incomplete(), s.failed(), s.headers(), s.transactionSets(),
                        s.resultSets(), s.buckets(), s.bucketsFailed(), s.bucketsMissing(), s.bytes() / 1e6,
                        ms / 1000.0);
                notes.forEach(n -> out.println("note: " + n));
                badCopies.forEach(out::println);
                out.flush();
                if (reportFailed.get() != null) {
                    err.println("error: " + reportFailed.get().getMessage());
                    return ExitCode.COULD_NOT_RUN;
                }
                return s.allVerified() ? ExitCode.OK : ExitCode.VERIFICATION_FAILED;
            }
        }
    }

    /**
     * The checkpoints at the start of the range the archive holds nothing of (neither state file nor ledger file),
     * and the first after them: a mirror or validator's archive that starts mid-history, verified from the start.
     */
    private static final class LeadingAbsent {
        int count;
        long last = -1;
        long next = -1;

        void add(final CheckpointOutcome o) {
            if (next >= 0) {
                return;
            }
            final Set<String> missing = new java.util.HashSet<>();
            for (final VerificationException e : o.failures()) {
                if (e.reason() != FailureReason.MISSING_FILE) {
                    next = o.checkpoint();
                    return;
                }
                missing.add(e.file());
            }
            if (missing.contains(ArchivePaths.has(o.checkpoint()))
                    && missing.contains(ArchivePaths.checkpointFile(FileType.LEDGER, o.checkpoint()))) {
                count++;
                last = o.checkpoint();
            } else {
                next = o.checkpoint();
            }
        }
    }

    /** A checkpoint's failures on one line ({@link FailureList}: files that failed alike are named together). */
    static String failureLine(final CheckpointOutcome o) {
        return FailureList.line(o.checkpoint(), o.status().name(), o.failures());
    }

    /** Periodic progress on stderr (every 2 s at most). */
    private static final class Progress {
        private final PrintWriter err;
        private final int total;
        private final AtomicInteger done;
        private final long start = System.nanoTime();
        private long lastPrint = System.nanoTime();

        Progress(final PrintWriter err, final int total, final AtomicInteger done) {
            this.err = err;
            this.total = total;
            this.done = done;
        }

        void maybePrint() {
            final long now = System.nanoTime();
            if (now - lastPrint < 2_000_000_000L && done.get() < total) {
                return;
            }
            lastPrint = now;
            final double secs = (now - start) / 1e9;
            final int d = done.get();
            final double rate = d / Math.max(secs, 1e-3);
            err.printf("verify: %d/%d checkpoints (%.1f/s, ETA %.0f s)%n", d, total, rate,
                    rate > 0 ? (total - d) / rate : 0.0);
            err.flush();
        }
    }
}
