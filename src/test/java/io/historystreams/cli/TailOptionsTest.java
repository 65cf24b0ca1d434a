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
        for (final String interval : new String[] {"0", "-1", "0.05", "NaN", "Infinity", "86401"}) {
            final Cli.Ran r = Cli.run("tail", "--archive", "/nonexistent", "--interval", interval);
            assertEquals(2, r.code(), r.out());
            assertTrue(r.out().contains("--interval must be 0.1 s or more"), r.out());
        }
    }

    @Test
    void aNegativeStartLedgerIsRefused() {
        // it was taken as "not given": the tail started at the archive's current checkpoint without a word
        final Cli.Ran r = Cli.run("tail", "--archive", "/nonexistent", "--from", "-5");
        assertEquals(2, r.code(), r.out());
        assertTrue(r.out().contains("--from must be a ledger number, 0 to 4294967295, not -5"), r.out());
    }

    @Test
    void anArchiveOfAnotherNetworkStopsTheTail(@org.junit.jupiter.api.io.TempDir final java.nio.file.Path dir) {
        // it said "cannot read the archive's root state (will retry): WRONG_NETWORK" at every poll, for ever
        final Cli.Ran r = Cli.run("tail", "--archive", io.historystreams.testing.Fixtures.testnetSmall().toString(),
                "--network-passphrase", "Public Global Stellar Network ; September 2015", "--data-dir",
                dir.resolve("data").toString(), "--http-port", "-1", "--interval", "1");
        assertEquals(2, r.code(), r.out());
        assertTrue(r.out().contains("error: the archive's root state names another network than the one tailed"),
                r.out());
    }

    @Test
    void sourcesOfTwoArchivesAreRefusedAsIngestRefusesThem() {
        // ingest and verify refused them; tail verified and published whichever source answered first
        final Cli.Ran r = Cli.run("tail", "--archive", io.historystreams.testing.Fixtures.testnetSmall().toString(),
                "--archive", io.historystreams.testing.Fixtures.testnetP24Hot().toString(), "--http-port", "-1");
        assertEquals(2, r.code(), r.out());
        assertTrue(r.out().contains("the sources are not mirrors of one archive"), r.out());
    }

    @Test
    void aRegistryOtherThanTheDataDirsIsRefusedBeforeAnyWork(@org.junit.jupiter.api.io.TempDir final java.nio.file.Path dir)
            throws Exception {
        // ingest and replay refused it (reading the verdicts); tail started, and stopped only when its first
        // checkpoint met a stored entry that registry could not read, having registered its schemas under other ids
        final String data = dir.resolve("data").toString();
        final Cli.Ran ingest = Cli.run("ingest", "--archive", io.historystreams.testing.Fixtures.pubnetGenesis()
                .toString(), "--data-dir", data, "--http-port", "-1", "--quiet");
        assertEquals(0, ingest.code(), ingest.out());
        final String other = dir.resolve("other-registry").toUri().toString();
        final Cli.Ran tail = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
                java.time.Duration.ofSeconds(90), () -> Cli.run("tail", "--archive",
                        io.historystreams.testing.Fixtures.pubnetGenesis().toString(), "--data-dir", data,
                        "--schema-registry-url", other, "--http-port", "-1", "--interval", "1"));
        assertEquals(2, tail.code(), tail.out());
        assertTrue(tail.out().contains("error: the schema registry " + other + " does not read what this "
                + "application's topics hold ("), tail.out());
        // and the data dir's own registry still serves: nothing was verified twice or lost
        final Cli.Ran again = Cli.run("ingest", "--archive", io.historystreams.testing.Fixtures.pubnetGenesis()
                .toString(), "--data-dir", data, "--http-port", "-1", "--quiet");
        assertEquals(0, again.code(), again.out());
    }
}
