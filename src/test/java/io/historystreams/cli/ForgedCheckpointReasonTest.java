package io.historystreams.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.historystreams.testing.Cli;
import io.historystreams.testing.Fixtures;
import io.historystreams.testing.ForgedArchive;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * What is said of damaged and forged copies. A checkpoint replaced whole by another chain's (a trial: testnet-small's
 * 0x7f replaced by testnet-p24-hot's, every file of it): verify said CHAIN_LINK_BROKEN on its ledger file, ingest
 * TX_SET_HASH_MISMATCH on its transactions file, which sent an operator to the wrong file; both say the first now. And
 * from a trial with damaged copies: a source whose bad copy another source's replaced, SCP files missing from an
 * archive that has the others, a bad bucket named by many checkpoints.
 */
class ForgedCheckpointReasonTest {
    @TempDir
    Path tmp;

    @Test
    @Timeout(180)
    void verifyAndIngestGiveTheSameReasonForACheckpointOfAnotherChain() throws Exception {
        final Path forged = tmp.resolve("forged");
        ForgedArchive.copyCheckpoints(Fixtures.testnetSmall(), forged, 0x3f, 0x27f);
        ForgedArchive.copyCheckpoints(Fixtures.testnetP24Hot(), forged, 0x7f, 0x7f);
        final Path verifyReport = tmp.resolve("verify.json");
        final Cli.Ran verify = Cli.run("verify", "--archive", forged.toString(), "--to", "640", "--quiet", "--report",
                verifyReport.toString());
        assertEquals(ExitCode.VERIFICATION_FAILED, verify.code(), verify.out());
        final Path ingestReport = tmp.resolve("ingest.json");
        final Cli.Ran ingest = ingest("data", "--archive", forged.toString(), "--to", "640", "--report",
                ingestReport.toString(), "-D", "checkpoint.max.attempts=1");
        assertEquals(ExitCode.VERIFICATION_FAILED, ingest.code(), ingest.out());
        final JsonNode v = checkpoint(verifyReport, 0x7f);
        final JsonNode i = checkpoint(ingestReport, 0x7f);
        assertEquals("CHAIN_LINK_BROKEN", v.get("failures").get(0).get("reason").asText(), v::toString);
        assertEquals("CHAIN_LINK_BROKEN", i.get("reason").asText(), i::toString);
        assertEquals("ledger/00/00/00/ledger-0000007f.xdr.gz", i.get("file").asText(), i::toString);
    }

    @Test
    @Timeout(180)
    void ingestNamesASourceThatServedABadCopyAnotherSourceReplaced() throws Exception {
        // a trial: a mirror's damaged ledger file was read from the next source, exit 0, and nothing but a WARN in
        // the log named the damaged mirror (verify's report names it in `blamed`)
        final Path damaged = copyOfTestnetSmall(0xbf);
        final String ledger = "ledger/00/00/00/ledger-0000007f.xdr.gz";
        Files.write(damaged.resolve(ledger), new byte[] {1, 2, 3, 4});
        final Path report = tmp.resolve("ingest.json");
        final Cli.Ran ingest = ingest("data", "--archive", damaged.toString(), "--archive",
                Fixtures.testnetSmall().toString(), "--to", "191", "--report", report.toString());
        final String warning = "warning: " + damaged + " served a bad copy of 1 file(s), each then read from another "
                + "source: " + ledger + ". That source is damaged or forged: repair it, or leave it out (the report's "
                + "`blamed` names the checkpoints)";
        assertOkSaying(ingest, warning);
        final JsonNode c = checkpoint(report, 0x7f);
        assertEquals("[{\"file\":\"" + ledger + "\",\"sources\":[\"" + damaged + "\"]}]",
                c.get("blamed").toString(), c::toString);
        // the other source served it (and, when the damaged one was read after it from then on, maybe all its files)
        org.junit.jupiter.api.Assertions.assertTrue(c.get("sources").toString().contains("\"" + Fixtures.testnetSmall()
                + "\""), c::toString);
        org.junit.jupiter.api.Assertions.assertFalse(checkpoint(report, 0x3f).has("blamed"), "its copy was good");
        assertEquals(warning.substring("warning: ".length()),
                new ObjectMapper().readTree(report.toFile()).get("warnings").get(0).asText());
        // verify says it too (its report names the file's blamed sources), in its report's summary too (a trial's
        // script found it only in ingest's)
        final Path verifyReport = tmp.resolve("verify-blamed.json");
        final Cli.Ran verify = Cli.run("verify", "--archive", damaged.toString(), "--archive",
                Fixtures.testnetSmall().toString(), "--to", "191", "--quiet", "--report", verifyReport.toString());
        assertOkSaying(verify, warning);
        assertEquals("[\"" + warning.substring("warning: ".length()) + "\"]",
                new ObjectMapper().readTree(verifyReport.toFile()).get("summary").get("warnings").toString());
        // the next run of the range on this data dir verifies nothing again: not said again
        final Cli.Ran again = ingest("data", "--archive", damaged.toString(), "--archive",
                Fixtures.testnetSmall().toString(), "--to", "191");
        assertOkWithout(again, "served a bad copy");
    }

    @Test
    @Timeout(180)
    void ingestSaysWhichCheckpointsLackAnScpFileTheOthersHave() throws Exception {
        // a trial: an SCP file deleted from a copy was left out of the events and the mirror for good, exit 0, and
        // nothing said so (an absent SCP file is not a failure: the oldest archives have none)
        final Path lacking = copyOfTestnetSmall(0xff);
        Files.delete(lacking.resolve("scp/00/00/00/scp-0000007f.xdr.gz"));
        Files.delete(lacking.resolve("scp/00/00/00/scp-000000bf.xdr.gz"));
        final Path report = tmp.resolve("ingest.json");
        final Cli.Ran ingest = ingest("data", "--archive", lacking.toString(), "--to", "255", "--report",
                report.toString());
        final String note = "note: 2 verified checkpoint(s) have no SCP file in any source, though the other 2 of the "
                + "range have theirs: 0x7f..0xbf. SCP files are optional, so they are verified without one (their "
                + "events and mirrors lack it); if the archive should have them, repair it: this data dir does not "
                + "fetch a verified checkpoint again, a new --data-dir does";
        assertOkSaying(ingest, note);
        assertEquals("[\"" + note.substring("note: ".length()) + "\"]",
                new ObjectMapper().readTree(report.toFile()).get("notes").toString());
        // verify says it too, with what it can say of a repair
        final Path verifyReport = tmp.resolve("verify.json");
        final Cli.Ran verify = Cli.run("verify", "--archive", lacking.toString(), "--to", "255", "--quiet",
                "--report", verifyReport.toString());
        final String verifyNote = "note: 2 verified checkpoint(s) have no SCP file in any source, though the other 2 "
                + "of the range have theirs: 0x7f..0xbf. SCP files are optional, so they are verified without one; if "
                + "the archive should have them, repair it";
        assertOkSaying(verify, verifyNote);
        assertEquals("[\"" + verifyNote.substring("note: ".length()) + "\"]",
                new ObjectMapper().readTree(verifyReport.toFile()).get("summary").get("notes").toString());
        // an archive without any SCP file (the oldest): nothing to say
        assertOkWithout(ingest("genesis", "--archive", Fixtures.pubnetGenesis().toString()), "SCP");
        assertOkWithout(Cli.run("verify", "--archive", Fixtures.pubnetGenesis().toString(), "--quiet"), "SCP");
    }

    @Test
    @Timeout(180)
    void aBadBucketNamedByManyCheckpointsIsFetchedOncePerAttemptNotOncePerCheckpoint() throws Exception {
        // a trial: a truncated bucket named by 72 checkpoints was downloaded 91 times by one ingest (buckets are
        // gigabytes on pubnet); here one named by the 18 checkpoints 0x1bf..0x5ff
        final Path damaged = copyOfTestnetSmall(0x5ff);
        final String hash = "584d09889fd8ee37a8570bdef34ab34901952ac93b645acf9b7dd88dca47d96a";
        final Path bucket = damaged.resolve(io.historystreams.archive.ArchivePaths.bucket(hash));
        final byte[] whole = Files.readAllBytes(bucket);
        Files.write(bucket, java.util.Arrays.copyOf(whole, whole.length / 2));
        try (io.historystreams.testing.FaultyArchiveServer server =
                io.historystreams.testing.FaultyArchiveServer.start(damaged)) {
            final Cli.Ran ingest = ingest("data", "--archive", server.url(), "--to", "1535", "-D",
                    "checkpoint.retry.backoff.ms=100");
            assertEquals(ExitCode.VERIFICATION_FAILED, ingest.code(), ingest.out());
            org.junit.jupiter.api.Assertions.assertTrue(ingest.out().contains("18 failed"), ingest.out());
            final long gets = server.requestLog().stream().filter(l -> l.contains(hash)).count();
            // three attempts, each reading the bad copy twice (a second read rules out a broken transfer), and
            // at most as many again where the two tasks fetched it at the same moment
            org.junit.jupiter.api.Assertions.assertTrue(gets <= 12, gets + " fetches: " + server.requestLog()
                    .stream().filter(l -> l.contains(hash)).toList());
        }
    }

    /** {@code r} exited 0 and said {@code text}. */
    private static void assertOkSaying(final Cli.Ran r, final String text) {
        assertEquals(ExitCode.OK, r.code(), r.out());
        org.junit.jupiter.api.Assertions.assertTrue(r.out().contains(text), r.out());
    }

    /** {@code r} exited 0 and did not say {@code text}. */
    private static void assertOkWithout(final Cli.Ran r, final String text) {
        assertEquals(ExitCode.OK, r.code(), r.out());
        org.junit.jupiter.api.Assertions.assertFalse(r.out().contains(text), r.out());
    }

    /** {@code ingest args} with the data dir {@code data} (under the test's directory), quiet, no HTTP endpoint. */
    private Cli.Ran ingest(final String data, final String... args) {
        final java.util.List<String> all = new java.util.ArrayList<>(java.util.List.of("ingest", "--quiet",
                "--data-dir", tmp.resolve(data).toString(), "--http-port", "-1"));
        all.addAll(java.util.List.of(args));
        return Cli.run(all.toArray(String[]::new));
    }

    /** A copy of testnet-small's checkpoints 0x3f..{@code last}, to damage. */
    private Path copyOfTestnetSmall(final long last) throws java.io.IOException {
        final Path copy = tmp.resolve("copy");
        ForgedArchive.copyCheckpoints(Fixtures.testnetSmall(), copy, 0x3f, last);
        return copy;
    }

    private static JsonNode checkpoint(final Path report, final long cp) throws Exception {
        for (final JsonNode c : new ObjectMapper().readTree(report.toFile()).get("checkpoints")) {
            if (c.get("checkpoint").asLong() == cp) {
                return c;
            }
        }
        throw new AssertionError("no checkpoint " + cp + " in " + report);
    }
}
