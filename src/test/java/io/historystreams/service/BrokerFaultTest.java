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

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The broker goes away in the middle of an {@code ingest} with publishing, and comes back (same port, same data):
 * the run rides through and ends with every checkpoint verified once and every file published once.
 */
class BrokerFaultTest extends WithEmbeddedBroker {
    @TempDir
    Path dir;


    @Test
    @Timeout(300)
    void ingestRidesThroughABrokerRestart() throws Exception {
        final String app = "restart";
        final Path target = dir.resolve("target");
        // no checkpoint from the 33rd on is verified until the broker is back, so that it stops mid-range whatever the
        // machine's speed
        try (FaultyArchiveServer archive = FaultyArchiveServer.start(Fixtures.testnetSmall())) {
            archive.holdCheckpoint(0x83f);
            ingestAcrossABrokerRestart(app, target, archive);
        }
    }

    private void ingestAcrossABrokerRestart(final String app, final Path target, final FaultyArchiveServer server)
            throws Exception {
        final String archive = server.url();
        final String[] args = {"ingest", "--archive", archive, "--from", "1", "--to",
            "10047", "--bootstrap-servers", broker.bootstrapServers(), "--application-id", app, "-D",
            "topic.prefix=" + app + ".", "--data-dir", dir.resolve(app).toString(), "--http-port", "-1",
            "--schema-registry-url", "mock://" + app, "--quiet", "--publish-to", target.toString(),
            "--fetch-concurrency", "2", "--timeout", "240"};
        final StringWriter output = new StringWriter();
        final CompletableFuture<Integer> run = CompletableFuture.supplyAsync(() -> {
            try (PrintWriter pw = new PrintWriter(output, true)) {
                return Main.run(pw, pw, args);
            }
        });
        final Topics t = new Topics(app + ".", io.historystreams.events.serde.SchemaRegistry.forUrl("mock://" + app));
        int seen = 0;
        final long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (System.nanoTime() < deadline && !run.isDone() && seen < 20) {
            Thread.sleep(100);
            try {
                seen = TopicReader.readAll(broker.bootstrapServers(), t.checkpointsVerified.name(),
                        new LongDeserializer(), new ByteArrayDeserializer()).size();
            } catch (final RuntimeException e) {
                seen = 0;
            }
        }
        final int code;
        try {
            assertFalse(run.isDone(), "the run ended before the broker could be restarted: " + output);
            assertTrue(seen >= 20 && seen <= 32, "restarted mid-range after " + seen + " checkpoints");
            broker.stop();
            Thread.sleep(3000); // the clients see the broker gone for a while
            broker.restart();
            server.release();
            code = run.get(240, TimeUnit.SECONDS);
        } finally {
            if (!run.isDone()) { // a failed assertion: the run still ends (bounded by --timeout) before the next test
                try {
                    run.get(240, TimeUnit.SECONDS);
                } catch (final java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                    // the assertion's failure is the one reported
                }
            }
        }
        assertEquals(0, code, "ingest finished after the broker restart: " + output);
        final ExactlyOnce.Counts c = ExactlyOnce.check(broker.bootstrapServers(), app, "mock://" + app, 1, 10047,
                target);
        FaultCatalogueTest.TABLE.add("broker stopped 3 s and restarted after " + seen + " checkpoints | 1 | all "
                + c.checkpoints() + " VERIFIED once, " + c.ledgers() + " ledgers once, " + c.filesWritten()
                + " files published once | 0 | 0");
        System.out.println("FAULT-TABLE " + FaultCatalogueTest.TABLE.get(FaultCatalogueTest.TABLE.size() - 1));
    }
}
