package io.historystreams.service;

import io.historystreams.cli.Main;
import io.historystreams.testing.FaultyArchiveServer;
import io.historystreams.testing.Fixtures;
import io.historystreams.topology.Topics;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntPredicate;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The service process is killed (SIGKILL, no clean shutdown) early, in the middle of a range, and while it is
 * writing a checkpoint to the target; after a restart the range ends with every checkpoint verified once, every
 * file published once, and a target that verifies.
 */
class ProcessFaultTest extends WithEmbeddedBroker {
    @TempDir
    Path dir;


    private static int countFiles(final Path target) {
        if (!Files.isDirectory(target)) {
            return 0;
        }
        try (Stream<Path> s = Files.walk(target)) {
            return (int) s.filter(Files::isRegularFile).count();
        } catch (final Exception e) {
            return -1;
        }
    }

    @Test
    @Timeout(420)
    void killedEarlyMidRangeAndWhilePublishingThenFinishesExactlyOnce() throws Exception {
        // each run is held at a checkpoint of its own (FaultyArchiveServer.holdCheckpoint), so that the kills land
        // mid-range whatever the machine's speed
        try (FaultyArchiveServer archive = FaultyArchiveServer.start(Fixtures.testnetSmall())) {
            killThreeTimesThenFinish(archive);
        }
    }

    @Test
    @Timeout(180)
    void aSignalMidRangeStillWritesTheReportOfWhatWasDecided() throws Exception {
        // SIGTERM (a deploy, a restart) left no report and no summary: the record of what was verified was lost
        final String app = "signalled";
        final Path report = dir.resolve("report.json");
        try (FaultyArchiveServer archive = FaultyArchiveServer.start(Fixtures.testnetSmall())) {
            archive.holdCheckpoint(0x2bf); // the 11th: the run cannot end before the signal
            final List<String> cmd = javaMain("ingest", "--archive", archive.url(), "--to", "10047",
                    "--bootstrap-servers", broker.bootstrapServers(), "--application-id", app, "-D",
                    "topic.prefix=" + app + ".", "--data-dir", dir.resolve(app).toString(), "--http-port", "-1",
                    "--quiet", "--report", report.toString(), "-D", "shutdown.timeout.seconds=5");
            final String registry = dir.resolve(app).resolve("schema-registry").toAbsolutePath().toUri().toString();
            final Topics t = new Topics(app + ".", io.historystreams.events.serde.SchemaRegistry.forUrl(registry));
            final File out = dir.resolve("out.log").toFile();
            final Process p = new ProcessBuilder(cmd).redirectOutput(out).redirectError(dir.resolve("err.log").toFile())
                    .start();
            final long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
            int seen = 0;
            while (seen < 3 && p.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(200);
                try {
                    seen = TopicReader.readAll(broker.bootstrapServers(), t.checkpointsVerified.name(),
                            new LongDeserializer(), new ByteArrayDeserializer()).size();
                } catch (final RuntimeException e) {
                    seen = 0;
                }
            }
            assertTrue(p.isAlive(), () -> "still running when signalled: " + read(out));
            final long signalled = System.nanoTime();
            p.destroy(); // SIGTERM
            assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS));
            final long tookMs = (System.nanoTime() - signalled) / 1_000_000;
            assertEquals(143, p.exitValue(), () -> read(out) + read(dir.resolve("err.log").toFile()));
            // the held file's request waits for its answer: the stop waited 10 s for it (the fetch pool's
            // termination), past shutdown.timeout.seconds (5 here)
            assertTrue(tookMs < 9_000, () -> "stopped after " + tookMs + " ms: " + read(dir.resolve("err.log")
                    .toFile()));
        }
        final String said = read(dir.resolve("out.log").toFile());
        assertTrue(said.matches("(?s).*157 checkpoints: \\d+ verified, 0 failed, \\d+ pending \\(stopped\\).*"), said);
        final String json = Files.readString(report);
        assertTrue(json.contains("\"error\" : \"stopped by a signal before every checkpoint had a verdict"), json);
        assertTrue(json.contains("\"status\" : \"VERIFIED\"") && json.contains("\"status\" : \"PENDING\""), json);
        assertTrue(json.contains("\"allVerified\" : false"), json);
    }

    @Test
    @Timeout(120)
    void aSignalBeforeTheRangeIsRequestedIsSaid() throws Exception {
        // a trial: SIGTERM while ingest still read the root state (a mirror that hangs) ended with exit 143 and
        // nothing at all on stderr
        final Path report = dir.resolve("early.json");
        final Path err = dir.resolve("early.err");
        try (java.net.ServerSocket hangs = new java.net.ServerSocket(0, 50,
                java.net.InetAddress.getLoopbackAddress())) {
            final List<java.net.Socket> held = new java.util.concurrent.CopyOnWriteArrayList<>();
            final Thread acceptor = new Thread(() -> {
                try {
                    while (true) {
                        held.add(hangs.accept()); // accepted, never answered
                    }
                } catch (final java.io.IOException e) {
                    // closed
                }
            });
            acceptor.setDaemon(true);
            acceptor.start();
            final Process p = new ProcessBuilder(javaMain("ingest", "--archive", "http://127.0.0.1:"
                    + hangs.getLocalPort() + "/", "--to", "1000", "--data-dir", dir.resolve("early").toString(),
                    "--http-port", "-1", "--quiet", "--report", report.toString())).redirectErrorStream(true)
                    .redirectOutput(err.toFile()).start();
            final long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (held.isEmpty() && p.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertTrue(p.isAlive() && !held.isEmpty(), () -> "reading the root state when signalled: "
                    + read(err.toFile()));
            p.destroy(); // SIGTERM
            assertTrue(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS));
            assertEquals(143, p.exitValue(), () -> read(err.toFile()));
            for (final java.net.Socket s : held) {
                s.close();
            }
        }
        final String said = read(err.toFile());
        assertTrue(said.contains("error: stopped by a signal before the range was requested: this run decided nothing "
                + "and writes no report"), said);
        assertTrue(!Files.exists(report), "no report of a run that requested nothing");
    }

    @Test
    @Timeout(240)
    void aSignalEndsAClientsWaitWithWhatWasDecidedSaidAndWritten() throws Exception {
        // ingest --client ended on SIGTERM with exit 143 and no summary, no report
        final String app = "client-signalled";
        final Path data = dir.resolve(app);
        final String[] cluster = {"--bootstrap-servers", broker.bootstrapServers(), "--application-id", app, "-D",
            "topic.prefix=" + app + ".", "--data-dir", data.toString(), "--http-port", "-1", "--quiet"};
        final String archive = Fixtures.testnetSmall().toString();
        // the topics, and two checkpoints verified, by a pipeline that then ends: no worker is left
        final List<String> first = new ArrayList<>(List.of("ingest", "--archive", archive, "--to", "127"));
        first.addAll(List.of(cluster));
        assertEquals(0, Main.run(first.toArray(String[]::new)));
        final Path report = dir.resolve("client.json");
        final Path err = dir.resolve("client.err");
        final Path out = dir.resolve("client.out");
        final List<String> client = new ArrayList<>(List.of("ingest", "--client", "--archive", archive, "--to",
            "1000", "--report", report.toString()));
        client.addAll(List.of(cluster));
        final Process p = new ProcessBuilder(javaMain(client.toArray(String[]::new)))
                .redirectError(err.toFile()).redirectOutput(out.toFile()).start();
        final long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (!read(err.toFile()).contains("no worker is in group") && p.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        Thread.sleep(1_000); // past the request, into the wait
        assertTrue(p.isAlive(), () -> "waiting for the workers when signalled: " + read(err.toFile())
                + read(out.toFile()));
        p.destroy(); // SIGTERM
        assertTrue(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS));
        assertEquals(143, p.exitValue(), () -> read(err.toFile()));
        final String said = read(out.toFile());
        assertTrue(said.matches("(?s).*16 checkpoints: \\d+ verified, 0 failed, \\d+ pending \\(stopped\\).*"),
                said + read(err.toFile()));
        assertTrue(read(err.toFile()).contains("error: stopped by a signal before every checkpoint had a verdict; the "
                + "range stays requested, for the workers"), read(err.toFile()));
        final String json = Files.readString(report);
        assertTrue(json.contains("\"error\" : \"stopped by a signal before every checkpoint had a verdict"), json);
        assertTrue(json.contains("\"status\" : \"PENDING\""), json);
        assertTrue(json.contains("\"allVerified\" : false"), json);
    }

    /** The command line of {@code Main} with {@code args} in a JVM of its own (this test's class path). */
    private static List<String> javaMain(final String... args) {
        return io.historystreams.testing.JavaMain.command("256m", args);
    }

    private static String read(final File f) {
        try {
            return Files.readString(f.toPath());
        } catch (final java.io.IOException e) {
            return "(" + e + ")";
        }
    }

    private void killThreeTimesThenFinish(final FaultyArchiveServer server) throws Exception {
        final String archive = server.url();
        final String app = "killed3";
        final Path target = dir.resolve("target");
        final String[] args = {"ingest", "--archive", archive, "--from", "1", "--to",
            "10047", "--bootstrap-servers", broker.bootstrapServers(), "--application-id", app, "-D",
            "topic.prefix=" + app + ".", "--data-dir", dir.resolve(app).toString(), "--http-port", "-1", "--quiet",
            // 4: up to two fetches wait on the files held below for as long as they are held
            "--fetch-concurrency", "4", "--publish-to", target.toString(),
            // a killed member leaves the group after 6 s instead of 45 s (passed to every Kafka client untouched)
            "-D", "kafka.session.timeout.ms=6000", "-D", "kafka.heartbeat.interval.ms=1500"};
        final List<String> cmd = javaMain(args);
        // the default registry of the command: a directory under its data dir
        final String registry = dir.resolve(app).resolve("schema-registry").toAbsolutePath().toUri().toString();
        final Topics t = new Topics(app + ".", io.historystreams.events.serde.SchemaRegistry.forUrl(registry));
        final List<String> kills = new ArrayList<>();
        // early: as soon as the first checkpoint is verified; middle: 60 more; publishing: the target is growing
        final String[] names = {"early (first checkpoint verified)", "middle (+60 verified)",
            "while publishing (target file count growing)"};
        // the checkpoint each run is held at: the 21st, the 105th, the 143rd
        final long[] heldAt = {0x53f, 0x1a3f, 0x23bf};
        int verifiedBefore = 0;
        // every stop held from the start: a run killed after its first checkpoint had fetched files far ahead, the
        // next one's held file among them, and the next run verified the whole range (CI, under load)
        server.holdCheckpoints(heldAt);
        for (int round = 0; round < 3; round++) {
            if (round > 0) {
                server.releaseCheckpoint(heldAt[round - 1]);
            }
            final File log = dir.resolve("run-" + round + ".log").toFile();
            final Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log).start();
            final long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
            final int base = verifiedBefore;
            final IntPredicate killAt = switch (round) {
                case 0 -> v -> v >= 1;
                // at most 100 of 157, and at most 104 are verified before the hold
                case 1 -> v -> v >= Math.min(base + 60, 100);
                default -> v -> false;
            };
            int files = countFiles(target);
            int seen = base;
            boolean killed = false;
            while (System.nanoTime() < deadline && p.isAlive()) {
                Thread.sleep(round == 2 ? 20 : 200);
                if (round == 2) {
                    final int now = countFiles(target);
                    if (now > files && files > 0) {
                        p.destroyForcibly().waitFor();
                        kills.add(names[round] + ": " + files + " -> " + now + " files");
                        killed = true;
                        break;
                    }
                    files = Math.max(files, now);
                    continue;
                }
                try {
                    seen = TopicReader.readAll(broker.bootstrapServers(), t.checkpointsVerified.name(),
                            new LongDeserializer(), new ByteArrayDeserializer()).size();
                } catch (final RuntimeException e) {
                    seen = base;
                }
                if (killAt.test(seen)) {
                    p.destroyForcibly().waitFor();
                    kills.add(names[round] + ": after " + seen + " verified");
                    killed = true;
                    break;
                }
            }
            assertTrue(killed, "round " + round + " was killed, not finished: " + Files.readString(log.toPath()));
            verifiedBefore = seen;
        }
        // the last run finishes the range
        server.release();
        assertEquals(0, Main.run(args.clone()));
        final ExactlyOnce.Counts c = ExactlyOnce.check(broker.bootstrapServers(), app, registry, 1, 10047,
                target);
        for (final String k : kills) {
            FaultCatalogueTest.TABLE.add("process killed (SIGKILL) " + k + " | 1 | restarted: all " + c.checkpoints()
                    + " VERIFIED once, " + c.ledgers() + " ledgers once, no file published twice, target verifies"
                    + " | 0 | 0");
            System.out.println("FAULT-TABLE " + FaultCatalogueTest.TABLE.get(FaultCatalogueTest.TABLE.size() - 1));
        }
    }
}
