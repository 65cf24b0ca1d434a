package io.historystreams.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.FileType;
import io.historystreams.testing.FaultyArchiveServer;
import io.historystreams.testing.Fixtures;
import io.historystreams.verify.Hash;
import io.historystreams.verify.HistoryArchiveState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.historystreams.cli.VerifyRun.failureReasons;
import static io.historystreams.cli.VerifyRun.failures;
import static io.historystreams.cli.VerifyRun.path;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The corruption matrix through the {@code verify} command and the archive access layer: one checkpoint of
 * testnet-small (0x3ff, ledgers 960..1023, asked for as {@code --from 1000 --to 1023}) with one file made wrong, by a
 * server overlay or in a temporary copy of the files on disk. Each run must exit 1 and name the reason and the file.
 * (The engine-level equivalents are in {@code verify.CorruptionTest}.)
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VerifyCommandCorruptionTest {
    private static final long CP = 0x3ff;
    private static final String HAS = ArchivePaths.has(CP);
    private static final String LEDGER = path(FileType.LEDGER, CP);
    private static final String TXS = path(FileType.TRANSACTIONS, CP);
    private static final String RESULTS = path(FileType.RESULTS, CP);

    @TempDir
    Path tmp;

    private final Path fixture = Fixtures.testnetSmall();
    private FaultyArchiveServer server;

    @BeforeEach
    void startServer() throws Exception {
        server = FaultyArchiveServer.start(fixture);
    }

    @AfterEach
    void stopServer() {
        server.close();
    }

    private byte[] fixtureBytes(final String path) throws Exception {
        return Files.readAllBytes(fixture.resolve(path));
    }

    private ObjectNode hasJson() throws Exception {
        return (ObjectNode) VerifyRun.JSON.readTree(fixtureBytes(HAS));
    }

    private static byte[] json(final JsonNode n) throws Exception {
        return VerifyRun.JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(n);
    }

    private List<String> bucketsOfCheckpoint() throws Exception {
        final List<String> out = new ArrayList<>();
        for (final Hash h : HistoryArchiveState.parse(fixtureBytes(HAS), HAS).buckets()) {
            out.add(ArchivePaths.bucket(h.hex()));
        }
        return out;
    }

    private static String someOtherHash() throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                .digest("no source has this bucket".getBytes(StandardCharsets.UTF_8)));
    }

    /** Runs checkpoint 0x3ff against the server. */
    private VerifyRun runOverHttp(final String passphrase) throws Exception {
        return VerifyRun.verify(tmp, "--archive", server.url(), "--from", "1000", "--to", "1023",
                "--network-passphrase", passphrase);
    }

    private VerifyRun runOverHttp() throws Exception {
        return runOverHttp(VerifyRun.TESTNET);
    }

    /** Exit 1, checkpoint 0x3ff with {@code status}, and a failure with {@code reason} naming {@code file}. */
    private static JsonNode assertFailure(final VerifyRun r, final String status, final String reason,
            final String file) {
        r.assertExit(ExitCode.VERIFICATION_FAILED);
        assertEquals(List.of(CP), r.checkpointNumbers());
        final JsonNode c = r.checkpoint(CP);
        assertEquals(status, c.get("status").asText(), c::toString);
        assertTrue(failures(c).stream().anyMatch(f -> f.get("reason").asText().equals(reason)
                && f.get("file").asText().equals(file)), () -> "no " + reason + " for " + file + " in " + c);
        assertFalse(r.summary().get("allVerified").asBoolean());
        // stdout names the checkpoint, the reason and the file
        assertTrue(r.out.contains("checkpoint 1023 (0x3ff) " + status) && r.out.contains(reason)
                && r.out.contains(file), r::describe);
        return c;
    }

    @Test
    void shouldVerifyTheUncorruptedCheckpoint() throws Exception {
        final VerifyRun r = runOverHttp();
        r.assertExit(ExitCode.OK);
        assertEquals("VERIFIED", r.checkpoint(CP).get("status").asText());
        assertEquals("VERIFIED", r.checkpoint(CP).get("chainLink").asText());
    }

    @Test
    void aLinkThatCannotBeCheckedBecauseThePreviousLedgerFileIsCorruptFailsTheCheckpoint() throws Exception {
        // the range's first checkpoint links to 0x3bf's last header, read from 0x3bf's ledger file: cut short here
        final String previous = path(FileType.LEDGER, CP - 64);
        final byte[] whole = fixtureBytes(previous);
        server.overlay(previous, Arrays.copyOf(whole, whole.length / 2));
        final VerifyRun r = runOverHttp();
        final JsonNode c = assertFailure(r, "FAILED", "CORRUPT_GZIP", previous);
        assertEquals("NOT_CHECKED", c.get("chainLink").asText());
        assertTrue(failures(c).get(0).get("detail").asText().startsWith(
                "the link to the previous checkpoint cannot be checked, its ledger file failed: "), c::toString);

        // inside the range the same: 0x3bf fails on its own file, and 0x3ff cannot be linked to it (before, 0x3ff
        // was VERIFIED with chainLink NOT_CHECKED and `verify` exited 0 for a range starting at 0x3ff)
        final VerifyRun both = VerifyRun.verify(tmp, "--archive", server.url(), "--from", "900",
                "--to", "1023", "--network-passphrase", VerifyRun.TESTNET);
        both.assertExit(ExitCode.VERIFICATION_FAILED);
        assertEquals("FAILED", both.checkpoint(CP - 64).get("status").asText());
        assertEquals("FAILED", both.checkpoint(CP).get("status").asText());
        assertEquals(List.of("CORRUPT_GZIP"), failureReasons(both.checkpoint(CP)));
        assertEquals(0, both.summary().get("verified").asInt());
    }

    @Test
    void aLinkThatCannotBeCheckedBecauseThePreviousLedgerFileIsAbsentLeavesTheCheckpointIncomplete() throws Exception {
        // the archive holds the previous checkpoint's state file: damaged, not an archive that starts at 0x3ff
        final String previous = path(FileType.LEDGER, CP - 64);
        server.on(previous).status(404).forever();
        final VerifyRun r = runOverHttp();
        final JsonNode c = assertFailure(r, "INCOMPLETE", "MISSING_FILE", previous);
        assertEquals("NOT_CHECKED", c.get("chainLink").asText());
        assertFalse(r.out.contains("note: "), r::describe);
    }

    /**
     * An archive that starts mid-history (a validator's that caught up there, a mirror made by {@code tail --from}):
     * nothing of the checkpoint before its first is there, and its first checkpoint is verified with its link not
     * checked. Before, it was INCOMPLETE for the previous checkpoint's ledger file, exit 1.
     */
    @Test
    void aRangeStartingWhereTheArchiveStartsIsVerifiedWithTheFirstLinkNotChecked() throws Exception {
        server.onRegex(".*" + String.format("-%08x", CP - 64) + "\\..*").status(404).forever();
        final VerifyRun r = VerifyRun.verify(tmp, "--archive", server.url(), "--from", "1000", "--to", "1087",
                "--network-passphrase", VerifyRun.TESTNET);
        r.assertExit(ExitCode.OK);
        assertEquals("ARCHIVE_START", r.checkpoint(CP).get("chainLink").asText());
        assertEquals("VERIFIED", r.checkpoint(CP).get("status").asText());
        assertEquals("VERIFIED", r.checkpoint(CP + 64).get("chainLink").asText());
        assertTrue(r.summary().get("allVerified").asBoolean(), r::describe);
        assertTrue(r.out.contains("note: checkpoint 1023 (0x3ff): the archive holds no checkpoint 959 (0x3bf), "
                + "neither its state file nor its ledger file: it starts at 1023, and the link to 959 is not checked"),
                r::describe);
        assertTrue(server.requests(ArchivePaths.has(CP - 64)) > 0, "the state file was asked for");

        // a range from before the archive's start: those checkpoints are missing, the archive's first is its start
        // still (as ingest and tail take it; it was INCOMPLETE, its link not checked), and the note says where the
        // archive may start
        final VerifyRun before = VerifyRun.verify(tmp, "--archive", server.url(), "--from", "900", "--to", "1087",
                "--network-passphrase", VerifyRun.TESTNET);
        before.assertExit(ExitCode.VERIFICATION_FAILED);
        assertEquals("INCOMPLETE", before.checkpoint(CP - 64).get("status").asText());
        assertEquals("VERIFIED", before.checkpoint(CP).get("status").asText());
        assertEquals("ARCHIVE_START", before.checkpoint(CP).get("chainLink").asText());
        assertTrue(before.out.contains("note: the archive holds nothing of checkpoint 959, the first of the range: it "
                + "may start at 1023 (0x3ff), and --from 960 verifies it from there"), before::describe);
        // and in the report (a report read alone did not say it), after the archive-start note said with its
        // checkpoint (a trial: not in the report)
        final String start = "checkpoint 1023 (0x3ff): the archive holds no checkpoint 959 (0x3bf), neither its state "
                + "file nor its ledger file: it starts at 1023, and the link to 959 is not checked";
        assertEquals("[\"" + start + "\",\"the archive holds nothing of checkpoint 959, the first of the range: it may "
                + "start at 1023 (0x3ff), and --from 960 verifies it from there\"]",
                before.summary().get("notes").toString());
        assertFalse(r.out.contains("holds nothing of"), r::describe);
        assertEquals("[\"" + start + "\"]", r.summary().get("notes").toString(), r::describe);
    }

    /**
     * With no {@code --from}, an archive whose first checkpoint's state file is gone but whose ledger file is there is
     * damaged there: the checkpoint fails as missing. It was taken for an archive starting at the second checkpoint,
     * verified with a note, exit 0 (a trial).
     */
    @Test
    void aFirstCheckpointWithoutItsStateFileIsMissingNotBeforeTheArchivesStart() throws Exception {
        server.on(ArchivePaths.has(0x3f)).status(404).forever();
        final VerifyRun r = VerifyRun.verify(tmp, "--archive", server.url(), "--to", "255", "--network-passphrase",
                VerifyRun.TESTNET);
        r.assertExit(ExitCode.VERIFICATION_FAILED);
        assertEquals(List.of(0x3fL, 0x7fL, 0xbfL, 0xffL), r.checkpointNumbers(), r::describe);
        assertEquals("INCOMPLETE", r.checkpoint(0x3f).get("status").asText(), r::describe);
        assertTrue(failures(r.checkpoint(0x3f)).stream().anyMatch(f -> f.get("reason").asText().equals("MISSING_FILE")
                && f.get("file").asText().equals(ArchivePaths.has(0x3f))), r::describe);
        assertFalse(r.out.contains("it starts at"), r::describe);
        assertFalse(r.err.contains("it starts at"), r::describe);
    }

    /**
     * Two sources, one down for the checkpoint before the range: it may hold it, so the range's first checkpoint is
     * not the archive's start (a trial: it was verified as ARCHIVE_START, exit 0, "the archive holds no checkpoint").
     */
    @Test
    void aSourceThatDoesNotAnswerMayHoldThePreviousCheckpoint() throws Exception {
        final String previous = ".*" + String.format("-%08x", CP - 64) + "\\..*";
        server.onRegex(previous).status(404).forever();
        try (FaultyArchiveServer down = FaultyArchiveServer.start(fixture)) {
            down.onRegex(previous).status(503).forever();
            final VerifyRun r = VerifyRun.verify(tmp, "--archive", down.url(), "--archive", server.url(), "--from",
                    "1000", "--to", "1023", "--network-passphrase", VerifyRun.TESTNET, "--max-attempts", "2");
            r.assertExit(ExitCode.VERIFICATION_FAILED);
            assertEquals("NOT_CHECKED", r.checkpoint(CP).get("chainLink").asText(), r::describe);
            assertFalse(r.out.contains("note: "), r::describe);
            assertTrue(r.out.contains("no answer from " + down.url()), r::describe);
        }
    }

    @Test
    void shouldDetectFlippedByteInBucket() throws Exception {
        final String bucket = bucketsOfCheckpoint().get(2);
        final byte[] raw = VerifyRun.gunzip(fixtureBytes(bucket));
        raw[raw.length / 2] ^= 0x01;
        server.overlay(bucket, VerifyRun.gzip(raw));
        final VerifyRun r = runOverHttp();
        final JsonNode c = assertFailure(r, "FAILED", "BUCKET_HASH_MISMATCH", bucket);
        assertEquals(List.of("BUCKET_HASH_MISMATCH"), failureReasons(c));
        assertEquals(1, r.summary().get("distinctBucketsFailed").asInt());
        assertEquals(server.url(), failures(c).get(0).get("source").asText());
        assertEquals("FAILED", VerifyRun.file(c, bucket).get("status").asText());
    }

    /** Copies what verifying checkpoint 0x3ff reads (and the previous checkpoint's ledger file) to {@code dest}. */
    private void copyCheckpoint(final Path dest) throws Exception {
        final List<String> files = new ArrayList<>(List.of(HAS, LEDGER, TXS, RESULTS, path(FileType.SCP, CP),
                path(FileType.LEDGER, CP - 64)));
        files.addAll(bucketsOfCheckpoint());
        for (final String f : files) {
            final Path to = dest.resolve(f);
            Files.createDirectories(to.getParent());
            Files.copy(fixture.resolve(f), to);
        }
    }

    @Test
    void shouldDetectTruncatedLedgerFileInADirectory() throws Exception {
        final Path copy = tmp.resolve("archive");
        copyCheckpoint(copy);
        final VerifyRun ok = VerifyRun.verify(tmp, "--archive", copy.toString(), "--from", "1000", "--to", "1023",
                "--network-passphrase", VerifyRun.TESTNET);
        ok.assertExit(ExitCode.OK);

        final Path ledger = copy.resolve(LEDGER);
        final byte[] gz = Files.readAllBytes(ledger);
        Files.write(ledger, Arrays.copyOf(gz, gz.length / 2));
        final VerifyRun r = VerifyRun.verify(tmp, "--archive", copy.toString(), "--from", "1000", "--to", "1023",
                "--network-passphrase", VerifyRun.TESTNET);
        final JsonNode c = assertFailure(r, "FAILED", "CORRUPT_GZIP", LEDGER);
        assertEquals(List.of("CORRUPT_GZIP"), failureReasons(c));
        assertEquals(copy.toAbsolutePath().toString(), failures(c).get(0).get("source").asText());
    }

    @Test
    void shouldDetectTruncatedLedgerFileOverHttp() throws Exception {
        final byte[] gz = fixtureBytes(LEDGER);
        server.overlay(LEDGER, Arrays.copyOf(gz, gz.length / 2));
        final VerifyRun r = runOverHttp();
        final JsonNode c = assertFailure(r, "FAILED", "CORRUPT_GZIP", LEDGER);
        assertEquals(List.of("CORRUPT_GZIP"), failureReasons(c));
        // content the source served complete but wrong is re-downloaded once, not retried like a transfer failure
        assertEquals(2, server.requests(LEDGER));
    }

    @Test
    void shouldDetectLedgerFileOfAnotherCheckpoint() throws Exception {
        server.overlay(LEDGER, fixtureBytes(path(FileType.LEDGER, CP - 64)));
        final VerifyRun r = runOverHttp();
        final JsonNode c = assertFailure(r, "FAILED", "WRONG_CHECKPOINT", LEDGER);
        assertEquals(List.of("WRONG_CHECKPOINT"), failureReasons(c));
    }

    @Test
    void shouldDetectDroppedTransactionsRecord() throws Exception {
        final List<byte[]> recs = new ArrayList<>(VerifyRun.records(fixtureBytes(TXS)));
        assertTrue(recs.size() >= 2, "the checkpoint needs transactions");
        recs.remove(1);
        server.overlay(TXS, VerifyRun.gzipRecords(recs));
        final VerifyRun r = runOverHttp();
        final JsonNode c = assertFailure(r, "FAILED", "TX_SET_HASH_MISMATCH", TXS);
        assertEquals(List.of("TX_SET_HASH_MISMATCH"), failureReasons(c));
        // a cross-file mismatch names the source of the file it names, as every other failure does
        assertEquals(server.url(), failures(c).get(0).get("source").asText(), c::toString);
    }

    @Test
    void shouldDetectDroppedResultsRecord() throws Exception {
        final List<byte[]> recs = new ArrayList<>(VerifyRun.records(fixtureBytes(RESULTS)));
        assertTrue(recs.size() >= 2, "the checkpoint needs results");
        recs.remove(0);
        server.overlay(RESULTS, VerifyRun.gzipRecords(recs));
        final VerifyRun r = runOverHttp();
        final JsonNode c = assertFailure(r, "FAILED", "RESULT_SET_HASH_MISMATCH", RESULTS);
        assertEquals(List.of("RESULT_SET_HASH_MISMATCH"), failureReasons(c));
        assertEquals(server.url(), failures(c).get(0).get("source").asText(), c::toString);
    }

    @Test
    void shouldDetectAnotherNetworksArchive() throws Exception {
        final VerifyRun r = runOverHttp(VerifyRun.PUBNET);
        final JsonNode c = assertFailure(r, "FAILED", "WRONG_NETWORK", HAS);
        assertTrue(failureReasons(c).contains("WRONG_NETWORK"));
        // not retryable: the HAS is not downloaded again, and no bucket it names is fetched
        assertEquals(1, server.requests(HAS));
        assertTrue(server.requestLog().stream().noneMatch(l -> l.contains("bucket/")), server.requestLog()::toString);
    }

    @Test
    void shouldReportABucketNoSourceHas() throws Exception {
        final ObjectNode has = hasJson();
        final ObjectNode level = (ObjectNode) has.get("currentBuckets").get(1);
        final String replaced = level.get("curr").asText();
        final String missing = someOtherHash();
        level.put("curr", missing);
        server.overlay(HAS, json(has));
        final String missingPath = ArchivePaths.bucket(missing);
        final VerifyRun r = runOverHttp();
        // the bucket-list hash no longer matches the header either, so the checkpoint FAILED (not only INCOMPLETE)
        final JsonNode c = assertFailure(r, "FAILED", "MISSING_FILE", missingPath);
        assertTrue(failures(c).stream().anyMatch(f -> f.get("reason").asText().equals("BUCKET_LIST_HASH_MISMATCH")
                && f.get("file").asText().equals(HAS) && f.get("source").asText().equals(server.url())),
                c::toString);
        assertEquals(2, failureReasons(c).size(), c::toString);
        assertEquals(1, server.requests(missingPath));
        assertEquals(0, server.requests(ArchivePaths.bucket(replaced)));
    }

    @Test
    void shouldReportAMergeOutputNoSourceHasAsIncomplete() throws Exception {
        final ObjectNode has = hasJson();
        // a pending merge's output is fetched but is not part of the bucket-list hash: only the file is missing
        final ObjectNode level = (ObjectNode) has.get("currentBuckets").get(4);
        final String missing = someOtherHash();
        final ObjectNode next = VerifyRun.JSON.createObjectNode();
        next.put("state", 1);
        next.put("output", missing);
        level.set("next", next);
        server.overlay(HAS, json(has));
        final String missingPath = ArchivePaths.bucket(missing);
        final VerifyRun r = runOverHttp();
        final JsonNode c = assertFailure(r, "INCOMPLETE", "MISSING_FILE", missingPath);
        assertEquals(List.of("MISSING_FILE"), failureReasons(c));
        assertEquals(1, r.summary().get("incomplete").asInt());
        assertEquals(0, r.summary().get("failed").asInt());
    }

    @Test
    void shouldRefuseAHostileBucketName() throws Exception {
        final ObjectNode has = hasJson();
        ((ObjectNode) has.get("currentBuckets").get(3)).put("snap", "../../x");
        server.overlay(HAS, json(has));
        final VerifyRun r = runOverHttp();
        final JsonNode c = assertFailure(r, "FAILED", "HOSTILE_NAME", HAS);
        assertEquals(List.of("HOSTILE_NAME"), failureReasons(c));
        assertTrue(server.requestLog().stream().noneMatch(l -> l.contains("..")), server.requestLog()::toString);
        assertTrue(server.requestLog().stream().noneMatch(l -> l.contains("bucket/")), server.requestLog()::toString);
        assertEquals(1, server.requests(HAS));
    }

    @Test
    void shouldDetectMalformedHasJson() throws Exception {
        final byte[] good = fixtureBytes(HAS);
        server.overlay(HAS, Arrays.copyOf(good, good.length / 2));
        final VerifyRun r = runOverHttp();
        final JsonNode c = assertFailure(r, "FAILED", "MALFORMED_JSON", HAS);
        assertEquals(List.of("MALFORMED_JSON"), failureReasons(c));
    }
}
