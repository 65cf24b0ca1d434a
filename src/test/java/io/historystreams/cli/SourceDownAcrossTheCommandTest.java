package io.historystreams.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import io.historystreams.archive.HistoryArchive;
import io.historystreams.testing.Cli;
import io.historystreams.testing.Fixtures;
import io.historystreams.testing.Logs;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A source found down while a command reads the root state stays down for the pipeline's fetches. */
@Timeout(180)
class SourceDownAcrossTheCommandTest {
    @TempDir
    Path tmp;

    @Test
    void aSourceDownWhenTheRootStateIsReadIsDownForThePipelineToo() throws Exception {
        // a trial: ingest's reader of the root state, closed before the pipeline started, took its failures with it,
        // and with a mirror that hung the pipeline's first fetches each waited a read timeout again
        final String dead;
        try (ServerSocket bound = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            dead = "http://127.0.0.1:" + bound.getLocalPort() + "/";
        }
        final List<ILoggingEvent> logged = Logs.during(HistoryArchive.class, () -> {
            final Cli.Ran ran = Cli.run("ingest", "--archive", dead, "--archive",
                    Fixtures.testnetSmall().toString(), "--to", "255", "--data-dir", tmp.resolve("data").toString(),
                    "--http-port", "-1", "--quiet", "-D", "fetch.max.attempts=2", "-D", "fetch.retry.base.ms=1");
            assertEquals(ExitCode.OK, ran.code(), ran.out());
        });
        final List<String> down = logged.stream().filter(e -> e.getLevel() == Level.WARN)
                .map(ILoggingEvent::getFormattedMessage).filter(m -> m.contains(" is taken as down ")).toList();
        assertEquals(1, down.size(), down::toString);
    }

    @Test
    void aSourceDownWhenTailStartsIsDownForItsPipelineAndPollsToo() throws Exception {
        // the same for tail's probe of the sources (it reads each root state once): a process of its own, since tail
        // runs until it is signalled
        final String dead;
        try (ServerSocket bound = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            dead = "http://127.0.0.1:" + bound.getLocalPort() + "/";
        }
        final Path log = tmp.resolve("tail.log");
        final Process p = new ProcessBuilder(io.historystreams.testing.JavaMain.command("256m", "tail", "--archive",
                dead, "--archive", Fixtures.testnetSmall().toString(), "--interval", "1", "--data-dir",
                tmp.resolve("tail").toString(), "--http-port", "-1", "-D", "fetch.max.attempts=1", "-D",
                "fetch.retry.base.ms=1")).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            final long deadline = System.nanoTime() + java.time.Duration.ofSeconds(120).toNanos();
            // the archive's last checkpoint verified, and three polls after it (each reads the root state)
            while (p.isAlive() && System.nanoTime() < deadline && !java.nio.file.Files.readString(log)
                    .contains("checkpoint 10047 (0x273f) verified")) {
                Thread.sleep(100);
            }
            Thread.sleep(3_000);
            final String said = java.nio.file.Files.readString(log);
            org.junit.jupiter.api.Assertions.assertTrue(p.isAlive() && said.contains("checkpoint 10047 (0x273f) "
                    + "verified"), said);
            // one attempt per file: the probe's one failure takes the mirror as down; had the probe forgotten it,
            // the pipeline and the polls would count afresh, say it again, and a poll would fail on the mirror
            assertEquals(1, said.lines().filter(l -> l.contains(" is taken as down ")).count(), said);
            org.junit.jupiter.api.Assertions.assertFalse(said.contains("cannot read the archive's root state"), said);
        } finally {
            p.destroy();
            p.waitFor();
        }
    }

    @Test
    void aFirstMirrorThatHangsHoldsTailsFirstPollForSecondsNotAReadTimeout() throws Exception {
        // its first poll of the root state waited out the read timeout on the mirror (a trial: 30 s before the first
        // checkpoint was asked for); here a read timeout of 90 s
        try (io.historystreams.testing.FaultyArchiveServer hangs = io.historystreams.testing.FaultyArchiveServer
                .start(Fixtures.testnetSmall())) {
            hangs.onPrefix("").hang().forever();
            final Path log = tmp.resolve("tail.log");
            final long start = System.nanoTime();
            final Process p = new ProcessBuilder(io.historystreams.testing.JavaMain.command("256m", "tail", "--archive",
                    hangs.url(), "--archive", Fixtures.testnetSmall().toString(), "--from", "9900", "--interval", "1",
                    "--data-dir", tmp.resolve("tail").toString(), "--http-port", "-1", "--read-timeout", "90"))
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            try {
                final long deadline = start + java.time.Duration.ofSeconds(80).toNanos();
                while (p.isAlive() && System.nanoTime() < deadline && !java.nio.file.Files.readString(log)
                        .contains("checkpoint 10047 (0x273f) verified")) {
                    Thread.sleep(100);
                }
                final String said = java.nio.file.Files.readString(log);
                org.junit.jupiter.api.Assertions.assertTrue(p.isAlive() && said.contains("checkpoint 10047 (0x273f) "
                        + "verified"), said);
                assertEquals(1, said.lines().filter(l -> l.contains(" is taken as down ")).count(), said);
            } finally {
                p.destroy();
                p.waitFor();
            }
        }
    }
}
