package io.historystreams.kafka;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Produced;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Real single-node broker tests: topics, transactions, persistence across restarts, exactly-once Streams. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
final class EmbeddedKafkaBrokerTest {

    private static final AtomicInteger SEQ = new AtomicInteger();

    @TempDir
    static Path sharedDir;

    private static EmbeddedKafkaBroker shared;

    /** Everything a test opens, closed in reverse order after it, pass or fail. */
    private final Deque<AutoCloseable> toClose = new ArrayDeque<>();

    @BeforeAll
    static void startSharedBroker() {
        shared = EmbeddedKafkaBroker.start(sharedDir, Map.of());
    }

    @AfterAll
    static void stopSharedBroker() {
        if (shared != null) {
            shared.close();
        }
    }

    @AfterEach
    void closeEverything() {
        while (!toClose.isEmpty()) {
            final AutoCloseable c = toClose.pop();
            try {
                c.close();
            } catch (final Exception e) {
                System.err.println("closing " + c + " failed: " + e);
            }
        }
    }

    private <T extends AutoCloseable> T closeLater(final T c) {
        toClose.push(c);
        return c;
    }

    @Test
    void topicsAreCreatedIdempotentlyEvenConcurrently() throws Exception {
        final Admin admin = closeLater(admin(shared));
        final List<TopicSpec> specs = List.of(TopicSpec.of("plain-topic", 3, 1),
                TopicSpec.compacted("compacted-topic", 2, 1).withConfig(TopicConfig.MIN_COMPACTION_LAG_MS_CONFIG, "0"));

        final TopicAdmin.Result first = TopicAdmin.ensureTopics(admin, specs);
        assertEquals(Set.of("plain-topic", "compacted-topic"), first.created());
        assertEquals(Set.of(), first.existing());

        final TopicAdmin.Result second = TopicAdmin.ensureTopics(admin, specs);
        assertEquals(Set.of(), second.created());
        assertEquals(Set.of("plain-topic", "compacted-topic"), second.existing());
        assertEquals(Set.of(), second.reconfigured());

        assertEquals(TopicConfig.CLEANUP_POLICY_COMPACT, cleanupPolicy(admin, "compacted-topic"));
        assertEquals(TopicConfig.CLEANUP_POLICY_DELETE, cleanupPolicy(admin, "plain-topic"));
        assertEquals(3, describe(admin, "plain-topic").partitions().size());

        // two instances starting at once: both succeed, each topic is created exactly once
        final List<TopicSpec> raced = List.of(TopicSpec.of("race-a", 2, 1), TopicSpec.compacted("race-b", 1, 1),
                TopicSpec.of("race-c", 1, 1));
        final Admin other = closeLater(admin(shared));
        final ExecutorService pool = Executors.newFixedThreadPool(2);
        closeLater(pool::shutdownNow);
        final List<Callable<TopicAdmin.Result>> calls = List.of(() -> TopicAdmin.ensureTopics(admin, raced),
                () -> TopicAdmin.ensureTopics(other, raced));
        final List<TopicAdmin.Result> results = new ArrayList<>();
        for (final Future<TopicAdmin.Result> f : pool.invokeAll(calls, 60, TimeUnit.SECONDS)) {
            results.add(f.get());
        }
        final Set<String> createdOnce = new HashSet<>();
        for (final TopicAdmin.Result r : results) {
            for (final String t : r.created()) {
                assertTrue(createdOnce.add(t), t + " reported created twice");
            }
            final Set<String> all = new HashSet<>(r.created());
            all.addAll(r.existing());
            assertEquals(Set.of("race-a", "race-b", "race-c"), all);
        }
        assertEquals(Set.of("race-a", "race-b", "race-c"), createdOnce);
        assertEquals(TopicConfig.CLEANUP_POLICY_COMPACT, cleanupPolicy(admin, "race-b"));
    }

    @Test
    void existingTopicGetsAskedCleanupPolicyButKeepsItsPartitions() throws Exception {
        final Admin admin = closeLater(admin(shared));
        TopicAdmin.ensureTopics(admin, List.of(TopicSpec.of("was-delete", 1, 1)));
        final TopicAdmin.Result r = TopicAdmin.ensureTopics(admin, List.of(TopicSpec.compacted("was-delete", 4, 1)));
        assertEquals(Set.of("was-delete"), r.existing());
        assertEquals(Set.of("was-delete"), r.reconfigured());
        // an altered config reaches the broker's view asynchronously: wait a bounded time for it
        final long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!TopicConfig.CLEANUP_POLICY_COMPACT.equals(cleanupPolicy(admin, "was-delete"))
                && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertEquals(TopicConfig.CLEANUP_POLICY_COMPACT, cleanupPolicy(admin, "was-delete"));
        assertEquals(1, describe(admin, "was-delete").partitions().size());
    }

    @Test
    void eventsAndCommittedOffsetsAreKeptUntilTheDataDirIsDeleted() throws Exception {
        final Admin admin = closeLater(admin(shared));
        TopicAdmin.ensureTopics(admin, List.of(TopicSpec.of("kept-events", 1, 1)));
        final ConfigResource topic = new ConfigResource(ConfigResource.Type.TOPIC, "kept-events");
        assertEquals("-1", admin.describeConfigs(List.of(topic)).all().get(10, TimeUnit.SECONDS).get(topic)
                .get(TopicConfig.RETENTION_MS_CONFIG).value());
        final ConfigResource node = new ConfigResource(ConfigResource.Type.BROKER, "1");
        final Config broker = admin.describeConfigs(List.of(node)).all().get(10, TimeUnit.SECONDS).get(node);
        assertEquals(Integer.toString(Integer.MAX_VALUE), broker.get("offsets.retention.minutes").value());
    }

    @Test
    void topicsWithFewerPartitionsThanAskedAreNamedInOneWarning() throws Exception {
        final Admin admin = closeLater(admin(shared));
        final List<String> names = List.of("few-a", "few-b", "few-c");
        TopicAdmin.ensureTopics(admin, names.stream().map(n -> TopicSpec.of(n, 1, 1)).toList());
        final List<String> warnings = io.historystreams.testing.Logs.during(TopicAdmin.class,
                () -> TopicAdmin.ensureTopics(admin, names.stream().map(n -> TopicSpec.of(n, 4, 1)).toList())).stream()
                .filter(e -> e.getLevel() == ch.qos.logback.classic.Level.WARN)
                .map(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage).toList();
        assertEquals(List.of("3 topic(s) exist with 1 partition(s), fewer than the 4 asked for; left as they are "
                + "(adding partitions would move keys to other partitions): [few-a, few-b, few-c]"), warnings);
    }

    @Test
    void aDataDirThatCannotBeLockedOrMadeSaysWhy(@TempDir final Path dir) throws Exception {
        // the messages named the directory or the lock file, and not why ("permission denied", "not a directory")
        Files.createDirectories(dir.resolve("a/kafka/embedded-broker.lock"));
        final EmbeddedKafkaException locked = assertThrows(EmbeddedKafkaException.class,
                () -> EmbeddedKafkaBroker.start(dir.resolve("a"), Map.of()));
        assertEquals("cannot lock the embedded Kafka data directory via " + dir.resolve("a/kafka/embedded-broker.lock")
                + " (" + dir.resolve("a/kafka/embedded-broker.lock") + ": Is a directory)", locked.getMessage());
        Files.createDirectories(dir.resolve("b"));
        Files.writeString(dir.resolve("b/kafka"), "a file");
        final EmbeddedKafkaException made = assertThrows(EmbeddedKafkaException.class,
                () -> EmbeddedKafkaBroker.start(dir.resolve("b"), Map.of()));
        assertEquals("cannot create the embedded broker's data directory " + dir.resolve("b/kafka") + " ("
                + dir.resolve("b/kafka/logs") + ": Not a directory)", made.getMessage());
    }

    @Test
    void fileSystemErrorsAreDescribedWithTheirReason() {
        assertEquals("/x/y: permission denied", Causes.describe(new java.nio.file.AccessDeniedException("/x/y")));
        assertEquals("/x/y: no such file or directory",
                Causes.describe(new java.nio.file.NoSuchFileException("/x/y")));
        assertEquals("/x/y -> /x/z: already exists",
                Causes.describe(new java.nio.file.FileAlreadyExistsException("/x/y", "/x/z", null)));
        assertEquals("/x/y: No space left on device",
                Causes.describe(new java.nio.file.FileSystemException("/x/y", null, "No space left on device")));
        assertEquals("plain", Causes.describe(new java.io.IOException("plain")));
        assertEquals("IOException", Causes.describe(new java.io.IOException()));
    }

    @Test
    void impossibleTopicFailsWithClearMessage() {
        final Admin admin = closeLater(admin(shared));
        final TopicAdminException e = assertThrows(TopicAdminException.class,
                () -> TopicAdmin.ensureTopics(admin, List.of(TopicSpec.of("rf-three", 1, 3)), Duration.ofSeconds(10)));
        assertTrue(e.getMessage().contains("rf-three"), e.getMessage());
        assertTrue(e.getMessage().contains("InvalidReplicationFactor"), e.getMessage());
    }

    @Test
    void transactionalRecordsAreReadCommittedAndAbortedOnesAreNot() {
        final Admin admin = closeLater(admin(shared));
        TopicAdmin.ensureTopics(admin, List.of(TopicSpec.of("txn-topic", 2, 1)));
        final KafkaProducer<String, String> producer = closeLater(transactionalProducer(shared, "txn-test"));
        producer.initTransactions();
        producer.beginTransaction();
        for (int i = 0; i < 3; i++) {
            producer.send(new ProducerRecord<>("txn-topic", "k" + i, "committed-" + i));
        }
        producer.commitTransaction();
        producer.beginTransaction();
        producer.send(new ProducerRecord<>("txn-topic", "kx", "aborted"));
        producer.flush();
        producer.abortTransaction();
        producer.beginTransaction();
        producer.send(new ProducerRecord<>("txn-topic", "k3", "committed-3"));
        producer.commitTransaction();

        final List<String> values = consumeValues(shared, "txn-topic", 4, Duration.ofSeconds(20));
        assertEquals(Set.of("committed-0", "committed-1", "committed-2", "committed-3"), new HashSet<>(values));
        assertEquals(4, values.size());
    }

    @Test
    void streamsExactlyOnceCopiesRecords(@TempDir final Path stateDir) throws Exception {
        final Admin admin = closeLater(admin(shared));
        TopicAdmin.ensureTopics(admin, List.of(TopicSpec.of("streams-in", 2, 1), TopicSpec.of("streams-out", 2, 1)));
        final KafkaProducer<String, String> producer = closeLater(transactionalProducer(shared, "streams-feeder"));
        producer.initTransactions();
        producer.beginTransaction();
        for (int i = 0; i < 20; i++) {
            producer.send(new ProducerRecord<>("streams-in", "k" + i, "v" + i));
        }
        producer.commitTransaction();

        final StreamsBuilder builder = new StreamsBuilder();
        builder.stream("streams-in", Consumed.with(Serdes.String(), Serdes.String()))
                .mapValues(v -> v.toUpperCase(Locale.ROOT))
                .to("streams-out", Produced.with(Serdes.String(), Serdes.String()));
        final Map<String, Object> conf = Map.of(
                StreamsConfig.APPLICATION_ID_CONFIG, "copy-app-" + SEQ.incrementAndGet(),
                StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, shared.bootstrapServers(),
                StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2,
                StreamsConfig.NUM_STANDBY_REPLICAS_CONFIG, 0,
                StreamsConfig.STATE_DIR_CONFIG, stateDir.toString(),
                StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100,
                StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
        final KafkaStreams streams = new KafkaStreams(builder.build(), new org.apache.kafka.streams.StreamsConfig(conf));
        closeLater(() -> streams.close(Duration.ofSeconds(20)));
        streams.start();

        final List<String> out = consumeValues(shared, "streams-out", 20, Duration.ofSeconds(45));
        final Set<String> expected = new HashSet<>();
        for (int i = 0; i < 20; i++) {
            expected.add("V" + i);
        }
        assertEquals(expected, new HashSet<>(out));
        assertEquals(20, out.size(), "exactly once: no duplicates");
    }

    @Test
    void dataTopicsAndClusterIdSurviveStopAndStart(@TempDir final Path dir) throws Exception {
        final String clusterId;
        final String bootstrap;
        try (EmbeddedKafkaBroker first = EmbeddedKafkaBroker.start(dir, Map.of());
                Admin admin = admin(first);
                KafkaProducer<String, String> producer = transactionalProducer(first, "persist")) {
            clusterId = first.clusterId();
            bootstrap = first.bootstrapServers();
            TopicAdmin.ensureTopics(admin, List.of(TopicSpec.compacted("ledger-state", 1, 1),
                    TopicSpec.of("ledger-events", 2, 1)));
            producer.initTransactions();
            producer.beginTransaction();
            producer.send(new ProducerRecord<>("ledger-events", "a", "1"));
            producer.send(new ProducerRecord<>("ledger-events", "b", "2"));
            producer.send(new ProducerRecord<>("ledger-state", "a", "s1"));
            producer.commitTransaction();
        }
        assertTrue(Files.exists(dir.resolve("kafka/logs/meta.properties")));

        final EmbeddedKafkaBroker second = closeLater(EmbeddedKafkaBroker.start(dir, Map.of()));
        assertEquals(clusterId, second.clusterId());
        assertEquals(bootstrap, second.bootstrapServers(), "the remembered port is reused");
        final Admin admin = closeLater(admin(second));
        assertEquals(clusterId, admin.describeCluster().clusterId().get(10, TimeUnit.SECONDS));
        assertTrue(admin.listTopics().names().get(10, TimeUnit.SECONDS)
                .containsAll(Set.of("ledger-state", "ledger-events")));
        assertEquals(TopicConfig.CLEANUP_POLICY_COMPACT, cleanupPolicy(admin, "ledger-state"));
        final TopicAdmin.Result again = TopicAdmin.ensureTopics(admin, List.of(
                TopicSpec.compacted("ledger-state", 1, 1), TopicSpec.of("ledger-events", 2, 1)));
        assertEquals(Set.of(), again.created());
        assertEquals(Set.of("1", "2"), new HashSet<>(consumeValues(second, "ledger-events", 2, Duration.ofSeconds(20))));
        assertEquals(List.of("s1"), consumeValues(second, "ledger-state", 1, Duration.ofSeconds(20)));
    }

    @Test
    void producersGetThroughABrokerRestart(@TempDir final Path dir) throws Exception {
        final EmbeddedKafkaBroker broker = closeLater(EmbeddedKafkaBroker.start(dir, Map.of()));
        final Admin admin = closeLater(admin(broker));
        TopicAdmin.ensureTopics(admin, List.of(TopicSpec.of("restart-topic", 2, 1)));
        final KafkaProducer<String, String> txn = closeLater(transactionalProducer(broker, "restart-txn"));
        final KafkaProducer<String, String> idempotent = closeLater(new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 60_000,
                ProducerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 500),
                new StringSerializer(), new StringSerializer()));

        txn.initTransactions();
        txn.beginTransaction();
        txn.send(new ProducerRecord<>("restart-topic", "t", "txn-before"));
        txn.commitTransaction();
        idempotent.send(new ProducerRecord<>("restart-topic", "i", "idem-before")).get(20, TimeUnit.SECONDS);

        final String before = broker.bootstrapServers();
        broker.stop();
        // sent while the broker is down, from another thread: send() may block on metadata (max.block.ms) or
        // buffer the records; either way they are delivered after the restart
        final ExecutorService sender = Executors.newSingleThreadExecutor();
        closeLater(sender::shutdownNow);
        final Future<List<RecordMetadata>> sentWhileDown = sender.submit(() -> {
            final List<Future<RecordMetadata>> pending = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                pending.add(idempotent.send(new ProducerRecord<>("restart-topic", "i", "idem-down-" + i)));
            }
            final List<RecordMetadata> acked = new ArrayList<>();
            for (final Future<RecordMetadata> f : pending) {
                acked.add(f.get(50, TimeUnit.SECONDS));
            }
            return acked;
        });
        Thread.sleep(300);
        final long t0 = System.nanoTime();
        broker.restart();
        System.err.println("restart from stopped took " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)
                + " ms");
        assertEquals(before, broker.bootstrapServers());
        assertEquals(3, sentWhileDown.get(55, TimeUnit.SECONDS).size());
        broker.restart(); // a restart of a running broker, with both producers alive
        txn.beginTransaction();
        txn.send(new ProducerRecord<>("restart-topic", "t", "txn-after"));
        txn.commitTransaction();
        idempotent.send(new ProducerRecord<>("restart-topic", "i", "idem-after")).get(45, TimeUnit.SECONDS);

        final List<String> values = consumeValues(broker, "restart-topic", 7, Duration.ofSeconds(30));
        assertEquals(Set.of("txn-before", "txn-after", "idem-before", "idem-down-0", "idem-down-1", "idem-down-2",
                "idem-after"), new HashSet<>(values));
        assertEquals(7, values.size(), "idempotence: no duplicates");
    }

    @Test
    void busyConfiguredPortFailsClearly(@TempDir final Path dir) throws Exception {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
            final EmbeddedKafkaException e = assertThrows(EmbeddedKafkaException.class, () -> EmbeddedKafkaBroker
                    .start(dir, Map.of(EmbeddedKafkaBroker.BROKER_PORT, Integer.toString(taken.getLocalPort()))));
            assertTrue(e.getMessage().contains(Integer.toString(taken.getLocalPort())), e.getMessage());
            assertTrue(e.getMessage().contains("in use"), e.getMessage());
        }
    }

    @Test
    void secondBrokerOnADirectoryInUseIsRefused() throws Exception {
        final EmbeddedKafkaException e = assertThrows(EmbeddedKafkaException.class,
                () -> EmbeddedKafkaBroker.start(sharedDir, Map.of()));
        assertTrue(e.getMessage().contains("in use"), e.getMessage());
        // the running broker is untouched
        final Admin admin = closeLater(admin(shared));
        assertEquals(shared.clusterId(), admin.describeCluster().clusterId().get(10, TimeUnit.SECONDS));
        assertTrue(shared.isRunning());
    }

    @Test
    void busyRememberedPortFallsBackToAFreeOne(@TempDir final Path dir) throws Exception {
        final int oldPort;
        final String clusterId;
        try (EmbeddedKafkaBroker first = EmbeddedKafkaBroker.start(dir, Map.of())) {
            oldPort = first.brokerPort();
            clusterId = first.clusterId();
        }
        try (ServerSocket taken = new ServerSocket()) {
            taken.setReuseAddress(true);
            taken.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), oldPort));
            final EmbeddedKafkaBroker second = closeLater(EmbeddedKafkaBroker.start(dir, Map.of()));
            assertNotEquals(oldPort, second.brokerPort());
            assertEquals(clusterId, second.clusterId());
        }
    }

    // ---- helpers ----

    private static Admin admin(final EmbeddedKafkaBroker broker) {
        return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000));
    }

    private static KafkaProducer<String, String> transactionalProducer(final EmbeddedKafkaBroker broker,
            final String txnId) {
        return new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                ProducerConfig.TRANSACTIONAL_ID_CONFIG, txnId + "-" + SEQ.incrementAndGet(),
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 60_000,
                ProducerConfig.MAX_BLOCK_MS_CONFIG, 60_000,
                ProducerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 500),
                new StringSerializer(), new StringSerializer());
    }

    /** Reads a topic from the beginning, read_committed, without a consumer group, until n records or timeout. */
    private static List<String> consumeValues(final EmbeddedKafkaBroker broker, final String topic, final int n,
            final Duration timeout) {
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false),
                new StringDeserializer(), new StringDeserializer())) {
            final List<TopicPartition> partitions = new ArrayList<>();
            for (final PartitionInfo p : consumer.partitionsFor(topic, Duration.ofSeconds(10))) {
                partitions.add(new TopicPartition(topic, p.partition()));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            final List<String> values = new ArrayList<>();
            final long deadline = System.nanoTime() + timeout.toNanos();
            while (values.size() < n && System.nanoTime() < deadline) {
                for (final ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    values.add(r.value());
                }
            }
            // a little longer, to catch records that should not be there
            final long extra = System.nanoTime() + Duration.ofMillis(300).toNanos();
            while (System.nanoTime() < extra) {
                for (final ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(100))) {
                    values.add(r.value());
                }
            }
            assertTrue(values.size() >= n, "expected " + n + " records on " + topic + ", got " + values);
            return values;
        }
    }

    private static String cleanupPolicy(final Admin admin, final String topic) throws Exception {
        final ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        final Config c = admin.describeConfigs(List.of(r)).all().get(10, TimeUnit.SECONDS).get(r);
        return c.get(TopicConfig.CLEANUP_POLICY_CONFIG).value();
    }

    private static TopicDescription describe(final Admin admin, final String topic) throws Exception {
        return admin.describeTopics(List.of(topic)).topicNameValues().get(topic).get(10, TimeUnit.SECONDS);
    }
}
