package io.historystreams.service;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.Checkpoint;
import io.historystreams.archive.FetchObserver;
import io.historystreams.archive.HistoryArchive;
import io.historystreams.archive.RetryPolicy;
import io.historystreams.archive.SourceOptions;
import io.historystreams.cli.Main;
import io.historystreams.events.CheckpointRequest;
import io.historystreams.events.RequestReason;
import io.historystreams.testing.FaultyArchiveServer;
import io.historystreams.testing.Fixtures;
import io.historystreams.topology.Topics;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The service against a real in-process KRaft broker: ingest, replay, tail, two instances, a killed process. */
class ServiceIntegrationTest extends WithEmbeddedBroker {
    private static final String TESTNET = "Test SDF Network ; September 2015";
    @TempDir
    Path dir;


    private String[] serviceArgs(final String app, final String... more) {
        final List<String> a = new java.util.ArrayList<>(List.of("--bootstrap-servers", broker.bootstrapServers(),
                "--application-id", app, "-D", "topic.prefix=" + app + ".", "--data-dir",
                dir.resolve(app).toString(), "--http-port", "-1", "--schema-registry-url", "mock://" + app));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    private static Topics topics(final String app) {
        return new Topics(app + ".", io.historystreams.events.serde.SchemaRegistry.forUrl("mock://" + app));
    }

    @Test
    void shouldIngestAllOfTestnetSmallOverHttpThenReplayWithoutTheArchive() throws Exception {
        final String app = "ingest1";
        final Path report = dir.resolve("report.json");
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.testnetSmall())) {
            final String[] args = serviceArgs(app, "ingest", "--archive", server.url(), "--report", report.toString(),
                    "--quiet");
            final String[] full = new String[args.length];
            // the command name goes first
            full[0] = "ingest";
            int i = 1;
            for (final String s : args) {
                if (!s.equals("ingest")) {
                    full[i++] = s;
                }
            }
            assertEquals(0, Main.run(full));
            // each bucket fetched once, although the checkpoints naming it are spread over 6 partitions (tasks)
            final List<String> bucketGets = server.requestLog().stream()
                    .map(l -> l.split(" ")).filter(l -> l[0].equals("GET"))
                    .map(l -> l[1].startsWith("/") ? l[1].substring(1) : l[1]).filter(p -> p.startsWith("bucket/"))
                    .toList();
            assertEquals(1169, bucketGets.stream().distinct().count(), "distinct buckets of testnet-small");
            assertEquals(bucketGets.size(), bucketGets.stream().distinct().count(),
                    () -> "buckets fetched more than once: " + (bucketGets.size() - bucketGets.stream().distinct()
                            .count()));
        }
        final JsonNode r = new ObjectMapper().readTree(report.toFile());
        assertEquals(157, r.get("summary").get("verified").asInt());
        assertEquals(10047, r.get("summary").get("ledgersVerified").asLong());
        assertTrue(r.get("summary").get("allVerified").asBoolean());
        io.historystreams.testing.Reports.assertTimes(r);
        assertFalse(r.get("summary").has("published"), "nothing was to be published: " + r.get("summary"));
        // the chain link in verify's words: the genesis checkpoint, then linked ones
        assertEquals("GENESIS", r.get("checkpoints").get(0).get("chainLink").asText(), r.get("checkpoints").get(0)
                .toString());
        assertEquals("VERIFIED", r.get("checkpoints").get(1).get("chainLink").asText());
        final Topics t = topics(app);
        final List<ConsumerRecord<Long, byte[]>> ledgers = TopicReader.readAll(broker.bootstrapServers(),
                t.ledgersVerified.name(), new LongDeserializer(), new ByteArrayDeserializer());
        assertEquals(10047, ledgers.size(), "each ledger exactly once");
        assertEquals(10047, ledgers.stream().map(ConsumerRecord::key).distinct().count());
        // no sink: bucket files were verified but not stored (blob.keep=auto); the five per-checkpoint files were
        try (var blobs = Files.walk(dir.resolve(app).resolve("blobs"))) {
            assertEquals(157 * 5, blobs.filter(Files::isRegularFile).filter(p -> !p.toString().contains("/.tmp/"))
                    .count(), "blob files: HAS, ledger, transactions, results and SCP of each checkpoint, no bucket");
        }

        // the archive is gone (server closed): replay re-emits from the topics alone
        final String[] replay = {"replay", "--bootstrap-servers", broker.bootstrapServers(), "--application-id", app,
            "-D", "topic.prefix=" + app + ".", "--data-dir", dir.resolve(app + "-replay").toString(), "--http-port",
            "-1", "--schema-registry-url", "mock://" + app, "--from", "1", "--to", "1280", "--ledgers",
            // not the 6 partitions of the topics replayed: the replay topics take theirs (a trial: a replay made 6
            // for topics of 2, and its records landed on other partition numbers than their originals)
            "--partitions", "2"};
        final java.io.StringWriter said = new java.io.StringWriter();
        try (java.io.PrintWriter w = new java.io.PrintWriter(said, true)) {
            assertEquals(0, Main.run(w, w, replay));
        }
        // on a cluster, to no target: nothing on disk (a trial's replay left a ./data with a blob store in it)
        assertFalse(Files.exists(dir.resolve(app + "-replay")), "replay made its --data-dir");
        final int cpsOfRange = Checkpoint.range(1, 1280).size(); // 21: ledger 1280 is in checkpoint 0x53f
        assertEquals(cpsOfRange, said.toString().lines().filter(l -> l.startsWith("checkpoint ")).count(),
                said.toString());
        // whole checkpoints, with their ledger events, as ingest emitted them (the events of ledgers 1..1280 alone
        // were replayed, with the verdict of checkpoint 0x53f, whose ledgers run to 1343)
        assertTrue(said.toString().contains("note: ledgers 1..1280 lie in checkpoints 0x3f..0x53f, which are replayed "
                + "whole: ledgers 1..1343"), said.toString());
        assertTrue(said.toString().contains("replayed " + cpsOfRange + " of " + cpsOfRange
                + " checkpoints and 1343 ledger events"), said.toString());
        final List<ConsumerRecord<Long, byte[]>> cps = TopicReader.readAll(broker.bootstrapServers(),
                app + ".replay.checkpoints-verified", new LongDeserializer(), new ByteArrayDeserializer());
        assertEquals(Checkpoint.range(1, 1280), cps.stream().map(ConsumerRecord::key).sorted().toList());
        final List<ConsumerRecord<Long, byte[]>> replayedLedgers = TopicReader.readAll(broker.bootstrapServers(),
                app + ".replay.ledgers-verified", new LongDeserializer(), new ByteArrayDeserializer());
        assertEquals(1343, replayedLedgers.size());
        assertEquals(1343, replayedLedgers.stream().map(ConsumerRecord::key).distinct().count());
        // each replayed record has its original's timestamp (a trial: the time it was sent), so a checkpoint's
        // ledgers share one there too
        final Map<Long, Long> ledgerTimes = new java.util.HashMap<>();
        ledgers.forEach(l -> ledgerTimes.put(l.key(), l.timestamp()));
        assertEquals(0, replayedLedgers.stream().filter(l -> l.timestamp() != ledgerTimes.get(l.key())).count());
        final Map<Long, Integer> ledgerPartitions = new java.util.HashMap<>();
        ledgers.forEach(l -> ledgerPartitions.put(l.key(), l.partition()));
        assertEquals(0, replayedLedgers.stream().filter(l -> l.partition() != ledgerPartitions.get(l.key())).count(),
                "replayed ledgers on another partition number than their originals");
        final Map<Long, Long> cpTimes = new java.util.HashMap<>();
        TopicReader.readAll(broker.bootstrapServers(), t.checkpointsVerified.name(), new LongDeserializer(),
                new ByteArrayDeserializer()).forEach(c -> cpTimes.put(c.key(), c.timestamp()));
        assertEquals(0, cps.stream().filter(c -> c.timestamp() != cpTimes.get(c.key())).count());
        // --quiet, as for verify and ingest: the summary line only
        final java.io.StringWriter quiet = new java.io.StringWriter();
        try (java.io.PrintWriter w = new java.io.PrintWriter(quiet, true)) {
            final String[] again = java.util.Arrays.copyOf(replay, replay.length + 1);
            again[replay.length] = "--quiet";
            assertEquals(0, Main.run(w, w, again));
        }
        assertEquals(List.of("note: ledgers 1..1280 lie in checkpoints 0x3f..0x53f, which are replayed whole: ledgers "
                + "1..1343", "replayed " + cpsOfRange + " of " + cpsOfRange + " checkpoints and 1343 ledger events to "
                + app + ".replay.checkpoints-verified and " + app + ".replay.ledgers-verified"),
                quiet.toString().lines().filter(l -> !l.isBlank()).toList(), quiet.toString());

        // ledger events the topic no longer holds (retention on a cluster; here deleted): named, and exit 1
        try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(Map.of(
                "bootstrap.servers", broker.bootstrapServers()))) {
            final Map<org.apache.kafka.common.TopicPartition, org.apache.kafka.clients.admin.RecordsToDelete> del =
                    new java.util.HashMap<>();
            for (final var pi : admin.describeTopics(List.of(t.ledgersVerified.name())).allTopicNames().get()
                    .get(t.ledgersVerified.name()).partitions()) {
                del.put(new org.apache.kafka.common.TopicPartition(t.ledgersVerified.name(), pi.partition()),
                        org.apache.kafka.clients.admin.RecordsToDelete.beforeOffset(100));
            }
            admin.deleteRecords(del).all().get();
        }
        final java.io.StringWriter gone = new java.io.StringWriter();
        try (java.io.PrintWriter w = new java.io.PrintWriter(gone, true)) {
            final String[] again = java.util.Arrays.copyOf(replay, replay.length + 1);
            again[replay.length] = "--quiet";
            assertEquals(1, Main.run(w, w, again), gone.toString());
        }
        final String warning = gone.toString().lines().filter(l -> l.startsWith("warning: ")).findFirst()
                .orElseThrow(() -> new AssertionError(gone.toString()));
        // the ledgers of the range among the deleted records (the first 100 of each partition)
        final long deleted = ledgers.stream().filter(l -> l.offset() < 100 && l.key() <= 1343).count();
        assertTrue(deleted > 0);
        assertTrue(warning.startsWith("warning: " + t.ledgersVerified.name() + " holds no event for " + deleted
                + " ledger(s) of "), warning);
        assertTrue(warning.contains("retention.ms"), warning);
        assertTrue(gone.toString().contains("checkpoints and " + (1343 - deleted) + " ledger events"),
                gone.toString());
        // replay reads the topics and runs no pipeline: under another application id one re-processed every request
        // (and wrote every verified event again); under the workers' own it joined their group
        final String[] otherId = replay.clone();
        otherId[4] = app + "-replay";
        assertEquals("--application-id", otherId[3]);
        final int ledgerEvents = TopicReader.readAll(broker.bootstrapServers(), t.ledgersVerified.name(),
                new LongDeserializer(), new ByteArrayDeserializer()).size();
        // 1: the ledgers deleted above are still missing
        assertEquals(1, Main.run(new java.io.PrintWriter(new java.io.StringWriter(), true),
                new java.io.PrintWriter(new java.io.StringWriter(), true), otherId));
        try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(Map.of(
                "bootstrap.servers", broker.bootstrapServers()))) {
            assertFalse(admin.listGroups().all().get().stream().anyMatch(g -> g.groupId().startsWith(app + "-replay")),
                    "no group of the replay's application id");
        }
        Thread.sleep(2000); // what a pipeline would have verified again meanwhile
        assertEquals(ledgerEvents, TopicReader.readAll(broker.bootstrapServers(), t.ledgersVerified.name(),
                new LongDeserializer(), new ByteArrayDeserializer()).size(), "nothing verified again");
    }

    @Test
    void aCheckpointVerifiedEarlierFromAnotherArchiveIsNotPassedOffAsThisArchivesVerdict() throws Exception {
        final String app = "two-archives";
        final java.util.function.BiFunction<Path, String[], String[]> ingest = (archive, more) -> {
            final List<String> a = new java.util.ArrayList<>(List.of("ingest"));
            a.addAll(List.of(serviceArgs(app, "--archive", archive.toString(), "--from", "1", "--to", "127",
                    "--quiet")));
            a.addAll(List.of(more));
            return a.toArray(String[]::new);
        };
        assertEquals(0, Main.run(ingest.apply(Fixtures.testnetSmall(), new String[0])));
        // pubnet's first two checkpoints on the same data dir and topics: the gate would answer them from its store,
        // so the ingest is refused before it asks for them (it said so after, exit 1: IngestOtherArchiveTest)
        final Path report = dir.resolve("pubnet.json");
        final java.io.StringWriter text = new java.io.StringWriter();
        final java.io.PrintWriter w = new java.io.PrintWriter(text, true);
        assertEquals(2, Main.run(w, w, ingest.apply(Fixtures.pubnetGenesis(), new String[] {"--report",
                report.toString()})), text.toString());
        assertTrue(text.toString().contains("error: this data dir verified checkpoint 63 (0x3f) from "
                + Fixtures.testnetSmall().toAbsolutePath().normalize()), text.toString());
        assertFalse(Files.exists(report), "refused before the work: no report");
        // the archive that was verified: no warning, exit 0
        final java.io.StringWriter again = new java.io.StringWriter();
        final java.io.PrintWriter w2 = new java.io.PrintWriter(again, true);
        assertEquals(0, Main.run(w2, w2, ingest.apply(Fixtures.testnetSmall(), new String[0])), again.toString());
        assertFalse(again.toString().contains("warning:"), again.toString());
    }

    @Test
    void anIngestMovesTheRootPastAFailedCheckpointOnlyAtTheEndAndSaysSo() throws Exception {
        // testnet-p24-hot: 0x3f lacks 6 buckets (it fails), 0x7f verifies; the mirror gets 0x7f, and its root state
        // waits for 0x3f until the ingest has every verdict, then moves with a WARN naming what the mirror lacks
        final String app = "p24-publish";
        final Path mirror = dir.resolve("mirror");
        final List<String> a = new java.util.ArrayList<>(List.of("ingest"));
        final Path report = dir.resolve("p24-report.json");
        a.addAll(List.of(serviceArgs(app, "--archive", Fixtures.testnetP24Hot().toString(), "--quiet",
                "--publish-to", mirror.toString(), "-D", "checkpoint.retry.backoff.ms=50", "--report",
                report.toString())));
        final java.io.StringWriter text = new java.io.StringWriter();
        final java.util.List<ch.qos.logback.classic.spi.ILoggingEvent> logs = io.historystreams.testing.Logs.during(
                io.historystreams.publish.CheckpointPublisher.class, () -> {
                    try (java.io.PrintWriter w = new java.io.PrintWriter(text, true)) {
                        assertEquals(1, Main.run(w, w, a.toArray(String[]::new)), text.toString());
                    }
                });
        final Path root = mirror.resolve(".well-known/stellar-history.json");
        assertTrue(Files.exists(root), text::toString);
        assertEquals(127, io.historystreams.verify.HistoryArchiveState.parse(Files.readAllBytes(root), "root")
                .currentLedger());
        assertTrue(logs.stream().anyMatch(e -> e.getLevel() == ch.qos.logback.classic.Level.WARN
                && e.getFormattedMessage().contains("lacks 1 checkpoint(s) below it (0000003f)")), logs::toString);
        assertFalse(Files.exists(mirror.resolve("history/00/00/00/history-0000003f.json")));
        // and the summary line (a trial read "published to 1 target(s)" as a whole mirror)
        assertTrue(text.toString().contains("; published to 1 target(s), lacking checkpoints below its root state "
                + "(failed, or not verified here: the WARN above, `lacks` in the report)"), text::toString);
        // and the report says so (a trial: it said complete only; another: complete beside lacks)
        final com.fasterxml.jackson.databind.JsonNode target = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(report.toFile()).get("targets").get(0);
        assertFalse(target.get("complete").asBoolean(), target::toString);
        assertEquals(127, target.get("rootLedger").asLong(), target::toString);
        assertTrue(target.get("lacks").asText().startsWith("the root state moves to checkpoint 0000007f although the "
                + "target lacks 1 checkpoint(s) below it (0000003f)"), target::toString);
    }

    @Test
    void shouldPublishAByteIdenticalArchiveOnceThenWriteNothingTheSecondTime() throws Exception {
        final String app = "publish1";
        final Path source = Fixtures.testnetSmall();
        final Path target = dir.resolve("mirror");
        final String[] args = {"ingest", "--archive", source.toString(), "--publish-to", target.toString(),
            "--bootstrap-servers", broker.bootstrapServers(), "--application-id", app, "-D",
            "topic.prefix=" + app + ".", "--data-dir", dir.resolve(app).toString(), "--http-port", "-1", "--quiet"};
        assertEquals(0, Main.run(args));
        assertEquals(0, Main.run("verify", "--archive", target.toString(), "--quiet"), "the mirror verifies in full");
        final Map<String, Long> modified = new HashMap<>();
        try (var files = Files.walk(source)) {
            for (final Path f : files.filter(Files::isRegularFile).toList()) {
                final Path copy = target.resolve(source.relativize(f).toString());
                assertTrue(Files.exists(copy), "missing in the mirror: " + copy);
                assertTrue(java.util.Arrays.equals(Files.readAllBytes(f), Files.readAllBytes(copy)),
                        "differs: " + copy);
                modified.put(copy.toString(), Files.getLastModifiedTime(copy).toMillis());
                if (copy.getFileName().toString().startsWith("bucket-")) {
                    // published by hard link from the verified blob: no copy, no new inode
                    assertEquals(2, Files.getAttribute(copy, "unix:nlink"), "linked to its blob: " + copy);
                }
            }
        }
        try (var files = Files.walk(target)) {
            assertEquals(modified.size(), files.filter(Files::isRegularFile).count(), "nothing more in the mirror");
        }
        // the same range again: nothing is written
        assertEquals(0, Main.run(args));
        for (final Map.Entry<String, Long> e : modified.entrySet()) {
            assertEquals(e.getValue(), Files.getLastModifiedTime(Path.of(e.getKey())).toMillis(), e.getKey());
        }
    }

    @Test
    void shouldSplitPartitionsBetweenTwoInstancesAndVerifyOnce() throws Exception {
        final String app = "pair";
        final Map<String, String> common = Map.of(ServiceConfig.BOOTSTRAP_SERVERS, broker.bootstrapServers(),
                ServiceConfig.APPLICATION_ID, app, ServiceConfig.TOPIC_PREFIX, app + ".",
                ServiceConfig.HTTP_PORT, "-1", ServiceConfig.SCHEMA_REGISTRY_URL, "mock://" + app,
                ServiceConfig.STREAM_THREADS, "1");
        final Map<String, String> a = new HashMap<>(common);
        a.put(ServiceConfig.DATA_DIR, dir.resolve("a").toString());
        a.put(ServiceConfig.HTTP_PORT, "0"); // the operations endpoint on a free loopback port
        final Map<String, String> b = new HashMap<>(common);
        b.put(ServiceConfig.DATA_DIR, dir.resolve("b").toString());
        final List<Long> range = Checkpoint.range(1, 20 * 64);
        try (HistoryStreamsService one = HistoryStreamsService.start(ServiceConfig.of(a));
                HistoryStreamsService two = HistoryStreamsService.start(ServiceConfig.of(b))) {
            final long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while ((one.activeTaskCount() == 0 || two.activeTaskCount() == 0 || !one.ready() || !two.ready())
                    && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertTrue(one.activeTaskCount() > 0 && two.activeTaskCount() > 0,
                    "both instances have tasks: " + one.activeTaskCount() + " / " + two.activeTaskCount());
            request(one, range);
            // what is still to do (the consumer lag shows none: the gate takes the requests into its stores at once)
            final java.util.function.ToDoubleFunction<HistoryStreamsService> inProgress = svc -> svc.metrics()
                    .registry().get("history_checkpoints_in_progress").gauge().value();
            double most = 0;
            try (OutcomeWatcher w = new OutcomeWatcher(one.clientProps(), one.topics(), range, 0)) {
                final long end = System.nanoTime() + Duration.ofSeconds(120).toNanos();
                while (!w.done() && System.nanoTime() < end) {
                    w.poll(Duration.ofMillis(200));
                    for (final HistoryStreamsService svc : List.of(one, two)) {
                        final double v = inProgress.applyAsDouble(svc);
                        most = Double.isNaN(v) ? most : Math.max(most, v);
                    }
                }
                assertEquals(range.size(), w.verifiedCount(), "failed: " + w.failed());
            }
            assertTrue(most > 0 && most <= range.size(), "checkpoints in progress at most " + most);
            final long settled = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while ((inProgress.applyAsDouble(one) != 0 || inProgress.applyAsDouble(two) != 0)
                    && System.nanoTime() < settled) {
                Thread.sleep(100);
            }
            assertEquals(0.0, inProgress.applyAsDouble(one) + inProgress.applyAsDouble(two), "none left");
            // the operations endpoint: readiness from the Streams state, Prometheus metrics (ours and Streams')
            assertEquals("127.0.0.1", one.health().url().replaceAll("http://([^:]+):.*", "$1"));
            final java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
            final var ready = http.send(java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create(one.health().url() + "/health/ready")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertEquals(200, ready.statusCode(), ready.body());
            final String metrics = http.send(java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create(one.health().url() + "/metrics")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString()).body();
            assertTrue(metrics.contains("history_checkpoints_verified_total"), "our counters");
            assertTrue(metrics.contains("history_fetch_latency_seconds"), "fetch latency");
            assertTrue(metrics.contains("kafka_stream"), "Kafka Streams metrics");
            assertTrue(one.metrics().verifiedCount() > 0 && two.metrics().verifiedCount() > 0,
                    "both instances verified some: " + one.metrics().verifiedCount() + " / "
                            + two.metrics().verifiedCount());
        }
        final List<ConsumerRecord<Long, byte[]>> verified = TopicReader.readAll(broker.bootstrapServers(),
                app + ".checkpoints-verified", new LongDeserializer(), new ByteArrayDeserializer());
        assertEquals(range, verified.stream().map(ConsumerRecord::key).sorted().toList(), "each exactly once");
    }

    /** Requests {@code range} of testnet-small (as a directory) from the pipeline of {@code svc}. */
    static void request(final HistoryStreamsService svc, final List<Long> range) {
        try (KafkaProducer<Long, CheckpointRequest> p = new KafkaProducer<>(svc.clientProps(),
                svc.topics().checkpointRequests.keySerde().serializer(),
                svc.topics().checkpointRequests.valueSerde().serializer())) {
            final String src = Fixtures.testnetSmall().toString();
            for (final long cp : range) {
                p.send(new ProducerRecord<>(svc.topics().checkpointRequests.name(), cp, CheckpointRequest.newBuilder()
                        .setArchive(src).setSources(List.of(src)).setNetworkPassphrase(TESTNET).setCheckpoint(cp)
                        .setReason(RequestReason.RANGE).setRequestedAt(Instant.now()).build()));
            }
        }
    }

    @Test
    void shouldTailNewCheckpointsAndContinueAfterRestartWithoutGapsOrRepeats() throws Exception {
        final String app = "tail1";
        final Path archive = Fixtures.testnetSmall();
        try (FaultyArchiveServer server = FaultyArchiveServer.start(archive);
                HistoryStreamsService svc = tailService(app, Map.of());
                HistoryArchive ha = HistoryArchive.open(List.of(server.url()), SourceOptions.defaults(),
                        RetryPolicy.defaults(), FetchObserver.NONE)) {
            final List<String> sources = List.of(server.url());
            advance(server, archive, 0x3ff);
            final List<Long> requested = new java.util.ArrayList<>();
            // what tail prints: each verdict as it is committed
            final java.io.StringWriter said = new java.io.StringWriter();
            final VerdictLog verdicts = VerdictLog.start(svc.clientProps(), svc.topics(),
                    new java.io.PrintWriter(said, true));
            try (Tailer t = new Tailer(ha, sources, TESTNET, svc.topics(), svc.clientProps(), app + "-tailer", -1)) {
                final io.micrometer.core.instrument.MeterRegistry reg =
                        new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
                t.bindMetrics(reg);
                assertEquals(0.0, reg.get("history_tail_root_read_timestamp_seconds").gauge().value(), "never read");
                requested.addAll(t.pollOnce());
                assertEquals(List.of(0x3ffL), requested);
                assertEquals(List.of(), t.pollOnce(), "nothing new");
                advance(server, archive, 0x4bf);
                final long before = System.currentTimeMillis();
                final List<Long> next = t.pollOnce();
                assertEquals(List.of(0x43fL, 0x47fL, 0x4bfL), next);
                requested.addAll(next);
                // what an operator alerts on when a tail verifies nothing: how far it saw the archive, and when
                assertEquals(0x4bf, reg.get("history_tail_root_ledger").gauge().value());
                assertEquals(0x4bf, reg.get("history_tail_requested_checkpoint").gauge().value());
                assertTrue(reg.get("history_tail_root_read_timestamp_seconds").gauge().value() >= before / 1000.0);
            }
            // a restart remembers where it stopped (in Kafka); without a passphrase given, the root state's is taken
            advance(server, archive, 0x53f);
            try (Tailer t = new Tailer(ha, sources, null, svc.topics(), svc.clientProps(), app + "-tailer", -1)) {
                assertEquals(0x4bfL, t.lastRequested());
                // the same archive under another name starts afresh: said, with the saved position (the checkpoints
                // since it were skipped without a word)
                final List<String> otherName = sources.stream().map(x -> x.replace("127.0.0.1", "localhost")).toList();
                assertTrue(!otherName.equals(sources), otherName::toString);
                final var warned = io.historystreams.testing.Logs.during(Tailer.class, () -> {
                    try (Tailer other = new Tailer(ha, otherName, null, svc.topics(), svc.clientProps(),
                            app + "-other-name", -1)) {
                        assertTrue(other.lastRequested() < 0);
                    }
                });
                assertTrue(warned.stream().anyMatch(ev -> ev.getLevel() == ch.qos.logback.classic.Level.WARN
                        && ev.getFormattedMessage().startsWith("no saved position for " + otherName.get(0) + ", but for {"
                                + sources.get(0) + "=1215}")), warned::toString);
                final List<Long> next = t.pollOnce();
                assertEquals(List.of(0x4ffL, 0x53fL), next);
                requested.addAll(next);
                // ... and kept: a root state of another network now fails (it was not checked at all before)
                final byte[] has = Files.readAllBytes(archive.resolve(ArchivePaths.has(0x57f)));
                server.overlay(ArchivePaths.WELL_KNOWN, new String(has, java.nio.charset.StandardCharsets.UTF_8)
                        .replace(TESTNET, "Public Global Stellar Network ; September 2015")
                        .getBytes(java.nio.charset.StandardCharsets.UTF_8));
                final io.historystreams.verify.VerificationException e = org.junit.jupiter.api.Assertions
                        .assertThrows(io.historystreams.verify.VerificationException.class, t::pollOnce);
                assertEquals(io.historystreams.verify.FailureReason.WRONG_NETWORK, e.reason(), e.toString());
                advance(server, archive, 0x53f);
                // a second tailer of the application takes over: the first learns it when it next writes, and tail
                // says so (it printed the producer's "old epoch" message)
                try (Tailer second = new Tailer(ha, sources, TESTNET, svc.topics(), svc.clientProps(),
                        app + "-tailer", -1)) {
                    advance(server, archive, 0x57f);
                    final Exception fenced = org.junit.jupiter.api.Assertions.assertThrows(Exception.class,
                            t::pollOnce);
                    assertTrue(io.historystreams.cli.TailCommand.fenced(fenced), fenced::toString);
                    assertEquals(List.of(0x57fL), second.pollOnce());
                    requested.add(0x57fL);
                    // the root state going back is said once, and requests nothing
                    final var seen = io.historystreams.testing.Logs.during(Tailer.class, () -> {
                        advance(server, archive, 0x3ff);
                        assertEquals(List.of(), second.pollOnce());
                        assertEquals(List.of(), second.pollOnce());
                        // catching up, still behind: an INFO line, not a WARN at each poll
                        advance(server, archive, 0x43f);
                        assertEquals(List.of(), second.pollOnce());
                    });
                    assertEquals(1, seen.stream().filter(ev -> ev.getLevel() == ch.qos.logback.classic.Level.WARN
                            && ev.getFormattedMessage().contains("root state went back to ledger 1023")).count(),
                            seen::toString);
                    assertEquals(1, seen.stream().filter(ev -> ev.getLevel() == ch.qos.logback.classic.Level.WARN)
                            .count(), seen::toString);
                    assertTrue(seen.stream().anyMatch(ev -> ev.getLevel() == ch.qos.logback.classic.Level.INFO
                            && ev.getFormattedMessage().contains("root state is at ledger 1087, still before")),
                            seen::toString);
                    // a root naming a ledger without its checkpoint (4294967295: 67 million requests in one
                    // transaction, and a saved position nothing reaches again) is not followed, and said once
                    final String rootOf57f = new String(Files.readAllBytes(archive.resolve(ArchivePaths.has(0x57f))),
                            java.nio.charset.StandardCharsets.UTF_8);
                    assertTrue(rootOf57f.contains("\"currentLedger\": 1407"), rootOf57f);
                    final var hostile = io.historystreams.testing.Logs.during(Tailer.class, () -> {
                        server.overlay(ArchivePaths.WELL_KNOWN, rootOf57f.replace("\"currentLedger\": 1407",
                                "\"currentLedger\": 4294967295").getBytes(java.nio.charset.StandardCharsets.UTF_8));
                        assertEquals(List.of(), second.pollOnce());
                        assertEquals(List.of(), second.pollOnce());
                    });
                    assertEquals(1, hostile.stream().filter(ev -> ev.getLevel() == ch.qos.logback.classic.Level.WARN
                            && ev.getFormattedMessage().contains("root state names ledger 4294967295, but that "
                                    + "checkpoint's state file history/ff/ff/ff/history-ffffffff.json is absent"))
                            .count(), hostile::toString);
                    assertEquals(0x57fL, second.lastRequested(), "nothing saved");
                }
            }
            final List<ConsumerRecord<Long, byte[]>> reqs = TopicReader.readAll(broker.bootstrapServers(),
                    app + ".checkpoint-requests", new LongDeserializer(), new ByteArrayDeserializer());
            assertEquals(requested, reqs.stream().map(ConsumerRecord::key).sorted().toList(),
                    "every checkpoint requested once, none skipped");
            for (final ConsumerRecord<Long, byte[]> r : reqs) {
                assertEquals(TESTNET, svc.topics().checkpointRequests.valueSerde().deserializer()
                        .deserialize(r.topic(), r.value()).getNetworkPassphrase(), "request " + r.key());
            }
            try (OutcomeWatcher w = new OutcomeWatcher(svc.clientProps(), svc.topics(), requested, 0)) {
                final long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (!w.done() && System.nanoTime() < end) {
                    w.poll(Duration.ofMillis(200));
                }
                assertEquals(requested.size(), w.verifiedCount());
            }
            final long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (said.toString().lines().count() < requested.size() && System.nanoTime() < end) {
                Thread.sleep(50);
            }
            verdicts.close();
            assertEquals(requested.stream().map(cp -> String.format("checkpoint %d (0x%x) verified: ledgers %d..%d",
                    cp, cp, cp - 63, cp)).sorted().toList(), said.toString().lines().sorted().toList(),
                    said.toString());
        }
    }

    /**
     * A tail from below the start of an archive that starts mid-history: said at its first poll, it starts there, and
     * the archive's first checkpoint is verified as its start. Before, it failed as its predecessor was asked for, and
     * was tried again for good, and so were the checkpoints below it (two trials).
     */
    @Test
    void aTailFromBelowAnArchivesStartVerifiesItsFirstCheckpoint() throws Exception {
        final String app = "tailstart";
        final Path archive = Fixtures.testnetSmall();
        try (FaultyArchiveServer server = FaultyArchiveServer.start(archive);
                HistoryStreamsService svc = tailService(app, Map.of(ServiceConfig.CHECKPOINT_MAX_ATTEMPTS, "1"));
                HistoryArchive ha = HistoryArchive.open(List.of(server.url()), SourceOptions.defaults(),
                        RetryPolicy.defaults(), FetchObserver.NONE)) {
            // the archive starts at 0x43f: nothing of 0x3bf and 0x3ff
            server.onRegex(".*-000003(bf|ff)\\..*").status(404).forever();
            advance(server, archive, 0x4bf);
            final List<Long> requested = new java.util.ArrayList<>();
            // what tail prints: each verdict as it is committed
            final java.io.StringWriter said = new java.io.StringWriter();
            final VerdictLog verdicts = VerdictLog.start(svc.clientProps(), svc.topics(),
                    new java.io.PrintWriter(said, true));
            final var warned = io.historystreams.testing.Logs.during(Tailer.class, () -> {
                try (Tailer t = new Tailer(ha, List.of(server.url()), TESTNET, svc.topics(), svc.clientProps(),
                        app + "-tailer", 900)) {
                    requested.addAll(t.pollOnce());
                }
            });
            // it starts at the archive's start: the checkpoints below it are not there, and a tail asked for them again
            // every 5 minutes for good (a trial)
            assertEquals(List.of(0x43fL, 0x47fL, 0x4bfL), requested);
            assertTrue(warned.stream().anyMatch(ev -> ev.getLevel() == ch.qos.logback.classic.Level.WARN
                    && ev.getFormattedMessage().equals("the archive holds no checkpoint 959 (0x3bf), the first asked "
                            + "for (--from): it starts at 1087 (0x43f), the lowest checkpoint of the range of which it "
                            + "holds the state file or the ledger file. The tail starts there, and it is verified as the archive's start (its "
                            + "link to the checkpoint before is not checked)")), warned::toString);
            try (OutcomeWatcher w = new OutcomeWatcher(svc.clientProps(), svc.topics(), requested, 0)) {
                final long end = System.nanoTime() + Duration.ofSeconds(90).toNanos();
                while (!w.done() && System.nanoTime() < end) {
                    w.poll(Duration.ofMillis(200));
                }
                assertEquals(3, w.verifiedCount(), () -> w.failed().toString());
                assertEquals(io.historystreams.events.ChainLinkStatus.ARCHIVE_START, w.link(0x43f));
                assertEquals(io.historystreams.events.ChainLinkStatus.VERIFIED, w.link(0x47f));
            }
            final long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (said.toString().lines().count() < 3 && System.nanoTime() < end) {
                Thread.sleep(50);
            }
            verdicts.close();
            // the verdict line says it too (it said nothing of it: a trial)
            assertTrue(said.toString().contains("checkpoint 1087 (0x43f) verified: ledgers 1024..1087 (the archive's "
                    + "start: no source holds the checkpoint before, and the link to it is not checked)"), said::toString);
            assertTrue(said.toString().contains("checkpoint 1151 (0x47f) verified: ledgers 1088..1151\n"),
                    said::toString);
        }
    }

    @Test
    void aPositionSavedUnderADirectorysRelativeNameIsKeptOnceTheTailNamesItsAbsolutePath() throws Exception {
        // a trial: tail's events named a directory as typed (relative), ingest's by its absolute path, in one topic;
        // tail now names it as ingest does, and a position an earlier tail saved under the typed name stands
        final String app = "tailrel";
        final Path archive = Fixtures.testnetSmall();
        final String relative = Path.of("").toAbsolutePath().relativize(archive).toString();
        final String absolute = io.historystreams.archive.ArchiveSources.eventName(relative);
        assertEquals(archive.toAbsolutePath().normalize().toString(), absolute);
        try (HistoryStreamsService svc = tailService(app, Map.of());
                HistoryArchive ha = HistoryArchive.open(List.of(relative), SourceOptions.defaults(),
                        RetryPolicy.defaults(), FetchObserver.NONE)) {
            try (Tailer before = new Tailer(ha, List.of(relative), TESTNET, svc.topics(), svc.clientProps(),
                    app + "-tailer", -1)) {
                assertEquals(List.of(0x273fL), before.pollOnce());
            }
            final var said = io.historystreams.testing.Logs.during(Tailer.class, () -> {
                try (Tailer now = new Tailer(ha, List.of(absolute), TESTNET, svc.topics(), svc.clientProps(),
                        app + "-tailer", -1)) {
                    assertEquals(0x273fL, now.lastRequested());
                    assertEquals(List.of(), now.pollOnce(), "nothing new: not asked again");
                }
            });
            final List<String> lines = said.stream().map(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage)
                    .toList();
            assertTrue(lines.contains("the position saved under " + relative + " is taken for " + absolute
                    + ", the same directory"), lines::toString);
            assertTrue(lines.stream().noneMatch(l -> l.startsWith("no saved position")), lines::toString);
        }
    }

    /** A service of application {@code app} on topics and a data dir of its own, with {@code more} settings. */
    private HistoryStreamsService tailService(final String app, final Map<String, String> more)
            throws java.io.IOException {
        final Map<String, String> settings = new HashMap<>(Map.of(ServiceConfig.BOOTSTRAP_SERVERS,
                broker.bootstrapServers(), ServiceConfig.APPLICATION_ID, app, ServiceConfig.TOPIC_PREFIX, app + ".",
                ServiceConfig.HTTP_PORT, "-1", ServiceConfig.SCHEMA_REGISTRY_URL, "mock://" + app,
                ServiceConfig.DATA_DIR, dir.resolve(app).toString()));
        settings.putAll(more);
        return HistoryStreamsService.start(ServiceConfig.of(settings));
    }

    private static void advance(final FaultyArchiveServer server, final Path archive, final long cp)
            throws java.io.IOException {
        server.overlay(ArchivePaths.WELL_KNOWN, Files.readAllBytes(archive.resolve(ArchivePaths.has(cp))));
    }

    @Test
    void shouldFinishARangeExactlyOnceAfterTheProcessIsKilled() throws Exception {
        // the transactions file of checkpoint 0x83f is held until the kill: no checkpoint after 0x7ff is verified
        // before it (each links to the one before), so the kill lands mid-range whatever the machine's speed (a 10 ms
        // delay on every file once let a fast run verify all 157 between two looks)
        try (FaultyArchiveServer archive = FaultyArchiveServer.start(Fixtures.testnetSmall())) {
            archive.holdCheckpoint(0x83f);
            killThenFinish(archive);
        }
    }

    private void killThenFinish(final FaultyArchiveServer server) throws Exception {
        final String archive = server.url();
        final String app = "killed";
        final String[] args = {"ingest", "--archive", archive, "--bootstrap-servers",
            broker.bootstrapServers(), "--application-id", app, "-D", "topic.prefix=" + app + ".", "--data-dir",
            dir.resolve(app).toString(), "--http-port", "-1", "--quiet", "--fetch-concurrency", "2",
            // the killed member leaves the group after 6 s instead of 45 s (passed to every Kafka client untouched)
            "-D", "kafka.session.timeout.ms=6000", "-D", "kafka.heartbeat.interval.ms=1500"};
        final List<String> cmd = io.historystreams.testing.JavaMain.command("512m", args);
        final File log = dir.resolve("first-run.log").toFile();
        final Process first = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log).start();
        final Topics t = topics(app);
        // kill it (SIGKILL, no clean shutdown) once some checkpoints are verified and many are not
        final long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        int seen = 0;
        while (System.nanoTime() < deadline && first.isAlive()) {
            Thread.sleep(500);
            try {
                seen = TopicReader.readAll(broker.bootstrapServers(), t.checkpointsVerified.name(),
                        new LongDeserializer(), new ByteArrayDeserializer()).size();
            } catch (final RuntimeException e) {
                seen = 0; // topics not created yet
            }
            if (seen >= 20) {
                break;
            }
        }
        assertTrue(first.isAlive(), "the first run ended before it could be killed: " + Files.readString(log.toPath()));
        first.destroyForcibly().waitFor();
        assertTrue(seen >= 20 && seen <= 32, "killed mid-range after " + seen + " checkpoints");
        server.release();
        // the second run finishes the range
        final String[] again = args.clone();
        assertEquals(0, Main.run(again));
        final List<ConsumerRecord<Long, byte[]>> verified = TopicReader.readAll(broker.bootstrapServers(),
                t.checkpointsVerified.name(), new LongDeserializer(), new ByteArrayDeserializer());
        assertEquals(Checkpoint.range(1, 10047), verified.stream().map(ConsumerRecord::key).sorted().toList(),
                "every checkpoint verified exactly once");
        final List<ConsumerRecord<Long, byte[]>> ledgers = TopicReader.readAll(broker.bootstrapServers(),
                t.ledgersVerified.name(), new LongDeserializer(), new ByteArrayDeserializer());
        final Set<Long> distinct = new HashSet<>();
        final List<Long> dups = ledgers.stream().map(ConsumerRecord::key).filter(k -> !distinct.add(k))
                .collect(Collectors.toList());
        assertEquals(List.of(), dups, "no ledger event twice");
        assertEquals(10047, distinct.size());
    }
}
