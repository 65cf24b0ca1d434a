package io.historystreams.service;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.historystreams.testing.Cli;
import io.historystreams.testing.FaultyArchiveServer;
import io.historystreams.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code ingest --client}: a command that runs no pipeline, against a worker ({@link HistoryStreamsService}, what
 * {@code run} starts) on a real KRaft broker; and the mistakes it refuses before requesting anything.
 */
class IngestClientTest extends WithEmbeddedBroker {
    @TempDir
    Path dir;

    /** A {@code run} worker of {@code app} (one stream thread), as {@code run} configures it. */
    private HistoryStreamsService worker(final String app) throws Exception {
        return worker(app, 1);
    }

    private HistoryStreamsService worker(final String app, final int threads) throws Exception {
        return worker(app, threads, Map.of());
    }

    private HistoryStreamsService worker(final String app, final int threads, final Map<String, String> more)
            throws Exception {
        final Map<String, String> c = new HashMap<>(Map.of(ServiceConfig.BOOTSTRAP_SERVERS, broker.bootstrapServers(),
                ServiceConfig.APPLICATION_ID, app, ServiceConfig.TOPIC_PREFIX, app + ".",
                ServiceConfig.HTTP_PORT, "-1", ServiceConfig.SCHEMA_REGISTRY_URL, "mock://" + app,
                ServiceConfig.STREAM_THREADS, Integer.toString(threads), ServiceConfig.DATA_DIR,
                dir.resolve("worker").toString()));
        c.putAll(more);
        final HistoryStreamsService svc = HistoryStreamsService.start(ServiceConfig.of(c));
        assertTrue(svc.awaitRunning(Duration.ofSeconds(60)), "worker running");
        return svc;
    }

    private Cli.Ran client(final String app, final String archive, final String... more) {
        return clientOf(app, app + ".", "mock://" + app, archive, more);
    }

    /** A client of {@code app} with a topic prefix and a registry of its own. */
    private Cli.Ran clientOf(final String app, final String prefix, final String registry, final String archive,
            final String... more) {
        final List<String> a = new ArrayList<>(List.of("ingest", "--client", "--archive", archive,
                "--bootstrap-servers", broker.bootstrapServers(), "--application-id", app,
                "-D", "topic.prefix=" + prefix, "--data-dir", dir.resolve("client").toString(),
                "--schema-registry-url", registry, "--http-port", "-1", "--quiet"));
        a.addAll(List.of(more));
        return Cli.run(a.toArray(String[]::new));
    }

    @Test
    void aClientSaysWhatWasTakenBackAndNotVerifiedAgainSinceTheWorkersTargetsMayHoldIt() throws Exception {
        // as IngestForgedMirrorTest's take-back that fails when asked for again, through a worker: ingest said it when
        // it published, and a client (whose workers may publish) said nothing (a trial)
        final String app = "client10";
        final Path honest = Fixtures.testnetSmall();
        final Path forged = dir.resolve("forged");
        final byte[] elsewhere = new byte[32];
        java.util.Arrays.fill(elsewhere, (byte) 0x11);
        io.historystreams.testing.ForgedArchive.ledgersAndTransactionsOf(honest, forged, 0x1ff)
                .linkTo(192, io.historystreams.verify.Hash.of(elsewhere)).write().copyTheRestFrom(honest);
        final Path partial = dir.resolve("partial");
        io.historystreams.testing.ForgedArchive.ledgersAndTransactionsOf(honest, partial, 0x1ff).write()
                .copyTheRestFrom(honest);
        for (long cp = 0x17f; cp <= 0x1ff; cp += 64) {
            java.nio.file.Files.delete(partial.resolve(io.historystreams.archive.ArchivePaths.checkpointFile(
                    io.historystreams.archive.FileType.LEDGER, cp)));
        }
        try (HistoryStreamsService w = worker(app, 1, Map.of(ServiceConfig.CHECKPOINT_RETRY_BACKOFF_MS, "100"))) {
            final Cli.Ran recent = client(app, forged.toString(), "--archive", honest.toString(), "--from", "320",
                    "--to", "511", "--timeout", "120");
            assertEquals(0, recent.code(), recent.out());
            final Cli.Ran whole = client(app, forged.toString(), "--archive", partial.toString(), "--from", "1",
                    "--to", "511", "--timeout", "120");
            assertEquals(1, whole.code(), whole.out());
            assertTrue(whole.out().contains("warning: 3 checkpoint(s) were taken back during this run after they were "
                    + "verified, and are not verified again: 0x17f..0x1ff. The target(s) the workers publish to may "
                    + "hold"), whole.out());
        }
    }

    @Test
    void theWorkersVerifyWhatTheClientRequestsAndTheClientReportsIt() throws Exception {
        final String app = "client1";
        final Path report = dir.resolve("report.json");
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.testnetSmall());
                HistoryStreamsService w = worker(app)) {
            final Cli.Ran r = client(app, server.url(), "--from", "1", "--to", "1279", "--report", report.toString(),
                    "--timeout", "120");
            assertEquals(0, r.code(), r.out());
            assertTrue(r.out().contains("20 checkpoints: 20 verified, 0 failed, 0 given up; 1279 ledgers verified; "
                    + "fetched by the workers"), r.out());
            assertFalse(r.out().contains("warning"), r.out());
            // the worker did the work: its fetch counters moved, and nothing was fetched by the client's process
            assertEquals(20, w.metrics().verifiedCount());
            assertTrue(w.metrics().bytesFetched() > 0);
        }
        final JsonNode s = new ObjectMapper().readTree(report.toFile()).get("summary");
        assertEquals(20, s.get("verified").asInt());
        assertTrue(s.get("allVerified").asBoolean());
    }

    @Test
    void aKilledClientLeavesNoNativeLibraryInTheTempDir() throws Exception {
        // the client runs no pipeline and has no data dir: lz4-java extracted its library to a temp file when the
        // first verdicts were read, deleted only at a normal exit (the known defect of earlier stops)
        final String app = "client5";
        final String registry = dir.resolve("registry").toUri().toString();
        final Path jtmp = java.nio.file.Files.createDirectories(dir.resolve("jtmp"));
        final Path out = dir.resolve("client.txt");
        // no checkpoint from the 11th on is verified: the range cannot end before the kill
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.testnetSmall());
                HistoryStreamsService w = worker(app, 1, Map.of(ServiceConfig.SCHEMA_REGISTRY_URL, registry))) {
            server.holdCheckpoint(0x2bf);
            final List<String> cmd = new java.util.ArrayList<>(io.historystreams.testing.JavaMain.java());
            cmd.addAll(List.of("-Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.historystreams", "-Djava.io.tmpdir=" + jtmp,
                    "-cp", System.getProperty("java.class.path"), io.historystreams.cli.Main.class.getName(),
                    "ingest", "--client", "--archive", server.url(), "--from", "1", "--to", "10047",
                    "--bootstrap-servers", broker.bootstrapServers(), "--application-id", app, "-D",
                    "topic.prefix=" + app + ".", "--schema-registry-url", registry, "--http-port", "-1", "--quiet"));
            final Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(out.toFile()).start();
            try {
                // killed once it has read verdicts (the worker's, compressed with lz4)
                final long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
                while (w.metrics().verifiedCount() < 5 && p.isAlive() && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                Thread.sleep(1500);
                assertTrue(p.isAlive(), "finished before it could be killed: " + java.nio.file.Files.readString(out));
            } finally {
                p.destroyForcibly().waitFor();
            }
        }
        final List<String> left;
        try (var files = java.nio.file.Files.walk(jtmp)) {
            left = files.filter(java.nio.file.Files::isRegularFile).map(f -> jtmp.relativize(f).toString()).toList();
        }
        assertEquals(1, left.size(), left::toString);
        assertTrue(left.get(0).matches("history-streams-\\d+/native/lz4-[0-9a-f]{8}-\\d+/liblz4-java\\.so"),
                left::toString);
    }

    @Test
    void anIdleWorkerCommitsNothing() throws Exception {
        // its punctuators were always scheduled, and Kafka Streams commits a task after every punctuation: an idle
        // tail or run committed about 12 transactions a second, 45 MB an hour into Kafka's internal topics (a trial)
        final String app = "client8";
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.pubnetGenesis());
                HistoryStreamsService w = worker(app)) {
            final Cli.Ran r = client(app, server.url(), "--to", "127", "--timeout", "60");
            assertEquals(0, r.code(), r.out());
            Thread.sleep(1_500); // the last verdicts' commits
            final double before = commits(w);
            Thread.sleep(3_000);
            final double after = commits(w);
            assertTrue(before > 0, "the work was committed: " + before);
            assertEquals(before, after, "commits while idle");
        }
    }

    @Test
    void aWorkerWaitingToRetryCommitsNothingUntilTheRetryIsDue() throws Exception {
        // the retry punctuator ran every 500 ms through the whole wait (minutes, for a tailed archive with a hole):
        // a trial's tail committed twice a second for as long as a checkpoint stayed failed
        final String app = "client9";
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.pubnetGenesis());
                HistoryStreamsService w = worker(app, 1, Map.of(ServiceConfig.CHECKPOINT_MAX_ATTEMPTS, "3",
                        ServiceConfig.CHECKPOINT_RETRY_BACKOFF_MS, "60000"))) {
            server.on(io.historystreams.archive.ArchivePaths.checkpointFile(io.historystreams.archive.FileType.LEDGER,
                    0x7f)).status(404).forever();
            // the first attempt fails; the next is due 30-60 s later
            final Cli.Ran r = client(app, server.url(), "--to", "127", "--timeout", "6");
            assertEquals(1, r.code(), r.out());
            assertTrue(r.out().contains("checkpoint 127 (0x7f) GIVEN UP: no verdict by --timeout; its last attempt "
                    + "failed: MISSING_FILE"), r.out());
            Thread.sleep(1_000);
            final double before = commits(w);
            Thread.sleep(3_000);
            assertEquals(before, commits(w), "commits while the retry waits");
        }
    }

    /** The stream threads' commits so far, from the service's metrics. */
    private static double commits(final HistoryStreamsService w) {
        return w.metrics().scrape().lines().filter(l -> l.startsWith("kafka_stream_thread_commit_total"))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    @Test
    void withoutAWorkerTheClientWarnsAndGivesUpAtItsTimeout() throws Exception {
        final String app = "client2";
        worker(app).close(); // the topics exist, nobody processes them
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.testnetSmall())) {
            final long t0 = System.nanoTime();
            final String withCredentials = server.url().replace("http://", "http://reader:s3cret@");
            final Cli.Ran r = client(app, withCredentials, "--from", "1", "--to", "127", "--timeout", "2");
            assertEquals(1, r.code(), r.out());
            assertTrue(r.out().contains("warning: the credentials of " + server.url() + " stay in this process"),
                    r.out());
            assertFalse(r.out().contains("s3cret"), r.out());
            assertTrue(r.out().contains("warning: no worker is in group client2 on " + broker.bootstrapServers()),
                    r.out());
            assertTrue(r.out().contains("2 checkpoints: 0 verified, 0 failed, 2 given up"), r.out());
            assertTrue(System.nanoTime() - t0 < Duration.ofSeconds(60).toNanos(), "gave up at its timeout");
        }
    }

    @Test
    void theClientSaysWhenTheLastWorkerLeavesAndWhenOneIsBack() throws Exception {
        // a trial's client only repeated its progress, with a shrinking ETA, while every worker was dead
        final String app = "client4";
        // no checkpoint from the 33rd on is verified until the second worker is up: the worker leaves mid-range
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.testnetSmall())) {
            server.holdCheckpoint(0x83f);
            final HistoryStreamsService first = worker(app);
            final java.util.concurrent.CompletableFuture<Cli.Ran> ran = java.util.concurrent.CompletableFuture
                    .supplyAsync(() -> client(app, server.url(), "--from", "1", "--to", "10047", "--timeout", "240"));
            Thread.sleep(3_000);
            first.close();
            Thread.sleep((io.historystreams.cli.IngestCommand.WORKER_WATCH_SECONDS + 5) * 1_000L);
            // two stream threads, one worker (it was said to be "2 worker(s)")
            try (HistoryStreamsService second = worker(app, 2)) {
                server.release();
                final Cli.Ran r = ran.get(240, java.util.concurrent.TimeUnit.SECONDS);
                assertEquals(0, r.code(), r.out());
                assertTrue(r.out().contains("warning: no worker is in group client4 now: the checkpoints without a "
                        + "verdict wait until a `run` worker starts (or rejoins)"), r.out());
                assertTrue(r.out().contains("note: 1 worker(s) in group client4 again"), r.out());
                assertTrue(r.out().indexOf("no worker is in group client4 now") < r.out().indexOf("again"), r.out());
                assertTrue(r.out().contains("157 checkpoints: 157 verified, 0 failed, 0 given up"), r.out());
            }
        }
    }

    @Test
    void aClientOrWorkerWithAnotherPrefixOrRegistryThanTheApplicationsIsRefused() throws Exception {
        final String app = "client6";
        worker("client7").close(); // another application's topics
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.pubnetGenesis());
                HistoryStreamsService w = worker(app)) {
            // the application has processed a range: its group's offsets name its requests, its records its registry
            final Cli.Ran ok = client(app, server.url(), "--to", "127", "--timeout", "60");
            assertEquals(0, ok.code(), ok.out());
            // a URL without a trailing slash or credentials: no credentials warning (every such URL had one)
            assertFalse(ok.out().contains("credentials"), ok.out());
            // the application's id with another prefix: the client watched a group that did not serve its requests
            Cli.Ran r = clientOf(app, "client7.", "mock://" + app, server.url(), "--to", "127", "--timeout", "20");
            assertEquals(2, r.code(), r.out());
            assertTrue(r.out().contains("error: the application client6 (--application-id) has processed the requests "
                    + "of client6.checkpoint-requests, not client7.checkpoint-requests"), r.out());
            // another registry than the one that wrote the topics: refused at start, saying which registry to use
            r = clientOf(app, app + ".", "mock://" + app + "-other", server.url(), "--to", "127", "--timeout", "20");
            assertEquals(2, r.code(), r.out());
            assertTrue(r.out().contains("error: the schema registry mock://" + app + "-other does not read what this "
                    + "application's topics hold (client6."), r.out());
            assertTrue(r.out().contains("every process of a pipeline must use the same registry"), r.out());
            // a worker likewise, before it takes a task: it wrote its state with its own numbers, which the others
            // could not read after it died
            final Map<String, String> c = new HashMap<>(Map.of(ServiceConfig.BOOTSTRAP_SERVERS,
                    broker.bootstrapServers(), ServiceConfig.APPLICATION_ID, app, ServiceConfig.TOPIC_PREFIX, app + ".",
                    ServiceConfig.HTTP_PORT, "-1", ServiceConfig.SCHEMA_REGISTRY_URL, "mock://" + app + "-other",
                    ServiceConfig.DATA_DIR, dir.resolve("worker2").toString()));
            final java.io.IOException refused = org.junit.jupiter.api.Assertions.assertThrows(
                    java.io.IOException.class, () -> HistoryStreamsService.start(ServiceConfig.of(c)).close());
            assertTrue(refused.getMessage().startsWith("the schema registry mock://" + app + "-other does not read "
                    + "what this application's topics hold"), refused.getMessage());
        }
    }

    @Test
    void refusesWhatCannotReachAWorkerBeforeRequestingAnything() throws Exception {
        final String archive = Fixtures.testnetSmall().toString();
        // nothing of this application on the cluster
        Cli.Ran r = client("client3", archive, "--to", "127");
        assertEquals(2, r.code(), r.out());
        assertTrue(r.out().contains("error: no worker of this application has started on "
                + broker.bootstrapServers() + " (topic(s) client3.checkpoint-requests"), r.out());
        // publishing belongs to the workers
        r = client("client3", archive, "--to", "127", "--publish-to", dir.resolve("mirror").toString());
        assertEquals(2, r.code(), r.out());
        assertTrue(r.out().contains("error: --publish-to publishes from the pipeline of this process; with "
                + "--client, give it to the workers (run --publish-to)"), r.out());
        // no cluster: the embedded broker of the client would have no worker
        r = Cli.run("ingest", "--client", "--archive", archive, "--to", "127", "--data-dir",
                dir.resolve("embedded").toString(), "--http-port", "-1", "--quiet");
        assertEquals(2, r.code(), r.out());
        assertTrue(r.out().contains("error: --client needs the workers' Kafka cluster"), r.out());
        // a directory registry that no worker uses (ids of its own would not be found by the workers)
        r = Cli.run("ingest", "--client", "--archive", archive, "--to", "127", "--bootstrap-servers",
                broker.bootstrapServers(), "--data-dir", dir.resolve("fresh").toString(), "--http-port", "-1",
                "--quiet");
        assertEquals(2, r.code(), r.out());
        assertTrue(r.out().contains("error: the schema registry file://" + dir.resolve("fresh")
                .resolve("schema-registry").toAbsolutePath()), r.out());
    }
}
