package io.historystreams.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.Checkpoint;
import io.historystreams.archive.FileType;
import io.historystreams.testing.Fixtures;
import io.historystreams.verify.Hash;
import io.historystreams.verify.HistoryArchiveState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static io.historystreams.cli.VerifyRun.failureReasons;
import static io.historystreams.cli.VerifyRun.failures;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** End-to-end {@code verify} against the fixture archives on local disk, and the could-not-run exits. */
class VerifyCommandLocalTest {
    @TempDir
    Path tmp;

    /** The counts every complete run over testnet-small must report. */
    static void assertTestnetSmallComplete(final VerifyRun r) {
        r.assertExit(ExitCode.OK);
        io.historystreams.testing.Reports.assertTimes(r.report());
        final JsonNode s = r.summary();
        assertEquals(157, s.get("checkpoints").asInt(), r::describe);
        assertEquals(157, s.get("verified").asInt());
        assertEquals(0, s.get("incomplete").asInt());
        assertEquals(0, s.get("failed").asInt());
        assertEquals(10047, s.get("ledgerHeaders").asLong());
        assertEquals(5722, s.get("transactionSets").asLong());
        assertEquals(5722, s.get("resultSets").asLong());
        assertEquals(1169, s.get("distinctBucketsVerified").asInt());
        assertEquals(0, s.get("distinctBucketsFailed").asInt());
        assertTrue(s.get("allVerified").asBoolean());
        final List<Long> expected = new ArrayList<>();
        for (long cp = 0x3f; cp <= 0x273f; cp += 64) {
            expected.add(cp);
        }
        assertEquals(expected, r.checkpointNumbers());
        for (final JsonNode c : r.checkpoints()) {
            final long cp = c.get("checkpoint").asLong();
            assertEquals("VERIFIED", c.get("status").asText(), () -> "checkpoint " + c);
            assertEquals(cp == 0x3f ? "GENESIS" : "VERIFIED", c.get("chainLink").asText(), () -> "checkpoint " + c);
            assertTrue(c.get("failures").isEmpty(), () -> "checkpoint " + c);
            assertEquals(cp == 0x3f ? 63 : 64, c.get("counts").get("headers").asInt());
        }
    }

    @Test
    void shouldVerifyAllOfTestnetSmallFromDisk() throws Exception {
        final VerifyRun r = VerifyRun.verify(tmp, "--archive", Fixtures.testnetSmall().toString());
        assertTestnetSmallComplete(r);
        assertTrue(r.out.contains("157 checkpoints: 157 verified, 0 incomplete, 0 failed"), r::describe);
        assertEquals(List.of(Fixtures.testnetSmall().toString()),
                List.of(r.report().get("sources").get(0).asText()));
        assertEquals(0, r.report().get("warnings").size(), r::describe);
        // every file (the buckets too) is named with the source that served it
        for (final JsonNode c : r.checkpoints()) {
            for (final JsonNode f : c.get("files")) {
                assertEquals("VERIFIED", f.get("status").asText(), f::toString);
                assertEquals(Fixtures.testnetSmall().toString(), f.get("source").asText());
            }
        }
    }

    @Test
    void aFromPastTheArchivesEndWithNoToIsNothingToDoWithAReportThatSaysSo() throws Exception {
        // a cron job verifying from where it stopped got exit 2 ("empty range") until the archive moved on, and a
        // report from its last run was left in place to be read as this one's
        final VerifyRun r = VerifyRun.verify(tmp, "--archive", Fixtures.testnetSmall().toString(), "--from", "10048");
        r.assertExit(ExitCode.OK);
        assertTrue(r.out.startsWith("0 checkpoints: nothing to do: --from 10048 is past the archive's current ledger "
                + "10047"), r::describe);
        assertEquals(0, r.report().get("checkpoints").size());
        assertEquals(0, r.report().get("summary").get("checkpoints").asInt());
        assertTrue(r.report().get("summary").get("allVerified").asBoolean());
        assertEquals(0, r.report().get("summary").get("distinctBucketsVerified").asInt());
        assertTrue(r.report().get("notes").get(0).asText().startsWith("nothing to do: --from 10048"),
                () -> r.report().toString());
        // with --to below --from it is still a mistake
        VerifyRun.verify(tmp, "--archive", Fixtures.testnetSmall().toString(), "--from", "10048", "--to", "100")
                .assertExit(ExitCode.COULD_NOT_RUN);
        // ingest the same, before it starts anything
        final Path data = tmp.resolve("data");
        final Path report = tmp.resolve("ingest-report.json");
        final io.historystreams.testing.Cli.Ran ingest = io.historystreams.testing.Cli.run("ingest", "--archive",
                Fixtures.testnetSmall().toString(), "--from", "10048",
                "--data-dir", data.toString(), "--http-port", "-1", "--quiet", "--report", report.toString());
        assertEquals(ExitCode.OK, ingest.code(), ingest.out());
        assertTrue(ingest.out().contains("0 checkpoints: nothing to do: --from 10048"), ingest.out());
        final com.fasterxml.jackson.databind.JsonNode ingested = VerifyRun.JSON.readTree(report.toFile());
        assertEquals("ingest", ingested.get("command").asText());
        // each command's own summary (a trial's script read scan's allPresent from a report in verify's shape)
        assertEquals(0, ingested.get("summary").get("givenUp").asInt(), ingested::toString);
        assertTrue(ingested.get("summary").get("allVerified").asBoolean(), ingested::toString);
        assertEquals(1, ingested.get("notes").size(), ingested::toString);
        final Path scanned = tmp.resolve("scan-report.json");
        final io.historystreams.testing.Cli.Ran scan = io.historystreams.testing.Cli.run("scan", "--archive",
                Fixtures.testnetSmall().toString(), "--from", "10048", "--quiet", "--report", scanned.toString());
        assertEquals(ExitCode.OK, scan.code(), scan.out());
        final com.fasterxml.jackson.databind.JsonNode s = VerifyRun.JSON.readTree(scanned.toFile());
        assertTrue(s.get("summary").get("allPresent").asBoolean(), s::toString);
        assertEquals(0, s.get("summary").get("filesMissing").asInt(), s::toString);
        assertFalse(java.nio.file.Files.exists(data), "nothing was started");
    }

    @Test
    void theReportCarriesTheWarningsPrintedBeforeTheWork() throws Exception {
        // a report read alone said allVerified, or listed missing files, without the warning that explained them
        final VerifyRun r = VerifyRun.verify(tmp, "--archive", Fixtures.pubnetGenesis().toString(), "--from", "100",
                "--to", "191");
        r.assertExit(ExitCode.VERIFICATION_FAILED);
        final String warning = "the range ends at ledger 191 (checkpoint 0xbf), past the archive's current ledger 127";
        assertTrue(r.err.contains("warning: " + warning), r::describe);
        final JsonNode warnings = r.report().get("warnings");
        assertEquals(1, warnings.size(), r::describe); // the widened range's note is not a warning
        assertTrue(warnings.get(0).asText().startsWith(warning), r::describe);
    }

    /**
     * A root state ahead of the archive's files, with no {@code --to}: a damaged archive (exit 1, the checkpoints it
     * lacks in the report, the warning with them), not a command that could not run (exit 2, no report: a trial).
     */
    @Test
    void aRootStateAheadOfTheFilesFailsTheCheckpointsTheArchiveLacks() throws Exception {
        final Path archive = tmp.resolve("ahead");
        io.historystreams.testing.ForgedArchive.copyOfPubnetGenesis(archive);
        final Path wellKnown = archive.resolve(ArchivePaths.WELL_KNOWN);
        Files.writeString(wellKnown, Files.readString(wellKnown).replace("\"currentLedger\": 127",
                "\"currentLedger\": 191"));
        final VerifyRun r = VerifyRun.verify(tmp, "--archive", archive.toString());
        r.assertExit(ExitCode.VERIFICATION_FAILED);
        assertEquals(List.of(0x3fL, 0x7fL, 0xbfL), r.checkpointNumbers(), r::describe);
        assertEquals("VERIFIED", r.checkpoint(0x7f).get("status").asText(), r::describe);
        assertEquals("INCOMPLETE", r.checkpoint(0xbf).get("status").asText(), r::describe);
        assertTrue(failureReasons(r.checkpoint(0xbf)).contains("MISSING_FILE"), r::describe);
        final String warning = "warning: the archive's root state names ledger 191, but that checkpoint's state file "
                + "history/00/00/00/history-000000bf.json is absent";
        assertTrue(r.err.contains(warning), r::describe);
        assertTrue(r.report().get("warnings").get(0).asText().startsWith(warning.substring("warning: ".length())),
                r::describe);
    }

    @Test
    void shouldVerifyPubnetGenesisWithoutScpFiles() throws Exception {
        final VerifyRun r = VerifyRun.verify(tmp, "--archive", Fixtures.pubnetGenesis().toUri().toString());
        r.assertExit(ExitCode.OK);
        assertEquals(List.of(0x3fL, 0x7fL), r.checkpointNumbers());
        assertEquals(2, r.summary().get("verified").asInt());
        assertEquals(127, r.summary().get("ledgerHeaders").asLong());
        for (final JsonNode c : r.checkpoints()) {
            assertEquals("VERIFIED", c.get("status").asText(), c::toString);
            assertTrue(c.get("failures").isEmpty());
            final long cp = c.get("checkpoint").asLong();
            final JsonNode scp = VerifyRun.file(c, VerifyRun.path(FileType.SCP, cp));
            assertEquals("ABSENT", scp.get("status").asText(), scp::toString);
            assertFalse(scp.has("reason"));
        }
        assertEquals("GENESIS", r.checkpoint(0x3f).get("chainLink").asText());
        assertEquals("VERIFIED", r.checkpoint(0x7f).get("chainLink").asText());
    }

    /** The buckets that checkpoint {@code cp}'s HAS names and the archive does not hold. */
    static Set<String> absentBuckets(final Path archive, final long cp) throws Exception {
        final String has = ArchivePaths.has(cp);
        final HistoryArchiveState state = HistoryArchiveState.parse(Files.readAllBytes(archive.resolve(has)), has);
        final Set<String> out = new TreeSet<>();
        for (final Hash h : state.buckets()) {
            final String p = ArchivePaths.bucket(h.hex());
            if (!Files.exists(archive.resolve(p))) {
                out.add(p);
            }
        }
        return out;
    }

    @Test
    void shouldReportTheMissingBucketsOfTestnetP24Hot() throws Exception {
        final Path archive = Fixtures.testnetP24Hot();
        final Set<String> missing = absentBuckets(archive, 0x3f);
        assertEquals(6, missing.size(), () -> "fixture: expected 6 absent buckets, found " + missing);
        assertTrue(absentBuckets(archive, 0x7f).isEmpty());

        final VerifyRun r = VerifyRun.verify(tmp, "--archive", archive.toString());
        r.assertExit(ExitCode.VERIFICATION_FAILED);
        assertEquals("VERIFIED", r.checkpoint(0x7f).get("status").asText(), r::describe);
        final JsonNode first = r.checkpoint(0x3f);
        assertEquals("INCOMPLETE", first.get("status").asText());
        assertEquals(List.of("MISSING_FILE", "MISSING_FILE", "MISSING_FILE", "MISSING_FILE", "MISSING_FILE",
                "MISSING_FILE"), failureReasons(first), first::toString);
        final Set<String> reported = new TreeSet<>();
        for (final JsonNode f : failures(first)) {
            reported.add(f.get("file").asText());
        }
        assertEquals(missing, reported);
        final JsonNode s = r.summary();
        assertEquals(1, s.get("verified").asInt());
        assertEquals(1, s.get("incomplete").asInt());
        assertEquals(0, s.get("failed").asInt());
        // missing, not failed (a trial read a deleted bucket as "1 failed")
        assertEquals(0, s.get("distinctBucketsFailed").asInt());
        assertEquals(6, s.get("distinctBucketsMissing").asInt());
        assertTrue(r.out.contains("distinct buckets (0 failed, 6 missing)"), r::describe);
        assertFalse(s.get("allVerified").asBoolean());
        // stdout names the incomplete checkpoint and every missing file
        assertTrue(r.out.contains("checkpoint 63 (0x3f) INCOMPLETE"), r::describe);
        for (final String p : missing) {
            assertTrue(r.out.contains(p), () -> p + " not named on stdout: " + r.out);
        }
        // ... on one line that names the reason, the source and the detail once for the six of them
        final String line = r.out.lines().filter(l -> l.startsWith("checkpoint 63 (0x3f) INCOMPLETE")).findFirst()
                .orElseThrow();
        final String source = archive.toAbsolutePath().toString();
        assertTrue(line.endsWith(" (6 files) from " + source + " (not present in any source);"), line);
        assertEquals(1, line.split(java.util.regex.Pattern.quote(source), -1).length - 1, line);
        assertEquals(1, line.split("MISSING_FILE", -1).length - 1, line);
    }

    @Test
    void shouldVerifyExactlyTheCheckpointsOfARangeAndLinkTheFirstOne() throws Exception {
        final VerifyRun r = VerifyRun.verify(tmp, "--archive", Fixtures.testnetSmall().toString(),
                "--from", "1000", "--to", "2000");
        r.assertExit(ExitCode.OK);
        final List<Long> expected = new ArrayList<>();
        for (long cp = 0x3ff; cp <= 0x7ff; cp += 64) {
            expected.add(cp);
        }
        assertEquals(expected, r.checkpointNumbers());
        assertEquals(expected, Checkpoint.range(1000, 2000));
        assertEquals(1000, r.report().get("fromLedger").asLong());
        assertEquals(2000, r.report().get("toLedger").asLong());
        assertEquals(17 * 64, r.summary().get("ledgerHeaders").asLong());
        for (final JsonNode c : r.checkpoints()) {
            assertEquals("VERIFIED", c.get("status").asText());
            assertEquals("VERIFIED", c.get("chainLink").asText(), c::toString);
        }
    }

    @Test
    void shouldExitThreeWhenTheArchiveIsUnreachable() throws Exception {
        // a cron job could not tell an archive down for a while (run again later) from bad arguments: both exit 2
        final long start = System.nanoTime();
        final VerifyRun r = VerifyRun.verify(tmp, "--archive", "http://127.0.0.1:1/", "--max-attempts", "2",
                "--connect-timeout", "2");
        r.assertExit(ExitCode.ARCHIVE_UNREACHABLE);
        // a report all the same, that says so: an earlier run's at that path is not read as this one's (a trial)
        assertFalse(r.summary().get("allVerified").asBoolean(), r::describe);
        assertEquals(3, r.summary().get("exitCode").asInt(), r::describe);
        // started when the run began, not when the report was written after the retries (a trial)
        final long startedAt = java.time.Instant.parse(r.report.get("startedAt").asText()).toEpochMilli();
        final long finishedAt = java.time.Instant.parse(r.summary().get("finishedAt").asText()).toEpochMilli();
        assertTrue(Math.abs(startedAt + r.summary().get("elapsedMillis").asLong() - finishedAt) < 100, r::describe);
        assertTrue(startedAt >= java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(start - System.nanoTime())
                + System.currentTimeMillis() - 1000, r::describe);
        assertTrue(r.summary().get("error").asText().startsWith("cannot read the archive's root state"), r::describe);
        assertEquals(0, r.checkpoints().size());
        assertTrue(r.err.contains("cannot read the archive's root state"), r::describe);
        assertTrue(r.err.contains("127.0.0.1:1"), r::describe);
        assertTrue(r.err.contains(ArchivePaths.WELL_KNOWN), r::describe);
        assertTrue(System.nanoTime() - start < 30_000_000_000L);
        // with a range given too
        final VerifyRun given = VerifyRun.verify(tmp, "--archive", "http://127.0.0.1:1/", "--max-attempts", "1",
                "--to", "127");
        given.assertExit(ExitCode.ARCHIVE_UNREACHABLE);
        assertTrue(given.err.contains("cannot reach the archive"), given::describe);
        final Path scanReport = tmp.resolve("scan-unreachable.json");
        try (java.io.PrintWriter w = new java.io.PrintWriter(new java.io.StringWriter(), true)) {
            assertEquals(ExitCode.ARCHIVE_UNREACHABLE, Main.run(w, w, "scan", "--archive", "http://127.0.0.1:1/",
                    "--max-attempts", "1", "--report", scanReport.toString()), "scan");
        }
        assertFalse(new com.fasterxml.jackson.databind.ObjectMapper().readTree(scanReport.toFile()).get("summary")
                .get("allPresent").asBoolean());
        // an archive that answers without a root state, and bad arguments: could not run
        VerifyRun.verify(tmp, "--archive", tmp.resolve("no-archive-here").toString())
                .assertExit(ExitCode.COULD_NOT_RUN);
        VerifyRun.verify(tmp, "--archive", "http://127.0.0.1:1/", "--to", "1", "--from", "64")
                .assertExit(ExitCode.COULD_NOT_RUN);
    }

    @Test
    void shouldExitTwoOnBadArguments() throws Exception {
        final String archive = Fixtures.testnetSmall().toString();
        final VerifyRun reversed = VerifyRun.verify(tmp, "--archive", archive, "--from", "200", "--to", "100");
        reversed.assertExit(ExitCode.COULD_NOT_RUN);
        assertTrue(reversed.err.contains("200") && reversed.err.contains("100"), reversed::describe);

        final VerifyRun noArchive = VerifyRun.raw("verify", "--from", "1");
        noArchive.assertExit(ExitCode.COULD_NOT_RUN);
        assertTrue(noArchive.err.contains("--archive"), noArchive::describe);

        final VerifyRun notANumber = VerifyRun.raw("verify", "--archive", archive, "--to", "many");
        notANumber.assertExit(ExitCode.COULD_NOT_RUN);

        final VerifyRun unknown = VerifyRun.raw("verify", "--archive", archive, "--frobnicate");
        unknown.assertExit(ExitCode.COULD_NOT_RUN);

        final VerifyRun scheme = VerifyRun.raw("verify", "--archive", "ftp://example.org/archive", "--to", "63");
        scheme.assertExit(ExitCode.COULD_NOT_RUN);
        assertTrue(scheme.err.contains("ftp"), scheme::describe);
    }
}
