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
}
