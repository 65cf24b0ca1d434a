package io.historystreams.cli;

import io.historystreams.testing.Cli;
import io.historystreams.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A report that cannot be written is named with the reason (it said "error: <path>.partial"), before any work. */
class ReportPathTest {
    @TempDir
    Path tmp;

    @Test
    void verifyAndIngestNameTheReportAndWhyItCannotBeWritten() throws Exception {
        final Path file = Files.writeString(tmp.resolve("a-file"), "not a directory");
        final Path report = file.resolve("report.json");
        final String archive = Fixtures.pubnetGenesis().toString();

        final Cli.Ran verify = Cli.run("verify", "--archive", archive, "--quiet", "--report", report.toString());
        assertEquals(ExitCode.COULD_NOT_RUN, verify.code(), verify.out());
        assertTrue(verify.out().contains("error: cannot write the report " + report + ": " + file + ": "),
                verify.out());

        // ingest checks before it starts the broker and the pipeline: no data dir is made
        final Path data = tmp.resolve("data");
        final Cli.Ran ingest = Cli.run("ingest", "--archive", archive, "--data-dir", data.toString(), "--http-port",
                "-1", "--quiet", "--report", report.toString());
        assertEquals(ExitCode.COULD_NOT_RUN, ingest.code(), ingest.out());
        assertTrue(ingest.out().contains("error: cannot write the report " + report + ": " + file + ": "),
                ingest.out());
        assertFalse(Files.exists(data), "nothing was started");
    }

    @Test
    void aDirectoryThatCannotBeMadeIsSaidInWords() {
        // /proc takes no new directory: the reason was the exception's class ("/proc/...: NoSuchFileException")
        final Path report = Path.of("/proc/history-streams-no-such-dir/report.json");
        final Cli.Ran verify = Cli.run("verify", "--archive", Fixtures.pubnetGenesis().toString(), "--quiet",
                "--report", report.toString());
        assertEquals(ExitCode.COULD_NOT_RUN, verify.code(), verify.out());
        assertTrue(verify.out().contains("error: cannot write the report " + report + ": " + report.getParent()
                + ": no such file or directory\n"), verify.out());
    }

    @Test
    void aReportOnAFullDiskIsNamedAndTheVerdictStillPrinted() throws Exception {
        // verify said only "error: java.io.IOException: No space left on device", and no summary: the report's
        // temporary file (this process's own name) is made a link to /dev/full, which refuses every write so
        final Path report = tmp.resolve("report.json");
        Files.createSymbolicLink(tmp.resolve("report.json." + ProcessHandle.current().pid() + ".partial"),
                Path.of("/dev/full"));
        final Cli.Ran verify = Cli.run("verify", "--archive", Fixtures.pubnetGenesis().toString(), "--quiet",
                "--report", report.toString());
        assertEquals(ExitCode.COULD_NOT_RUN, verify.code(), verify.out());
        assertTrue(verify.out().startsWith("2 checkpoints: 2 verified, 0 incomplete, 0 failed; "), verify.out());
        assertTrue(verify.out().endsWith("error: cannot write the report " + report + ": No space left on device\n"),
                verify.out());
        assertFalse(Files.exists(report));
    }

    @Test
    void aReportPathThatIsALinkOrAPipeIsRefusedAndLeftAsItIs() throws Exception {
        // the finished report was renamed over it: as root, --report /dev/full replaced the machine's /dev/full
        final Path file = Files.writeString(tmp.resolve("elsewhere.json"), "{}");
        final Path link = Files.createSymbolicLink(tmp.resolve("link.json"), file);
        final Path fifo = tmp.resolve("fifo");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        for (final Path target : java.util.List.of(link, fifo)) {
            final Cli.Ran verify = Cli.run("verify", "--archive", Fixtures.pubnetGenesis().toString(), "--quiet",
                    "--report", target.toString());
            assertEquals(ExitCode.COULD_NOT_RUN, verify.code(), verify.out());
            assertTrue(verify.out().contains("error: cannot write the report " + target + ": it is not a regular file "
                    + "(a device, a pipe or a link), which the report would replace; give the path of a file"),
                    verify.out());
            final Cli.Ran ingest = Cli.run("ingest", "--archive", Fixtures.pubnetGenesis().toString(), "--data-dir",
                    tmp.resolve("data").toString(), "--http-port", "-1", "--quiet", "--report", target.toString());
            assertEquals(ExitCode.COULD_NOT_RUN, ingest.code(), ingest.out());
            assertTrue(ingest.out().contains("it is not a regular file"), ingest.out());
        }
        assertTrue(Files.isSymbolicLink(link));
        assertEquals("{}", Files.readString(file));
        assertFalse(Files.isRegularFile(fifo, java.nio.file.LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void aWritableReportLeavesNoTraceOfTheCheck() throws Exception {
        final Path report = tmp.resolve("sub/dir/report.json");
        final Cli.Ran verify = Cli.run("verify", "--archive", Fixtures.pubnetGenesis().toString(), "--quiet",
                "--report", report.toString());
        assertEquals(ExitCode.OK, verify.code(), verify.out());
        assertTrue(Files.exists(report));
        try (var left = Files.list(report.getParent())) {
            assertEquals(java.util.List.of(report), left.toList(), "only the report");
        }
    }

    @Test
    void aReportPathThatIsADirectoryIsRefusedBeforeTheWork() throws Exception {
        // it failed after all the work, naming no reason, and left "<dir>.partial" behind
        final Path dir = Files.createDirectories(tmp.resolve("reports"));
        final Cli.Ran verify = Cli.run("verify", "--archive", Fixtures.pubnetGenesis().toString(), "--quiet",
                "--report", dir.toString());
        assertEquals(ExitCode.COULD_NOT_RUN, verify.code(), verify.out());
        assertTrue(verify.out().contains("error: cannot write the report " + dir + ": it is a directory"),
                verify.out());
        assertFalse(verify.out().contains("checkpoints:"), "refused before the work: " + verify.out());
        try (var left = Files.list(tmp)) {
            assertEquals(java.util.List.of(dir), left.toList(), "nothing left behind");
        }
        // an empty path said so ("cannot write the report : it is a directory", a trial)
        final Cli.Ran empty = Cli.run("scan", "--archive", Fixtures.pubnetGenesis().toString(), "--quiet", "--report",
                "");
        assertEquals(ExitCode.COULD_NOT_RUN, empty.code(), empty.out());
        assertTrue(empty.out().contains("error: cannot write the report: no path given (--report with an empty value)"),
                empty.out());
        // with nothing to do, the refusal is all that is said (it followed "0 checkpoints: nothing to do", a trial)
        final Cli.Ran nothing = Cli.run("scan", "--archive", Fixtures.pubnetGenesis().toString(), "--quiet",
                "--from", "200", "--report", dir.toString());
        assertEquals(ExitCode.COULD_NOT_RUN, nothing.code(), nothing.out());
        assertFalse(nothing.out().contains("nothing to do"), nothing.out());
    }
}
