package io.historystreams.cli;

import io.historystreams.events.CheckpointVerified;
import io.historystreams.publish.ArchiveWriter;
import io.historystreams.publish.ArchiveWriters;
import io.historystreams.publish.CheckpointPublisher;
import io.historystreams.publish.PublishRunner;
import io.historystreams.service.HistoryStreamsService;
import io.historystreams.service.OutcomeWatcher.RecordAt;
import io.historystreams.service.ServiceConfig;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.LoggerFactory;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;

/**
 * The publishing side of a command: one {@link PublishRunner} per target, each with its own consumer group, so a
 * slow or failing target never holds back another.
 */
final class Publishing implements AutoCloseable {
    /** {@code publish.give.up.seconds}: how long a command waits for a target that keeps failing (0: for ever). */
    static final String GIVE_UP_SECONDS = ServiceConfig.PUBLISH_GIVE_UP_SECONDS.substring(
            ServiceConfig.PUBLISH_PREFIX.length());
    static final long DEFAULT_GIVE_UP_SECONDS = 120;
    /** How long a service's root state waits for a missing checkpoint ({@link PublishRunner.Settings#releaseAfter}). */
    static final String ROOT_WAIT_SECONDS = ServiceConfig.PUBLISH_ROOT_WAIT_SECONDS.substring(
            ServiceConfig.PUBLISH_PREFIX.length());
    /** How often {@link #awaitPublished} reads the groups' committed offsets (a request to the coordinator each). */
    private static final long POLL_MILLIS = 50;

    private final HistoryStreamsService svc;
    private final List<PublishRunner> runners = new ArrayList<>();
    private final List<ArchiveWriter> writers = new ArrayList<>();
    /** The consumer groups of this run only ({@link #startInOwnGroups}), deleted by {@link #close}. */
    private final List<String> ownGroups = new ArrayList<>();
    private final AtomicBoolean closed = new AtomicBoolean();

    private Publishing(final HistoryStreamsService svc) {
        this.svc = svc;
    }

    /** Refuses unknown {@code publish.*} settings before anything is started (the targets are opened by start). */
    static void check(final ServiceConfig config, final List<String> targets) {
        // the keys, also when nothing is published this time: an error with targets, a warning without (as for
        // any unknown setting: a settings file shared with publishing commands is not this command's concern)
        final List<String> known = new ArrayList<>(ArchiveWriters.settingNames());
        known.add(GIVE_UP_SECONDS);
        known.add(ROOT_WAIT_SECONDS);
        for (final String key : writerSettings(config).keySet()) {
            if (!known.contains(key)) {
                final String said = "unknown publish setting publish." + key + " (known: publish."
                        + String.join(", publish.", known) + ")";
                if (!targets.isEmpty()) {
                    throw new IllegalArgumentException(said);
                }
                LoggerFactory.getLogger(Publishing.class).warn("{}: ignored, nothing is published", said);
            }
        }
        // their values too, by the names the user gave, before anything starts (they were refused when a target was
        // opened, after the broker had started, as "retryDelayMs must be a non-negative integer")
        final Map<String, String> values = writerSettings(config);
        for (final Map.Entry<String, String> e : values.entrySet()) {
            final String v = e.getValue().trim();
            final String must = switch (e.getKey()) {
                case "retries", "timeout.seconds" -> v.matches("[0-9]{1,9}") && Integer.parseInt(v) >= 1 ? null
                        : "a whole number, at least 1";
                case "retry.delay.ms", "retry.max.delay.ms" -> v.matches("[0-9]{1,9}") ? null
                        : "a whole number of milliseconds, 0 or more";
                case "fsync" -> v.equals("true") || v.equals("false") ? null : "true or false";
                default -> null;
            };
            if (must != null) {
                throw new IllegalArgumentException("setting " + ServiceConfig.PUBLISH_PREFIX + e.getKey() + " must be "
                        + must + ", got " + e.getValue());
            }
        }
        final Map<String, String> seen = new java.util.HashMap<>();
        for (final String target : targets) {
            ArchiveWriters.options(target, writerSettings(config));
            final String id = ArchiveWriters.identity(target);
            final java.nio.file.Path local = id.startsWith("/") ? java.nio.file.Path.of(id) : null;
            if (local != null && java.nio.file.Files.exists(local) && !java.nio.file.Files.isDirectory(local)) {
                // said when the target was opened, after the broker had started and a data dir had been made
                throw new IllegalArgumentException("cannot use " + ArchiveWriters.displayName(target) + " as a target "
                        + "archive: " + id + " is a file, not a directory");
            }
            final String before = seen.put(id, target);
            if (before != null) {
                // two runners in one consumer group would split the work, each moving the one root state
                throw new IllegalArgumentException("--publish-to names one target twice: "
                        + ArchiveWriters.displayName(before) + " and " + ArchiveWriters.displayName(target));
            }
        }
        giveUp(config);
        rootWait(config);
    }

    /** The {@code publish.*} settings of the writers (all but those of the commands' and the runners' waits). */
    private static Map<String, String> writerSettings(final ServiceConfig config) {
        final Map<String, String> s = new TreeMap<>(config.withPrefix(ServiceConfig.PUBLISH_PREFIX));
        s.remove(GIVE_UP_SECONDS);
        s.remove(ROOT_WAIT_SECONDS);
        return s;
    }

    /**
     * {@code publish.root.wait.seconds}: how long a service's root state waits for a checkpoint the target lacks
     * before it moves past it (default {@link PublishRunner.Settings#defaults()}'s, 6 minutes; 0: for ever, the root
     * never names a checkpoint with one missing below it: a trial's operator wanted a mirror whose root is always
     * complete below it).
     */
    static Duration rootWait(final ServiceConfig config) {
        final String v = config.withPrefix(ServiceConfig.PUBLISH_PREFIX).get(ROOT_WAIT_SECONDS);
        if (v == null || v.isBlank()) {
            return PublishRunner.Settings.defaults().releaseAfter();
        }
        final long seconds;
        try {
            seconds = Long.parseLong(v.trim());
        } catch (final NumberFormatException e) {
            throw new IllegalArgumentException("publish." + ROOT_WAIT_SECONDS + " must be a number of seconds: " + v);
        }
        if (seconds < 0) {
            throw new IllegalArgumentException("publish." + ROOT_WAIT_SECONDS + " must be 0 (for ever) or more: " + v);
        }
        return seconds == 0 ? FOREVER : Duration.ofSeconds(seconds);
    }

    /** A wait that never ends (100 years: no overflow in the runner's arithmetic). */
    private static final Duration FOREVER = Duration.ofDays(36_500);

    /** {@code publish.give.up.seconds}, or null for "never". */
    static Duration giveUp(final ServiceConfig config) {
        final String v = config.withPrefix(ServiceConfig.PUBLISH_PREFIX).get(GIVE_UP_SECONDS);
        final long seconds;
        try {
            seconds = v == null || v.isBlank() ? DEFAULT_GIVE_UP_SECONDS : Long.parseLong(v.trim());
        } catch (final NumberFormatException e) {
            throw new IllegalArgumentException("publish." + GIVE_UP_SECONDS + " must be a number of seconds: " + v);
        }
        if (seconds < 0) {
            throw new IllegalArgumentException("publish." + GIVE_UP_SECONDS + " must be 0 (never) or more: " + v);
        }
        return seconds == 0 ? null : Duration.ofSeconds(seconds);
    }

    /**
     * Publishing of every verified checkpoint the targets' consumer groups have not published yet, for a service
     * ({@code run}, {@code tail}): a target's root state that waits for a missing checkpoint moves on once the runner
     * has read the topic to its end.
     */
    static Publishing start(final HistoryStreamsService svc, final List<String> targets) throws Exception {
        return start(svc, targets, null, false, false, false);
    }

    /**
     * As {@link #start(HistoryStreamsService, List)}, for a job that ends ({@code ingest}): a target's root state that
     * waits for a missing checkpoint moves on only when {@link #awaitPublished} has seen every checkpoint published
     * (the missing ones failed), so it never names a checkpoint with one below it still being verified. With {@code
     * fill}, every verified checkpoint is published to each target again, the files it lacks put ({@link
     * PublishRunner#fillingTarget}).
     */
    static Publishing startBounded(final HistoryStreamsService svc, final List<String> targets, final boolean fill)
            throws Exception {
        return start(svc, targets, null, true, false, fill);
    }

    /**
     * Publishing of the checkpoints {@code scope} accepts (a bounded job, {@code replay}), each target in a consumer
     * group of its own for this run, deleted by {@link #close}: the runners read the whole topic and publish the
     * checkpoints in scope whatever the target's shared group did before (a target emptied since is filled again; the
     * files a target has are skipped), and nothing else, neither files put ahead nor a root naming a checkpoint out of
     * scope. The target's shared group is left as it is.
     */
    static Publishing startInOwnGroups(final HistoryStreamsService svc, final List<String> targets,
            final Predicate<CheckpointVerified> scope, final boolean rewrite) throws Exception {
        return start(svc, targets, Objects.requireNonNull(scope, "scope"), true, rewrite, false);
    }

    /** With {@code rewrite}, every file is put over what the target has ({@link CheckpointPublisher#rewriting}). */
    private static Publishing start(final HistoryStreamsService svc, final List<String> targets,
            final Predicate<CheckpointVerified> ownGroupScope, final boolean bounded, final boolean rewrite,
            final boolean fill) throws Exception {
        final Publishing p = new Publishing(svc);
        try {
            final String app = svc.config().get(ServiceConfig.APPLICATION_ID);
            final String run = UUID.randomUUID().toString().substring(0, 8);
            for (final String target : targets) {
                final ArchiveWriter w = ArchiveWriters.open(target, ArchiveWriters.options(target,
                        writerSettings(svc.config())));
                p.writers.add(w);
                final CheckpointPublisher publisher = new CheckpointPublisher(w, svc.context());
                if (rewrite) {
                    publisher.rewriting();
                }
                final PublishRunner.Settings settings = PublishRunner.Settings.defaults()
                        .withReleaseAfter(rootWait(svc.config()));
                final PublishRunner r;
                if (ownGroupScope == null) {
                    r = new PublishRunner(app, svc.clientProps(), w.name(), publisher, svc.topics(), settings);
                } else {
                    final String group = PublishRunner.groupId(app, w.name()) + "-run-" + run;
                    p.ownGroups.add(group);
                    r = PublishRunner.ownGroup(group, svc.clientProps(), w.name(), publisher, svc.topics(), settings,
                            ownGroupScope);
                }
                if (bounded) {
                    r.releasingRootOnRequestOnly();
                }
                if (fill) {
                    r.fillingTarget();
                }
                p.runners.add(r);
                bindMetrics(svc, w.name(), r);
                r.start();
            }
        } catch (final Exception e) {
            p.close();
            throw e;
        }
        svc.startBlobEviction(p.writers.stream().map(ArchiveWriter::name).collect(java.util.stream.Collectors.toSet()));
        svc.closeFirst(p);
        return p;
    }

    /** Sink metrics per target, next to the pipeline's in the service's Prometheus registry. */
    private static void bindMetrics(final HistoryStreamsService svc, final String target, final PublishRunner r) {
        final io.micrometer.core.instrument.MeterRegistry m = svc.metrics().registry();
        // counts that only grow: counters (..._total in the Prometheus text), so rate() copes with a restart
        io.micrometer.core.instrument.FunctionCounter.builder("history_publish_checkpoints", r,
                        PublishRunner::checkpointsPublished)
                .description("Checkpoints published to the target").tag("target", target).register(m);
        io.micrometer.core.instrument.FunctionCounter.builder("history_publish_files_written", r,
                        PublishRunner::filesWritten)
                .description("Files written to the target").tag("target", target).register(m);
        io.micrometer.core.instrument.FunctionCounter.builder("history_publish_files_skipped", r,
                        PublishRunner::filesSkipped)
                .description("Files the target already had, not written").tag("target", target).register(m);
        io.micrometer.core.instrument.FunctionCounter.builder("history_publish_bytes", r, PublishRunner::bytesWritten)
                .description("Bytes written to the target").baseUnit("bytes").tag("target", target).register(m);
        io.micrometer.core.instrument.FunctionCounter.builder("history_publish_failures", r, PublishRunner::failures)
                .description("Failed publish attempts (retried)").tag("target", target).register(m);
        // what the mirror's readers see, next to history_tail_root_ledger: a mirror lagging, or cut down
        io.micrometer.core.instrument.Gauge.builder("history_publish_root_ledger", r, PublishRunner::rootLedger)
                .description("Ledger the target's root state names, as last read or written (-1: none yet)")
                .tag("target", target).register(m);
    }

    /**
     * What the last {@link #awaitPublished} found for one target.
     *
     * @param target      the target's name (credential-free)
     * @param confirmed   checkpoints of the job confirmed published (its consumer group committed past them)
     * @param of          checkpoints of the job to publish (those verified)
     * @param rootWritten whether the target's root state names the last of them (or the highest it holds)
     * @param error       why this target's publishing is incomplete, or null
     * @param lacks       what the target lacks below the root state written, or null
     * @param rootLedger  the ledger the target's root state names once the wait ended, -1 when it has none (or it
     *                    could not be read): what a given-up target holds, which {@code rootWritten} does not say (a
     *                    trial: rootWritten false, 34 confirmed, and the target's root at a checkpoint 41 verified up to)
     * @param filesWritten files this run put to the target (with {@code --fill-targets}, those it had lost)
     * @param filesSkipped files this run found the target had
     */
    record TargetOutcome(String target, long confirmed, long of, boolean rootWritten, String error, String lacks,
            long rootLedger, long filesWritten, long filesSkipped) {
        boolean complete() {
            // a root state moved over checkpoints the target lacks is not a complete target (a trial: "complete" true
            // beside "lacks" naming two holes)
            return error == null && confirmed == of && rootWritten && lacks == null;
        }
    }

    /** The error of every target when nothing was verified, in the range or before it: nothing was published. */
    private static final String NOTHING_PUBLISHED =
            "no checkpoint of the range was verified: nothing was published to it";

    /** Whether the last {@link #awaitPublished} had nothing to publish to any target. */
    boolean nothingPublished() {
        return nothingPublished;
    }

    private volatile boolean nothingPublished;

    /** One entry per target, in {@code --publish-to} order, from the last {@link #awaitPublished}. */
    private volatile List<TargetOutcome> outcomes = List.of();

    /** What the last {@link #awaitPublished} found for each target (empty before one). */
    List<TargetOutcome> outcomes() {
        return outcomes;
    }

    /**
     * Waits until every given checkpoint is published to every target: until each target's consumer group has
     * committed past the checkpoint's verified record (its runner commits a record only once the checkpoint is
     * published and its published event acknowledged), then until each target's root state has moved. A target
     * whose runner failed for good, that failed in a way retrying cannot fix, or that kept failing for {@code
     * publish.give.up.seconds} without a checkpoint published is given up, with the reason on {@code err}; the others
     * are still waited for (a failing target never holds back another). False when a target was given up, the
     * service is closing, or the timeout passed; {@link #outcomes} then says how far each target got.
     *
     * @param records         where each checkpoint's verified record is in the {@code checkpoints-verified} topic
     * @param firstCheckpoint the first checkpoint of the job's range (what a new target lacks is counted from there)
     * @param earlier         the last verified record of each partition: a target new to the data dir (or emptied
     *                        since) is given everything verified there, waited for as the range's is, its root state
     *                        written over it (trials: published without one; with some of the range verified, the
     *                        command ended while the rest was published, which the README promises, and a new mirror
     *                        got 35 of 157 checkpoints, as timing had it)
     * @param timeout how long to wait at most; null: until done
     */
    boolean awaitPublished(final Map<Long, RecordAt> records, final long firstCheckpoint,
            final Map<Long, RecordAt> earlier, final PrintWriter err, final Duration timeout)
            throws InterruptedException, ExecutionException {
        final int n = runners.size();
        final long[] confirmed = new long[n];
        final boolean[] rootWritten = new boolean[n];
        final String[] error = new String[n];
        final String[] lacks = new String[n];
        nothingPublished = !runners.isEmpty() && records.isEmpty() && earlier.isEmpty();
        // a target given everything: the range's records and, past them, the last of each partition
        final Map<Long, RecordAt> everything = withEarlier(records, earlier);
        // (with none of the range verified, the verified events of the data dir: a trial's new target given them was
        // reported complete with 0 of 0 checkpoints confirmed)
        final long[] toPublish = new long[n];
        final boolean[] given = new boolean[n];
        for (int i = 0; i < n; i++) {
            given[i] = records.isEmpty();
            toPublish[i] = events(given[i] ? everything : records);
        }
        try {
            if (runners.isEmpty()) {
                return true;
            }
            if (nothingPublished) {
                // nothing verified, nothing to publish: none is complete (a trial: a new target the range gave
                // nothing to was reported complete, its root state written)
                java.util.Arrays.fill(error, NOTHING_PUBLISHED);
                return false;
            }
            final long started = System.nanoTime();
            final Duration giveUp = giveUp(svc.config());
            if (!awaitConfirmed(records, everything, err, timeout, giveUp, started, confirmed, toPublish, given,
                    error)) {
                return false;
            }
            // (what a target lacks is counted from the range's first checkpoint, also for one given more: a failed
            // first checkpoint is a hole of the range)
            return releaseRoots(records.isEmpty() ? -1 : firstCheckpoint, err, giveUp, started, timeout, rootWritten,
                    error, lacks) && java.util.Arrays.stream(error).allMatch(Objects::isNull);
        } finally {
            final List<TargetOutcome> o = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                o.add(new TargetOutcome(writers.get(i).name(), confirmed[i], toPublish[i], rootWritten[i], error[i],
                        lacks[i], rootLedgerOf(writers.get(i)), runners.get(i).filesWritten(),
                        runners.get(i).filesSkipped()));
            }
            outcomes = List.copyOf(o);
        }
    }

    /**
     * {@code records} and, of each partition of {@code last} (its last verified record, standing for every event read
     * there) whose record is past the range's records there, that record, standing for the events after them.
     */
    static Map<Long, RecordAt> withEarlier(final Map<Long, RecordAt> records, final Map<Long, RecordAt> last) {
        final Map<Long, RecordAt> out = new java.util.LinkedHashMap<>(records);
        for (final Map.Entry<Long, RecordAt> e : last.entrySet()) {
            final RecordAt at = e.getValue();
            final long inRange = records.values().stream().filter(r -> r.partition() == at.partition()).count();
            final long highest = records.values().stream().filter(r -> r.partition() == at.partition())
                    .mapToLong(RecordAt::offset).max().orElse(-1);
            if (at.offset() > highest) {
                // (a checkpoint of the range verified again later, after a take-back, is its partition's last: kept
                // under a key of its own, as only the values are waited for)
                out.put(out.containsKey(e.getKey()) ? Long.MIN_VALUE + at.partition() : e.getKey(),
                        new RecordAt(at.partition(), at.offset(), Math.max(1, at.events() - inRange)));
            } else if (at.events() > inRange) {
                // the partition's last record is one of the range's: the checkpoints verified there before the range
                // are waited for with it, under a key of their own (a trial's emptied target was given all 157
                // checkpoints, and the report counted 81: the other partition's last was the range's one record)
                out.put(Long.MIN_VALUE + at.partition(), new RecordAt(at.partition(), at.offset(),
                        at.events() - inRange));
            }
        }
        return out;
    }

    /**
     * The first part of {@link #awaitPublished}: until every target not given up has confirmed every record it is to
     * publish: {@code records}, or {@code everything} for a target whose group starts at the beginning (new, or
     * emptied since: {@link PublishRunner#fromBeginning}), known once its runner has checked; {@code given} and
     * {@code toPublish} say so per target. False when the service is closing or the timeout passed ({@code error} then
     * names the targets left short).
     */
    private boolean awaitConfirmed(final Map<Long, RecordAt> records, final Map<Long, RecordAt> everything,
            final PrintWriter err, final Duration timeout, final Duration giveUp, final long started,
            final long[] confirmed, final long[] toPublish, final boolean[] given, final String[] error)
            throws InterruptedException, ExecutionException {
        final String topic = svc.topics().checkpointsVerified.name();
        try (Admin admin = Admin.create(svc.clientProps())) {
            long lastLine = System.nanoTime();
            while (true) {
                boolean done = true;
                final List<String> progress = new ArrayList<>();
                for (int i = 0; i < runners.size(); i++) {
                    if (error[i] != null) {
                        continue; // given up
                    }
                    final PublishRunner r = runners.get(i);
                    final String name = writers.get(i).name();
                    if (r.fatalError() != null) {
                        error[i] = "publishing to " + name + " stopped: " + r.fatalError();
                        err.println("error: " + error[i]);
                        continue;
                    }
                    long published = 0;
                    if (r.startChecked() && r.fromBeginning() && !given[i]) {
                        given[i] = true;
                        toPublish[i] = events(everything);
                    }
                    final long all = toPublish[i];
                    if (r.startChecked()) {
                        final Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(
                                r.groupId()).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
                        for (final RecordAt at : (given[i] ? everything : records).values()) {
                            final OffsetAndMetadata om = committed.get(new TopicPartition(topic, at.partition()));
                            if (om != null && om.offset() > at.offset()) {
                                published += at.events();
                            }
                        }
                    }
                    confirmed[i] = published;
                    if (published < all && r.needsAttention()) {
                        // waiting would not help: the same failure comes back until someone fixes the target
                        error[i] = "publishing to " + name + " failed in a way retrying cannot fix: "
                                + r.lastFailure();
                        err.println("error: " + error[i] + ". " + published + "/" + all
                                + " checkpoints confirmed published; the verified ones stay in the topics: run "
                                + "again once that is fixed to publish the rest");
                        continue;
                    }
                    if (published < all && giveUp != null && r.failingFor().compareTo(giveUp) >= 0) {
                        error[i] = "publishing to " + name + " has failed for " + r.failingFor().toSeconds()
                                + " s without a checkpoint published (publish." + GIVE_UP_SECONDS + "="
                                + giveUp.toSeconds() + "); last: " + r.lastFailure();
                        err.println("error: " + error[i] + ". " + published + "/" + all
                                + " checkpoints confirmed published (" + r.checkpointsPublished() + " published by "
                                + "this run, the last maybe not confirmed yet); the verified ones stay in the "
                                + "topics: run again once that is fixed to publish the rest");
                        continue;
                    }
                    done &= published == all;
                    progress.add(name + ": " + published + "/" + all + " checkpoints");
                }
                if (done) {
                    return true;
                }
                if (svc.closing()) {
                    markUnfinished(error, i -> confirmed[i] < toPublish[i],
                            "the command stopped before it was published");
                    return false;
                }
                if (timeout != null && System.nanoTime() - started > timeout.toNanos()) {
                    err.println("error: publishing did not finish in time: " + String.join(", ", progress));
                    markUnfinished(error, i -> confirmed[i] < toPublish[i], "not published in time");
                    return false;
                }
                if (System.nanoTime() - lastLine > 10_000_000_000L) {
                    lastLine = System.nanoTime();
                    err.println("publish: " + String.join(", ", progress));
                    err.flush();
                }
                Thread.sleep(POLL_MILLIS);
            }
        } catch (final TimeoutException e) {
            err.println("error: the publishing progress could not be read from the cluster: " + e);
            markUnfinished(error, i -> confirmed[i] < toPublish[i],
                    "its progress could not be read from the cluster: " + e);
            return false;
        }
    }

    /**
     * The ledger the root state of {@code target} names, -1 when it has none or it cannot be read within 5 s (a target
     * that hangs, given up, must not hold the end of the command for a request timeout).
     */
    private static long rootLedgerOf(final ArchiveWriter target) {
        final java.util.concurrent.FutureTask<Long> read = new java.util.concurrent.FutureTask<>(() -> {
            final java.util.Optional<byte[]> root = target.readRootState();
            return root.isEmpty() ? -1L : io.historystreams.verify.HistoryArchiveState.parse(root.get(),
                    io.historystreams.archive.ArchivePaths.WELL_KNOWN).currentLedger();
        });
        final Thread t = new Thread(read, "read-root-" + target.name());
        t.setDaemon(true);
        t.start();
        try {
            return read.get(5, TimeUnit.SECONDS);
        } catch (final ExecutionException | TimeoutException e) {
            read.cancel(true);
            return -1;
        } catch (final InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    /** How many verified events {@code records} stand for. */
    private static long events(final Map<Long, RecordAt> records) {
        return records.values().stream().mapToLong(RecordAt::events).sum();
    }

    /** Gives the targets not given up whose work is {@code unfinished} {@code why} as their error. */
    private static void markUnfinished(final String[] error, final java.util.function.IntPredicate unfinished,
            final String why) {
        for (int i = 0; i < error.length; i++) {
            if (error[i] == null && unfinished.test(i)) {
                error[i] = why;
            }
        }
    }

    /**
     * Every checkpoint is published: each runner of a target not given up moves its target's root state to the
     * highest of them, past any that failed (a WARN names them), and this waits until it has. False, with the reason
     * on {@code err} and in {@code error}, as {@link #awaitPublished}.
     */
    private boolean releaseRoots(final long firstCheckpoint, final PrintWriter err, final Duration giveUp,
            final long started, final Duration timeout, final boolean[] rootWritten, final String[] error,
            final String[] lacks) throws InterruptedException {
        final long[] tokens = new long[runners.size()];
        for (int i = 0; i < runners.size(); i++) {
            if (error[i] == null) {
                tokens[i] = runners.get(i).releaseRoot(firstCheckpoint);
            }
        }
        while (true) {
            boolean all = true;
            for (int i = 0; i < runners.size(); i++) {
                final PublishRunner r = runners.get(i);
                if (error[i] != null || rootWritten[i]) {
                    continue;
                }
                if (r.rootReleased(tokens[i])) {
                    final String held = r.rootHeld();
                    if (held != null) {
                        // its checkpoints are published, but a reader of the target does not see them (a trial's
                        // root named them over checkpoints missing below the range, exit 0)
                        error[i] = writers.get(i).name() + ": " + held;
                        err.println("error: " + error[i]);
                        continue;
                    }
                    rootWritten[i] = true;
                    lacks[i] = r.rootPassed();
                    continue;
                }
                if (r.fatalError() != null) {
                    error[i] = "publishing to " + writers.get(i).name() + " stopped: " + r.fatalError();
                    err.println("error: " + error[i]);
                    continue;
                }
                if (giveUp != null && r.failingFor().compareTo(giveUp) >= 0) {
                    error[i] = "writing the root state of " + writers.get(i).name() + " has failed for "
                            + r.failingFor().toSeconds() + " s (publish." + GIVE_UP_SECONDS + "="
                            + giveUp.toSeconds() + "); last: " + r.lastFailure();
                    err.println("error: " + error[i] + ". Its checkpoints are published; run again once the "
                            + "target is fixed to write it");
                    continue;
                }
                all = false;
            }
            if (all) {
                return true;
            }
            if (svc.closing()) {
                markUnfinished(error, i -> !rootWritten[i], "the command stopped before its root state was written");
                return false;
            }
            if (timeout != null && System.nanoTime() - started > timeout.toNanos()) {
                err.println("error: publishing did not finish in time: the root state of a target is not written");
                markUnfinished(error, i -> !rootWritten[i], "its root state was not written in time");
                return false;
            }
            Thread.sleep(POLL_MILLIS);
        }
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return; // closed already, by the service (SIGTERM) or by the command
        }
        for (final PublishRunner r : runners) {
            r.close();
        }
        if (!ownGroups.isEmpty()) {
            // this run's groups: nothing else uses them (best effort: a group left behind is empty, and harmless)
            try (Admin admin = Admin.create(svc.clientProps())) {
                admin.deleteConsumerGroups(ownGroups).all().get(10, TimeUnit.SECONDS);
            } catch (final Exception e) {
                LoggerFactory.getLogger(Publishing.class).debug("deleting the consumer groups {}: {}", ownGroups,
                        e.toString());
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        for (final ArchiveWriter w : writers) {
            try {
                w.close();
            } catch (final Exception e) {
                // nothing left to do with a writer that cannot close
            }
        }
    }
}
