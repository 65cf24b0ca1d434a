package io.historystreams.cli;

import io.historystreams.archive.ArchivePaths;
import io.historystreams.testing.Cli;
import io.historystreams.testing.FaultyArchiveServer;
import io.historystreams.testing.Fixtures;
import io.historystreams.testing.ForgedArchive;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code status}: each source's root state, whether its checkpoint's state file is there, and whether they agree. */
class StatusCommandTest {
    @TempDir
    Path tmp;

    @Test
    void eachSourceSaysWhatItsRootStateNamesAndWhetherItsStateFileIsThere() throws Exception {
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.testnetSmall())) {
            final Cli.Ran r = Cli.run("status", "--archive", Fixtures.testnetSmall().toString(), "--archive",
                    server.url());
            assertEquals(ExitCode.OK, r.code(), r.out());
            assertTrue(r.out().contains(server.url() + ": current ledger 10047 (checkpoint 0x273f), network \"Test SDF "
                    + "Network ; September 2015\", server \"stellar-core 22.4.1"), r.out());
            assertTrue(r.out().contains("state file version 1, 14 buckets named; its state file is there"), r.out());
            assertEquals(0, server.bodiesRequested().getOrDefault("/" + ArchivePaths.has(0x273f), 0),
                    "the state file is looked up, not read");

            // the root state gone from the server: said, exit 1
            server.on("/" + ArchivePaths.WELL_KNOWN).status(404).forever();
            final Cli.Ran gone = Cli.run("status", "--archive", server.url());
            assertEquals(ExitCode.VERIFICATION_FAILED, gone.code(), gone.out());
            assertTrue(gone.out().contains(server.url() + ": cannot read its root state: MISSING_FILE"), gone.out());
        }
    }

    @Test
    void aRootAheadOfTheFilesAndSourcesOfTwoArchivesAreSaid() throws Exception {
        final Path copy = tmp.resolve("copy");
        ForgedArchive.copyOfPubnetGenesis(copy);
        Files.delete(copy.resolve(ArchivePaths.has(0x7f)));
        final Cli.Ran ahead = Cli.run("status", "--archive", copy.toString());
        assertEquals(ExitCode.VERIFICATION_FAILED, ahead.code(), ahead.out());
        assertTrue(ahead.out().contains("current ledger 127 (checkpoint 0x7f), no network named (a version-1 state "
                + "file)"), ahead.out());
        assertTrue(ahead.out().contains("its state file " + ArchivePaths.has(0x7f) + " is MISSING (the root is ahead "
                + "of the files)"), ahead.out());

        final Cli.Ran two = Cli.run("status", "--archive", Fixtures.testnetSmall().toString(), "--archive",
                Fixtures.pubnetGenesis().toString());
        assertEquals(ExitCode.VERIFICATION_FAILED, two.code(), two.out());
        assertTrue(two.out().contains("warning: the sources are not mirrors of one archive"), two.out());
    }
}
