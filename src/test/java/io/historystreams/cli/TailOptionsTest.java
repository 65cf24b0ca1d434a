package io.historystreams.cli;

import io.historystreams.testing.Cli;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** tail's own options are checked before anything starts. */
class TailOptionsTest {
    @Test
    void aPollIntervalBelowATenthOfASecondIsRefused() {
        // 0 and -1 were taken, and polled the archive about 20 times a second
        for (final String interval : new String[] {"0", "-1", "0.05", "NaN"}) {
            final Cli.Ran r = Cli.run("tail", "--archive", "/nonexistent", "--interval", interval);
            assertEquals(2, r.code(), r.out());
            assertTrue(r.out().contains("--interval must be 0.1 s or more"), r.out());
        }
    }
}
