package io.historystreams.cli;

import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every command answers --version (the subcommands printed nothing). */
class VersionTest {
    @Test
    void everyCommandPrintsTheVersion() {
        for (final String command : new String[] {"verify", "ingest", "replay", "tail", "run"}) {
            final StringWriter s = new StringWriter();
            try (PrintWriter w = new PrintWriter(s, true)) {
                assertEquals(0, Main.run(w, w, command, "--version"));
            }
            assertTrue(s.toString().startsWith("history-streams "), command + ": '" + s + "'");
        }
    }
}
