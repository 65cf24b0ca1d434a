package io.historystreams.publish;

import io.historystreams.events.CheckpointPublished;
import io.historystreams.events.CheckpointVerified;
import io.historystreams.topology.Topics;
import io.historystreams.verify.Hash;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongPredicate;
import java.util.function.Predicate;

/**
 * Publishes the verified checkpoints of the {@code checkpoints-verified} topic to one target archive, in its own
 * thread and consumer group ({@code <application.id>-publish-<target>}), so a slow or failing target never holds
 * back another.
 *
 * <p>Ordering: each polled batch is published in ascending checkpoint order, one checkpoint at a time (the buckets
 * and data files of the whole batch are put ahead, together: {@link CheckpointPublisher#prepare}); the root
 * state only moves forward, and only as far as the target holds every checkpoint up to it. A checkpoint published
 * above one the target lacks (verified late, or on a partition read later) leaves the root where it is until the
 * missing one is in; when it never comes (it failed), the root moves anyway with a WARN: a service's runner once it
 * has read the topic to its end and the root has waited {@link Settings#releaseAfter}, a bounded job's when that job
 * has every verdict ({@link #releaseRoot}).
 *
 * <p>A record is retried with backoff until it is published, never skipped (retryable failures back off from
 * {@code minBackoff} to {@code maxBackoff}; others wait {@code maxBackoff} between attempts and count as failures);
 * during the waits the consumer polls with its partitions paused, so it keeps its group membership. Its
 * {@link CheckpointPublished} event is produced, and only once that event is acknowledged is its offset committed,
 * per partition up to the first record of the batch not yet done. Events are sent without waiting and offsets
 * committed about once a second and at the end of each batch (not per checkpoint: a round trip each, which cost
 * more than publishing a checkpoint's files). A crash re-processes the uncommitted records, skipping the files the target
 * already has (at-least-once: a re-processed record may emit a second event, with everything skipped).
 *
 * <p>Scope: a runner may be given the checkpoints it is to publish. The others are read past without being published
 * (nor put ahead). In the target's shared consumer group its offsets are never committed past the first of them in a
 * partition: the {@code ingest}, {@code tail} and {@code run} that publish everything must still find them
 * unpublished. A runner in a group of its own ({@link #ownGroup}: a {@code replay} of a range) commits past them.
 */
public final class PublishRunner implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PublishRunner.class);

    /**
     * Tuning; {@link #defaults()} suits production.
     *
     * @param releaseAfter how long a service's runner lets its root state wait for a missing checkpoint once its group
     *                     has read the topic to its end: a checkpoint verified out of order during a catch-up comes
     *                     within seconds; one that failed may come later (a tail tries it again, every 5 minutes at
     *                     most: the default, 6 minutes, waits for one such try) or not at all
     */
    public record Settings(Duration pollTimeout, Duration minBackoff, Duration maxBackoff, Duration closeTimeout,
            int maxPollRecords, Map<String, Object> consumerOverrides, Map<String, Object> producerOverrides,
            Duration releaseAfter) {
        public Settings {
            Objects.requireNonNull(pollTimeout, "pollTimeout");
            Objects.requireNonNull(releaseAfter, "releaseAfter");
            Objects.requireNonNull(minBackoff, "minBackoff");
            Objects.requireNonNull(maxBackoff, "maxBackoff");
            Objects.requireNonNull(closeTimeout, "closeTimeout");
            if (maxPollRecords < 1) {
                throw new IllegalArgumentException("maxPollRecords must be at least 1: " + maxPollRecords);
            }
            consumerOverrides = consumerOverrides == null ? Map.of() : Map.copyOf(consumerOverrides);
            producerOverrides = producerOverrides == null ? Map.of() : Map.copyOf(producerOverrides);
        }

        public static Settings defaults() {
            return new Settings(Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofMinutes(1),
                    Duration.ofSeconds(30), 100, Map.of(), Map.of(), Duration.ofMinutes(6));
        }

        public Settings withBackoff(final Duration min, final Duration max) {
            return new Settings(pollTimeout, min, max, closeTimeout, maxPollRecords, consumerOverrides,
                    producerOverrides, releaseAfter);
        }

        public Settings withReleaseAfter(final Duration after) {
            return new Settings(pollTimeout, minBackoff, maxBackoff, closeTimeout, maxPollRecords, consumerOverrides,
                    producerOverrides, after);
        }
    }

    private final String targetName;
    private final String groupId;
    private final String bootstrapServers;
    private final Map<String, Object> clientProps;
    private final Topics topics;
    private final CheckpointPublisher publisher;
    private final Settings settings;
    private final Predicate<CheckpointVerified> scope;
    /** The group is the target's, shared with other jobs: never commit past a record out of scope. */
    private final boolean sharedGroup;
    private final Thread thread;
    private final AtomicReference<KafkaConsumer<Long, CheckpointVerified>> consumerRef = new AtomicReference<>();
    private volatile boolean running;
    /** Set once the runner knows where its group starts (see {@link #restartIfTargetEmptied}). */
    private volatile boolean startChecked;
    /** Whether the group starts at the beginning of the topic: new to the target, or moved back (set before start). */
    private volatile boolean fromBeginning;
    private volatile Throwable fatal;
    /** {@code System.nanoTime()} of the first failure since the last success; 0 while nothing fails. */
    private volatile long failingSinceNanos;
    private volatile String lastFailure;

    private final AtomicLong checkpointsPublished = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    /** Whether a root state waiting for missing checkpoints moves once the topic is read to its end (a service). */
    private volatile boolean releaseRootWhenCaughtUp = true;
    /** Requests of {@link #releaseRoot}, and how many of them the runner has carried out. */
    private final AtomicLong releasesRequested = new AtomicLong();
    private final AtomicLong releasesDone = new AtomicLong();
    private final AtomicLong lastCheckpoint = new AtomicLong(-1);

    /**
     * @param applicationId    the service's application.id (prefix of the consumer group)
     * @param bootstrapServers the Kafka cluster
     * @param targetName       a short, credential-free name of the target (sanitized into the group id)
     * @param publisher        the publisher of the target (its writer should be a {@link RetryingArchiveWriter})
     * @param topics           the topic registry whose serdes read and write the events
     */
    public PublishRunner(final String applicationId, final String bootstrapServers, final String targetName,
            final CheckpointPublisher publisher, final Topics topics, final Settings settings) {
        this(applicationId, Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                Objects.requireNonNull(bootstrapServers, "bootstrapServers")), targetName, publisher, topics, settings);
    }

    /**
     * @param clientProps the service's Kafka client settings: bootstrap servers plus every pass-through setting
     *                    (security protocol, SASL, TLS), given to the runner's consumer and producer untouched
     */
    public PublishRunner(final String applicationId, final Map<String, Object> clientProps, final String targetName,
            final CheckpointPublisher publisher, final Topics topics, final Settings settings) {
        this(applicationId, clientProps, targetName, publisher, topics, settings, checkpoint -> true);
    }

    /**
     * A runner that publishes only the checkpoints {@code scope} accepts: a bounded job (a {@code replay} of a range)
     * publishes nothing past its range, neither a checkpoint's files nor its {@code history-*.json} nor a root naming
     * it, although the topic holds more and the runner keeps reading until it is closed.
     *
     * @param scope the checkpoints to publish; the runner's offsets never pass the others (see the class comment)
     */
    public PublishRunner(final String applicationId, final Map<String, Object> clientProps, final String targetName,
            final CheckpointPublisher publisher, final Topics topics, final Settings settings,
            final LongPredicate scope) {
        this(groupId(applicationId, Objects.requireNonNull(targetName, "targetName")), true, clientProps, targetName,
                publisher, topics, settings, ofCheckpoints(scope));
    }

    /**
     * A runner in a consumer group of its own ({@code groupId}, which nothing else uses): it reads the topic from the
     * beginning and publishes what {@code scope} accepts, whatever the target's shared group has published before, and
     * commits past the rest. The caller deletes the group when the job is done.
     */
    public static PublishRunner ownGroup(final String groupId, final Map<String, Object> clientProps,
            final String targetName, final CheckpointPublisher publisher, final Topics topics, final Settings settings,
            final LongPredicate scope) {
        return ownGroup(groupId, clientProps, targetName, publisher, topics, settings, ofCheckpoints(scope));
    }

    /**
     * As {@link #ownGroup(String, Map, String, CheckpointPublisher, Topics, Settings, LongPredicate)}, with a scope
     * that tells the records of one checkpoint apart (a {@code replay} publishes the one it replays, not a copy taken
     * back before it).
     */
    public static PublishRunner ownGroup(final String groupId, final Map<String, Object> clientProps,
            final String targetName, final CheckpointPublisher publisher, final Topics topics, final Settings settings,
            final Predicate<CheckpointVerified> scope) {
        return new PublishRunner(Objects.requireNonNull(groupId, "groupId"), false, clientProps, targetName, publisher,
                topics, settings, scope);
    }

    private static Predicate<CheckpointVerified> ofCheckpoints(final LongPredicate scope) {
        Objects.requireNonNull(scope, "scope");
        return v -> scope.test(v.getCheckpoint());
    }

    private PublishRunner(final String groupId, final boolean sharedGroup, final Map<String, Object> clientProps,
            final String targetName, final CheckpointPublisher publisher, final Topics topics, final Settings settings,
            final Predicate<CheckpointVerified> scope) {
        this.scope = Objects.requireNonNull(scope, "scope");
        this.targetName = Objects.requireNonNull(targetName, "targetName");
        this.groupId = groupId;
        this.sharedGroup = sharedGroup;
        this.clientProps = Map.copyOf(Objects.requireNonNull(clientProps, "clientProps"));
        this.bootstrapServers = Objects.requireNonNull(
                (String) this.clientProps.get(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG), "bootstrap.servers");
        this.publisher = Objects.requireNonNull(publisher, "publisher");
        this.topics = Objects.requireNonNull(topics, "topics");
        this.settings = Objects.requireNonNull(settings, "settings");
        if (publisher.writer() instanceof RetryingArchiveWriter retrying) {
            // a target that hangs fails each attempt after a timeout: counted from the first, for the give-up
            retrying.onFailedAttempt(this::failed);
        }
        this.thread = new Thread(this::run, "publish-" + sanitize(targetName));
        this.thread.setDaemon(true);
    }

    /**
     * The consumer group of a target: {@code <application.id>-publish-<target name>}. A name that is not a valid group
     * id as it is (characters other than {@code [A-Za-z0-9._-]}, such as a path's slashes, or over 100 characters) is
     * sanitized and gets the first 8 hex digits of its SHA-256: two targets must never share a group
     * ({@code /m/a_b} and {@code /m/a/b}, or two long paths with the same first 100 characters), or one would be
     * taken as published by the other.
     */
    public static String groupId(final String applicationId, final String targetName) {
        Objects.requireNonNull(applicationId, "applicationId");
        final String s = validChars(targetName);
        if (s.equals(targetName) && s.length() <= 100) {
            return applicationId + "-publish-" + s;
        }
        final String hash = Hash.sha256(targetName.getBytes(StandardCharsets.UTF_8)).hex().substring(0, 8);
        return applicationId + "-publish-" + (s.length() > 80 ? s.substring(0, 80) : s) + "-" + hash;
    }

    /** Keeps {@code [A-Za-z0-9._-]}, replaces anything else with {@code _}, and bounds the length. */
    static String sanitize(final String name) {
        final String s = validChars(name);
        return s.length() > 100 ? s.substring(0, 100) : s;
    }

    /** {@code name} with every character but {@code [A-Za-z0-9._-]} replaced by {@code _}. */
    private static String validChars(final String name) {
        return name.replaceAll("[^A-Za-z0-9._-]", "_");
    }

    public String groupId() {
        return groupId;
    }

    /** Starts the runner thread (once). */
    public synchronized void start() {
        if (running || thread.isAlive()) {
            throw new IllegalStateException("publish runner for " + targetName + " already started");
        }
        running = true;
        thread.start();
    }

    public boolean isRunning() {
        return thread.isAlive();
    }

    /** The error that stopped the runner thread, or null. */
    public Throwable fatalError() {
        return fatal;
    }

    /** Checkpoints published (files written, event sent; its offset is committed once the event is acknowledged). */
    public long checkpointsPublished() {
        return checkpointsPublished.get();
    }

    /** Files written to the target. */
    public long filesWritten() {
        return publisher.filesWritten();
    }

    /** Files skipped because the target already had them. */
    public long filesSkipped() {
        return publisher.filesSkipped();
    }

    /** Bytes written to the target. */
    public long bytesWritten() {
        return publisher.bytesWritten();
    }

    /** Failed publishing attempts (each was retried). */
    public long failures() {
        return failures.get();
    }

    /** The last checkpoint published, or -1. */
    public long lastCheckpoint() {
        return lastCheckpoint.get();
    }

    /** Stops the thread within the settings' close timeout; an interrupted publish is redone after a restart. */
    @Override
    public void close() {
        running = false;
        final KafkaConsumer<Long, CheckpointVerified> c = consumerRef.get();
        if (c != null) {
            c.wakeup();
        }
        if (!thread.isAlive()) {
            return;
        }
        final long half = Math.max(1, settings.closeTimeout().toMillis() / 2);
        try {
            thread.join(half);
            if (thread.isAlive()) {
                LOG.warn("publish runner for {} did not stop within {} ms, interrupting it", targetName, half);
                thread.interrupt();
                thread.join(half);
            }
        } catch (final InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            LOG.error("publish runner for {} did not stop within {}", targetName, settings.closeTimeout());
        }
    }

    /** The consumer's settings: the client settings given, then the runner's own. */
    public Map<String, Object> consumerProps() {
        final Map<String, Object> cc = new HashMap<>(clientProps);
        cc.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        cc.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        cc.put(ConsumerConfig.CLIENT_ID_CONFIG, groupId);
        cc.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        cc.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        cc.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        cc.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, settings.maxPollRecords());
        // one checkpoint with its buckets can take long to upload; waits between retries poll with paused partitions
        cc.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, (int) TimeUnit.MINUTES.toMillis(30));
        cc.put(ConsumerConfig.CONNECTIONS_MAX_IDLE_MS_CONFIG, TimeUnit.MINUTES.toMillis(31));
        cc.putIfAbsent(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, Topics.FOLLOW_FETCH_MAX_WAIT_MS);
        cc.putAll(settings.consumerOverrides());
        return cc;
    }

    /** The events producer's settings: the client settings given, then the runner's own. */
    public Map<String, Object> producerProps() {
        final Map<String, Object> pc = new HashMap<>(clientProps);
        pc.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        pc.put(ProducerConfig.CLIENT_ID_CONFIG, groupId + "-events");
        pc.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        pc.put(ProducerConfig.ACKS_CONFIG, "all");
        pc.putAll(settings.producerOverrides());
        return pc;
    }

    private void run() {
        final Map<String, Object> cc = consumerProps();
        final Map<String, Object> pc = producerProps();
        final var vt = topics.checkpointsVerified;
        final var pt = topics.checkpointsPublished;
        try (KafkaConsumer<Long, CheckpointVerified> consumer = new KafkaConsumer<>(cc,
                vt.keySerde().deserializer(), vt.valueSerde().deserializer());
             KafkaProducer<Long, CheckpointPublished> producer = new KafkaProducer<>(pc,
                     pt.keySerde().serializer(), pt.valueSerde().serializer())) {
            consumerRef.set(consumer);
            if (!running) {
                return;
            }
            if (sharedGroup) {
                try {
                    restartIfTargetEmptied(consumer);
                } catch (final org.apache.kafka.common.errors.TimeoutException e) {
                    LOG.warn("could not read group {}'s offsets to check whether {} was emptied ({}): publishing "
                            + "continues from them", groupId, targetName, e.toString());
                }
            }
            startChecked = true;
            final Loop loop = new Loop(consumer, producer);
            consumer.subscribe(List.of(vt.name()), loop);
            while (running) {
                loop.pollAndPublish();
            }
        } catch (final WakeupException | InterruptException e) {
            if (running) {
                fatal = e;
                LOG.error("publish runner for {} stopped unexpectedly", targetName, e);
            }
        } catch (final Throwable e) {
            fatal = e;
            LOG.error("publish runner for {} stopped: {}", targetName, e.toString(), e);
        } finally {
            consumerRef.set(null);
            running = false;
            LOG.info("publish runner for {} stopped after {} checkpoint(s)", targetName, checkpointsPublished.get());
        }
    }

    /**
     * Has the shared group publish every verified checkpoint to the target again at start, as for a target found
     * emptied, whatever the target's root state says: each file is looked up and put when the target lacks it (a
     * mirror that lost files since they were published is made whole; {@code ingest --fill-targets}). Before
     * {@link #start}.
     */
    public void fillingTarget() {
        fill = true;
    }

    private volatile boolean fill;

    /**
     * A target without a root state whose shared group has committed offsets was emptied or replaced since it was
     * published to, or an earlier run stopped while its first root state waited for a checkpoint below those it
     * published: the group's offsets are moved back to the beginning, so every verified checkpoint is published to it
     * again, the files it has skipped. Done before the consumer joins the group, and only while no other process is
     * in the group: one that is publishes to the target now (and finds out itself when it is emptied). With
     * {@link #fillingTarget}, moved back whatever the target holds.
     */
    private void restartIfTargetEmptied(final KafkaConsumer<Long, CheckpointVerified> consumer) {
        final List<TopicPartition> parts = new ArrayList<>();
        for (final var pi : consumer.partitionsFor(topics.checkpointsVerified.name(), Duration.ofSeconds(30))) {
            parts.add(new TopicPartition(pi.topic(), pi.partition()));
        }
        final Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(Set.copyOf(parts),
                Duration.ofSeconds(30));
        final Map<TopicPartition, Long> begin = consumer.beginningOffsets(parts, Duration.ofSeconds(30));
        final Map<TopicPartition, Long> past = new HashMap<>();
        committed.forEach((tp, om) -> {
            if (om != null && om.offset() > begin.getOrDefault(tp, 0L)) {
                past.put(tp, om.offset());
            }
        });
        if (past.isEmpty()) {
            fromBeginning = true;
            return;
        }
        String lost = null;
        if (!fill) {
            try {
                final boolean hasRoot = publisher.targetHasRootState();
                lost = hasRoot ? lostSincePublished(consumer, past, begin) : null;
                if (hasRoot && lost == null) {
                    return;
                }
            } catch (final PublishException e) {
                LOG.warn("cannot read the root state of {} ({}): publishing continues from group {}'s offsets",
                        targetName, e.getMessage(), groupId);
                return;
            }
        }
        // another process of the group publishes to the target now: its root may only wait for a checkpoint below
        // (a new mirror), and were the target emptied, that process finds out itself; it is left to it (moving the
        // offsets back failed then, with an ERROR from the consumer and a WARN to stop every process)
        try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(clientProps)) {
            final int members = admin.describeConsumerGroups(List.of(groupId)).all().get(30, TimeUnit.SECONDS)
                    .get(groupId).members().size();
            if (members > 0 && fill) {
                LOG.warn("{} is not filled: {} other process(es) of its consumer group {} publish to it now; stop "
                        + "them and run again, or `replay --publish-to` it", targetName, members, groupId);
                return;
            }
            if (members > 0 && lost != null) {
                LOG.warn("{} lacks {}, which its consumer group {} published to it before, and {} other process(es) "
                        + "of the group publish to it now: stop them and run again to publish everything to it again, "
                        + "or `replay --publish-to` it", targetName, lost, groupId, members);
                return;
            }
            if (members > 0) {
                LOG.info("{} has no root state yet, and {} other process(es) of group {} publish to it now: its "
                        + "root waits for a checkpoint below those published, or they find it emptied; left to them",
                        targetName, members, groupId);
                return;
            }
        } catch (final InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        } catch (final Exception e) {
            LOG.debug("cannot tell the members of group {}: {}", groupId, e.toString());
        }
        final Map<TopicPartition, OffsetAndMetadata> back = new HashMap<>();
        begin.forEach((tp, offset) -> back.put(tp, new OffsetAndMetadata(offset)));
        try {
            consumer.commitSync(back, Duration.ofSeconds(30));
            fromBeginning = true;
            if (fill) {
                LOG.info("every verified checkpoint is published to {} again, each file looked up and put when it "
                        + "lacks it (its consumer group {} had published up to offsets {})", targetName, groupId, past);
            } else if (lost != null) {
                LOG.warn("{} lacks {}, which its consumer group {} published to it before (up to offsets {}): the "
                        + "target was restored from an older copy, or lost files, so every verified checkpoint is "
                        + "published to it again (the files it has are skipped)", targetName, lost, groupId, past);
            } else {
                LOG.warn("{} has no root state, but its consumer group {} had published up to offsets {}: the target "
                        + "was emptied or replaced (or an earlier run stopped before its first root state: a root "
                        + "waits for the checkpoints below it), so every verified checkpoint is published to it again "
                        + "(the files it has are skipped)", targetName, groupId, past);
            }
        } catch (final WakeupException | InterruptException e) {
            throw e;
        } catch (final org.apache.kafka.common.KafkaException e) {
            LOG.warn("{} has no root state, but its consumer group {} had published up to offsets {}, and its offsets "
                    + "cannot be moved back while another process is in the group ({}): stop the processes that "
                    + "publish to it, and run again to publish everything to it", targetName, groupId, past,
                    e.toString());
        }
    }

    private void failed(final String what) {
        failures.incrementAndGet();
        lastFailure = what;
        if (failingSinceNanos == 0) {
            failingSinceNanos = System.nanoTime();
        }
    }

    /** Whether the last attempt at a checkpoint failed in a way retrying cannot fix (see {@link #needsAttention()}). */
    private volatile boolean needsAttention;

    /**
     * Whether the last attempt at a checkpoint failed in a way retrying cannot fix, until one is published: another
     * network's archive, a file where a directory must be, bytes that cannot be had ({@link PublishException}
     * not retryable). A service keeps retrying (slowly: someone may fix the target); a bounded job stops waiting.
     */
    public boolean needsAttention() {
        return needsAttention;
    }

    /** How long publishing has failed without a checkpoint published since; zero while it does not fail. */
    public Duration failingFor() {
        final long since = failingSinceNanos;
        return since == 0 ? Duration.ZERO : Duration.ofNanos(System.nanoTime() - since);
    }

    /** The last failure (what, and why), or null. */
    public String lastFailure() {
        return lastFailure;
    }

    /**
     * A bounded job ({@code ingest}, {@code replay}) ends the root state's wait itself ({@link #releaseRoot}) once it
     * has every verdict; without this, a runner moves a waiting root when it has read the topic to its end, which
     * suits a service (a checkpoint that failed would otherwise hold its target's root for ever). Before
     * {@link #start}.
     */
    public PublishRunner releasingRootOnRequestOnly() {
        releaseRootWhenCaughtUp = false;
        return this;
    }

    /**
     * Asks the runner to move its target's root state to the highest checkpoint it published, even past checkpoints
     * the target lacks ({@link CheckpointPublisher#releaseRoot(long)}: from {@code floor}, the first checkpoint of
     * the job's range); returns a token for {@link #rootReleased}.
     */
    public long releaseRoot(final long floor) {
        releaseFloor = floor;
        return releasesRequested.incrementAndGet();
    }

    /** The first checkpoint of the range of the job that asked for {@link #releaseRoot} (-1: none). */
    private volatile long releaseFloor = -1;

    /**
     * Whether the runner has carried out the {@link #releaseRoot} request {@code token} (and those before it), or
     * has nothing to release (once its checkpoints are published, nothing adds to what waits).
     */
    public boolean rootReleased(final long token) {
        return releasesDone.get() >= token || !publisher.rootWaiting();
    }

    /**
     * Why the root state stayed where it was at the last {@link #releaseRoot} carried out (the target lacks a
     * checkpoint below the job's range), or null.
     */
    public String rootHeld() {
        return publisher.rootHeld();
    }

    /** What the target lacks below the root state the last {@link #releaseRoot} carried out wrote, or null. */
    public String rootPassed() {
        return publisher.rootPassed();
    }

    /** How many records before a committed offset {@link #lostSincePublished} reads, for the last one published. */
    private static final int LAST_PUBLISHED_LOOKBACK = 16;

    /**
     * A state file the target lacks of a checkpoint its group published (the last record before the group's committed
     * offset of each partition: committed only once published), or null when it has each (or none can be read
     * within a few seconds). A target restored from an older copy has a root state, so only this finds it: a trial's
     * mirror, restored to an older backup under a tail, was never filled in, and 6 minutes later its root passed the
     * 30 checkpoints it lacked, "not verified here".
     */
    private String lostSincePublished(final KafkaConsumer<Long, CheckpointVerified> consumer,
            final Map<TopicPartition, Long> committed, final Map<TopicPartition, Long> begin)
            throws PublishException {
        try {
            for (final Map.Entry<TopicPartition, Long> e : committed.entrySet()) {
                final TopicPartition tp = e.getKey();
                final long end = e.getValue();
                consumer.assign(List.of(tp));
                consumer.seek(tp, Math.max(begin.getOrDefault(tp, 0L), end - LAST_PUBLISHED_LOOKBACK));
                CheckpointVerified last = null;
                final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (consumer.position(tp) < end && System.nanoTime() < deadline) {
                    for (final ConsumerRecord<Long, CheckpointVerified> r : consumer.poll(Duration.ofMillis(200))) {
                        if (r.offset() < end && r.value() != null) {
                            last = r.value();
                        }
                    }
                }
                if (last != null) {
                    final String has = io.historystreams.archive.ArchivePaths.has(last.getCheckpoint());
                    if (!publisher.writer().exists(has)) {
                        return has;
                    }
                }
            }
            return null;
        } finally {
            consumer.unsubscribe(); // unassigned: the runner subscribes next
        }
    }

    /** The ledger the target's root state named when last read or written, -1 when none (no I/O). */
    public long rootLedger() {
        return publisher.lastRootLedger();
    }

    /** Whether the runner has checked where its group starts: its group's committed offsets are its own from then. */
    public boolean startChecked() {
        return startChecked;
    }

    /**
     * Whether its group publishes from the beginning of the topic (known once {@link #startChecked}): a target new to
     * the pipeline, or one emptied since, is given every verified checkpoint, not only a job's range.
     */
    public boolean fromBeginning() {
        return fromBeginning;
    }

    /** The consume-publish-produce-commit loop of one consumer (runner thread only). */
    private final class Loop implements ConsumerRebalanceListener {
        private final KafkaConsumer<Long, CheckpointVerified> consumer;
        private final KafkaProducer<Long, CheckpointPublished> producer;
        /** Set when partitions are revoked while a batch is in progress: the rest of the batch is abandoned. */
        private final Set<TopicPartition> revoked = new HashSet<>();
        /**
         * Per partition, the offset of the first record read past because it is out of {@code scope}: commits stop
         * there, in this batch and every later one, so the other runners of the group still publish it.
         */
        private final Map<TopicPartition, Long> outOfScope = new HashMap<>();
        private List<ConsumerRecord<Long, CheckpointVerified>> batch = List.of();
        private final Set<ConsumerRecord<Long, CheckpointVerified>> done = new HashSet<>();
        /** Published, event sent but not yet acknowledged: done once the event is. */
        private final List<Sent> sent = new ArrayList<>();
        private long lastCommitNanos = System.nanoTime();

        Loop(final KafkaConsumer<Long, CheckpointVerified> consumer,
                final KafkaProducer<Long, CheckpointPublished> producer) {
            this.consumer = consumer;
            this.producer = producer;
        }

        void pollAndPublish() {
            final ConsumerRecords<Long, CheckpointVerified> records = consumer.poll(settings.pollTimeout());
            if (records.isEmpty()) {
                maybeReleaseRoot();
                republishIfEmptied();
                return;
            }
            final List<ConsumerRecord<Long, CheckpointVerified>> sorted = new ArrayList<>();
            records.forEach(sorted::add);
            sorted.sort(Comparator.comparingLong((ConsumerRecord<Long, CheckpointVerified> r) -> checkpointOf(r))
                    .thenComparingLong(ConsumerRecord::offset));
            batch = sorted;
            done.clear();
            sent.clear();
            revoked.clear();
            final List<ConsumerRecord<Long, CheckpointVerified>> inScope = new ArrayList<>();
            for (final ConsumerRecord<Long, CheckpointVerified> r : sorted) {
                if (r.value() != null && !scope.test(r.value())) {
                    // nothing to do here, so not rewound to; not committed past either (see committable)
                    done.add(r);
                    if (sharedGroup) {
                        outOfScope.merge(new TopicPartition(r.topic(), r.partition()), r.offset(), Math::min);
                    }
                } else {
                    inScope.add(r);
                }
            }
            // the batch's files start going out together; each checkpoint below still waits for its own
            publisher.prepare(inScope.stream().map(ConsumerRecord::value).toList());
            boolean emptied = false;
            try {
                boolean whole = true;
                for (final ConsumerRecord<Long, CheckpointVerified> r : inScope) {
                    if (!running) {
                        whole = false;
                        break;
                    }
                    if (revoked.contains(new TopicPartition(r.topic(), r.partition()))) {
                        whole = false;
                        continue; // its new owner re-reads it from the committed offset
                    }
                    if (r.value() == null) {
                        done.add(r); // a tombstone of the compacted topic: nothing to publish
                        continue;
                    }
                    if (!publishWithRetries(r)) {
                        whole = false;
                        break;
                    }
                    if (System.nanoTime() - lastCommitNanos >= COMMIT_EVERY_NANOS) {
                        settle(true);
                        commit();
                    }
                }
                emptied = publisher.takeTargetEmptied();
                if (whole && running && !emptied) {
                    maybeReleaseRoot(); // before the commit below: a job done at that commit finds its root moved
                }
            } finally {
                try {
                    settle(running);
                    commit(); // what is done stays done
                } catch (final RuntimeException e) {
                    LOG.warn("committing the published checkpoints of a batch failed for {}: {}", targetName,
                            e.toString());
                }
                publisher.forgetPrepared();
                rewindUnfinished();
                batch = List.of();
                done.clear();
            }
            if (emptied) {
                republish();
            } else {
                republishIfEmptied();
            }
        }

        /** Publishes everything again when the publisher found its target emptied (not at a batch's end). */
        private void republishIfEmptied() {
            if (publisher.takeTargetEmptied()) {
                republish();
            }
        }

        /**
         * As at start ({@link #restartIfTargetEmptied}), for a target found emptied while running: from the beginning
         * of the topic, and no root state written meanwhile (its candidates went with the target's files).
         */
        private void republish() {
            LOG.warn("{} has no root state any more, although it had one while this runner published to it: it was "
                    + "emptied or replaced, so every verified checkpoint is published to it again (the files it has "
                    + "are skipped)", targetName);
            consumer.seekToBeginning(consumer.assignment());
        }

        /**
         * Moves a root state that waits for missing checkpoints when asked ({@link #releaseRoot}), or for a service
         * once the topic is read to its end; a failure is retried at the next poll.
         */
        private void maybeReleaseRoot() {
            final long requested = releasesRequested.get();
            if (!publisher.rootWaiting()) {
                releasesDone.set(requested);
                return;
            }
            if (requested == releasesDone.get()) {
                // no job asked: a service's runner decides, once it has read the topic to its end (asked once here)
                final boolean newMirror = !publisher.rootSeen();
                final boolean waited = publisher.rootWaitingFor().compareTo(settings.releaseAfter()) >= 0;
                if (!releaseRootWhenCaughtUp || !(newMirror || waited) || !caughtUp()) {
                    return;
                }
                if (newMirror) {
                    // a new mirror of a service (tail --from, run): its root waited releaseAfter (6 minutes) for the
                    // archive's first checkpoint, which its range does not hold (a trial's tail: every checkpoint
                    // published in 2 s, the mirror had no root state for 6 minutes)
                    try {
                        if (publisher.startRootAtLowestPublished() || !waited) {
                            return;
                        }
                    } catch (final PublishException e) {
                        failed("the root state: " + e.getMessage());
                        LOG.warn("writing the first root state of {} failed, trying again: {}", targetName,
                                e.getMessage());
                        return;
                    }
                }
            }
            try {
                publisher.releaseRoot(requested == releasesDone.get() ? -1 : releaseFloor);
                releasesDone.set(requested);
                failingSinceNanos = 0;
            } catch (final PublishException e) {
                failed("the root state: " + e.getMessage());
                LOG.warn("moving the root state of {} failed, trying again: {}", targetName, e.getMessage());
            }
        }

        /**
         * Whether the target's group has read the topic to its end: this runner's partitions (its position) and the
         * others (the group's committed offsets: other workers that publish to the same target, or partitions of a
         * worker that died, not yet reassigned), so a checkpoint another runner is still publishing is waited for.
         */
        private boolean caughtUp() {
            try {
                final Set<TopicPartition> all = new HashSet<>();
                for (final org.apache.kafka.common.PartitionInfo p : consumer.partitionsFor(
                        topics.checkpointsVerified.name(), Duration.ofSeconds(5))) {
                    all.add(new TopicPartition(p.topic(), p.partition()));
                }
                final Set<TopicPartition> mine = consumer.assignment();
                final Set<TopicPartition> others = new HashSet<>(all);
                others.removeAll(mine);
                final Map<TopicPartition, OffsetAndMetadata> committed = others.isEmpty() ? Map.of()
                        : consumer.committed(others, Duration.ofSeconds(5));
                for (final Map.Entry<TopicPartition, Long> end : consumer.endOffsets(all, Duration.ofSeconds(5))
                        .entrySet()) {
                    final TopicPartition tp = end.getKey();
                    final OffsetAndMetadata c = committed.get(tp);
                    final long at = mine.contains(tp) ? consumer.position(tp, Duration.ofSeconds(5))
                            : c == null ? 0 : c.offset();
                    if (at < end.getValue()) {
                        return false;
                    }
                }
                return true;
            } catch (final org.apache.kafka.common.errors.TimeoutException e) {
                return false;
            }
        }

        /** Publishes one record until it succeeds; false when the runner is stopping or lost the partition. */
        private boolean publishWithRetries(final ConsumerRecord<Long, CheckpointVerified> r) {
            final TopicPartition tp = new TopicPartition(r.topic(), r.partition());
            long backoff = settings.minBackoff().toMillis();
            for (int attempt = 1; running; attempt++) {
                try {
                    final CheckpointPublished event = publisher.publish(r.value());
                    sent.add(new Sent(r, event, producer.send(new ProducerRecord<>(topics.checkpointsPublished.name(),
                            r.value().getCheckpoint(), event))));
                    checkpointsPublished.incrementAndGet();
                    lastCheckpoint.set(r.value().getCheckpoint());
                    failingSinceNanos = 0;
                    needsAttention = false;
                    return true;
                } catch (final PublishException e) {
                    failed("checkpoint " + r.value().getCheckpoint() + ": " + e.getMessage());
                    needsAttention = !e.retryable();
                    final long wait = e.retryable() ? backoff : settings.maxBackoff().toMillis();
                    if (e.retryable()) {
                        LOG.warn("publishing checkpoint {} to {} failed (attempt {}, transient), trying again in {} ms: "
                                + "{}", r.value().getCheckpoint(), targetName, attempt, wait, e.getMessage());
                    } else {
                        // (ingest and replay stop waiting for this target at once: "trying again in 60000 ms" read
                        // as a promise, right before their "failed in a way retrying cannot fix")
                        LOG.warn("publishing checkpoint {} to {} failed (attempt {}, needs attention: not a transient "
                                + "error); `run` and `tail` try again every {} s until it is fixed, `ingest` and "
                                + "`replay` stop waiting for this target: {}",
                                r.value().getCheckpoint(), targetName, attempt, wait / 1000, e.getMessage());
                    }
                    backoff = Math.min(settings.maxBackoff().toMillis(), backoff * 2);
                    if (!waitKeepingMembership(wait) || revoked.contains(tp)) {
                        return false;
                    }
                } catch (final RuntimeException e) {
                    // e.g. an invalid path in the event: not publishable as it is; retried slowly, never skipped
                    failed("checkpoint " + r.value().getCheckpoint() + ": " + e);
                    LOG.error("publishing checkpoint {} to {} failed unexpectedly, retrying in {}: {}",
                            r.value().getCheckpoint(), targetName, settings.maxBackoff(), e.toString(), e);
                    if (!waitKeepingMembership(settings.maxBackoff().toMillis()) || revoked.contains(tp)) {
                        return false;
                    }
                }
            }
            return false;
        }

        /** Waits, polling with every partition paused so the group membership stays alive; false when stopping. */
        private boolean waitKeepingMembership(final long millis) {
            final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
            consumer.pause(consumer.assignment());
            try {
                while (running) {
                    final long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                    if (left <= 0) {
                        return true;
                    }
                    final ConsumerRecords<Long, CheckpointVerified> got =
                            consumer.poll(Duration.ofMillis(Math.min(left, 500)));
                    if (!got.isEmpty()) {
                        // from partitions assigned during the wait (not paused yet): read them again later
                        for (final TopicPartition tp : got.partitions()) {
                            consumer.seek(tp, got.records(tp).get(0).offset());
                        }
                    }
                    consumer.pause(consumer.assignment());
                }
                return false;
            } catch (final WakeupException e) {
                if (running) {
                    throw e;
                }
                return false;
            } finally {
                if (running) {
                    consumer.resume(consumer.paused());
                }
            }
        }

        /**
         * Waits for the events sent so far; a record whose event was acknowledged is done. A failed send is retried
         * (when {@code mayRetry}) until it is acknowledged or the runner stops or loses the partition; a record whose
         * event is not acknowledged stays open and is published again (its files skipped) after a rewind or restart.
         */
        private void settle(final boolean mayRetry) {
            for (final Sent s : sent) {
                try {
                    s.future().get();
                    done.add(s.record());
                } catch (final ExecutionException e) {
                    failed("the published event of checkpoint " + s.event().getCheckpoint() + ": " + e.getCause());
                    LOG.warn("producing the published event of checkpoint {} for {} failed{}: {}",
                            s.event().getCheckpoint(), targetName, mayRetry ? ", retrying" : "",
                            e.getCause().toString());
                    if (mayRetry && resend(s)) {
                        done.add(s.record());
                    }
                } catch (final InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            sent.clear();
        }

        private boolean resend(final Sent s) {
            final TopicPartition tp = new TopicPartition(s.record().topic(), s.record().partition());
            long backoff = settings.minBackoff().toMillis();
            while (running) {
                if (!waitKeepingMembership(backoff) || revoked.contains(tp)) {
                    return false;
                }
                try {
                    producer.send(new ProducerRecord<>(topics.checkpointsPublished.name(), s.event().getCheckpoint(),
                            s.event())).get();
                    return true;
                } catch (final ExecutionException e) {
                    failed("the published event of checkpoint " + s.event().getCheckpoint() + ": " + e.getCause());
                    LOG.warn("producing the published event of checkpoint {} for {} failed again: {}",
                            s.event().getCheckpoint(), targetName, e.getCause().toString());
                    backoff = Math.min(settings.maxBackoff().toMillis(), backoff * 2);
                } catch (final InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            return false;
        }

        /**
         * Commits, per partition, the offset of the first record of the batch not yet done. When
         * {@link PublishRunner#close} woke the consumer to stop it, the commit meets that wakeup instead of a broker:
         * it is made again (a wakeup is raised once), so what is done stays done and a stop on purpose is not
         * reported as a failed commit; a commit that really fails still throws.
         */
        private void commit() {
            lastCommitNanos = System.nanoTime();
            final Map<TopicPartition, OffsetAndMetadata> offsets = committable();
            if (!offsets.isEmpty()) {
                try {
                    consumer.commitSync(offsets);
                } catch (final WakeupException e) {
                    if (running) {
                        throw e;
                    }
                    consumer.commitSync(offsets);
                }
            }
        }

        private Map<TopicPartition, OffsetAndMetadata> committable() {
            final Map<TopicPartition, Long> firstOpen = new HashMap<>();
            final Map<TopicPartition, Long> lastDone = new HashMap<>();
            for (final ConsumerRecord<Long, CheckpointVerified> r : batch) {
                final TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                if (revoked.contains(tp)) {
                    continue;
                }
                if (done.contains(r)) {
                    lastDone.merge(tp, r.offset(), Math::max);
                } else {
                    firstOpen.merge(tp, r.offset(), Math::min);
                }
            }
            final Map<TopicPartition, OffsetAndMetadata> out = new HashMap<>();
            for (final Map.Entry<TopicPartition, Long> e : lastDone.entrySet()) {
                final Long open = firstOpen.get(e.getKey());
                long offset = open == null ? e.getValue() + 1 : open;
                final Long held = outOfScope.get(e.getKey());
                if (held != null) {
                    offset = Math.min(offset, held);
                }
                if (offset > firstOffset(e.getKey())) {
                    out.put(e.getKey(), new OffsetAndMetadata(offset));
                }
            }
            return out;
        }

        private long firstOffset(final TopicPartition tp) {
            long min = Long.MAX_VALUE;
            for (final ConsumerRecord<Long, CheckpointVerified> r : batch) {
                if (r.partition() == tp.partition() && r.topic().equals(tp.topic())) {
                    min = Math.min(min, r.offset());
                }
            }
            return min;
        }

        /** Seeks every still-assigned partition back to its first unfinished record of the batch. */
        private void rewindUnfinished() {
            final Map<TopicPartition, Long> firstOpen = new HashMap<>();
            for (final ConsumerRecord<Long, CheckpointVerified> r : batch) {
                if (!done.contains(r)) {
                    firstOpen.merge(new TopicPartition(r.topic(), r.partition()), r.offset(), Math::min);
                }
            }
            if (firstOpen.isEmpty()) {
                return;
            }
            try {
                final Set<TopicPartition> assigned = consumer.assignment();
                firstOpen.forEach((tp, offset) -> {
                    if (assigned.contains(tp) && !revoked.contains(tp)) {
                        consumer.seek(tp, offset);
                    }
                });
            } catch (final IllegalStateException e) {
                LOG.debug("cannot rewind {} for {}: {}", firstOpen, targetName, e.toString());
            }
        }

        @Override
        public void onPartitionsRevoked(final Collection<TopicPartition> partitions) {
            if (!batch.isEmpty()) {
                try {
                    producer.flush();
                    settle(false); // no retrying inside the callback: an unacknowledged event's record stays open
                    commit(); // what is done stays done
                } catch (final RuntimeException e) {
                    LOG.warn("committing before a rebalance failed for {}: {}", targetName, e.toString());
                }
            }
            revoked.addAll(partitions);
        }

        @Override
        public void onPartitionsAssigned(final Collection<TopicPartition> partitions) {
            // a partition revoked during a batch stays abandoned until the batch ends, even if it comes back: its
            // position was reset to the committed offset, so its records are read again
            LOG.info("publish runner for {} assigned {}", targetName, partitions);
        }

        @Override
        public void onPartitionsLost(final Collection<TopicPartition> partitions) {
            revoked.addAll(partitions);
        }
    }

    /** A published checkpoint whose event was sent. */
    private record Sent(ConsumerRecord<Long, CheckpointVerified> record, CheckpointPublished event,
            java.util.concurrent.Future<org.apache.kafka.clients.producer.RecordMetadata> future) {
    }

    private static final long COMMIT_EVERY_NANOS = 1_000_000_000L;

    private static long checkpointOf(final ConsumerRecord<Long, CheckpointVerified> r) {
        if (r.value() != null) {
            return r.value().getCheckpoint();
        }
        return r.key() == null ? Long.MIN_VALUE : r.key();
    }

    @Override
    public String toString() {
        return "PublishRunner[" + targetName + ", group " + groupId + "]";
    }
}
