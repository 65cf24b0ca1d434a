package io.historystreams.cli;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.historystreams.archive.Checkpoint;
import io.historystreams.archive.Credentials;
import io.historystreams.archive.FetchObserver;
import io.historystreams.archive.HistoryArchive;
import io.historystreams.events.ChainLinkStatus;
import io.historystreams.events.CheckpointFailed;
import io.historystreams.events.CheckpointRequest;
import io.historystreams.events.RequestReason;
import io.historystreams.service.HistoryStreamsService;
import io.historystreams.service.OutcomeWatcher;
import io.historystreams.service.RemotePipeline;
import io.historystreams.service.ServiceConfig;
import io.historystreams.service.VerdictLog;
import io.historystreams.topology.HistoryTopology;
import io.historystreams.topology.Topics;
import io.historystreams.verify.ArchiveStart;
import io.historystreams.verify.FailureReason;
import io.historystreams.verify.VerificationReport;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.streams.StreamsConfig;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/** {@code ingest}: requests a range, runs the pipeline until every checkpoint is verified or failed, reports. */
@Command(name = "ingest", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Request a range of checkpoints and run the pipeline until each is verified or failed. "
                + "Exit 0: all verified; 1: some failed; 2: could not run; 3: the archive could not be reached.")
public final class IngestCommand implements Callable<Integer> {
    /**
     * Kafka Streams' {@code poll.ms} for the pipeline of this command, unless {@code kafka.poll.ms} is set (Kafka's
     * default, which {@code run} and {@code tail} keep, is 100 ms). A stream thread waits that long for input before it
     * punctuates, and punctuations are when finished fetches are handed back; at start-up the state updater's restore
     * poll and the stream thread's pick-up of the restored tasks wait as long. A batch command exits when its range
     * is done, so the CPU an idle stream thread spends polling every 10 ms (about a fifth of a core for two threads)
     * does not last: with 10 ms Streams reached RUNNING 0.68 -> 0.59 s after start-up (4 runs each, JDK 25).
     */
    static final int BATCH_POLL_MS = 10;

    /**
     * {@code fetch.max.wait.ms} of the stream threads' consumers for the pipeline of this command, unless set (Kafka's
     * default is 500 ms). A consumer's fetch waits at the broker for that long when there is nothing new, and closing
     * the consumer waits for it: closing the pipeline at the end of an ingest took 0.93-0.99 s (3 runs), 0.62-0.78 s
     * with 50 ms (6 runs). A consumer with a fetch parked gets new records as soon as they arrive either way.
     */
    static final int BATCH_FETCH_MAX_WAIT_MS = 50;

    @Mixin
    ArchiveOptions archive;

    @Mixin
    ServiceOptions service;

    @Option(names = "--from", paramLabel = "L", description = "First ledger (default 1, or the archive's start "
            + "when it starts later: a validator's archive, a mirror made --from a ledger).")
    Long from;

    @Option(names = "--to", paramLabel = "L", description = "Last ledger (default: the archive's current ledger).")
    Long to;

    @Option(names = "--publish-to", paramLabel = "TARGET",
            description = "Publish verified checkpoints to a target archive (directory, http(s):// WebDAV, or "
                    + "cmd:put=...;get=...;exists=...;mkdir=...). Repeatable.")
    List<String> publishTo = List.of();

    @Option(names = "--fill-targets", description = "With --publish-to: publish every checkpoint this data dir "
            + "verified to the targets again, each file looked up and put when the target lacks it (a mirror that lost "
            + "files since they were published is made whole; files it has are not read: verify it to find damaged "
            + "ones, replay --rewrite to replace them).")
    boolean fillTargets;

    @Option(names = "--report", paramLabel = "FILE", description = "Write a JSON report to FILE.")
    Path report;

    @Option(names = "--timeout", paramLabel = "SECONDS",
            description = "Give up on checkpoints still pending after this long (default: wait; 0 = wait).")
    long timeoutSeconds;

    @Option(names = "--quiet", description = "No progress output.")
    boolean quiet;

    @Option(names = "--client",
            description = "Run no pipeline in this process: request the range from the `run` workers (same "
                    + "--application-id and topic.prefix) on the cluster of --bootstrap-servers and wait for their "
                    + "verdicts. Needs the workers' schema registry (--schema-registry-url, or on their host their "
                    + "--data-dir); --publish-to belongs to the workers then.")
    boolean client;

    @Spec
    CommandSpec spec;

    /**
     * The archive client that read the root state, kept open until the command ends: whether its sources are down is
     * known to the pipeline's fetches then (closed first, its failures were forgotten, and a hanging mirror cost the
     * pipeline's first fetches a read timeout each again).
     */
    private HistoryArchive rootReader;

    /** How long the JVM waits, after a signal, for {@code ingest --client}'s summary and report. */
    static final Duration CLIENT_LAST_WORDS_WAIT = Duration.ofSeconds(10);

    /** What a signal does before the pipeline is up, and to a client. */
    private SignalWatch signal;

    @Override
    public Integer call() throws Exception {
        try (SignalWatch watch = new SignalWatch(spec.commandLine().getErr(), CLIENT_LAST_WORDS_WAIT)) {
            signal = watch;
            try {
                return ingest();
            } finally {
                if (rootReader != null) {
                    rootReader.close();
                }
            }
        }
    }

    private Integer ingest() throws Exception {
        final PrintWriter err = spec.commandLine().getErr();
        if (timeoutSeconds < 0) {
            throw new IllegalArgumentException("--timeout must be 0 (wait) or more seconds, not " + timeoutSeconds);
        }
        if (fillTargets && publishTo.isEmpty()) {
            throw new IllegalArgumentException("--fill-targets fills the --publish-to targets: give one");
        }
        final long startedMillis = System.currentTimeMillis();
        final long t0 = System.nanoTime();
        ArchiveOptions.Range resolved;
        final List<String> given;
        // the settings first: the root state is read with their timeouts and attempts, not only the options'
        final ServiceConfig config = archive.applyTo(service.load(), spec.commandLine().getParseResult());
        try {
            rootReader = archive.open(FetchObserver.NONE, config);
            given = rootReader.sourceNames();
            try {
                resolved = archive.resolve(rootReader, from, to, !client);
            } catch (final ArchiveOptions.NothingToDo e) {
                if (publishTo.isEmpty() || client) {
                    return VerifyCommand.nothingToDo(e, "ingest", given, report, spec.commandLine().getOut(), err,
                            VerifyCommand.zeros("verified", "failed", "givenUp", "ledgersVerified",
                                    "verifiedFromAnotherArchive", "allVerified", "takenBackOutsideRange"));
                }
                // nothing new to verify, but the targets are brought up to date: one emptied since is given
                // everything again (a trial's cron job left an emptied mirror empty until the archive moved on)
                final long last = Checkpoint.containing(e.current());
                resolved = archive.resolve(rootReader, Checkpoint.firstLedger(last), null, true)
                        .withWarning(String.format("note: nothing new: --from %d is past the archive's current "
                                + "ledger %d; with --publish-to, its last checkpoint (0x%x) is the range, so that the "
                                + "targets are brought up to date", e.from(), e.current(), last));
            }
        } catch (final IllegalArgumentException e) {
            return VerifyCommand.couldNotRun(e, "ingest", rootReader == null ? List.of()
                    : rootReader.sourceNames(), report, err, "allVerified", startedMillis);
        }
        // a range from below the archive's start: its first checkpoint is asked for without its predecessor (looked
        // for up to the archive's current checkpoint: a range it holds nothing of is said too)
        final long firstCp = Checkpoint.containing(Math.max(1, resolved.first()));
        final long lastCp = Checkpoint.containing(resolved.last());
        final long start = ArchiveStart.startWithin(rootReader, firstCp, resolved.current() < 0 ? lastCp
                : Math.max(lastCp, Checkpoint.containing(resolved.current())));
        archiveStart = start <= lastCp ? start : -1;
        final ArchiveOptions.Range range = start < 0 ? resolved
                : from == null && start <= lastCp ? resolved.from(start, ArchiveStart.startNote(firstCp, start))
                : resolved.withWarning("warning: " + (start <= lastCp
                        ? ArchiveStart.rangeStartWarning(firstCp, start, "of the range")
                        : ArchiveStart.startsAfterWarning(firstCp, lastCp, start)));
        range.warnings().forEach(err::println);
        if (report != null) {
            try {
                VerificationReport.checkWritable(report); // before the work, not after it
            } catch (final java.io.IOException e) {
                err.println("error: " + e.getMessage());
                return ExitCode.COULD_NOT_RUN;
            }
        }
        if (client) {
            if (!publishTo.isEmpty()) {
                err.println("error: --publish-to publishes from the pipeline of this process; with --client, give it "
                        + "to the workers (run --publish-to)");
                return ExitCode.COULD_NOT_RUN;
            }
            final RemotePipeline remote;
            try {
                remote = RemotePipeline.connect(config);
            } catch (final IllegalArgumentException | IllegalStateException e) {
                err.println("error: " + e.getMessage());
                return ExitCode.COULD_NOT_RUN;
            }
            for (final String root : archive.roots()) {
                // (not strip(root) against root: strip adds a trailing slash, and every URL without one was warned of)
                if (Credentials.carried(root)) {
                    err.println("warning: the credentials of " + Credentials.strip(root) + " stay in this process: "
                            + "the workers fetch with those of their archive.credentials setting");
                }
            }
            if (remote.workers() == 0) {
                err.println("warning: no worker is in group " + remote.group() + " on " + remote.bootstrapServers()
                        + " now: checkpoints the topics hold no verdict for wait until a `run` worker starts");
            }
            final String other = PipelineArchive.other(rootReader, remote.clientProps(), remote.topics(), range.passphrase(),
                    range.current(), true);
            if (other != null) {
                err.println("error: " + other);
                return ExitCode.COULD_NOT_RUN;
            }
            signal.follow();
            try (RemotePipeline.WorkerWatch watch = remote.watchWorkers(Duration.ofSeconds(WORKER_WATCH_SECONDS))) {
                // a signal ends the wait with what was decided said and written, as a pipeline's stop does (the
                // client ended with exit 143 and nothing more); the workers go on
                return requestAndAwait(range, given, remote.clientProps(), remote.topics(),
                        () -> signal.signalled() ? "stopped by a signal before every checkpoint had a verdict; the "
                                + "range stays requested, for the workers: run the command again to follow it" : null,
                        watch::notice, () -> -1, null, startedMillis, t0);
            }
        }
        Publishing.check(config, publishTo);
        archive.requireApart(config, publishTo);
        try (HistoryStreamsService svc = HistoryStreamsService.start(batch(config), !publishTo.isEmpty());
                AutoCloseable lastWords = svc.holdShutdown()) {
            // before anything is published: a new target is given what the data dir verified before
            final String other = PipelineArchive.other(rootReader, svc.clientProps(), svc.topics(), range.passphrase(),
                    range.current(), false);
            if (other != null) {
                err.println("error: " + other);
                return ExitCode.COULD_NOT_RUN;
            }
            try (Publishing publishing = Publishing.startBounded(svc, publishTo, fillTargets)) {
                signal.handOver();
                return requestAndAwait(range, given, svc.clientProps(), svc.topics(),
                        () -> svc.live() ? null : svc.closing() ? "stopped by a signal before every checkpoint had a "
                                + "verdict; what was verified is kept: run the command again to go on"
                                : "the pipeline stopped: " + svc.fatalReason(),
                        verdicts -> null, () -> svc.metrics().bytesFetched(), publishing, startedMillis, t0);
            }
        }
    }

    /** How long {@code ingest} waits, once every checkpoint has a verdict, for a take-back that may follow. */
    private static final Duration TAKE_BACK_GRACE = Duration.ofSeconds(3);

    /** How often {@code ingest --client} looks whether the workers' group emptied while it waits. */
    public static final int WORKER_WATCH_SECONDS = 10;

    /** How often at most {@code ingest} says which checkpoints it asked for again since it last said so. */
    static final Duration ASKED_AGAIN_EVERY = Duration.ofSeconds(10);

    /**
     * The checkpoints asked for again, said in one line at most every {@code every}: the first at once, those of a
     * cascade (a take-back's successors, one after the other) together (a trial's run printed 152 lines, one per
     * checkpoint).
     */
    static final class AskedAgain {
        private final long everyNanos;
        private final java.util.TreeSet<Long> unsaid = new java.util.TreeSet<>();
        private long nextNanos = Long.MIN_VALUE;

        AskedAgain(final Duration every) {
            this.everyNanos = every.toNanos();
        }

        void add(final List<Long> checkpoints) {
            unsaid.addAll(checkpoints);
        }

        /** The line to print at {@code nowNanos} (System.nanoTime()), or null. */
        String due(final long nowNanos) {
            if (unsaid.isEmpty() || (nextNanos != Long.MIN_VALUE && nowNanos - nextNanos < 0)) {
                return null;
            }
            nextNanos = nowNanos + everyNanos;
            return rest();
        }

        /** The line naming the checkpoints not said yet, or null. */
        String rest() {
            if (unsaid.isEmpty()) {
                return null;
            }
            final String line = "asked for again: " + ReplayCommand.missing(List.copyOf(unsaid), java.util.Set.of())
                    + " (a verified copy taken back, found not to link, and the checkpoints after it that failed on "
                    + "their link to it)";
            unsaid.clear();
            return line;
        }
    }

    private static void notice(final String line, final Progress progress, final PrintWriter err) {
        if (line != null) {
            if (progress != null) {
                progress.clearLine();
            }
            err.println(line);
            err.flush();
        }
    }

    /** Lines to print while waiting. */
    @FunctionalInterface
    interface Notices {
        /** A line to print now, else null; {@code verdicts}: how many checkpoints have a verdict so far. */
        String next(long verdicts) throws InterruptedException;
    }

    /**
     * {@code config} for the pipeline of this batch command: {@link #BATCH_POLL_MS} and
     * {@link #BATCH_FETCH_MAX_WAIT_MS} for the stream threads, unless the operator chose values.
     */
    static ServiceConfig batch(final ServiceConfig config) {
        final String kafka = ServiceConfig.KAFKA_PREFIX;
        final String fetchWait = ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG;
        return config.withDefault(kafka + StreamsConfig.POLL_MS_CONFIG, Integer.toString(BATCH_POLL_MS))
                .withDefault(kafka + StreamsConfig.mainConsumerPrefix(fetchWait),
                        Integer.toString(BATCH_FETCH_MAX_WAIT_MS), kafka + fetchWait,
                        kafka + StreamsConfig.consumerPrefix(fetchWait));
    }

    /**
     * Requests the range and follows the outcome topics until every checkpoint has a verdict (or the timeout), then
     * waits for the publishing of this process, if any, prints the summary and writes the report.
     *
     * @param given        the names of the sources given (credential-free), to tell checkpoints that this data dir
     *                     verified earlier from another archive: the gate answers those from its store
     * @param stopped      why the pipeline can no longer deliver (null while it can)
     * @param notices      a line to print on stderr now and then (the workers' group emptied), else null
     * @param bytesFetched the bytes this process fetched, or -1 when the workers fetch elsewhere
     * @param publishing   this process's publishing, or null when it publishes nothing
     */
    private int requestAndAwait(final ArchiveOptions.Range range, final List<String> given,
            final Map<String, Object> clientProps,
            final Topics topics, final Supplier<String> stopped, final Notices notices, final LongSupplier bytesFetched,
            final Publishing publishing, final long startedMillis, final long t0) throws Exception {
        final PrintWriter out = spec.commandLine().getOut();
        final PrintWriter err = spec.commandLine().getErr();
        final List<Long> checkpoints = Checkpoint.range(range.first(), range.last());
        final long serviceUp = (System.nanoTime() - t0) / 1_000_000;
        request(clientProps, topics, checkpoints, checkpoints.get(0), range.passphrase());
        try (OutcomeWatcher w = new OutcomeWatcher(clientProps, topics, checkpoints, startedMillis)) {
            // (a timeout past 292 years overflowed into one already over: everything given up at once)
            final long deadline = timeoutSeconds > 0 && timeoutSeconds < Long.MAX_VALUE / 4_000_000_000L
                    ? System.nanoTime() + timeoutSeconds * 1_000_000_000L
                    : Long.MAX_VALUE;
            try (Progress progress = quiet ? null : new Progress(err, checkpoints.size())) {
                // once every checkpoint has a verdict, a failed link to a verified predecessor may still take the
                // predecessor back (a trial: the run ended first, and the forged predecessor stayed published)
                long takeBackGrace = 0;
                int verifiedThen = -1;
                final AskedAgain askedAgain = new AskedAgain(ASKED_AGAIN_EVERY);
                while (System.nanoTime() < deadline) {
                    if (!w.done()) {
                        takeBackGrace = 0;
                    } else if (!w.mayTakeBack()) {
                        break;
                    } else if (takeBackGrace == 0 || w.verifiedCount() != verifiedThen) {
                        // from the last verdict that changed the count: a walk back verifies one after the other
                        takeBackGrace = System.nanoTime() + TAKE_BACK_GRACE.toNanos();
                        verifiedThen = w.verifiedCount();
                    } else if (System.nanoTime() >= takeBackGrace) {
                        break;
                    }
                    final String problem = stopped.get();
                    if (problem != null) {
                        err.println("error: " + problem);
                        // what was decided before the stop is kept: said, and written to the report as it stands
                        final long ms = (System.nanoTime() - t0) / 1_000_000;
                        out.printf("%d checkpoints: %d verified, %d failed, %d pending (stopped)%n", checkpoints.size(),
                                w.verifiedCount(), w.failed().size(), w.pending());
                        out.flush();
                        if (report != null) {
                            writeReport(report, checkpoints, w, startedMillis, verifiedLedgers(checkpoints, w), ms,
                                    null, List.of(), 0, problem, range.warnings(), w.takenBackOutside());
                        }
                        return ExitCode.COULD_NOT_RUN;
                    }
                    notice(notices.next(w.verifiedCount() + w.failed().size()), progress, err);
                    w.poll(Duration.ofMillis(200));
                    final List<Long> again = w.takeTakenBack();
                    if (!again.isEmpty()) {
                        // verified copies found not to link (to the predecessor as verified since, or to their
                        // successor's copies from their own source and another), with the checkpoints after them
                        // that failed on their link to them: read again (a successor waits for its predecessor)
                        request(clientProps, topics, again, checkpoints.get(0), range.passphrase());
                        askedAgain.add(again);
                    }
                    notice(askedAgain.due(System.nanoTime()), progress, err);
                    if (progress != null) {
                        progress.update(w.verifiedCount(), w.failed().size(), bytesFetched.getAsLong());
                    }
                }
                notice(askedAgain.rest(), progress, err);
                // the last verdicts may be the first since the workers' group emptied: a worker is back (a trial's
                // client ended without the note when the rest of its range came in one poll)
                notice(notices.next(w.verifiedCount() + w.failed().size()), progress, err);
            }
            final List<Long> verified = checkpoints.stream()
                    .filter(cp -> w.status(cp) == OutcomeWatcher.Status.VERIFIED).toList();
            final Map<Long, OutcomeWatcher.RecordAt> verifiedAt = new LinkedHashMap<>();
            verified.forEach(cp -> verifiedAt.put(cp, w.verifiedAt(cp)));
            // a target new to this range starts at the archive's start (the checkpoints below it are not there)
            final long publishFrom = archiveStart >= 0 ? archiveStart : checkpoints.get(0);
            final boolean published = publishing == null || publishing.awaitPublished(verifiedAt, publishFrom,
                    w.lastVerified(), err,
                    timeoutSeconds > 0 ? Duration.ofNanos(Math.max(0, deadline - System.nanoTime())) : null);
            final long ms = (System.nanoTime() - t0) / 1_000_000;
            printFailures(out, w.failed().values());
            // given up at the timeout: said as the failures are, with what its attempts were failing on
            for (final long cp : checkpoints) {
                if (w.status(cp) == OutcomeWatcher.Status.PENDING) {
                    final CheckpointFailed last = w.lastAttemptFailure(cp);
                    final long prev = cp - Checkpoint.FREQUENCY;
                    // the chain check holds a checkpoint until the verdict of a predecessor asked for with it
                    final boolean waits = last == null && w.status(prev) == OutcomeWatcher.Status.PENDING
                            && prev >= checkpoints.get(0);
                    out.printf("checkpoint %d (0x%x) GIVEN UP: no verdict by --timeout%s%n", cp, cp, waits
                            ? " (it waits for the verdict of checkpoint " + prev + ", asked for with it)"
                            : last == null ? " (no attempt had failed yet)" : "; its last attempt failed: "
                            + last.getReason() + " " + (last.getFile() == null ? "" : last.getFile() + " ")
                            + last.getDetail());
                }
            }
            final long ledgers = verifiedLedgers(checkpoints, w);
            final long bytes = bytesFetched.getAsLong();
            out.printf("%d checkpoints: %d verified, %d failed, %d given up; %d ledgers verified; %s; %.2f s "
                    + "(service up after %.2f s)%s%n", checkpoints.size(), w.verifiedCount(), w.failed().size(),
                    w.pending(), ledgers, bytes < 0 ? "fetched by the workers" : String.format("%.1f MB fetched",
                            bytes / 1e6), ms / 1000.0, serviceUp / 1000.0,
                    publishTo.isEmpty() ? "" : publishing.nothingPublished() ? "; nothing to publish"
                            : (verified.isEmpty() ? "; none of the range verified; what this data dir verified before "
                                    + "published" : "; published") + " to " + publishTo.size() + " target(s)"
                                    + (published ? "" : " (INCOMPLETE)")
                                    // complete, with the root state past the checkpoints that failed: a mirror with
                                    // holes (a trial read "published" as whole)
                                    + (publishing.outcomes().stream().anyMatch(t -> t.lacks() != null)
                                            ? ", lacking checkpoints below its root state (failed, or not "
                                            + "verified here: the WARN above, `lacks` in the report)" : ""));
            if (fillTargets && publishing != null) {
                // what the filling put back, said also with --quiet (a trial: only the INFO lines said it)
                publishing.outcomes().forEach(t -> out.printf("note: %s: %d file(s) put, %d already there%n",
                        t.target(), t.filesWritten(), t.filesSkipped()));
            }
            // a checkpoint is verified once per pipeline (data dir and topic prefix), from whichever archive asked
            // first: none of the sources given served these, so this archive's files for them were not read
            final List<Long> elsewhere = verified.stream().filter(cp -> {
                final List<String> served = w.sources(cp);
                return !served.isEmpty() && Collections.disjoint(served, given);
            }).toList();
            String fromElsewhere = null;
            if (!elsewhere.isEmpty()) {
                fromElsewhere = String.format("warning: %d of the verified checkpoints (0x%x..0x%x) were verified "
                        + "earlier in this pipeline from %s, not from %s, whose files for them were not read. %s "
                        + "When that is this archive under another URL (moved, or spelt otherwise), give that URL as "
                        + "another --archive: the checkpoints verified from it then count as verified.",
                        elsewhere.size(), elsewhere.get(0), elsewhere.get(elsewhere.size() - 1),
                        String.join(", ", w.sources(elsewhere.get(0))), String.join(", ", given), client
                                // a client has no data dir of its own to change
                                ? "A pipeline (application id and topic prefix) holds one archive's history: verify "
                                + "this archive with workers of another --application-id and topic.prefix."
                                : "A data dir (and topic prefix) holds one archive's history: verify this archive "
                                + "with another --data-dir.");
                out.println(fromElsewhere);
            }
            // the first checkpoint of an archive that starts mid-history, not linked (chainLink ARCHIVE_START), said by
            // the run that verified it (a later one, whose range does not hold the predecessor, cannot tell whether
            // it was verified since: a trial's note said no source held a predecessor backfilled in between)
            verified.stream().filter(cp -> linkOf(w, cp) == ChainLinkStatus.ARCHIVE_START && w.verifiedThisRun(cp))
                    .forEach(cp -> out.println("note: "
                            + ArchiveStart.describeVerdict(cp, Checkpoint.previous(cp))));
            final List<String> warnings = new ArrayList<>(range.warnings());
            if (fromElsewhere != null) {
                // in the report too (a trial: only summary.verifiedFromAnotherArchive said so)
                warnings.add(fromElsewhere);
            }
            // (the bad copies of this run's verdicts: a source repaired since an earlier run is not named again)
            for (final String line : badCopies(verified.stream().filter(w::verifiedThisRun)
                    .flatMap(cp -> w.blamedFiles(cp).stream()).toList())) {
                out.println(line);
                warnings.add(line);
            }
            final String scp = withoutScp(verified, w::verifiedWithoutScp, " (their events and mirrors lack it); if "
                    + "the archive should have them, repair it: this data dir does not fetch a verified checkpoint "
                    + "again, a new --data-dir does");
            if (scp != null) {
                out.println(scp);
                warnings.add(scp);
            }
            final List<Long> outside = w.takenBackOutside();
            if (!outside.isEmpty()) {
                // a backfill's checkpoint verified now that checkpoints after it, verified by an earlier run, do not
                // link to (a trial: the honest ones after a mirror's forged checkpoint were taken back, and exit 0).
                // The source of the predecessor's copy is named: its copy is taken back only when that source serves
                // the successor too (a trial: the run named, from two other sources, failed every checkpoint again)
                final long before = Checkpoint.previous(outside.get(0));
                final List<String> served = w.sources(before);
                final String line = String.format("warning: %d checkpoint(s) outside the range, verified earlier, were "
                        + "taken back during this run: %s. They do not link to a checkpoint this run verified, so "
                        + "their verified events (and published files) no longer hold. Ingest them again (--from %d "
                        + "--to %d), %s: a checkpoint whose copies from two sources, one of them the source of its "
                        + "predecessor's copy, do not link to that copy takes it back%s.", outside.size(),
                        runsOf(outside), Checkpoint.firstLedger(outside.get(0)), outside.get(outside.size() - 1),
                        served.isEmpty()
                                ? "with a second archive if you have one"
                                : String.format("with --archive %s, which served checkpoint %d (0x%x), and a second "
                                        + "archive", String.join(" --archive ", served), before, before),
                        served.isEmpty() ? "" : " (from other sources only, they fail against it)");
                out.println(line);
                warnings.add(line);
            }
            // a client's workers may publish (run --publish-to): said to it too (a trial's client said nothing, and
            // the worker's target held the copy taken back)
            final List<Long> stale = publishTo.isEmpty() && !client ? List.of() : w.takenBackNotVerifiedAgain();
            if (!stale.isEmpty()) {
                // a trial: the forged copies of a segment taken back stayed on the target, with its root state on
                // them, and the run said nothing of it
                final String line = String.format("warning: %d checkpoint(s) were taken back during this run after "
                        + "they were verified, and are not verified again: %s. The target(s)%s may hold the files of "
                        + "the copies taken back (and a root state naming them) until they are: ingest them again, "
                        + "with another archive.", stale.size(), runsOf(stale),
                        client ? " the workers publish to" : "");
                out.println(line);
                warnings.add(line);
            }
            out.flush();
            if (report != null) {
                writeReport(report, checkpoints, w, startedMillis, ledgers, ms, publishTo.isEmpty() ? null : published,
                        publishing == null ? List.of() : publishing.outcomes(), elsewhere.size(), null, warnings,
                        outside);
            }
            return w.verifiedCount() == checkpoints.size() && published && elsewhere.isEmpty() && outside.isEmpty()
                    ? ExitCode.OK : ExitCode.VERIFICATION_FAILED;
        }
    }

    /** Where the archive starts in the range when that is after its first checkpoint ({@link ArchiveStart}), or -1. */
    private long archiveStart = -1;

    /**
     * Writes one request per checkpoint and waits for every acknowledgement. A send can fail for good right after the
     * topics were created (the idempotent producer gives up a batch on an out-of-order sequence or a leader change);
     * those requests are sent again with a fresh producer (a repeated request is harmless: the gate admits a
     * checkpoint once), so none is silently lost and the command never waits for a checkpoint nobody requested.
     */
    private void request(final Map<String, Object> clientProps, final Topics topics, final List<Long> checkpoints,
            final long rangeFirst, final String passphrase) {
        final Map<String, Object> p = new HashMap<>(clientProps);
        // Not idempotent: right after topic creation an idempotent producer can hold a batch until the delivery
        // timeout (the transactions-v2 "expected sequence 0" rejection, KAFKA-18202); a duplicate request is
        // harmless (the gate admits a checkpoint once), and a short delivery timeout resends a stuck batch soon.
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 20_000);
        List<Long> todo = checkpoints;
        for (int attempt = 1; ; attempt++) {
            final List<Long> failed = Collections.synchronizedList(new ArrayList<>());
            final AtomicReference<Exception> error = new AtomicReference<>();
            try (KafkaProducer<Long, CheckpointRequest> producer = new KafkaProducer<>(p,
                    topics.checkpointRequests.keySerde().serializer(),
                    topics.checkpointRequests.valueSerde().serializer())) {
                final Instant now = Instant.now();
                // what is stored in Kafka names the sources without credentials (see Credentials)
                final List<String> sources = archive.requestSources();
                for (final long cp : todo) {
                    // the chain check waits for the predecessor's verdict when it is asked for too (the range is
                    // contiguous: every checkpoint after its first; asked for again, it has a verdict or a word)
                    producer.send(new ProducerRecord<>(topics.checkpointRequests.name(), cp,
                            CheckpointRequest.newBuilder().setArchive(sources.get(0))
                                    .setSources(sources).setNetworkPassphrase(passphrase).setCheckpoint(cp)
                                    .setReason(RequestReason.RANGE).setRequestedAt(now)
                                    .setPredecessorRequested(cp > rangeFirst && cp != archiveStart).build()),
                            (md, e) -> {
                                        if (e != null) {
                                            failed.add(cp);
                                            error.compareAndSet(null, e);
                                        }
                                    });
                }
                producer.flush();
            }
            if (failed.isEmpty()) {
                return;
            }
            if (attempt >= 5) {
                throw new IllegalStateException("could not request " + failed.size() + " checkpoint(s): "
                        + error.get(), error.get());
            }
            LoggerFactory.getLogger(IngestCommand.class).warn("{} request(s) not written ({}); sending them again",
                    failed.size(), error.get().toString());
            todo = List.copyOf(failed);
        }
    }

    /** A failure's reason, file and source (when known) and detail, as fields of the object being written. */
    private static void writeFailure(final JsonGenerator g, final CheckpointFailed f) throws java.io.IOException {
        g.writeStringField("reason", f.getReason());
        if (f.getFile() != null) {
            g.writeStringField("file", f.getFile());
        }
        if (f.getSource() != null) {
            g.writeStringField("source", f.getSource());
        }
        g.writeStringField("detail", f.getDetail());
    }

    private static long verifiedLedgers(final List<Long> checkpoints, final OutcomeWatcher w) {
        return checkpoints.stream().filter(cp -> w.status(cp) == OutcomeWatcher.Status.VERIFIED)
                .mapToLong(Checkpoint::ledgerCount).sum();
    }

    /**
     * A note on the checkpoints verified without their SCP file (optional: no source had it) when others of the range
     * have theirs, so the archive keeps SCP files and these may be lost or not there yet; null otherwise (an archive
     * without any, as the oldest are). A verified checkpoint is not fetched again in its data dir (a trial: a deleted
     * SCP file left out of the events and the mirror for good, and nothing said so).
     */
    static String withoutScp(final List<Long> verified, final java.util.function.LongPredicate withoutScp,
            final String afterRepair) {
        final List<Long> without = verified.stream().filter(withoutScp::test).toList();
        if (without.isEmpty() || without.size() == verified.size()) {
            return null;
        }
        return String.format("note: %d verified checkpoint(s) have no SCP file in any source, though the other %d of the "
                + "range have theirs: %s. SCP files are optional, so they are verified without one%s", without.size(),
                verified.size() - without.size(), runsOf(without), afterRepair);
    }

    /**
     * One warning per source that served bad copies of files of verified checkpoints, each then read from another
     * source: the checkpoints verified, so nothing failed, and only this names the damaged source on the terminal (a
     * trial: exit 0, a WARN in the log the only trace).
     */
    static List<String> badCopies(final List<OutcomeWatcher.BlamedFile> files) {
        final Map<String, java.util.TreeSet<String>> bySource = new java.util.TreeMap<>();
        for (final OutcomeWatcher.BlamedFile f : files) {
            for (final String src : f.sources()) {
                bySource.computeIfAbsent(src, k -> new java.util.TreeSet<>()).add(f.path());
            }
        }
        final List<String> lines = new ArrayList<>();
        bySource.forEach((src, paths) -> lines.add(String.format("warning: %s served a bad copy of %d file(s), each "
                + "then read from another source: %s%s. That source is damaged or forged: repair it, or leave it "
                + "out (the report's `blamed` names the checkpoints)", src, paths.size(),
                String.join(", ", paths.stream().limit(3).toList()), paths.size() > 3 ? ", ..." : "")));
        return lines;
    }

    /** The runs of {@code checkpoints} (ascending), as {@code 0x17f..0x3ff, 0x43f}. */
    private static String runsOf(final List<Long> checkpoints) {
        final String missing = ReplayCommand.missing(checkpoints, java.util.Set.of());
        return missing.substring(missing.indexOf('(') + 1, missing.length() - 1);
    }

    /**
     * One line per failure, except for a run of checkpoints that each failed only because they link to the copy of the
     * one before, which failed its link: one line for the run (a break in a long range printed a line for every
     * checkpoint after it; the report lists each).
     */
    static void printFailures(final PrintWriter out, final Collection<CheckpointFailed> failures) {
        final List<CheckpointFailed> run = new ArrayList<>();
        for (final CheckpointFailed f : failures) {
            if (!run.isEmpty() && !(followsABreak(f)
                    && f.getCheckpoint() == run.get(run.size() - 1).getCheckpoint() + Checkpoint.FREQUENCY)) {
                printRun(out, run);
            }
            if (followsABreak(f)) {
                run.add(f);
            } else {
                out.println(VerdictLog.failedLine(f));
            }
        }
        printRun(out, run);
    }

    private static boolean followsABreak(final CheckpointFailed f) {
        return FailureReason.CHAIN_LINK_BROKEN.name().equals(f.getReason()) && f.getFailures().size() <= 1
                && f.getDetail().endsWith(HistoryTopology.LINKS_TO_A_REFUSED_COPY);
    }

    private static void printRun(final PrintWriter out, final List<CheckpointFailed> run) {
        if (run.size() < 3) {
            run.forEach(f -> out.println(VerdictLog.failedLine(f)));
        } else {
            final long first = run.get(0).getCheckpoint();
            final long last = run.get(run.size() - 1).getCheckpoint();
            out.printf("checkpoints %d..%d (0x%x..0x%x, %d) FAILED: %s: the first ledger of each %s (each is in the "
                    + "report)%n", first, last, first, last, run.size(), FailureReason.CHAIN_LINK_BROKEN,
                    HistoryTopology.LINKS_TO_A_REFUSED_COPY);
        }
        run.clear();
    }

    /** A report's {@code targets}: how far each target got (one failing target does not stop the others). */
    static void writeTargets(final JsonGenerator g, final List<Publishing.TargetOutcome> targets)
            throws java.io.IOException {
        g.writeArrayFieldStart("targets");
        for (final Publishing.TargetOutcome t : targets) {
            g.writeStartObject();
            g.writeStringField("target", t.target());
            g.writeBooleanField("complete", t.complete());
            g.writeNumberField("checkpointsConfirmed", t.confirmed());
            g.writeNumberField("checkpointsToPublish", t.of());
            g.writeBooleanField("rootWritten", t.rootWritten());
            // what this run did to the target (a trial: a filling run did not say what it had put back)
            g.writeNumberField("filesWritten", t.filesWritten());
            g.writeNumberField("filesSkipped", t.filesSkipped());
            if (t.rootLedger() >= 0) {
                // what the target holds, whatever became of the wait (a given-up target's root may have moved)
                g.writeNumberField("rootLedger", t.rootLedger());
            }
            if (t.error() != null) {
                g.writeStringField("error", t.error());
            }
            if (t.lacks() != null) {
                g.writeStringField("lacks", t.lacks());
            }
            g.writeEndObject();
        }
        g.writeEndArray();
    }

    /**
     * The report. {@code error}: why the command stopped before every checkpoint had a verdict (a signal, the
     * pipeline), or null: the checkpoints without one are then {@code PENDING}, not given up. {@code takenBackOutside}:
     * checkpoints outside the range taken back during the run (as the warning about them names them).
     */
    private static void writeReport(final Path target, final List<Long> checkpoints, final OutcomeWatcher w,
            final long startedMillis, final long ledgers, final long ms, final Boolean published,
            final List<Publishing.TargetOutcome> targets, final int fromAnotherArchive, final String error,
            final List<String> warnings, final List<Long> takenBackOutside) throws java.io.IOException {
        final boolean publishing = published != null;
        final Map<Long, CheckpointFailed> failed = w.failed();
        try (OutputStream os = VerificationReport.openPartial(target);
                JsonGenerator g = new JsonFactory().createGenerator(os, JsonEncoding.UTF8).useDefaultPrettyPrinter()) {
            g.writeStartObject();
            g.writeStringField("command", "ingest");
            g.writeStringField("startedAt", java.time.Instant.ofEpochMilli(startedMillis).toString());
            if (!checkpoints.isEmpty()) {
                // the ledgers of the checkpoints ingested, whole (a trial's cron script took its next --from from
                // verify's report: ingest's had none)
                g.writeNumberField("fromLedger", Checkpoint.firstLedger(checkpoints.get(0)));
                g.writeNumberField("toLedger", checkpoints.get(checkpoints.size() - 1));
            }
            VerificationReport.writeWarnings(g, warnings);
            g.writeArrayFieldStart("checkpoints");
            for (final long cp : checkpoints) {
                g.writeStartObject();
                g.writeNumberField("checkpoint", cp);
                g.writeStringField("hex", String.format("0x%x", cp));
                final CheckpointFailed f = failed.get(cp);
                if (w.status(cp) == OutcomeWatcher.Status.VERIFIED) {
                    g.writeStringField("status", "VERIFIED");
                    g.writeNumberField("ledgers", Checkpoint.ledgerCount(cp));
                    // verify's words in both reports: the genesis checkpoint links to nothing
                    g.writeStringField("chainLink", linkOf(w, cp) == ChainLinkStatus.NOT_APPLICABLE ? "GENESIS"
                            : linkOf(w, cp).name());
                    // the sources that served the verified files (credential-free names)
                    g.writeArrayFieldStart("sources");
                    for (final String src : w.sources(cp)) {
                        g.writeString(src);
                    }
                    g.writeEndArray();
                    final List<OutcomeWatcher.BlamedFile> blamed = w.blamedFiles(cp);
                    if (!blamed.isEmpty()) {
                        // the files read after other sources served bad copies of them (verify's `blamed`)
                        g.writeArrayFieldStart("blamed");
                        for (final OutcomeWatcher.BlamedFile b : blamed) {
                            g.writeStartObject();
                            g.writeStringField("file", b.path());
                            g.writeArrayFieldStart("sources");
                            for (final String src : b.sources()) {
                                g.writeString(src);
                            }
                            g.writeEndArray();
                            g.writeEndObject();
                        }
                        g.writeEndArray();
                    }
                    final List<CheckpointFailed> refused = w.refusedCopies(cp);
                    if (!refused.isEmpty()) {
                        // the copies of earlier attempts that failed a check of what they hold, with their source
                        g.writeArrayFieldStart("copiesRefused");
                        for (final CheckpointFailed r : refused) {
                            g.writeStartObject();
                            writeFailure(g, r);
                            g.writeEndObject();
                        }
                        g.writeEndArray();
                    }
                } else if (f != null) {
                    g.writeStringField("status", "FAILED");
                    writeFailure(g, f);
                    g.writeBooleanField("retryable", f.getRetryable());
                } else {
                    g.writeStringField("status", error == null ? "GIVEN_UP" : "PENDING");
                    final CheckpointFailed last = w.lastAttemptFailure(cp);
                    if (last != null) {
                        // what its attempts were failing on when the command stopped waiting
                        g.writeObjectFieldStart("lastAttemptFailure");
                        writeFailure(g, last);
                        g.writeEndObject();
                    }
                }
                g.writeEndObject();
            }
            g.writeEndArray();
            if (publishing) {
                writeTargets(g, targets);
            }
            g.writeObjectFieldStart("summary");
            g.writeNumberField("checkpoints", checkpoints.size());
            g.writeNumberField("verified", w.verifiedCount());
            g.writeNumberField("failed", failed.size());
            g.writeNumberField("givenUp", error == null ? w.pending() : 0);
            if (error != null) {
                g.writeNumberField("pending", w.pending());
                g.writeStringField("error", error);
            }
            g.writeNumberField("ledgersVerified", ledgers);
            if (publishing) {
                g.writeBooleanField("published", published); // absent when nothing was to be published
            }
            g.writeNumberField("elapsedMillis", ms);
            g.writeStringField("finishedAt", VerificationReport.now());
            // from another archive: verified in this pipeline earlier, none of this archive's files read (see above)
            g.writeNumberField("verifiedFromAnotherArchive", fromAnotherArchive);
            g.writeBooleanField("allVerified", w.verifiedCount() == checkpoints.size() && fromAnotherArchive == 0);
            // checkpoints outside the range, verified earlier, taken back in this run (they make the exit 1 even with
            // allVerified, which is about the range): a trial read allVerified true and missed them
            g.writeArrayFieldStart("takenBackOutsideRange");
            for (final long cp : takenBackOutside) {
                g.writeNumber(cp);
            }
            g.writeEndArray();
            g.writeEndObject();
            g.writeEndObject();
        }
        VerificationReport.moveIntoPlace(target);
    }

    /** A progress bar on a terminal, a line every few seconds otherwise. */
    static final class Progress implements AutoCloseable {
        private final PrintWriter err;
        private final int total;
        private final ProgressBar bar;
        private final long start = System.nanoTime();
        private long lastLine;
        private int lastDone = -1;

        Progress(final PrintWriter err, final int total) {
            this.err = err;
            this.total = total;
            this.bar = stderrIsATerminal()
                    ? new ProgressBarBuilder().setTaskName("ingest").setInitialMax(total).setUnit(" cp", 1).build()
                    : null;
        }

        /**
         * Whether the bar's stream, stderr, is a terminal: on Linux, what its descriptor links to; elsewhere whether
         * the JVM has a console (stdin and stdout terminals: {@code 2>log} from a terminal drew the bar into the log).
         */
        static boolean stderrIsATerminal() {
            try {
                final String target = java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/fd/2"))
                        .toString();
                return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/console");
            } catch (final java.io.IOException | UnsupportedOperationException | SecurityException e) {
                return System.console() != null;
            }
        }

        /** {@code bytes}: fetched by this process, or -1 when the workers fetch elsewhere (not shown then). */
        void update(final int verified, final int failed, final long bytes) {
            final int done = verified + failed;
            final double secs = (System.nanoTime() - start) / 1e9;
            final double rate = done / Math.max(secs, 1e-3);
            final String mb = bytes < 0 ? "" : String.format(", %.1f MB", bytes / 1e6);
            if (bar != null) {
                bar.stepTo(done);
                bar.setExtraMessage(failed + " failed" + mb);
                return;
            }
            final long now = System.nanoTime();
            // all done: said once (it was said at every poll, 5 a second, while ingest waited for a take-back)
            if (now - lastLine > 5_000_000_000L || done == total && lastDone != done) {
                lastLine = now;
                lastDone = done;
                // no rate and no ETA before the first verdict (not "0.0 cp/s, ETA 0 s")
                err.printf("ingest: %d/%d checkpoints (%d verified, %d failed, %d pending)%s%s%n", done, total,
                        verified, failed, total - done, mb, done == 0 ? "" : String.format(", %.1f cp/s, ETA %.0f s",
                                rate, (total - done) / rate));
                err.flush();
            }
        }

        /** Clears the bar's line on a terminal, so that a line printed next does not run into it (redrawn next). */
        void clearLine() {
            if (bar != null) {
                err.print("\r\u001b[K");
            }
        }

        @Override
        public void close() {
            if (bar != null) {
                bar.close();
            }
        }
    }

    /**
     * A verified checkpoint's link as the reports say it. One verified as its archive's start ({@code ARCHIVE_START})
     * whose predecessor this range has verified since was checked against it then (the chain check takes back one that
     * does not link), so VERIFIED; its verified event, written before, keeps ARCHIVE_START (a trial: the note said the
     * archive held no predecessor the same run had just verified).
     */
    private static ChainLinkStatus linkOf(final OutcomeWatcher w, final long cp) {
        final ChainLinkStatus link = w.link(cp);
        return link == ChainLinkStatus.ARCHIVE_START
                && w.status(Checkpoint.previous(cp)) == OutcomeWatcher.Status.VERIFIED ? ChainLinkStatus.VERIFIED
                : link;
    }
}
