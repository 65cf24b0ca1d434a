package io.historystreams.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import io.historystreams.testing.Fixtures;
import io.historystreams.testing.Logs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QuietLogsTest {
    @TempDir
    Path tmp;

    @Test
    void quietKeepsTheToolsInfoLinesOffStderrAndPutsTheLevelBack() throws Exception {
        // a trial: ingest --quiet in a cron job still wrote a dozen INFO lines (service start, topics, stream states)
        final ch.qos.logback.classic.Logger tool = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory
                .getLogger(QuietLogs.LOGGERS);
        final Level before = tool.getLevel();
        final List<ILoggingEvent> quiet = Logs.during(QuietLogs.LOGGERS, () -> assertEquals(ExitCode.OK,
                ingest("quiet", "--quiet")));
        assertEquals(List.of(), quiet.stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.INFO)
                && !e.getLevel().isGreaterOrEqual(Level.WARN)).map(ILoggingEvent::getFormattedMessage).toList());
        assertEquals(before, tool.getLevel(), "put back after the command");
        final List<ILoggingEvent> said = Logs.during(QuietLogs.LOGGERS, () -> assertEquals(ExitCode.OK,
                ingest("said")));
        assertTrue(said.stream().anyMatch(e -> e.getLevel() == Level.INFO), "INFO lines without --quiet");
    }

    private int ingest(final String dir, final String... more) {
        final java.util.List<String> args = new java.util.ArrayList<>(List.of("ingest", "--archive",
                Fixtures.pubnetGenesis().toString(), "--data-dir", tmp.resolve(dir).toString(), "--http-port", "-1"));
        args.addAll(List.of(more));
        try (PrintWriter w = new PrintWriter(new StringWriter(), true)) {
            return Main.run(w, w, args.toArray(String[]::new));
        }
    }
}
