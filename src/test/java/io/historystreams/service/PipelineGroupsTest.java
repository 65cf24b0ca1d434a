package io.historystreams.service;

import io.historystreams.kafka.TopicAdmin;
import io.historystreams.kafka.TopicSpec;
import io.historystreams.testing.Cli;
import io.historystreams.testing.Fixtures;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One application per topic prefix, and one prefix per application, on a real KRaft broker: a worker with the
 * application's id and another prefix stalled part of a trial's range for good, and a second application on a prefix
 * emitted every event twice; both are refused before the pipeline starts.
 */
class PipelineGroupsTest extends WithEmbeddedBroker {
    @TempDir
    Path dir;

    private static Admin admin() {
        return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()));
    }

    /** Commits offset 0 of {@code topic} for {@code group}, as a consumer of that group would. */
    private static void commit(final String group, final String topic) {
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(), ConsumerConfig.GROUP_ID_CONFIG,
                group), new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            c.commitSync(Map.of(new TopicPartition(topic, 0), new OffsetAndMetadata(0)));
        }
    }

    @Test
    void anApplicationOnAnotherPrefixAndASecondApplicationOnAPrefixAreRefused() throws Exception {
        try (Admin a = admin()) {
            TopicAdmin.ensureTopics(a, List.of(TopicSpec.of("pa.checkpoint-requests", 1, 1),
                    TopicSpec.of("pb.checkpoint-requests", 1, 1)));
            commit("pa", "pa.checkpoint-requests");
            PipelineGroups.check(a, "pa", "pa.checkpoint-requests"); // its own: fine
            final IOException other = assertThrows(IOException.class,
                    () -> PipelineGroups.check(a, "pa", "pb.checkpoint-requests"));
            assertEquals("the application pa (--application-id) has processed the requests of pa.checkpoint-requests, "
                    + "not pb.checkpoint-requests: all its workers must use one topic.prefix (a worker with another "
                    + "one stops part of the others' work, and the application's state stores hold what the other "
                    + "prefix verified); give this one that prefix, or another --application-id", other.getMessage());

            // a plain consumer of the requests (no state stores) is not a pipeline
            commit("pc", "pa.checkpoint-requests");
            PipelineGroups.check(a, "pa", "pa.checkpoint-requests");
            // a pipeline is
            TopicAdmin.ensureTopics(a, List.of(TopicSpec.of("pc-checkpoint-status-changelog", 1, 1)));
            final IOException twice = assertThrows(IOException.class,
                    () -> PipelineGroups.check(a, "pa", "pa.checkpoint-requests"));
            assertTrue(twice.getMessage().startsWith("the application pc (--application-id) also processed the "
                    + "requests of pa.checkpoint-requests: two applications on one topic.prefix verify and emit every "
                    + "checkpoint and ledger twice. Run this command with --application-id pc, or give it another "
                    + "topic.prefix; if that application is gone for good, delete its group "), twice.getMessage());

            // a pipeline whose workers are assigned the requests and have committed nothing yet (a trial: a client
            // of another application on that prefix was not refused, and those workers did its work)
            TopicAdmin.ensureTopics(a, List.of(TopicSpec.of("pe.checkpoint-requests", 1, 1),
                    TopicSpec.of("pd-checkpoint-status-changelog", 1, 1)));
            try (KafkaConsumer<byte[], byte[]> worker = new KafkaConsumer<>(Map.of(
                    ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(), ConsumerConfig.GROUP_ID_CONFIG,
                    "pd", ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false), new ByteArrayDeserializer(),
                    new ByteArrayDeserializer())) {
                worker.subscribe(List.of("pe.checkpoint-requests"));
                final long end = System.nanoTime() + java.time.Duration.ofSeconds(30).toNanos();
                while (worker.assignment().isEmpty() && System.nanoTime() < end) {
                    worker.poll(java.time.Duration.ofMillis(200));
                }
                assertEquals(1, worker.assignment().size(), "assigned");
                final IOException running = assertThrows(IOException.class,
                        () -> PipelineGroups.check(a, "pf", "pe.checkpoint-requests"));
                assertTrue(running.getMessage().startsWith("the application pd (--application-id) also processed "
                        + "the requests of pe.checkpoint-requests"), running.getMessage());
                PipelineGroups.check(a, "pd", "pe.checkpoint-requests"); // its own
            }
        }
    }

    private Cli.Ran ingest(final String app, final String prefix) {
        return Cli.run("ingest", "--archive", Fixtures.pubnetGenesis().toString(), "--bootstrap-servers",
                broker.bootstrapServers(), "--application-id", app, "-D", "topic.prefix=" + prefix, "--data-dir",
                dir.resolve(app + "-" + prefix).toString(), "--schema-registry-url", "mock://groups", "--http-port",
                "-1", "--quiet");
    }

    @Test
    void theCommandsRefuseAMismatchedWorkerBeforeItStarts() throws Exception {
        final Cli.Ran first = ingest("g1", "g1.");
        assertEquals(0, first.code(), first.out());
        final Cli.Ran prefix = ingest("g1", "g2.");
        assertEquals(2, prefix.code(), prefix.out());
        try (Admin a = admin()) {
            assertTrue(a.listTopics().names().get().stream().noneMatch(t -> t.startsWith("g2.")),
                    "nothing is created for a refused pairing");
        }
        assertTrue(prefix.out().contains("error: the application g1 (--application-id) has processed the requests "
                + "of g1.checkpoint-requests, not g2.checkpoint-requests"), prefix.out());
        final Cli.Ran app = ingest("g3", "g1.");
        assertEquals(2, app.code(), app.out());
        assertTrue(app.out().contains("error: the application g1 (--application-id) also processed the requests of "
                + "g1.checkpoint-requests"), app.out());
        // the right pair still runs
        final Cli.Ran again = ingest("g1", "g1.");
        assertEquals(0, again.code(), again.out());
    }

    @Test
    void aReplayOrAWorkerThatAskedForNoCountIsNotWarnedOfThePipelineTopicsPartitions() throws Exception {
        // the workers made the topics with 1 partition; a replay with the cluster's default (6) warned that they have
        // fewer than it asked for, though it only reads them
        final Cli.Ran ingest = Cli.run("ingest", "--archive", Fixtures.pubnetGenesis().toString(),
                "--bootstrap-servers", broker.bootstrapServers(), "--application-id", "fp", "-D", "topic.prefix=fp.",
                "--partitions", "1", "--data-dir", dir.resolve("fp").toString(), "--schema-registry-url",
                "mock://groups", "--http-port", "-1", "--quiet");
        assertEquals(0, ingest.code(), ingest.out());
        final Cli.Ran[] replay = new Cli.Ran[1];
        final List<ch.qos.logback.classic.spi.ILoggingEvent> logged = io.historystreams.testing.Logs.during(
                TopicAdmin.class, () -> replay[0] = Cli.run("replay", "--from", "1", "--to", "127",
                        "--bootstrap-servers", broker.bootstrapServers(), "--application-id", "fp", "-D",
                        "topic.prefix=fp.", "--schema-registry-url", "mock://groups", "--http-port", "-1"));
        assertEquals(0, replay[0].code(), replay[0].out());
        assertEquals(List.of(), logged.stream().filter(e -> e.getLevel() == ch.qos.logback.classic.Level.WARN)
                .map(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage).toList());
        assertTrue(logged.stream().anyMatch(e -> e.getFormattedMessage().contains(
                "exist with 1 partition(s), taken as they are (this process runs no pipeline, or was given no "
                + "--partitions; 6 is the count of topics it makes): [fp.")), () -> logged.toString());

        // a worker that asks for no count takes the topics as they are; one that asks for another is warned
        final List<String> warned = new java.util.ArrayList<>();
        for (final String partitions : new String[] {null, "4"}) {
            final List<String> args = new java.util.ArrayList<>(List.of("ingest", "--archive",
                    Fixtures.pubnetGenesis().toString(), "--bootstrap-servers", broker.bootstrapServers(),
                    "--application-id", "fp", "-D", "topic.prefix=fp.", "--data-dir",
                    dir.resolve("fp-" + partitions).toString(), "--schema-registry-url", "mock://groups",
                    "--http-port", "-1", "--quiet"));
            if (partitions != null) {
                args.addAll(List.of("--partitions", partitions));
            }
            final Cli.Ran[] again = new Cli.Ran[1];
            io.historystreams.testing.Logs.during(TopicAdmin.class,
                    () -> again[0] = Cli.run(args.toArray(String[]::new))).stream()
                    .filter(e -> e.getLevel() == ch.qos.logback.classic.Level.WARN)
                    .forEach(e -> warned.add(partitions + ": " + e.getFormattedMessage()));
            assertEquals(0, again[0].code(), again[0].out());
        }
        assertEquals(1, warned.size(), warned::toString);
        assertTrue(warned.get(0).startsWith("4: 16 topic(s) exist with 1 partition(s), fewer than the 4 asked for; "),
                warned::toString);
    }
}
