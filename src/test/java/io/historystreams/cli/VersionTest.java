package io.historystreams.cli;

import io.historystreams.testing.Cli;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every command answers --version (the subcommands printed nothing). */
class VersionTest {
    @Test
    void everyCommandPrintsTheVersion() {
        for (final String command : new String[] {"verify", "scan", "status", "ingest", "replay", "tail", "run"}) {
            final Cli.Ran r = Cli.run(command, "--version");
            assertEquals(0, r.code(), r.out());
            assertTrue(r.out().startsWith("history-streams "), command + ": '" + r.out() + "'");
        }
    }

    @Test
    void noCommandIsCouldNotRunNotSuccess() {
        // a script that lost its arguments read exit 0
        final Cli.Ran r = Cli.run();
        assertEquals(2, r.code(), r.out());
    }
}
