package io.historystreams.publish;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import io.historystreams.archive.ArchivePaths;
import io.historystreams.events.CheckpointPublished;
import io.historystreams.events.CheckpointVerified;
import io.historystreams.kafka.EmbeddedKafkaBroker;
import io.historystreams.kafka.TopicAdmin;
import io.historystreams.kafka.TopicSpec;
import io.historystreams.testing.Fixtures;
import io.historystreams.topology.Topics;
import io.historystreams.topology.VerifiedCheckpoints;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;

import static io.historystreams.publish.CommandArchiveWriter.shellQuote;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link PublishRunner} against a real embedded broker, with real verified checkpoints and real targets. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PublishRunnerTest {
    private static final int COUNT = 12;
    private static final String APP = "publish-test";

    @TempDir
    static Path dir;

    private static VerifiedCheckpoints v;
    private static EmbeddedKafkaBroker broker;
    private static Topics topics;
    private static List<CheckpointVerified> published;

    @BeforeAll
    static void produceVerifiedCheckpoints() throws Exception {
        v = VerifiedCheckpoints.testnetSmall();
        topics = v.topics; // same schema-registry scope as the records' serdes
        published = v.first(COUNT);
        broker = EmbeddedKafkaBroker.start(dir.resolve("broker"), Map.of());
        try (Admin admin = admin()) {
            TopicAdmin.ensureTopics(admin, List.of(
                    TopicSpec.compacted(topics.checkpointsVerified.name(), 3, 1),
                    TopicSpec.of(topics.checkpointsPublished.name(), 3, 1)));
        }
        final List<CheckpointVerified> shuffled = new ArrayList<>(published);
        Collections.shuffle(shuffled, new Random(7)); // verification completes out of order
        produce(topics, shuffled);
    }

    @AfterAll
    static void stopBroker() {
        if (broker != null) {
            broker.close();
        }
    }

    @Test
    void twoTargetsNeverShareAConsumerGroup() {
        // one would be taken as published by the other: the sanitized forms of these pairs are equal
        assertNotEquals(PublishRunner.groupId(APP, "/m/a_b"), PublishRunner.groupId(APP, "/m/a/b"));
        final String common = "/srv/" + "x".repeat(120);
        assertNotEquals(PublishRunner.groupId(APP, common + "/mirror1"), PublishRunner.groupId(APP, common + "/mirror2"));
        // a name that is a valid group id as it is stays as it is; the others get a hash of the whole name
        assertEquals(APP + "-publish-mirror.eu-1", PublishRunner.groupId(APP, "mirror.eu-1"));
        assertEquals(PublishRunner.groupId(APP, "/m/a/b"), PublishRunner.groupId(APP, "/m/a/b"));
        assertTrue(PublishRunner.groupId(APP, common + "/mirror1").length() < 120 + APP.length());
    }

    @Test
    void twoTargetsProgressIndependentlyAndEveryCheckpointIsPublishedOnceEach() throws Exception {
        final Path good = dir.resolve("good");
        final Path flaky = Files.createDirectories(dir.resolve("flaky"));
        final Path flag = dir.resolve("flaky-back");
        final Path script = Files.writeString(dir.resolve("put.sh"), """
                [ -e %s ] || { echo "target unavailable" >&2; exit 1; }
                exec cp "$1" "$2"
                """.formatted(shellQuote(flag.toString())));
        final String t = shellQuote(flaky.toString());
        final String spec = "cmd:put=sh " + shellQuote(script.toString()) + " {0} " + t + "/{1};mkdir=mkdir -p " + t
                + "/{0};exists=test -f " + t + "/{0};get=cp " + t + "/{0} {1};rename=mv " + t + "/{0} " + t + "/{1}";
        final PublishRunner.Settings settings = PublishRunner.Settings.defaults()
                .withBackoff(Duration.ofMillis(20), Duration.ofMillis(200));
        try (ArchiveWriter goodWriter = ArchiveWriters.open(good.toString(), Map.of("fsync", "false"));
             ArchiveWriter flakyWriter = ArchiveWriters.open(spec, Map.of("retries", "1"));
             PublishRunner a = new PublishRunner(APP, broker.bootstrapServers(), "good",
                     new CheckpointPublisher(goodWriter, v.ctx, dir), topics, settings);
             PublishRunner b = new PublishRunner(APP, broker.bootstrapServers(), "flaky cmd:target",
                     new CheckpointPublisher(flakyWriter, v.ctx, dir), topics, settings)) {
            assertEquals(APP + "-publish-good", a.groupId());
            assertTrue(b.groupId().matches(APP + "-publish-flaky_cmd_target-[0-9a-f]{8}"), b.groupId());
            b.start();
            a.start();
            waitFor(() -> a.checkpointsPublished() == COUNT, Duration.ofSeconds(60), "target good finishes");
            // the good target does not wait for the failing one (which may not have failed yet: a's puts are fast)
            waitFor(() -> b.failures() > 0, Duration.ofSeconds(30), "the failing target reports failures");
            assertEquals(0, b.checkpointsPublished(), "the failing target has published nothing");
            assertFalse(Files.exists(flaky.resolve(ArchivePaths.WELL_KNOWN)), "no root on the failing target");
            assertEquals(0, b.filesWritten());
            assertTrue(b.isRunning(), "a failing target keeps retrying");

            Files.createFile(flag);
            waitFor(() -> b.checkpointsPublished() == COUNT, Duration.ofSeconds(60), "target flaky catches up");
            assertEquals(0, a.failures());
            assertEquals(published.get(COUNT - 1).getCheckpoint(), a.lastCheckpoint());
            assertNull(a.fatalError());
            assertNull(b.fatalError());
            assertTrue(a.bytesWritten() > 0);
            waitFor(() -> committed(a.groupId()) == COUNT, Duration.ofSeconds(10), "good commits every record");
            waitFor(() -> committed(b.groupId()) == COUNT, Duration.ofSeconds(10), "flaky commits every record");
        }
        for (final Path target : List.of(good, flaky)) {
            CheckpointPublisherTest.assertVerifies(target);
            assertTargetIsCopy(target);
        }
        // one CheckpointPublished per checkpoint and target
        final Map<String, List<Long>> byTarget = readPublishedEvents(2 * COUNT).stream()
                .collect(Collectors.groupingBy(e -> e.getTarget(), Collectors.mapping(e -> e.getCheckpoint(),
                        Collectors.toList())));
        final Set<Long> expected = published.stream().map(CheckpointVerified::getCheckpoint)
                .collect(Collectors.toCollection(TreeSet::new));
        assertEquals(2, byTarget.size(), byTarget.keySet().toString());
        for (final List<Long> cps : byTarget.values()) {
            assertEquals(COUNT, cps.size());
            assertEquals(expected, new TreeSet<>(cps));
        }
    }

    @Test
    void aRestartedRunnerResumesFromItsCommittedOffsetAndCloseIsBounded() throws Exception {
        final Path target = dir.resolve("restart");
        final PublishRunner.Settings settings = PublishRunner.Settings.defaults()
                .withBackoff(Duration.ofMillis(20), Duration.ofMillis(200));
        final long first;
        try (ArchiveWriter w = ArchiveWriters.open(target.toString(), Map.of("fsync", "false"))) {
            final PublishRunner r = new PublishRunner(APP, broker.bootstrapServers(), "restart",
                    new CheckpointPublisher(w, v.ctx, dir), topics, settings);
            r.start();
            waitFor(() -> r.checkpointsPublished() >= 3, Duration.ofSeconds(60), "first runner starts publishing");
            final long t0 = System.nanoTime();
            r.close();
            assertTrue(System.nanoTime() - t0 < settings.closeTimeout().toNanos(), "close is bounded");
            assertFalse(r.isRunning());
            // a batch is published in checkpoint order across partitions, so a published record is committed only
            // once every earlier record of its partition is published too: the rest is re-processed after a restart
            first = committed(r.groupId());
            assertTrue(first <= r.checkpointsPublished(), first + " committed, " + r.checkpointsPublished()
                    + " published");
            assertTrue(r.filesWritten() > 0);
        }
        try (ArchiveWriter w = ArchiveWriters.open(target.toString(), Map.of("fsync", "false"));
             PublishRunner r = new PublishRunner(APP, broker.bootstrapServers(), "restart",
                     new CheckpointPublisher(w, v.ctx, dir), topics, settings)) {
            r.start();
            waitFor(() -> committed(r.groupId()) == COUNT, Duration.ofSeconds(60), "second runner finishes");
            assertEquals(COUNT - first, r.checkpointsPublished(), "only uncommitted records are processed again");
        }
        CheckpointPublisherTest.assertVerifies(target);
        assertTargetIsCopy(target);
    }

    @Test
    void aTargetEmptiedWhileTheRunnerPublishesGetsEverythingAgain() throws Exception {
        // a mirror wiped while a tail publishes to it: only the checkpoints after that were written (and a root
        // naming them), since the target's group had published the rest; the check ran only at the runner's start
        final Topics own = ownTopics("emptied.");
        final Path target = dir.resolve("emptied");
        final PublishRunner.Settings settings = PublishRunner.Settings.defaults()
                .withBackoff(Duration.ofMillis(20), Duration.ofMillis(200));
        try (ArchiveWriter w = ArchiveWriters.open(target.toString(), Map.of("fsync", "false"));
             PublishRunner r = new PublishRunner(APP + "-emptied", broker.bootstrapServers(), "emptied",
                     new CheckpointPublisher(w, v.ctx, dir), own, settings)) {
            produce(own, v.first(4));
            r.start();
            waitFor(() -> r.checkpointsPublished() == 4 && rootOf(target) == v.first(4).get(3).getCheckpoint(),
                    Duration.ofSeconds(60), "the first four are published, and the root names the fourth");
            final List<ILoggingEvent> logged = io.historystreams.testing.Logs.during(PublishRunner.class, () -> {
                deleteTree(target);
                final CheckpointVerified fifth = v.first(5).get(4);
                produce(own, List.of(fifth));
                waitFor(() -> Files.exists(target.resolve(ArchivePaths.has(0x3f)))
                        && rootOf(target) == fifth.getCheckpoint(), Duration.ofSeconds(60),
                        "everything is published again, and the root names the fifth");
            });
            assertTrue(logged.stream().anyMatch(e -> e.getLevel() == Level.WARN
                    && e.getFormattedMessage().contains("has no root state any more")), logged::toString);
        }
        CheckpointPublisherTest.assertVerifies(target);
    }

    /**
     * A target emptied after the runner started and before it published anything: found emptied, as one emptied
     * after the runner's first publish is (a trial: a tail's mirror replaced before its first publish became a mirror
     * starting at the next checkpoint, everything below lost, no warning).
     */
    @Test
    void aTargetEmptiedBeforeTheRunnersFirstPublishGetsEverythingAgain() throws Exception {
        final Topics own = ownTopics("emptiedearly.");
        final Path target = dir.resolve("emptiedearly");
        final String app = APP + "-emptiedearly";
        produce(own, v.first(4));
        try (ArchiveWriter w = writer(target); PublishRunner r = runner(app, "emptiedearly", w, own)) {
            r.start();
            waitFor(() -> committed(r.groupId(), own) == 4 && rootOf(target) == 0xffL, Duration.ofSeconds(60),
                    "the first four are published");
        }
        try (ArchiveWriter w = writer(target); PublishRunner r = runner(app, "emptiedearly", w, own)) {
            r.start();
            waitFor(r::startChecked, Duration.ofSeconds(60), "the second runner checked where its group starts");
            Thread.sleep(500); // polling, with nothing to publish
            final List<ILoggingEvent> logged = io.historystreams.testing.Logs.during(CheckpointPublisher.class, () -> {
                deleteTree(target);
                produce(own, List.of(v.first(5).get(4)));
                waitFor(() -> Files.exists(target.resolve(ArchivePaths.has(0x3f))) && rootOf(target) == 0x13fL,
                        Duration.ofSeconds(60), "everything is published again, and the root names the fifth");
            });
            assertFalse(logged.stream().anyMatch(e -> e.getFormattedMessage().contains("a mirror that starts at")),
                    logged::toString);
        }
        CheckpointPublisherTest.assertVerifies(target);
    }

    /**
     * A target restored from an older copy (its root state and files of earlier checkpoints only) under a runner whose
     * group published more: found at start by the last checkpoint its group published, which the target lacks, and
     * everything is published to it again (a trial: never filled in, and the root later passed the checkpoints it
     * lacked, "not verified here").
     */
    @Test
    void aTargetRestoredFromAnOlderCopyGetsWhatItLostAgain() throws Exception {
        final Topics own = ownTopics("restored.");
        final Path target = dir.resolve("restored");
        final Path older = dir.resolve("restored-older");
        final String app = APP + "-restored";
        produce(own, v.first(2));
        try (ArchiveWriter w = writer(target); PublishRunner r = runner(app, "restored", w, own)) {
            r.start();
            waitFor(() -> committed(r.groupId(), own) == 2 && rootOf(target) == 0x7fL, Duration.ofSeconds(60),
                    "two published: the backup");
            CheckpointPublisherTest.copyTree(target, older);
            produce(own, v.first(6).subList(2, 6));
            waitFor(() -> committed(r.groupId(), own) == 6 && rootOf(target) == 0x17fL, Duration.ofSeconds(60),
                    "six published");
        }
        deleteTree(target);
        CheckpointPublisherTest.copyTree(older, target);
        final List<ILoggingEvent> logged = io.historystreams.testing.Logs.during(PublishRunner.class, () -> {
            try (ArchiveWriter w = writer(target); PublishRunner r = runner(app, "restored", w, own)) {
                r.start();
                waitFor(() -> rootOf(target) == 0x17fL, Duration.ofSeconds(60), "the root names the sixth again");
                waitFor(() -> r.rootLedger() == 0x17fL, Duration.ofSeconds(10), "the gauge's value says so");
            }
        });
        assertTrue(logged.stream().anyMatch(e -> e.getLevel() == Level.WARN && e.getFormattedMessage().contains(
                "restored lacks history/") && e.getFormattedMessage().contains(", which its consumer group "
                + "publish-test-restored-publish-restored published to it before")), logged::toString);
        CheckpointPublisherTest.assertVerifies(target);
    }

    /** A writer of {@code target}, without fsync. */
    private static ArchiveWriter writer(final Path target) throws PublishException {
        return ArchiveWriters.open(target.toString(), Map.of("fsync", "false"));
    }

    /** A runner of application {@code app} publishing {@code own}'s verified checkpoints to {@code w}. */
    private static PublishRunner runner(final String app, final String name, final ArchiveWriter w, final Topics own) {
        return new PublishRunner(app, broker.bootstrapServers(), name, new CheckpointPublisher(w, v.ctx, dir), own,
                PublishRunner.Settings.defaults().withBackoff(Duration.ofMillis(20), Duration.ofMillis(200)));
    }

    @Test
    void aServiceRunnerMovesTheRootPastACheckpointThatNeverComesOnlyAfterWaiting() throws Exception {
        // 0x7f never verified (it failed): the root waits at 0x3f, then passes it with a WARN once the runner has read
        // the topic to its end and waited releaseAfter; a checkpoint verified out of order in a catch-up comes sooner
        final Topics own = ownTopics("gap.");
        final Path target = dir.resolve("gap");
        final List<CheckpointVerified> four = v.first(4);
        try (ArchiveWriter w = ArchiveWriters.open(target.toString(), Map.of("fsync", "false"));
             PublishRunner r = serviceRunner("gap", w, own, Duration.ofSeconds(3))) {
            produce(own, List.of(four.get(0), four.get(2), four.get(3)));
            final List<ILoggingEvent> logged = io.historystreams.testing.Logs.during(CheckpointPublisher.class,
                    () -> {
                        r.start();
                        waitFor(() -> r.checkpointsPublished() == 3, Duration.ofSeconds(60), "three published");
                        final long published = System.nanoTime();
                        assertEquals(0x3fL, rootOf(target), "0xbf and 0xff wait for 0x7f");
                        waitFor(() -> rootOf(target) == 0xffL, Duration.ofSeconds(30), "the root passes 0x7f");
                        assertTrue(System.nanoTime() - published >= Duration.ofSeconds(2).toNanos(),
                                "not before it waited");
                    });
            assertTrue(logged.stream().anyMatch(e -> e.getLevel() == Level.WARN && e.getFormattedMessage()
                    .contains("lacks 1 checkpoint(s) below it (0000007f)")), logged::toString);
        }
    }

    @Test
    void aServiceStartsTheRootOfANewMirrorAtTheLowestCheckpointItPublishedOnceItHasReadEverything() throws Exception {
        // a tail --from mid-archive publishing to a new mirror: its root waited releaseAfter (6 minutes) for the
        // archive's first checkpoint, which the range does not hold (a trial: every checkpoint published in 2 s, no
        // root state for 6 minutes); a gap above the lowest still waits
        final Topics own = ownTopics("mid.");
        final Path target = dir.resolve("mid");
        final List<CheckpointVerified> six = v.first(6);
        try (ArchiveWriter w = ArchiveWriters.open(target.toString(), Map.of("fsync", "false"));
             PublishRunner r = serviceRunner("mid", w, own, Duration.ofMinutes(10))) {
            // 0xbf, 0xff, 0x17f: the mirror starts at 0xbf, and 0x13f is not verified (yet)
            produce(own, List.of(six.get(3), six.get(5), six.get(2)));
            final List<ILoggingEvent> logged = io.historystreams.testing.Logs.during(CheckpointPublisher.class,
                    () -> {
                        r.start();
                        waitFor(() -> r.checkpointsPublished() == 3, Duration.ofSeconds(60), "three published");
                        waitFor(() -> rootOf(target) == 0xffL, Duration.ofSeconds(30), "the root at 0xff");
                        produce(own, List.of(six.get(4)));
                        waitFor(() -> rootOf(target) == 0x17fL, Duration.ofSeconds(30), "the root at 0x17f");
                    });
            assertTrue(logged.stream().noneMatch(e -> e.getLevel() == Level.WARN), logged::toString);
            assertTrue(logged.stream().anyMatch(e -> e.getFormattedMessage().endsWith(
                    "has no root state yet: a mirror that starts at checkpoint 000000bf, the lowest published here "
                    + "(the verified checkpoints are read to their end: none below it is coming); its root state "
                    + "names checkpoint 000000ff")), logged::toString);
        }
        assertFalse(Files.exists(target.resolve(ArchivePaths.has(0x7f))));
    }

    @Test
    void theRootWaitsForACheckpointAnotherWorkerOfTheGroupHoldsNotOnlyForItsOwnPartitions() throws Exception {
        // two workers publish to one target, each with some partitions: one that had read its own to the end took
        // the topic as read, and moved the root past checkpoints the other was still publishing (or, dead, held)
        final Topics own = ownTopics("shared.");
        final List<CheckpointVerified> six = v.first(6);
        produce(own, six);
        final Path target = dir.resolve("shared");
        final java.util.concurrent.atomic.AtomicBoolean stalled = new java.util.concurrent.atomic.AtomicBoolean(true);
        try (ArchiveWriter w = ArchiveWriters.open(target.toString(), Map.of("fsync", "false"));
             PublishRunner r = serviceRunner("shared", w, own, Duration.ofSeconds(1))) {
            // the other worker: in the group first, with both partitions, and it never publishes nor commits
            final java.util.concurrent.CountDownLatch joined = new java.util.concurrent.CountDownLatch(1);
            final Thread other = new Thread(() -> {
                try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(r.consumerProps(),
                        new org.apache.kafka.common.serialization.ByteArrayDeserializer(),
                        new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
                    c.subscribe(List.of(own.checkpointsVerified.name()));
                    while (stalled.get()) {
                        c.poll(Duration.ofMillis(100));
                        if (!c.assignment().isEmpty()) {
                            joined.countDown();
                        }
                    }
                }
            });
            other.start();
            assertTrue(joined.await(60, TimeUnit.SECONDS), "the other worker joined");
            final List<ILoggingEvent> logged = io.historystreams.testing.Logs.during(CheckpointPublisher.class,
                    () -> {
                        r.start();
                        waitFor(() -> r.checkpointsPublished() > 0, Duration.ofSeconds(60), "a partition of its own");
                        Thread.sleep(4000); // releaseAfter (1 s) passed, and this runner has read its partition
                        final long published = r.lastCheckpoint();
                        final long root = rootOf(target);
                        assertTrue(root < 0 || Files.exists(target.resolve(ArchivePaths.has(root))), "root " + root);
                        for (long cp = 63; cp <= root; cp += 64) {
                            assertTrue(Files.exists(target.resolve(ArchivePaths.has(cp))),
                                    "root " + root + " names a checkpoint with " + cp + " missing below it");
                        }
                        assertTrue(published >= 0);
                        stalled.set(false); // the other worker leaves: its partition comes here
                        other.join(30_000);
                        waitFor(() -> rootOf(target) == six.get(5).getCheckpoint(), Duration.ofSeconds(60),
                                "everything published, the root names the last");
                    });
            assertTrue(logged.stream().noneMatch(e -> e.getLevel() == Level.WARN), logged::toString);
        }
        CheckpointPublisherTest.assertVerifies(target);
    }

    // ---- helpers

    /** A service's runner (its root released after {@code releaseAfter}) publishing {@code own}'s topic to {@code w}. */
    private static PublishRunner serviceRunner(final String name, final ArchiveWriter w, final Topics own,
            final Duration releaseAfter) {
        return new PublishRunner(APP + "-" + name, broker.bootstrapServers(), name,
                new CheckpointPublisher(w, v.ctx, dir), own, PublishRunner.Settings.defaults()
                        .withBackoff(Duration.ofMillis(20), Duration.ofMillis(200)).withReleaseAfter(releaseAfter));
    }

    /** Topics of one test's own ({@code prefix}, 2 partitions), in the records' schema-registry scope. */
    private static Topics ownTopics(final String prefix) throws Exception {
        final Topics own = new Topics(prefix, topics.registry());
        try (Admin admin = admin()) {
            TopicAdmin.ensureTopics(admin, List.of(TopicSpec.compacted(own.checkpointsVerified.name(), 2, 1),
                    TopicSpec.of(own.checkpointsPublished.name(), 2, 1)));
        }
        return own;
    }

    /** Writes {@code cps} to {@code t}'s checkpoints-verified topic in that order, each acknowledged. */
    private static void produce(final Topics t, final List<CheckpointVerified> cps) throws Exception {
        final Map<String, Object> pc = Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true, ProducerConfig.ACKS_CONFIG, "all");
        try (KafkaProducer<Long, CheckpointVerified> p = new KafkaProducer<>(pc,
                t.checkpointsVerified.keySerde().serializer(), t.checkpointsVerified.valueSerde().serializer())) {
            for (final CheckpointVerified cp : cps) {
                p.send(new ProducerRecord<>(t.checkpointsVerified.name(), cp.getCheckpoint(), cp)).get();
            }
        }
    }

    /** The target's root state's currentLedger, or -1 while it has none (or a half-written one). */
    private static long rootOf(final Path target) {
        try {
            return CheckpointPublisherTest.root(target);
        } catch (final Exception e) {
            return -1;
        }
    }

    private static void deleteTree(final Path root) throws Exception {
        try (var s = Files.walk(root)) {
            for (final Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                if (!p.equals(root)) {
                    Files.delete(p);
                }
            }
        }
    }

    /** The target holds exactly the files of the published checkpoints, byte-identical; the root is the newest. */
    private static void assertTargetIsCopy(final Path target) throws Exception {
        CheckpointPublisherTest.assertTargetIsCopyOfSource(target, published);
        assertArrayEquals(Files.readAllBytes(Fixtures.testnetSmall().resolve(
                ArchivePaths.has(published.get(COUNT - 1).getCheckpoint()))),
                Files.readAllBytes(target.resolve(ArchivePaths.WELL_KNOWN)));
    }

    private static List<CheckpointPublished> readPublishedEvents(final int atLeast) {
        final Map<String, Object> cc = new HashMap<>();
        cc.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        cc.put(ConsumerConfig.GROUP_ID_CONFIG, "reader-" + UUID.randomUUID());
        cc.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        cc.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        final List<CheckpointPublished> out = new ArrayList<>();
        try (KafkaConsumer<Long, CheckpointPublished> c = new KafkaConsumer<>(cc,
                topics.checkpointsPublished.keySerde().deserializer(),
                topics.checkpointsPublished.valueSerde().deserializer())) {
            c.subscribe(List.of(topics.checkpointsPublished.name()));
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (System.nanoTime() < deadline) {
                for (final ConsumerRecord<Long, CheckpointPublished> r : c.poll(Duration.ofMillis(200))) {
                    assertEquals(r.key(), r.value().getCheckpoint());
                    out.add(r.value());
                }
                if (out.size() >= atLeast) {
                    // read a little longer: duplicates would show up here
                    c.poll(Duration.ofMillis(500)).forEach(r -> out.add(r.value()));
                    break;
                }
            }
        }
        return out;
    }

    /** Sum of the committed offsets of a group on the checkpoints-verified topic. */
    private static long committed(final String group) {
        return committed(group, topics);
    }

    /** Sum of the committed offsets of a group on {@code t}'s checkpoints-verified topic. */
    private static long committed(final String group, final Topics t) {
        try (Admin admin = admin()) {
            final Map<TopicPartition, OffsetAndMetadata> offsets =
                    admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
            return offsets.entrySet().stream()
                    .filter(e -> e.getKey().topic().equals(t.checkpointsVerified.name()) && e.getValue() != null)
                    .mapToLong(e -> e.getValue().offset()).sum();
        } catch (final Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static Admin admin() {
        return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()));
    }

    private static void waitFor(final BooleanSupplier condition, final Duration timeout, final String what)
            throws InterruptedException {
        final long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout + " waiting until " + what);
            }
            Thread.sleep(10);
        }
    }

}
