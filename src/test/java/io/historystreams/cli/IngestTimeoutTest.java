package io.historystreams.cli;

import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.FileType;
import io.historystreams.testing.FaultyArchiveServer;
import io.historystreams.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What ingest says of the checkpoints it gives up on at its --timeout. */
class IngestTimeoutTest {
    @TempDir
    Path dir;

    @Test
    void aCheckpointGivenUpSaysWhatItsAttemptsWereFailingOn() throws Exception {
        // the report said only {"status": "GIVEN_UP"} and stdout nothing: which file was failing, and why, was lost
        final String ledger = ArchivePaths.checkpointFile(FileType.LEDGER, 0x7f);
        final Path report = dir.resolve("report.json");
        final StringWriter said = new StringWriter();
        try (FaultyArchiveServer s = FaultyArchiveServer.start(Fixtures.pubnetGenesis())) {
            s.on(ledger).status(404).forever();
            try (PrintWriter w = new PrintWriter(said, true)) {
                // past the archive's current ledger (127): a warning, in the report too
                assertEquals(ExitCode.VERIFICATION_FAILED, Main.run(w, w, "ingest", "--archive", s.url(), "--to",
                        "191", "--data-dir", dir.resolve("data").toString(), "--http-port", "-1", "--quiet",
                        "--timeout", "8", "-D", "checkpoint.max.attempts=1000", "-D",
                        "checkpoint.retry.backoff.ms=100", "--report", report.toString()), said::toString);
            }
        }
        assertTrue(said.toString().contains("checkpoint 127 (0x7f) GIVEN UP: no verdict by --timeout; its last "
                + "attempt failed: MISSING_FILE " + ledger), said.toString());
        final String json = Files.readString(report);
        assertTrue(json.matches("(?s).*\"status\" : \"GIVEN_UP\",\\s*\"lastAttemptFailure\" : \\{\\s*\"reason\" : "
                + "\"MISSING_FILE\",\\s*\"file\" : \"" + ledger + "\".*"), json);
        assertTrue(json.matches("(?s).*\"warnings\" : \\[ \"the range ends at ledger 191 \\(checkpoint 0xbf\\), past "
                + "the archive's current ledger 127.*"), json);
    }
}
