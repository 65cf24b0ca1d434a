package io.historystreams.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.FileType;
import io.historystreams.testing.Cli;
import io.historystreams.testing.FaultyArchiveServer;
import io.historystreams.testing.Fixtures;
import io.historystreams.testing.ForgedArchive;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code scan}: every file of a range looked for without reading it (HTTP HEAD), each bucket once; the state files
 * read for the buckets they name. Real archives over a real loopback server.
 */
class ScanCommandTest {
    @TempDir
    Path tmp;

    @Test
    void aCompleteArchiveIsScannedWithHeadRequestsAndNoBodyButTheStateFiles() throws Exception {
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.testnetSmall())) {
            // a source that fails twice on a bucket and once answers 429 on a ledger file is asked again
            final String bucket = "/" + firstBucketOf(Fixtures.testnetSmall(), 0x273f);
            server.on(bucket).status(500).times(2);
            server.on("/" + ArchivePaths.checkpointFile(FileType.LEDGER, 0x13f)).status(429).times(1);
            final Path report = tmp.resolve("scan.json");
            final Cli.Ran r = Cli.run("scan", "--archive", server.url(), "--quiet", "--report", report.toString());
            assertEquals(ExitCode.OK, r.code(), r.out());
            assertTrue(r.out().contains("157 checkpoints scanned: 157 complete, 0 incomplete (0 files missing, 0 "
                    + "unreadable); 1169 distinct buckets, 0 missing, 0 unreadable"), r.out());
            assertTrue(server.requests(bucket) >= 3, "the bucket's HEAD was tried again");
            // bodies: the root state and the 157 state files, nothing else but the bucket whose HEAD failed with a
            // 5xx, asked with a GET at once (which failed too: its HEAD asked again after a backoff)
            final Map<String, Integer> bodies = server.bodiesRequested();
            final List<String> others = new ArrayList<>();
            bodies.keySet().stream().filter(p -> !p.contains("history/") && !p.contains(".well-known/"))
                    .forEach(others::add);
            assertEquals(List.of(bucket.substring(1)), others, "files read whole: " + others);
            assertEquals(1, bodies.get(bucket.substring(1)), bodies::toString);
            final JsonNode rep = new ObjectMapper().readTree(report.toFile());
            assertTrue(rep.get("summary").get("allPresent").asBoolean(), rep::toString);
            assertEquals(157, rep.get("checkpoints").size());
            assertEquals(1169, rep.get("summary").get("distinctBuckets").asInt());
            assertEquals(0, rep.get("summary").get("askedWithGets").size(), rep::toString);
        }
    }

    @Test
    void missingBucketsAndFilesAreNamedPerCheckpointAndAnotherSourceFillsIn() throws Exception {
        // testnet-p24-hot's 0x3f names six live buckets the archive lacks
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.testnetP24Hot())) {
            final Path report = tmp.resolve("p24.json");
            final Cli.Ran r = Cli.run("scan", "--archive", server.url(), "--quiet", "--report", report.toString());
            assertEquals(ExitCode.VERIFICATION_FAILED, r.code(), r.out());
            assertTrue(r.out().contains("checkpoint 63 (0x3f) INCOMPLETE: MISSING_FILE bucket/"), r.out());
            assertTrue(r.out().contains("(6 files)"), r.out());
            assertFalse(r.out().contains("checkpoint 127 (0x7f) INCOMPLETE"), r.out());
            assertTrue(r.out().contains("2 checkpoints scanned: 1 complete, 1 incomplete (6 files missing, 0 "
                    + "unreadable); 14 distinct buckets, 6 missing, 0 unreadable"), r.out());
            final JsonNode rep = new ObjectMapper().readTree(report.toFile());
            assertEquals("INCOMPLETE", rep.get("checkpoints").get(0).get("status").asText());
            assertEquals(6, rep.get("checkpoints").get(0).get("problems").size());
            assertEquals("COMPLETE", rep.get("checkpoints").get(1).get("status").asText());
            assertFalse(rep.get("summary").get("allPresent").asBoolean());
        }
        // a copy without a ledger file and a transactions file: named; with the whole archive as a second source,
        // complete
        final Path copy = tmp.resolve("copy");
        ForgedArchive.copyOfPubnetGenesis(copy);
        final String ledger = ArchivePaths.checkpointFile(FileType.LEDGER, 0x7f);
        final String txs = ArchivePaths.checkpointFile(FileType.TRANSACTIONS, 0x3f);
        Files.delete(copy.resolve(ledger));
        Files.delete(copy.resolve(txs));
        final Cli.Ran lacking = Cli.run("scan", "--archive", copy.toString(), "--quiet");
        assertEquals(ExitCode.VERIFICATION_FAILED, lacking.code(), lacking.out());
        assertTrue(lacking.out().contains("checkpoint 63 (0x3f) INCOMPLETE: MISSING_FILE " + txs), lacking.out());
        assertTrue(lacking.out().contains("checkpoint 127 (0x7f) INCOMPLETE: MISSING_FILE " + ledger), lacking.out());
        assertTrue(lacking.out().contains("note: 2 checkpoint(s) without an SCP file"), lacking.out());
        final Cli.Ran filled = Cli.run("scan", "--archive", copy.toString(), "--archive",
                Fixtures.pubnetGenesis().toString(), "--quiet");
        assertEquals(ExitCode.OK, filled.code(), filled.out());
    }

    @Test
    void theOtherFilesOfACheckpointWithoutItsStateFileAreLookedForAndAFailingServerIsNotAMissingFile()
            throws Exception {
        // a trial: the state file and the ledger file of a checkpoint gone, scan named the state file only
        final Path copy = tmp.resolve("copy");
        ForgedArchive.copyOfPubnetGenesis(copy);
        Files.delete(copy.resolve(ArchivePaths.has(0x7f)));
        Files.delete(copy.resolve(ArchivePaths.checkpointFile(FileType.LEDGER, 0x7f)));
        final Cli.Ran r = Cli.run("scan", "--archive", copy.toString(), "--quiet", "--to", "127");
        assertEquals(ExitCode.VERIFICATION_FAILED, r.code(), r.out());
        assertTrue(r.out().contains("checkpoint 127 (0x7f) INCOMPLETE: MISSING_FILE " + ArchivePaths.has(0x7f) + ", "
                + ArchivePaths.checkpointFile(FileType.LEDGER, 0x7f) + " (2 files)"), r.out());
        // a bucket the server fails on is unreadable, not missing (a trial's script read a 500 as an absent file)
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.pubnetGenesis())) {
            final String bucket = firstBucketOf(Fixtures.pubnetGenesis(), 0x7f);
            server.on("/" + bucket).status(500).forever();
            final Cli.Ran failing = Cli.run("scan", "--archive", server.url(), "--quiet", "--max-attempts", "1");
            assertEquals(ExitCode.VERIFICATION_FAILED, failing.code(), failing.out());
            assertTrue(failing.out().contains("2 incomplete (0 files missing, 2 unreadable); 1 distinct buckets, 0 "
                    + "missing, 1 unreadable"), failing.out());
            assertTrue(failing.out().contains("FETCH_FAILED " + bucket), failing.out());
        }
    }

    @Test
    void aFileOneSourceLacksAndAnotherFailsOnIsUnreadableNotMissing() throws Exception {
        // a trial: the failing source has the file; "missing" told a script it was lost
        final Path lacking = tmp.resolve("lacking");
        ForgedArchive.copyOfPubnetGenesis(lacking);
        final String ledger = ArchivePaths.checkpointFile(FileType.LEDGER, 0x7f);
        Files.delete(lacking.resolve(ledger));
        try (FaultyArchiveServer failing = FaultyArchiveServer.start(Fixtures.pubnetGenesis())) {
            failing.on("/" + ledger).status(500).forever();
            final Cli.Ran r = Cli.run("scan", "--archive", lacking.toString(), "--archive", failing.url(), "--quiet",
                    "--max-attempts", "1");
            assertEquals(ExitCode.VERIFICATION_FAILED, r.code(), r.out());
            assertTrue(r.out().contains("1 incomplete (0 files missing, 1 unreadable)"), r.out());
        }
    }

    @Test
    void aCheckpointThatIsNotThereIsNotOneWithoutAnScpFile() throws Exception {
        // a trial: a range past the archive's end counted its checkpoints "without an SCP file"
        final Path report = tmp.resolve("past.json");
        final Cli.Ran r = Cli.run("scan", "--archive", Fixtures.testnetSmall().toString(), "--quiet", "--from",
                "10048", "--to", "10100", "--report", report.toString());
        assertEquals(ExitCode.VERIFICATION_FAILED, r.code(), r.out());
        assertFalse(r.out().contains("without an SCP file"), r.out());
        assertEquals(0, new ObjectMapper().readTree(report.toFile()).get("summary").get("withoutScp").asInt());
    }

    @Test
    void aRangeWidenedToWholeCheckpointsSaysTheyAreScannedNotVerified() throws Exception {
        // a trial: scan printed "which are verified whole" of a range it only looked up
        final Path report = tmp.resolve("widened.json");
        final Cli.Ran r = Cli.run("scan", "--archive", Fixtures.pubnetGenesis().toString(), "--quiet", "--from", "10",
                "--to", "100", "--report", report.toString());
        assertEquals(ExitCode.OK, r.code(), r.out());
        assertTrue(r.out().contains("note: ledgers 10..100 lie in checkpoints 0x3f..0x7f, which are scanned whole: "
                + "ledgers 1..127"), r.out());
        assertFalse(r.out().contains("verified whole"), r.out());
        assertEquals("ledgers 10..100 lie in checkpoints 0x3f..0x7f, which are scanned whole: ledgers 1..127",
                new ObjectMapper().readTree(report.toFile()).get("notes").get(0).asText());
    }

    @Test
    void aServerThatRefusesHeadIsAskedWithGets() throws Exception {
        // a trial's server answered 405 to HEAD: every file scanned was FETCH_REFUSED
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.pubnetGenesis())) {
            server.refuseHead();
            final Cli.Ran r = Cli.run("scan", "--archive", server.url(), "--quiet");
            assertEquals(ExitCode.OK, r.code(), r.out());
            assertTrue(r.out().contains("2 checkpoints scanned: 2 complete"), r.out());
            // the note said at every run is left out with --quiet (a cron job's mail held it each time)
            assertFalse(r.out().contains("existence only"), r.out());
            assertTrue(Cli.run("scan", "--archive", server.url()).out().contains("note: existence only"));
        }
    }

    @Test
    void aServerThatFailsHeadsOfBucketsWhereItServesThemIsAskedWithGets() throws Exception {
        // a trial's server answered 500 to every HEAD of a bucket and served them: each was retried with backoffs, and
        // the source taken as down and back (its rechecks GET), 318 s for the scan
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.testnetSmall())) {
            server.failHead(500, p -> p.startsWith("bucket/"));
            final String missing = "/" + firstBucketOf(Fixtures.testnetSmall(), 0x27f);
            server.on(missing).status(404).times(1000);
            final Cli.Ran[] ran = new Cli.Ran[1];
            final List<String> warnings = io.historystreams.testing.Logs.during(
                    io.historystreams.archive.HttpArchiveSource.class,
                    () -> ran[0] = Cli.run("scan", "--archive", server.url(), "--to", "1000", "--quiet", "--report",
                            tmp.resolve("gets.json").toString()))
                    .stream().map(e -> e.getLevel() + " " + e.getFormattedMessage()).toList();
            final Cli.Ran r = ran[0];
            assertEquals(ExitCode.VERIFICATION_FAILED, r.code(), r.out());
            // the bucket the GET says is not there is missing, not unreadable
            assertTrue(r.out().contains("16 checkpoints scanned"), r.out());
            assertTrue(r.out().matches("(?s).*distinct buckets, 1 missing, 0 unreadable.*"), r.out());
            assertEquals(1, warnings.size(), "said once: " + warnings);
            // in the report too (a trial: a cron job reading only the report did not see it)
            final JsonNode askedWithGets = new ObjectMapper().readTree(tmp.resolve("gets.json").toFile())
                    .get("summary").get("askedWithGets");
            assertEquals(1, askedWithGets.size(), askedWithGets::toString);
            assertEquals(server.url(), askedWithGets.get(0).asText());
            assertTrue(warnings.get(0).startsWith("WARN " + server.url() + " answers HEAD with HTTP 500 Internal "
                    + "Server Error where GET answers (3 files): it is asked with GETs from now on"),
                    warnings::toString);
            // each bucket asked with one GET; no HEAD of a bucket asked again: those sent before the switch, in
            // parallel, failed once each (a retry would have asked again)
            final List<String> log = server.requestLog();
            final long gets = log.stream().filter(l -> l.startsWith("GET bucket/")).count();
            final List<String> heads = log.stream().filter(l -> l.startsWith("HEAD bucket/")).toList();
            final int buckets = Integer.parseInt(r.out().replaceAll("(?s).* (\\d+) distinct buckets.*", "$1"));
            assertEquals(buckets, gets, String.join("\n", log));
            assertEquals(heads.size(), new java.util.HashSet<>(heads).size(), String.join("\n", heads));
            assertTrue(heads.size() >= 3 && heads.size() < buckets / 2, heads.size() + " of " + buckets);
        }
    }

    @Test
    void aStateFileThatIsNotJsonIsNamedWithItsReason() throws Exception {
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.pubnetGenesis())) {
            server.overlay("/" + ArchivePaths.has(0x3f), "{not json".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            final Cli.Ran r = Cli.run("scan", "--archive", server.url(), "--quiet", "--to", "127");
            assertEquals(ExitCode.VERIFICATION_FAILED, r.code(), r.out());
            assertTrue(r.out().contains("checkpoint 63 (0x3f) INCOMPLETE: MALFORMED_JSON " + ArchivePaths.has(0x3f)),
                    r.out());
        }
    }

    @Test
    void theBucketAnswersKeptAreBoundedAndTheRecentOnesAreNotAskedAgain() {
        final ScanCommand.BucketLookups lookups = new ScanCommand.BucketLookups();
        final java.util.concurrent.atomic.AtomicInteger asked = new java.util.concurrent.atomic.AtomicInteger();
        final java.util.function.Function<io.historystreams.verify.Hash,
                java.util.concurrent.CompletableFuture<io.historystreams.verify.VerificationException>> ask = h -> {
                    asked.incrementAndGet();
                    return java.util.concurrent.CompletableFuture.completedFuture(null);
                };
        for (int i = 0; i <= ScanCommand.BucketLookups.KEPT; i++) {
            lookups.lookUp(hash(i), ask);
            lookups.lookUp(hash(i), ask); // named again by the next checkpoint: kept
        }
        assertEquals(ScanCommand.BucketLookups.KEPT + 1, asked.get());
        lookups.lookUp(hash(ScanCommand.BucketLookups.KEPT), ask); // the latest: kept
        lookups.lookUp(hash(0), ask); // the eldest: dropped, asked again
        assertEquals(ScanCommand.BucketLookups.KEPT + 2, asked.get());
        assertEquals(0, lookups.missing());
    }

    private static io.historystreams.verify.Hash hash(final int i) {
        final byte[] b = new byte[32];
        java.nio.ByteBuffer.wrap(b).putInt(i);
        return io.historystreams.verify.Hash.of(b);
    }

    private static String firstBucketOf(final Path archive, final long checkpoint) throws Exception {
        final io.historystreams.verify.HistoryArchiveState has = io.historystreams.verify.HistoryArchiveState.parse(
                Files.readAllBytes(archive.resolve(ArchivePaths.has(checkpoint))), ArchivePaths.has(checkpoint));
        return ArchivePaths.bucket(has.buckets().iterator().next().hex());
    }
}
