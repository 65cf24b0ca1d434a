package io.historystreams.service;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.Checkpoint;
import io.historystreams.archive.FileType;
import io.historystreams.cli.Main;
import io.historystreams.testing.FaultyArchiveServer;
import io.historystreams.testing.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fault catalogue: {@code ingest} (in-process, against a real broker) over a loopback archive that injects one
 * fault per checkpoint. Transient faults end VERIFIED; permanent ones end as a failure naming the file, the source
 * and the reason; a healthy second source replaces a bad first one. Retries are made fast through the settings
 * ({@code checkpoint.retry.backoff.ms}, {@code fetch.retry.base.ms}, {@code --read-timeout}), not by changing them.
 */
class FaultCatalogueTest extends WithEmbeddedBroker {
    /** What each test saw, printed as the fault table at the end of the class. */
    static final List<String> TABLE = new ArrayList<>();

    @TempDir
    Path dir;

    @AfterAll
    static void printTable() {
        TABLE.forEach(l -> System.out.println("FAULT-TABLE " + l));
    }

    static String file(final FileType t, final long cp) {
        return ArchivePaths.checkpointFile(t, cp);
    }

    /** Runs ingest of checkpoints [0x3f, last] and returns the report's checkpoints by number. */
    private Map<Long, JsonNode> ingest(final String app, final long last, final StringWriter output,
            final String... archives) throws Exception {
        final Path report = dir.resolve(app + "-report.json");
        final List<String> a = new ArrayList<>(List.of("ingest"));
        for (final String u : archives) {
            a.addAll(List.of("--archive", u));
        }
        a.addAll(List.of("--from", "1", "--to", Long.toString(last), "--network-passphrase",
                "Test SDF Network ; September 2015", "--bootstrap-servers", broker.bootstrapServers(),
                "--application-id", app, "-D", "topic.prefix=" + app + ".", "--data-dir", dir.resolve(app).toString(),
                "--http-port", "-1", "--schema-registry-url", "mock://" + app, "--report", report.toString(),
                "--quiet", "--timeout", "150", "--max-attempts", "4", "--read-timeout", "3",
                "-D", "fetch.retry.base.ms=20", "-D", "checkpoint.max.attempts=3",
                "-D", "checkpoint.retry.backoff.ms=300", "--stream-threads", "1", "--partitions", "2"));
        final StringWriter out = output == null ? new StringWriter() : output;
        final int code;
        try (PrintWriter pw = new PrintWriter(out, true)) {
            code = Main.run(pw, pw, a.toArray(String[]::new));
        }
        assertTrue(Files.exists(report), "ingest wrote its report (exit " + code + "): " + out);
        final JsonNode r = new ObjectMapper().readTree(report.toFile());
        final Map<Long, JsonNode> byCp = new HashMap<>();
        r.get("checkpoints").forEach(n -> byCp.put(n.get("checkpoint").asLong(), n));
        assertEquals(Checkpoint.range(1, last).size(), byCp.size());
        assertEquals(0, r.get("summary").get("givenUp").asInt(), "nothing pending or lost: " + r);
        assertEquals(byCp.values().stream().allMatch(n -> n.get("status").asText().equals("VERIFIED")) ? 0 : 1, code,
                "exit code matches the report: " + out);
        return byCp;
    }

    private static void assertVerified(final Map<Long, JsonNode> report, final long cp, final String fault) {
        final JsonNode n = report.get(cp);
        assertEquals("VERIFIED", n.get("status").asText(), fault + " on checkpoint " + Checkpoint.hex(cp) + ": " + n);
    }

    private static JsonNode assertFailed(final Map<Long, JsonNode> report, final long cp, final String fault,
            final String expectedFile, final String expectedSource, final String... reasons) {
        final JsonNode n = report.get(cp);
        assertEquals("FAILED", n.get("status").asText(), fault + " on " + Checkpoint.hex(cp) + ": " + n);
        assertNotNull(n.get("reason"), fault + ": a reason");
        assertTrue(List.of(reasons).contains(n.get("reason").asText()), fault + ": reason " + n);
        assertNotNull(n.get("file"), fault + ": the file is named: " + n);
        assertTrue(n.get("file").asText().startsWith(expectedFile), fault + ": names " + expectedFile + ": " + n);
        assertNotNull(n.get("source"), fault + ": the source is named: " + n);
        assertTrue(n.get("source").asText().startsWith(expectedSource), fault + ": source " + n);
        return n;
    }

    @Test
    @Timeout(180)
    void transientFaultsEndVerified() throws Exception {
        final long last = 0x2ff; // 12 checkpoints, one fault each on most of them
        try (FaultyArchiveServer s = FaultyArchiveServer.start(Fixtures.testnetSmall())) {
            final Map<String, Long> faults = new java.util.LinkedHashMap<>();
            s.on(file(FileType.LEDGER, 0x3f)).status(500).times(2);
            faults.put("500 x2 (ledger)", 0x3fL);
            s.on(file(FileType.TRANSACTIONS, 0x7f)).status(503).times(2);
            faults.put("503 x2 (transactions)", 0x7fL);
            s.on(file(FileType.LEDGER, 0xbf)).status(429, "Retry-After", "1");
            faults.put("429 Retry-After: 1 (ledger)", 0xbfL);
            // absent for the first checkpoint attempt (404 is "not present", no per-file retry), there later
            s.on(file(FileType.RESULTS, 0xff)).status(404).times(2);
            faults.put("404 then present (results)", 0xffL);
            s.on(file(FileType.LEDGER, 0x13f)).reset(1000).times(2);
            faults.put("reset mid-body x2 (ledger)", 0x13fL);
            s.on(file(FileType.TRANSACTIONS, 0x17f)).truncate(700).times(2);
            faults.put("body cut short x2 (transactions)", 0x17fL);
            s.on(file(FileType.SCP, 0x1bf)).trickle(16_000); // ~1.3 s of a 20 KB file, under the 3 s idle timeout
            faults.put("slow trickle 16 KB/s (scp)", 0x1bfL);
            s.on(file(FileType.HAS, 0x1ff)).status(503).then(new FaultyArchiveServer.Fault.Reset(10));
            faults.put("503 then reset (HAS)", 0x1ffL);
            s.on(file(FileType.LEDGER, 0x23f)).drop().status(500);
            faults.put("dropped connection then 500 (ledger)", 0x23fL);
            s.on(file(FileType.LEDGER, 0x27f)).delay(java.time.Duration.ofMillis(1500));
            faults.put("delay 1.5 s (ledger)", 0x27fL);
            final long t0 = System.nanoTime();
            final Map<Long, JsonNode> r = ingest("transient", last, null, s.url());
            final double secs = (System.nanoTime() - t0) / 1e9;
            for (final long cp : Checkpoint.range(1, last)) {
                assertVerified(r, cp, "transient faults");
            }
            faults.forEach((f, cp) -> TABLE.add(String.format("%s | 1 | VERIFIED (cp %s) | 0 | 0", f,
                    Checkpoint.hex(cp))));
            assertTrue(s.faultsServed() >= 14, "the faults were served: " + s.faultsServed());
            TABLE.add(String.format("(transient run: %d checkpoints verified, %d faults served, %.1f s)", r.size(),
                    s.faultsServed(), secs));
        }
    }

    @Test
    @Timeout(180)
    void permanentFaultsFailNamingFileSourceAndReason() throws Exception {
        final long last = 0x1ff;
        try (FaultyArchiveServer s = FaultyArchiveServer.start(Fixtures.testnetSmall())) {
            final String src = s.url();
            s.on(file(FileType.LEDGER, 0x7f)).flipByte(200).forever();
            // decompresses to 256 MiB: a record of 60 MiB (under the record cap) whose bytes are zeros
            s.on(file(FileType.TRANSACTIONS, 0xff)).body(FaultyArchiveServer.gzipBomb(256L << 20, 60 << 20))
                    .forever();
            final byte[] has = Files.readAllBytes(Fixtures.testnetSmall().resolve(ArchivePaths.has(0x17f)));
            s.on(file(FileType.HAS, 0x17f)).body(FaultyArchiveServer.hasWithBucketNames(has,
                    "../../../../../etc/passwd", "/etc/shadow", "bucket/../../x", "ZZ" + "0".repeat(62))).forever();
            s.on(file(FileType.RESULTS, 0x1bf)).status(404).forever();
            final Runtime rt = Runtime.getRuntime();
            final Map<Long, JsonNode> r = ingest("permanent", last, null, src);
            final JsonNode flipped = assertFailed(r, 0x7f, "flipped byte", file(FileType.LEDGER, 0x7f), src,
                    "CORRUPT_GZIP", "HEADER_HASH_MISMATCH", "MALFORMED_XDR", "BAD_FRAMING");
            final JsonNode bomb = assertFailed(r, 0xff, "gzip bomb", file(FileType.TRANSACTIONS, 0xff), src,
                    "TOO_LARGE", "BAD_FRAMING", "MALFORMED_XDR", "TX_SET_HASH_MISMATCH", "WRONG_LEDGER_SET");
            final JsonNode hostile = assertFailed(r, 0x17f, "hostile bucket names", file(FileType.HAS, 0x17f), src,
                    "HOSTILE_NAME", "INVALID_HAS");
            final JsonNode missing = assertFailed(r, 0x1bf, "permanent 404", file(FileType.RESULTS, 0x1bf), src,
                    "MISSING_FILE");
            // the successor of the corrupt ledger file anchors its chain on that file: it fails too, naming it
            final JsonNode successor = assertFailed(r, 0xbf, "successor of a flipped ledger",
                    file(FileType.LEDGER, 0x7f), src, "HEADER_HASH_MISMATCH", "CORRUPT_GZIP", "MALFORMED_XDR",
                    "BAD_FRAMING", "CHAIN_LINK_BROKEN");
            // ... and says that it is the previous checkpoint's file, as verify does
            assertTrue(successor.get("reason").asText().equals("CHAIN_LINK_BROKEN") || successor.get("detail").asText()
                    .contains("the link to the previous checkpoint cannot be checked, its ledger file failed: "),
                    successor::toString);
            for (final long cp : List.of(0x3fL, 0x13fL, 0x1ffL)) {
                assertVerified(r, cp, "healthy neighbour");
            }
            // nothing outside the archive was requested for the hostile names
            assertFalse(s.requestLog().stream().anyMatch(p -> p.contains("etc") || p.contains("..")),
                    "hostile names never became requests: " + s.requestLog());
            assertTrue(rt.totalMemory() - rt.freeMemory() < rt.maxMemory(), "memory");
            TABLE.add("flipped byte, every time (ledger) | " + s.requests(file(FileType.LEDGER, 0x7f))
                    + " fetches | FAILED " + flipped.get("reason").asText() + " naming file+source | 0 | 0");
            TABLE.add("gzip bomb 256 MiB (transactions) | " + s.requests(file(FileType.TRANSACTIONS, 0xff))
                    + " fetches | FAILED " + bomb.get("reason").asText() + " naming file+source | 0 | 0");
            TABLE.add("hostile HAS bucket names | " + s.requests(file(FileType.HAS, 0x17f))
                    + " fetches | FAILED " + hostile.get("reason").asText() + " naming file+source | 0 | 0");
            TABLE.add("permanent 404 (results) | " + s.requests(file(FileType.RESULTS, 0x1bf))
                    + " fetches | FAILED " + missing.get("reason").asText() + " naming file+source | 0 | 0");
        }
    }

    @Test
    @Timeout(180)
    void aHealthySecondSourceReplacesOneServingBadBytes() throws Exception {
        final long last = 0xff;
        try (FaultyArchiveServer bad = FaultyArchiveServer.start(Fixtures.testnetSmall());
                FaultyArchiveServer good = FaultyArchiveServer.start(Fixtures.testnetSmall())) {
            // every checkpoint file and bucket from the first source has a flipped byte
            bad.onRegex("^(history|ledger|transactions|results|scp|bucket)/.*").flipByte(300).forever();
            final Map<Long, JsonNode> r = ingest("failover", last, null, bad.url(), good.url());
            for (final long cp : Checkpoint.range(1, last)) {
                assertVerified(r, cp, "bad first source");
                final List<String> sources = new ArrayList<>();
                r.get(cp).get("sources").forEach(n -> sources.add(n.asText()));
                assertEquals(List.of(good.url()), sources, "every verified file came from the second source");
            }
            assertTrue(bad.faultsServed() > 0, "the bad source was tried");
            TABLE.add("first source flips a byte of every file, second healthy | " + bad.faultsServed()
                    + " bad bodies | VERIFIED, source = second | 0 | 0");
        }
    }
    @Test
    @Timeout(180)
    void aFileThatFailsOnlyACrossFileCheckIsTakenFromTheOtherSourceOnRetry() throws Exception {
        // the first source's transaction file of 0xbf is well formed, but one transaction set in it no longer hashes
        // to its header's txSetHash: its own checks pass (no failover within the fetch), the join's cross-file check
        // fails, and the retry reads from the other source first
        final long last = 0xff;
        final String txs = file(FileType.TRANSACTIONS, 0xbf);
        final byte[] forged = io.historystreams.testing.XdrFiles.transactionsFailingTheirHeader(
                Fixtures.testnetSmall().resolve(txs));
        try (FaultyArchiveServer bad = FaultyArchiveServer.start(Fixtures.testnetSmall());
                FaultyArchiveServer good = FaultyArchiveServer.start(Fixtures.testnetSmall())) {
            bad.on(txs).body(forged).forever();
            final Map<Long, JsonNode> one = ingest("crossfile-one", last, null, bad.url());
            assertFailed(one, 0xbf, "a set that fails its header", txs, bad.url(), "TX_SET_HASH_MISMATCH");
            final Map<Long, JsonNode> r = ingest("crossfile-two", last, null, bad.url(), good.url());
            for (final long cp : Checkpoint.range(1, last)) {
                assertVerified(r, cp, "a cross-file mismatch from the first source");
            }
            final List<String> sources = new ArrayList<>();
            r.get(0xbfL).get("sources").forEach(n -> sources.add(n.asText()));
            assertTrue(sources.contains(good.url()), "0xbf verified from the second source: " + sources);
            assertTrue(good.requests(txs) >= 1, "the other source's copy was read");
            TABLE.add("first source's transaction set fails its header (cross-file), second healthy | "
                    + bad.requests(txs) + " bad bodies | VERIFIED on retry, from the second | 0 | 0");
        }
    }
}
