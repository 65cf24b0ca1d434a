package io.historystreams.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.FileType;
import io.historystreams.testing.FaultyArchiveServer;
import io.historystreams.testing.Fixtures;
import io.historystreams.verify.HistoryArchiveState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static io.historystreams.cli.VerifyRun.path;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * End-to-end {@code verify} over HTTP on loopback ({@link FaultyArchiveServer} serving testnet-small): a clean run,
 * a run through transient faults that must all be retried away, and failover between two sources.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class VerifyCommandHttpTest {
    private static final String BIG_BUCKET = "bucket/b5/c7/cd/"
            + "bucket-b5c7cd74192aa750429bfaa8cde27a41a729643a194fb474be765da982ece22a.xdr.gz";

    @TempDir
    Path tmp;

    @Test
    void shouldVerifyTestnetSmallOverHttp() throws Exception {
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.testnetSmall())) {
            final VerifyRun r = VerifyRun.verify(tmp, "--archive", server.url());
            VerifyCommandLocalTest.assertTestnetSmallComplete(r);
            assertEquals(server.url(), r.report().get("sources").get(0).asText());
            assertEquals(0, server.faultsServed());
            // each file fetched once: root HAS, 157 x (HAS, ledger, transactions, results, scp), 1169 buckets; and
            // the root's own checkpoint's HAS once more at the start, checked to be there (a root naming a ledger
            // the archive has no checkpoint for is refused), and with no --from, the first checkpoint's HAS once
            // more, checked to be there (an archive that starts later is verified from its start)
            assertEquals(1 + 1 + 1 + 157 * 5 + 1169, server.totalRequests(),
                    () -> "requests: " + server.totalRequests());
            assertTrue(server.connectionsAccepted() < 100, () -> "keep-alive not reused: "
                    + server.connectionsAccepted() + " connections");
            for (final JsonNode c : r.checkpoints()) {
                for (final JsonNode f : c.get("files")) {
                    assertEquals(server.url(), f.get("source").asText());
                    assertEquals(1, f.get("attempts").asInt(), f::toString);
                }
            }
        }
    }

    @Test
    void shouldRetryTransientFaultsAndStillVerifyEverything() throws Exception {
        final Map<String, String> faulted = new LinkedHashMap<>();
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.testnetSmall())) {
            final String has = path(FileType.HAS, 0x7ff);
            final String ledger = path(FileType.LEDGER, 0xbff);
            final String txs = path(FileType.TRANSACTIONS, 0x13ff);
            final String results = path(FileType.RESULTS, 0x17ff);
            final String scp = path(FileType.SCP, 0x1bff);
            final long bigSize = Files.size(Fixtures.testnetSmall().resolve(BIG_BUCKET));
            final long resultsSize = Files.size(Fixtures.testnetSmall().resolve(results));
            server.on(has).status(500);
            faulted.put(has, "500");
            server.on(ledger).status(503).status(503, "Retry-After", "1");
            faulted.put(ledger, "503 twice");
            server.on(txs).status(429, "Retry-After", "1");
            faulted.put(txs, "429 Retry-After: 1");
            server.on(BIG_BUCKET).reset(bigSize / 2);
            faulted.put(BIG_BUCKET, "reset mid-body");
            server.on(results).truncate(resultsSize / 2);
            faulted.put(results, "truncated body");
            server.on(scp).hang();
            faulted.put(scp, "hang past the read timeout");

            final long start = System.nanoTime();
            final VerifyRun r = VerifyRun.verify(tmp, "--archive", server.url(), "--read-timeout", "2");
            final double secs = (System.nanoTime() - start) / 1e9;
            VerifyCommandLocalTest.assertTestnetSmallComplete(r);
            assertEquals(7, server.faultsServed(), () -> "faults served: " + server.requestLog().stream()
                    .filter(l -> !l.endsWith("200")).toList());
            final Map<String, JsonNode> outcomes = new LinkedHashMap<>();
            for (final JsonNode c : r.checkpoints()) {
                for (final JsonNode f : c.get("files")) {
                    outcomes.putIfAbsent(f.get("path").asText(), f);
                }
            }
            for (final Map.Entry<String, String> e : faulted.entrySet()) {
                final String p = e.getKey();
                final int expected = p.equals(ledger) ? 3 : 2;
                assertEquals(expected, server.requests(p), () -> p + " (" + e.getValue() + ") requests");
                final JsonNode f = outcomes.get(p);
                assertEquals("VERIFIED", f.get("status").asText(), f::toString);
                assertEquals(expected, f.get("attempts").asInt(), () -> e.getValue() + ": " + f);
                assertFalse(f.has("blamed"), () -> "a transient fault blamed the source: " + f);
            }
            // the 429's and the 503's Retry-After (1 s each) and the 2 s read timeout were waited for, not more
            assertTrue(secs >= 2.0, () -> "run took " + secs + " s");
            assertTrue(secs < 60, () -> "run took " + secs + " s");
        }
    }

    @Test
    void aCheckpointThatFailedOnlyOnFetchesIsToldApartFromDamage() throws Exception {
        // a trial: a server failing on some files read as so many checkpoints failed, as damage would
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.pubnetGenesis())) {
            server.on(path(FileType.RESULTS, 0x3f)).status(500).times(5);
            server.on(path(FileType.LEDGER, 0x7f)).flipByte(10).times(5);
            final VerifyRun r = VerifyRun.verify(tmp, "--archive", server.url(), "--max-attempts", "2");
            r.assertExit(ExitCode.VERIFICATION_FAILED);
            assertTrue(r.out.contains("note: 1 of the failed checkpoints failed only because files could not be "
                    + "fetched (FETCH_FAILED"), r::describe);
            assertTrue(r.summary().get("notes").toString().contains("1 of the failed checkpoints failed only"),
                    r::describe);
        }
    }

    @Test
    void shouldFailOverToTheSecondSourceAndBlameTheFirst() throws Exception {
        final Path fixture = Fixtures.testnetSmall();
        final long cp = 0x3ff;
        final String ledger = path(FileType.LEDGER, cp);
        final String has = ArchivePaths.has(cp);
        final String bucket = ArchivePaths.bucket(HistoryArchiveState.parse(Files.readAllBytes(fixture.resolve(has)),
                has).buckets().iterator().next().hex());
        try (FaultyArchiveServer bad = FaultyArchiveServer.start(fixture);
                FaultyArchiveServer mirror = FaultyArchiveServer.start(null)) {
            // the first source serves flipped bytes for one bucket and one ledger file, every time
            bad.on(bucket).flipByte(-10).forever();
            bad.on(ledger).flipByte(1000).forever();
            // the second source is a partial mirror that holds just those two files (404 for the rest), so the
            // first source stays the preferred one and is the first tried for both files
            mirror.overlay(bucket, Files.readAllBytes(fixture.resolve(bucket)));
            mirror.overlay(ledger, Files.readAllBytes(fixture.resolve(ledger)));

            final VerifyRun r = VerifyRun.verify(tmp, "--archive", bad.url(), "--archive", mirror.url(),
                    "--from", "1000", "--to", "1023", "--concurrency", "1",
                    "--network-passphrase", VerifyRun.TESTNET);
            r.assertExit(ExitCode.OK);
            assertEquals(List.of(bad.url(), mirror.url()), List.of(r.report().get("sources").get(0).asText(),
                    r.report().get("sources").get(1).asText()));
            final JsonNode c = r.checkpoint(cp);
            assertEquals("VERIFIED", c.get("status").asText());
            assertEquals("VERIFIED", c.get("chainLink").asText());
            for (final String p : List.of(bucket, ledger)) {
                final JsonNode f = VerifyRun.file(c, p);
                assertEquals("VERIFIED", f.get("status").asText(), f::toString);
                assertEquals(mirror.url(), f.get("source").asText(), f::toString);
                assertEquals(List.of(bad.url()), List.of(f.get("blamed").get(0).asText()), f::toString);
                assertEquals(1, f.get("blamed").size());
                // one try from the bad source, then the mirror (a content retry goes to the next source first)
                assertEquals(2, f.get("attempts").asInt(), f::toString);
                assertEquals(1, bad.requests(p), p);
                assertEquals(1, mirror.requests(p), p);
            }
            for (final JsonNode f : c.get("files")) {
                final String p = f.get("path").asText();
                if (!p.equals(bucket) && !p.equals(ledger) && f.get("status").asText().equals("VERIFIED")) {
                    assertEquals(bad.url(), f.get("source").asText(), f::toString);
                    assertFalse(f.has("blamed"), f::toString);
                }
            }
        }
    }

    @Test
    void aFileFailingOnlyACrossFileCheckIsReadAgainFromTheOtherSource() throws Exception {
        // the first source's transaction file of 0xbf is well formed, but one set no longer hashes to its header's
        // txSetHash: its own checks pass (no failover within its fetch), the checkpoint's cross-file check fails
        final Path fixture = Fixtures.testnetSmall();
        final String txs = path(FileType.TRANSACTIONS, 0xbf);
        final byte[] forged = io.historystreams.testing.XdrFiles.transactionsFailingTheirHeader(fixture.resolve(txs));
        try (FaultyArchiveServer bad = FaultyArchiveServer.start(fixture);
                FaultyArchiveServer good = FaultyArchiveServer.start(fixture)) {
            bad.on(txs).body(forged).forever();
            final VerifyRun alone = VerifyRun.verify(tmp, "--archive", bad.url(), "--to", "300");
            alone.assertExit(ExitCode.VERIFICATION_FAILED);
            assertEquals(List.of("TX_SET_HASH_MISMATCH"), VerifyRun.failureReasons(alone.checkpoint(0xbf)),
                    alone::describe);
            final VerifyRun both = VerifyRun.verify(tmp, "--archive", bad.url(), "--archive", good.url(), "--to",
                    "300");
            both.assertExit(ExitCode.OK);
            final JsonNode f = VerifyRun.file(both.checkpoint(0xbf), txs);
            assertEquals("VERIFIED", f.get("status").asText(), f::toString);
            assertEquals(good.url(), f.get("source").asText(), f::toString);
            assertEquals(bad.url(), f.get("blamed").get(0).asText(), f::toString);
            assertEquals(2, bad.requests(txs), "once alone, once in the first read of the two-source run");
            assertEquals(1, good.requests(txs));
            // only the file whose copy failed is blamed, though every file of the checkpoint was read again
            for (final JsonNode other : both.checkpoint(0xbf).get("files")) {
                if (!other.get("path").asText().equals(txs)) {
                    assertFalse(other.has("blamed"), other::toString);
                }
            }
        }
    }

    @Test
    void withThreeSourcesTwoServingTheSameBadCopyTheThirdIsRead() throws Exception {
        final Path fixture = Fixtures.testnetSmall();
        final String txs = path(FileType.TRANSACTIONS, 0xbf);
        final byte[] forged = io.historystreams.testing.XdrFiles.transactionsFailingTheirHeader(fixture.resolve(txs));
        try (FaultyArchiveServer bad1 = FaultyArchiveServer.start(fixture);
                FaultyArchiveServer bad2 = FaultyArchiveServer.start(fixture);
                FaultyArchiveServer good = FaultyArchiveServer.start(fixture)) {
            bad1.on(txs).body(forged).forever();
            bad2.on(txs).body(forged).forever();
            final VerifyRun r = VerifyRun.verify(tmp, "--archive", bad1.url(), "--archive", bad2.url(), "--archive",
                    good.url(), "--to", "300");
            r.assertExit(ExitCode.OK);
            final JsonNode f = VerifyRun.file(r.checkpoint(0xbf), txs);
            assertEquals(good.url(), f.get("source").asText(), f::toString);
            assertEquals(List.of(bad1.url(), bad2.url()), List.of(f.get("blamed").get(0).asText(),
                    f.get("blamed").get(1).asText()), f::toString);
            assertEquals(1, bad1.requests(txs));
            assertEquals(1, bad2.requests(txs));
        }
    }

    @Test
    void shouldFailWhenEverySourceServesBadBytesAndNameThemAll() throws Exception {
        final Path fixture = Fixtures.testnetSmall();
        final long cp = 0x3ff;
        final String ledger = path(FileType.LEDGER, cp);
        try (FaultyArchiveServer a = FaultyArchiveServer.start(fixture);
                FaultyArchiveServer b = FaultyArchiveServer.start(fixture)) {
            a.on(ledger).flipByte(1000).forever();
            b.on(ledger).flipByte(2000).forever();
            final VerifyRun r = VerifyRun.verify(tmp, "--archive", a.url(), "--archive", b.url(),
                    "--from", "1000", "--to", "1023", "--network-passphrase", VerifyRun.TESTNET);
            r.assertExit(ExitCode.VERIFICATION_FAILED);
            final JsonNode c = r.checkpoint(cp);
            assertEquals("FAILED", c.get("status").asText());
            final List<JsonNode> failures = VerifyRun.failures(c);
            assertEquals(1, failures.size(), c::toString);
            final JsonNode f = failures.get(0);
            assertEquals(ledger, f.get("file").asText());
            assertTrue(f.get("detail").asText().contains(a.url()) && f.get("detail").asText().contains(b.url()),
                    f::toString);
            // a, b, then one content retry of each
            assertEquals(2, a.requests(ledger));
            assertEquals(2, b.requests(ledger));
        }
    }
}
