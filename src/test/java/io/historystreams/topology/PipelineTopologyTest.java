package io.historystreams.topology;

import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.Checkpoint;
import io.historystreams.archive.FileType;
import io.historystreams.events.ChainInput;
import io.historystreams.events.ChainLinkStatus;
import io.historystreams.events.CheckpointFailed;
import io.historystreams.events.CheckpointRequest;
import io.historystreams.events.CheckpointVerified;
import io.historystreams.events.Hashes;
import io.historystreams.events.LedgerVerified;
import io.historystreams.events.RequestReason;
import io.historystreams.testing.FaultyArchiveServer;
import io.historystreams.testing.ForgedArchive;
import io.historystreams.testing.Fixtures;
import io.historystreams.verify.Hash;
import org.apache.kafka.streams.KeyValue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.GZIPInputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The whole topology in a TopologyTestDriver, against the real fixture archives. */
class PipelineTopologyTest {
    private static final String TESTNET = "Test SDF Network ; September 2015";

    @TempDir
    Path dir;

    @Test
    void shouldVerifyEveryCheckpointOfTestnetSmallOnceWithItsLedgers() throws Exception {
        final String source = Fixtures.testnetSmall().toString();
        try (PipelineHarness h = new PipelineHarness(dir)) {
            final List<Long> cps = Checkpoint.range(1, 10047);
            assertEquals(157, cps.size());
            for (final long cp : cps) {
                h.request(source, cp, TESTNET);
            }
            assertTrue(h.runUntil(() -> h.verified.size() + h.failures.size() >= 157, Duration.ofMinutes(3)),
                    () -> "only " + h.verified.size() + " verified, " + h.failures.size() + " failed");
            // a re-sent request for a verified checkpoint produces nothing new
            h.request(source, 0x3ff, TESTNET);
            h.settle(Duration.ofMillis(500), Duration.ofSeconds(20));
            assertEquals(List.of(), h.failures, "no failures");
            assertEquals(157, h.verified.size());
            assertEquals(157, h.verified.stream().map(kv -> kv.key).distinct().count(), "one per checkpoint");
            for (final KeyValue<Long, CheckpointVerified> kv : h.verified) {
                assertEquals(kv.key, kv.value.getCheckpoint());
                assertEquals(kv.key == 63 ? ChainLinkStatus.NOT_APPLICABLE : ChainLinkStatus.VERIFIED,
                        kv.value.getChainLinkedToPrevious());
                if (kv.key % 1024 == 1023) { // every file's sizes, against the fixture's bytes (a sample of them)
                    for (final io.historystreams.events.FileRef f : kv.value.getFiles()) {
                        final Path file = Fixtures.testnetSmall().resolve(f.getPath());
                        assertEquals(Files.size(file), f.getSizeBytes(), f.getPath());
                        final long raw;
                        if (f.getPath().endsWith(".gz")) {
                            try (GZIPInputStream in = new GZIPInputStream(Files.newInputStream(file))) {
                                raw = in.transferTo(java.io.OutputStream.nullOutputStream());
                            }
                        } else {
                            raw = Files.size(file);
                        }
                        assertEquals(raw, f.getRawSizeBytes(), () -> "size decompressed of " + f.getPath());
                    }
                }
            }
            assertEquals(10047, h.ledgers.size());
            final Map<Long, LedgerVerified> bySeq = new HashMap<>();
            for (final KeyValue<Long, LedgerVerified> kv : h.ledgers) {
                assertEquals(kv.key, kv.value.getLedgerSeq());
                assertTrue(bySeq.put(kv.key, kv.value) == null, "duplicate ledger event " + kv.key);
            }
            for (long seq = 1; seq <= 10047; seq++) {
                final LedgerVerified l = bySeq.get(seq);
                assertNotNull(l, "ledger " + seq);
                final byte[] header = bytes(l.getHeaderXdr());
                // the hash is SHA-256 of the header XDR carried in the event, and the chain holds
                assertEquals(Hash.sha256(header).hex(), Hashes.hex(l.getHash()), "hash of ledger " + seq);
                if (seq > 1) {
                    assertEquals(Hashes.hex(bySeq.get(seq - 1).getHash()), Hashes.hex(l.getPreviousLedgerHash()));
                }
                if (l.getTransactionSetXdr() != null) {
                    // generalized sets hash to the header's txSetHash on their raw bytes
                    assertEquals(Hashes.hex(l.getTxSetHash()), Hash.sha256(bytes(l.getTransactionSetXdr())).hex());
                }
                if (seq > 1) { // genesis carries all-zero set hashes
                    assertEquals(Hashes.hex(l.getTxSetResultHash()), Hash.sha256(bytes(l.getResultSetXdr())).hex(),
                            "result set of ledger " + seq);
                }
            }
        }
    }

    /**
     * A range is not queued in memory: with one fetch thread and a bound of two per processor, 40 checkpoints requested
     * at once (200 file fetches, then their buckets) keep at most two fetches per processor submitted; the rest waits
     * in the pending stores. (Without the bound: 179 queued at once in one run.)
     */
    @Test
    void shouldKeepFetchesBoundedWhenARangeArrivesAtOnce() throws Exception {
        final String source = Fixtures.testnetSmall().toString();
        try (PipelineHarness h = new PipelineHarness(dir, HistoryTopology.Settings.defaults()
                .withRetries(2, Duration.ofMillis(50)), 1)) {
            assertEquals(PipelineContext.DEFAULT_FETCHES_PER_PROCESSOR, h.ctx.fetchesPerProcessor(), "the default");
            h.ctx.setFetchesPerProcessor(2);
            final List<Long> cps = Checkpoint.range(1, 40 * 64 - 1);
            for (final long cp : cps) {
                h.request(source, cp, TESTNET);
            }
            assertTrue(h.runUntil(() -> h.verified.size() + h.failures.size() >= cps.size(), Duration.ofMinutes(2)),
                    () -> "only " + h.verified.size() + " verified, " + h.failures.size() + " failed");
            assertEquals(List.of(), h.failures);
            assertEquals(cps, h.verified.stream().map(kv -> kv.key).sorted().toList());
            // six fetch processors (five file types and the buckets), two each
            assertTrue(h.maxFetches > 0 && h.maxFetches <= 12, "fetches queued or running at most " + h.maxFetches);
        }
    }

    @Test
    void shouldReportCorruptFileAsFailureAndNeverAsVerified() throws Exception {
        final long cp = 0x3ff;
        final String ledgerPath = ArchivePaths.checkpointFile(FileType.LEDGER, cp);
        final byte[] original = Files.readAllBytes(Fixtures.testnetSmall().resolve(ledgerPath));
        final byte[] raw = new GZIPInputStream(new java.io.ByteArrayInputStream(original)).readAllBytes();
        raw[200] ^= 0x01;
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.testnetSmall());
                PipelineHarness h = new PipelineHarness(dir)) {
            server.overlay(ledgerPath, gzip(raw));
            h.request(server.url(), cp, TESTNET);
            assertTrue(h.runUntil(() -> !h.failures.isEmpty(), Duration.ofSeconds(60)));
            h.settle(Duration.ofMillis(300), Duration.ofSeconds(10));
            assertEquals(List.of(), h.verified);
            assertEquals(List.of(), h.ledgers);
            assertEquals(1, h.failures.size());
            final CheckpointFailed f = h.failures.get(0).value;
            assertEquals(cp, f.getCheckpoint());
            assertEquals("HEADER_HASH_MISMATCH", f.getReason());
            assertEquals(ledgerPath, f.getFile());
            assertEquals(server.url(), f.getSource());
            // retryable: the checkpoint was tried again (2 attempts), then reported once
            assertEquals(1, f.getAttempt());
            assertTrue(server.requests(ledgerPath) >= 2, "re-fetched on the retry");
        }
    }

    @Test
    void shouldCheckTheEmptySetOfAnUpgradeLedgerStartingACheckpointInThePreviousProtocolsForm() throws Exception {
        // pubnet-genesis re-chained with ledger 64 (the first of 0x7f) upgrading to protocol 20 and carrying the
        // empty set in protocol 20's form instead of ledger 63's (1); its assembly did not know ledger 63's protocol
        final io.historystreams.testing.ForgedArchive a = io.historystreams.testing.ForgedArchive
                .copyOfPubnetGenesis(dir.resolve("archive")).upgrade(64, 20).emptySetIn(64, 20).write();
        try (PipelineHarness h = new PipelineHarness(dir.resolve("pipeline"))) {
            final String source = a.root().toString();
            h.request(source, 63, null);
            h.request(source, 127, null);
            assertTrue(h.runUntil(() -> h.verified.size() + h.failures.size() >= 2, Duration.ofSeconds(60)));
            h.settle(Duration.ofMillis(300), Duration.ofSeconds(10));
            assertEquals(List.of(63L), h.verified.stream().map(kv -> kv.key).toList());
            assertEquals(1, h.failures.size());
            final CheckpointFailed f = h.failures.get(0).value;
            assertEquals(127, f.getCheckpoint());
            assertEquals("TX_SET_HASH_MISMATCH", f.getReason());
            assertTrue(f.getDetail().contains("ledger 64"), f::getDetail);
        }
    }

    @Test
    void shouldCheckATransactionSetsFormAndThePreviousLedgerItNames() throws Exception {
        // pubnet-genesis re-chained: ledger 64 (the first of 0x7f) upgrades to protocol 20 and carries a generalized
        // set, built after the upgrade instead of before it; checkpoint 0x3f's ledger 10 has a set naming another
        // previous ledger than its header. Each set's hash is its header's txSetHash
        final Hash other = Hash.sha256(new byte[] {5});
        final io.historystreams.testing.ForgedArchive a = io.historystreams.testing.ForgedArchive
                .copyOfPubnetGenesis(dir.resolve("archive")).upgrade(64, 20).emptyEntry(64, true)
                .emptyEntry(10, false).entryNaming(10, other).write();
        try (PipelineHarness h = new PipelineHarness(dir.resolve("pipeline"))) {
            final String source = a.root().toString();
            h.request(source, 63, null);
            h.request(source, 127, null);
            assertTrue(h.runUntil(() -> h.failures.size() >= 2, Duration.ofSeconds(60)));
            h.settle(Duration.ofMillis(300), Duration.ofSeconds(10));
            assertEquals(List.of(), h.verified);
            final Map<Long, CheckpointFailed> byCheckpoint = new java.util.TreeMap<>();
            h.failures.forEach(kv -> byCheckpoint.put(kv.value.getCheckpoint(), kv.value));
            assertEquals("TX_SET_HASH_MISMATCH", byCheckpoint.get(63L).getReason());
            assertTrue(byCheckpoint.get(63L).getDetail().contains("ledger 10 transaction set names previous ledger "
                    + "hash " + other.shortHex()), byCheckpoint.get(63L)::getDetail);
            assertEquals("TX_SET_HASH_MISMATCH", byCheckpoint.get(127L).getReason());
            assertTrue(byCheckpoint.get(127L).getDetail().contains("ledger 64 has a generalized transaction set, but "
                    + "the previous ledger's protocol 1 makes legacy sets"), byCheckpoint.get(127L)::getDetail);
        }
    }

    @Test
    void shouldRetryACheckpointWhoseFileAppearsLater() throws Exception {
        final long cp = 0x3ff;
        final String txPath = ArchivePaths.checkpointFile(FileType.TRANSACTIONS, cp);
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.testnetSmall());
                PipelineHarness h = new PipelineHarness(dir,
                        HistoryTopology.Settings.defaults().withRetries(3, Duration.ofMillis(200)))) {
            // not there at first (404 on every try of the first attempt), published a moment later
            server.on(txPath).status(404).times(2);
            h.request(server.url(), cp, TESTNET);
            assertTrue(h.runUntil(() -> !h.verified.isEmpty() || !h.failures.isEmpty(), Duration.ofSeconds(60)));
            assertEquals(List.of(), h.failures);
            assertEquals(cp, h.verified.get(0).key);
            assertTrue(server.requests(txPath) >= 3, "fetched again after the 404s");
        }
    }

    @Test
    void shouldKeepTryingATailedCheckpointWhoseFilesComeAfterItsAttemptsRanOut() throws Exception {
        // a live archive's root state can name a checkpoint before its files are all uploaded: the tail requests it
        // once, so after its attempts its failure is said (and counted), and it is still tried again until verified
        // (it was failed for good, a gap of 64 ledgers in the verified stream)
        final long cp = 0x3ff;
        final String txPath = ArchivePaths.checkpointFile(FileType.TRANSACTIONS, cp);
        final java.util.concurrent.atomic.AtomicInteger failed = new java.util.concurrent.atomic.AtomicInteger();
        final java.util.concurrent.atomic.AtomicInteger verifiedCount = new java.util.concurrent.atomic.AtomicInteger();
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.testnetSmall());
                PipelineHarness h = new PipelineHarness(dir,
                        HistoryTopology.Settings.defaults().withRetries(2, Duration.ofMillis(50)))) {
            h.ctx.setOutcomes(new PipelineContext.Outcomes() {
                @Override
                public void verified(final long checkpoint) {
                    verifiedCount.incrementAndGet();
                }

                @Override
                public void failed(final long checkpoint) {
                    failed.incrementAndGet();
                }
            });
            server.on(txPath).status(404).times(4); // two attempts, and two of the tries after them
            h.requests.pipeInput(cp, CheckpointRequest.newBuilder(PipelineHarness.requestFor(server.url(), cp, TESTNET))
                    .setReason(RequestReason.TAIL).build());
            assertTrue(h.runUntil(() -> !h.verified.isEmpty(), Duration.ofSeconds(60)), () -> "failures: " + h.failures);
            assertEquals(1, h.failures.size(), "the failure is said once, not at every later try");
            assertEquals("MISSING_FILE", h.failures.get(0).value.getReason());
            assertEquals(cp, h.verified.get(0).key);
            assertEquals(1, failed.get(), "counted in history_checkpoints_failed_total (it stayed 0)");
            assertEquals(1, verifiedCount.get());
            assertTrue(server.requests(txPath) >= 5);
        }
        // a range's request (ingest) is not tried again after its attempts
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.testnetSmall());
                PipelineHarness h = new PipelineHarness(dir.resolve("range"),
                        HistoryTopology.Settings.defaults().withRetries(2, Duration.ofMillis(50)))) {
            server.on(txPath).status(404).times(4);
            h.request(server.url(), cp, TESTNET);
            assertTrue(h.runUntil(() -> !h.failures.isEmpty(), Duration.ofSeconds(60)));
            h.settle(Duration.ofMillis(500), Duration.ofSeconds(10));
            assertEquals(List.of(), h.verified);
            assertEquals(2, server.requests(txPath));
        }
    }

    @Test
    void shouldAskATailedArchiveAgainForAnScpFileItsPreviousCheckpointHas() throws Exception {
        // SCP files are optional, so a 404 is an answer; but a tailed checkpoint is verified for good once, and a
        // passing 404 (a CDN's cached one, a file not there yet) left its events and mirror without the file for good
        final long cp = 0x3ff;
        final String scpPath = ArchivePaths.checkpointFile(FileType.SCP, cp);
        final HistoryTopology.Settings settings = HistoryTopology.Settings.defaults().withRetries(3, Duration.ofMillis(50));
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.testnetSmall());
                PipelineHarness h = new PipelineHarness(dir.resolve("passing"), settings)) {
            server.on(scpPath).status(404).times(2);
            h.requests.pipeInput(cp, CheckpointRequest.newBuilder(PipelineHarness.requestFor(server.url(), cp, TESTNET))
                    .setReason(RequestReason.TAIL).build());
            assertTrue(h.runUntil(() -> !h.verified.isEmpty(), Duration.ofSeconds(60)), () -> "failures: " + h.failures);
            assertEquals(List.of(), h.failures);
            assertTrue(h.verified.get(0).value.getFiles().stream().anyMatch(f -> f.getPath().equals(scpPath)),
                    () -> "the SCP file served at the third attempt is among the verified files: "
                            + h.verified.get(0).value.getFiles().stream().map(f -> f.getPath()).toList());
            assertEquals(3, server.requests(scpPath));
        }
        // a checkpoint of a live archive with no SCP file while its predecessor has one: absent at the last attempt
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.testnetSmall());
                PipelineHarness h = new PipelineHarness(dir.resolve("absent"), settings)) {
            server.on(scpPath).status(404).forever();
            h.requests.pipeInput(cp, CheckpointRequest.newBuilder(PipelineHarness.requestFor(server.url(), cp, TESTNET))
                    .setReason(RequestReason.TAIL).build());
            assertTrue(h.runUntil(() -> !h.verified.isEmpty(), Duration.ofSeconds(60)), () -> "failures: " + h.failures);
            assertEquals(List.of(), h.failures, "an absent SCP file is not a failure");
            assertTrue(h.verified.get(0).value.getFiles().stream().noneMatch(f -> f.getPath().equals(scpPath)));
            assertEquals(3, server.requests(scpPath));
        }
        // an archive without SCP files (early pubnet), tailed: its predecessor has none either, so absent at once
        final String genesisScp = ArchivePaths.checkpointFile(FileType.SCP, 0x7f);
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.pubnetGenesis());
                PipelineHarness h = new PipelineHarness(dir.resolve("none"), settings)) {
            h.requests.pipeInput(0x7fL, CheckpointRequest.newBuilder(
                    PipelineHarness.requestFor(server.url(), 0x7f, null)).setReason(RequestReason.TAIL).build());
            assertTrue(h.runUntil(() -> !h.verified.isEmpty() || !h.failures.isEmpty(), Duration.ofSeconds(60)));
            assertEquals(List.of(), h.failures);
            assertEquals(1, server.requests(genesisScp));
        }
        // a range's request (ingest of history) takes the first answer
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.testnetSmall());
                PipelineHarness h = new PipelineHarness(dir.resolve("range"), settings)) {
            server.on(scpPath).status(404).times(1);
            h.request(server.url(), cp, TESTNET);
            assertTrue(h.runUntil(() -> !h.verified.isEmpty() || !h.failures.isEmpty(), Duration.ofSeconds(60)));
            assertEquals(List.of(), h.failures);
            assertEquals(1, server.requests(scpPath));
        }
    }

    @Test
    void shouldReportMissingBucketsAsIncompleteNotHang() throws Exception {
        final Path archive = Fixtures.testnetP24Hot();
        try (PipelineHarness h = new PipelineHarness(dir)) {
            h.request(archive.toString(), 63, TESTNET);
            h.request(archive.toString(), 127, TESTNET);
            final List<String> logged = io.historystreams.testing.Logs.during(RequestGate.class,
                    () -> assertTrue(h.runUntil(() -> h.verified.size() + h.failures.size() >= 2,
                            Duration.ofSeconds(60)))).stream()
                    .map(e -> e.getLevel() + " " + e.getFormattedMessage()).toList();
            // a failure for good is a WARN (log alerting saw none: every line of a failing run was INFO)
            assertTrue(logged.stream().anyMatch(l -> l.startsWith("WARN checkpoint 63 failed after ")
                    && l.contains(" attempt(s): MISSING_FILE bucket/")), logged::toString);
            assertEquals(1, h.verified.size());
            assertEquals(127L, h.verified.get(0).key);
            assertEquals(1, h.failures.size());
            final CheckpointFailed f = h.failures.get(0).value;
            assertEquals(63L, f.getCheckpoint());
            assertEquals("MISSING_FILE", f.getReason());
            assertTrue(f.getDetail().startsWith("incomplete"), f.getDetail());
            final Set<String> missing = new HashSet<>();
            for (final String line : f.getFailures()) {
                assertTrue(line.startsWith("MISSING_FILE bucket/"), line);
                missing.add(line.split(" ")[1]);
            }
            assertEquals(6, missing.size());
            for (final String p : missing) {
                assertTrue(!Files.exists(archive.resolve(p)), p + " exists");
            }
        }
    }

    @Test
    void shouldCheckTheChainWhicheverNeighbourCompletesFirst() throws Exception {
        final String source = Fixtures.testnetSmall().toString();
        for (final List<Long> order : List.of(List.of(0x7ffL, 0x83fL), List.of(0x83fL, 0x7ffL))) {
            try (PipelineHarness h = new PipelineHarness(dir.resolve("o" + order.get(0)))) {
                h.request(source, order.get(0), TESTNET);
                assertTrue(h.runUntil(() -> h.verified.size() == 1, Duration.ofSeconds(60)));
                h.request(source, order.get(1), TESTNET);
                assertTrue(h.runUntil(() -> h.verified.size() == 2, Duration.ofSeconds(60)));
                h.settle(Duration.ofMillis(300), Duration.ofSeconds(10));
                assertEquals(List.of(), h.failures, "order " + order);
                for (final KeyValue<Long, CheckpointVerified> kv : h.verified) {
                    assertEquals(ChainLinkStatus.VERIFIED, kv.value.getChainLinkedToPrevious());
                    assertTrue(kv.value.getFiles().stream().anyMatch(f -> f.getPath().startsWith("bucket/")));
                }
                assertEquals(128, h.ledgers.size());
            }
        }
    }

    @Test
    void shouldStillWriteEveryDownloadedEventAndSendEachCheckpointThroughTheChainOnce() throws Exception {
        // the join gets its inputs inside the task; the downloaded topics are for consumers and must still carry one
        // event per file; the chain check gets each assembled checkpoint once, keyed by archive, and passes it back
        final String source = Fixtures.testnetSmall().toString();
        final List<Long> cps = List.of(63L, 127L, 191L);
        try (PipelineHarness h = new PipelineHarness(dir)) {
            for (final long cp : cps) {
                h.request(source, cp, TESTNET);
            }
            assertTrue(h.runUntil(() -> h.verified.size() == 3, Duration.ofSeconds(60)), () -> h.failures.toString());
            h.settle(Duration.ofMillis(300), Duration.ofSeconds(10));
            for (final Topic<Long, ?> t : List.of(h.topics.hasDownloaded, h.topics.ledgersDownloaded,
                    h.topics.transactionsDownloaded, h.topics.resultsDownloaded, h.topics.scpDownloaded)) {
                final List<Long> keys = h.driver.createOutputTopic(t.name(), t.keySerde().deserializer(),
                        t.valueSerde().deserializer()).readKeyValuesToList().stream().map(kv -> kv.key).sorted()
                        .toList();
                assertEquals(cps, keys, t.name());
            }
            final List<KeyValue<String, ChainInput>> inputs = h.driver.createOutputTopic(
                    h.topics.chainInputs.name(), h.topics.chainInputs.keySerde().deserializer(),
                    h.topics.chainInputs.valueSerde().deserializer()).readKeyValuesToList();
            assertEquals(cps, inputs.stream().map(kv -> kv.value.getCandidate().getCheckpoint()).sorted().toList());
            for (final KeyValue<String, ChainInput> kv : inputs) {
                assertEquals(ChainLinker.KEY, kv.key, "one key: one task checks the chain");
            }
            final List<Long> verdicts = h.driver.createOutputTopic(h.topics.chainVerdicts.name(),
                    h.topics.chainVerdicts.keySerde().deserializer(), h.topics.chainVerdicts.valueSerde()
                            .deserializer()).readKeyValuesToList().stream().map(kv -> kv.key).sorted().toList();
            assertEquals(cps, verdicts, "passed once each, keyed by checkpoint");
            assertEquals(List.of(), h.failures);
        }
    }

    @Test
    void shouldVerifyTheHonestChainWhenTheFirstMirrorServesAForgedSegment() throws Exception {
        // a trial's case: the first mirror serves checkpoints 0xff and after re-chained from a first header that
        // does not link (its other files are the honest mirror's); the forged 0xff fails and is read again from the
        // honest mirror, while the forged 0x13f links to the forged 0xff. It was verified, then found broken.
        final Path forged = dir.resolve("forged");
        final byte[] elsewhere = new byte[32];
        java.util.Arrays.fill(elsewhere, (byte) 0x11);
        ForgedArchive.ledgersAndTransactionsOf(Fixtures.testnetSmall(), forged, 0x1ff).linkTo(192, Hash.of(elsewhere))
                .write().copyTheRestFrom(Fixtures.testnetSmall());
        final Path honest = Fixtures.testnetSmall();
        final List<Long> cps = Checkpoint.range(1, 0x1ff);
        // a backoff of 10 minutes: the next source is read at once after a bad copy (each forged checkpoint waited a
        // backoff, one after the other)
        try (PipelineHarness h = new PipelineHarness(dir.resolve("run"),
                HistoryTopology.Settings.defaults().withRetries(3, Duration.ofMinutes(10)))) {
            for (final long cp : cps) {
                h.request(List.of(forged.toString(), honest.toString()), cp, TESTNET, cp != cps.get(0));
            }
            assertTrue(h.runUntil(() -> h.verified.size() + h.failures.size() >= cps.size(), Duration.ofSeconds(90)),
                    () -> h.verified.size() + " verified, failures " + h.failures);
            h.settle(Duration.ofMillis(500), Duration.ofSeconds(20));
            // the forged copies were read, and each failed its link to the verified copy before it (they are tried
            // one after the other: a checkpoint waits for the verdict of its predecessor)
            final List<CheckpointFailed> attempts = h.driver.createOutputTopic(h.topics.attemptFailures.name(),
                    h.topics.attemptFailures.keySerde().deserializer(), h.topics.attemptFailures.valueSerde()
                            .deserializer()).readValuesToList();
            assertEquals(List.of(0xffL, 0x13fL, 0x17fL, 0x1bfL, 0x1ffL), attempts.stream()
                    .map(CheckpointFailed::getCheckpoint).sorted().toList(), attempts::toString);
            for (final CheckpointFailed f : attempts) {
                assertEquals("CHAIN_LINK_BROKEN", f.getReason());
                assertEquals(forged.toString(), f.getSource());
            }
            assertEquals(List.of(), h.failures);
            assertEquals(cps, h.verified.stream().map(kv -> kv.key).toList(), "each once, in chain order");
            for (int i = 1; i < h.verified.size(); i++) {
                assertEquals(h.verified.get(i - 1).value.getLastLedgerHash(),
                        h.verified.get(i).value.getFirstPreviousLedgerHash(), "link to " + cps.get(i));
            }
            for (final KeyValue<Long, CheckpointVerified> kv : h.verified) {
                final List<byte[]> headers = io.historystreams.testing.XdrFiles.records(Files.readAllBytes(
                        honest.resolve(ArchivePaths.checkpointFile(FileType.LEDGER, kv.key))));
                assertArrayEquals(java.util.Arrays.copyOf(headers.get(headers.size() - 1), 32),
                        kv.value.getLastLedgerHash().bytes(), "the honest copy of " + kv.key);
            }
            assertEquals(64 * cps.size() - 1, h.ledgers.size());
        }
    }

    @Test
    void shouldFailABreakInTheChainOfOneSourceAndEveryCheckpointAfterItWithoutWaitingABackoffEach() throws Exception {
        // one archive whose 0xff does not link to 0xbf (its ledgers from 192 on re-chained from another previous
        // hash), the checkpoints after it linked to that copy; read again, the one source serves the same links (a
        // trial's single archive with one break took 30 minutes: each checkpoint waited for its predecessor's
        // verdict, then for its own retries' backoff)
        final Path broken = dir.resolve("broken");
        final byte[] elsewhere = new byte[32];
        java.util.Arrays.fill(elsewhere, (byte) 0x11);
        ForgedArchive.ledgersAndTransactionsOf(Fixtures.testnetSmall(), broken, 0x1ff).linkTo(192, Hash.of(elsewhere))
                .write().copyTheRestFrom(Fixtures.testnetSmall());
        final List<Long> cps = Checkpoint.range(1, 0x1ff);
        try (PipelineHarness h = new PipelineHarness(dir.resolve("run"),
                HistoryTopology.Settings.defaults().withRetries(3, Duration.ofMinutes(10)))) {
            for (final long cp : cps) {
                h.request(List.of(broken.toString()), cp, TESTNET, cp != cps.get(0));
            }
            assertTrue(h.runUntil(() -> h.verified.size() + h.failures.size() >= cps.size(), Duration.ofSeconds(90)),
                    () -> h.verified.size() + " verified, failures " + h.failures);
            h.settle(Duration.ofMillis(500), Duration.ofSeconds(20));
            assertEquals(List.of(0x3fL, 0x7fL, 0xbfL), h.verified.stream().map(kv -> kv.key).toList());
            assertEquals(List.of(0xffL, 0x13fL, 0x17fL, 0x1bfL, 0x1ffL), h.failures.stream().map(kv -> kv.key)
                    .toList(), "each once, in chain order");
            for (final KeyValue<Long, CheckpointFailed> kv : h.failures) {
                assertEquals("CHAIN_LINK_BROKEN", kv.value.getReason());
                assertEquals(broken.toString(), kv.value.getSource());
                assertEquals(0, kv.value.getAttempt(), "failed on its first attempt: " + kv.value);
                assertTrue(kv.value.getDetail().endsWith(kv.key == 0xff
                        ? "does not match the previous checkpoint's verified last ledger ("
                                + Hashes.hex(h.verified.get(2).value.getLastLedgerHash()) + ", of its copy from "
                                + broken + ")"
                        : "links to a copy of the previous checkpoint that failed its own link"), kv.value::getDetail);
            }
        }
    }

    @Test
    void shouldFailEveryCheckpointAfterABreakAlsoWhenTheNextBreakIsFoundOnItsPredecessorsLedgerFile() throws Exception {
        // one archive with two breaks: 0xff's last ledger changed (0x13f does not link to it), and 0x13f's last ledger
        // changed (0x17f does not link to it). 0x17f's link is checked on 0x13f's ledger file (0x13f failed), and
        // its copy anchored 0x1bf and 0x1ff, which were verified (a trial: verified ledger events past two breaks)
        final Path broken = dir.resolve("two-breaks");
        ForgedArchive.ledgersAndTransactionsOf(Fixtures.testnetSmall(), broken, 0x13f).closeTime(255, 1_234_567L)
                .linkTo(256, Hash.of(honestLast(0xff))).closeTime(319, 1_234_568L).write()
                .copyTheRestFrom(Fixtures.testnetSmall());
        ForgedArchive.copyCheckpoints(Fixtures.testnetSmall(), broken, 0x17f, 0x1ff);
        final List<Long> cps = Checkpoint.range(1, 0x1ff);
        try (PipelineHarness h = askedFor(List.of(broken.toString()), cps)) {
            assertTrue(h.runUntil(() -> h.verified.size() + h.failures.size() >= cps.size(), Duration.ofSeconds(90)),
                    () -> h.verified.size() + " verified, failures " + h.failures);
            h.settle(Duration.ofMillis(500), Duration.ofSeconds(20));
            assertEquals(List.of(0x3fL, 0x7fL, 0xbfL, 0xffL), h.verified.stream().map(kv -> kv.key).toList());
            assertEquals(List.of(0x13fL, 0x17fL, 0x1bfL, 0x1ffL), h.failures.stream().map(kv -> kv.key).sorted()
                    .toList(), h.failures::toString);
            final Map<Long, String> details = new HashMap<>();
            h.failures.forEach(kv -> details.put(kv.key, kv.value.getDetail()));
            assertTrue(details.get(0x17fL).contains("does not match the previous checkpoint's ledger file"),
                    details::toString);
            assertTrue(details.get(0x1bfL).endsWith(HistoryTopology.LINKS_TO_A_REFUSED_COPY), details::toString);
        }
    }

    @Test
    void aBreakBeforeACheckpointThatFailsOnAnotherFileFailsEveryCheckpointAfterIt() throws Exception {
        // a trial: 0xff's last header forged (0x13f's ledger file links to the honest one), and 0x13f's results file
        // missing. 0x13f failed MISSING_FILE; 0x17f, passed on 0x13f's ledger file, and every checkpoint after it were
        // verified: the break was never said
        final Path broken = dir.resolve("break-then-missing");
        ForgedArchive.ledgersAndTransactionsOf(Fixtures.testnetSmall(), broken, 0x13f).closeTime(255, 1_234_567L)
                .linkTo(256, Hash.of(honestLast(0xff))).write().copyTheRestFrom(Fixtures.testnetSmall());
        ForgedArchive.copyCheckpoints(Fixtures.testnetSmall(), broken, 0x17f, 0x1ff);
        Files.delete(broken.resolve(ArchivePaths.checkpointFile(FileType.RESULTS, 0x13f)));
        final List<Long> cps = Checkpoint.range(1, 0x1ff);
        try (PipelineHarness h = new PipelineHarness(dir.resolve("run"),
                HistoryTopology.Settings.defaults().withRetries(2, Duration.ofMillis(50)))) {
            for (final long cp : cps) {
                h.request(List.of(broken.toString()), cp, TESTNET, cp != cps.get(0));
            }
            assertTrue(h.runUntil(() -> h.verified.size() + h.failures.size() >= cps.size(), Duration.ofSeconds(90)),
                    () -> h.verified.size() + " verified, failures " + h.failures);
            h.settle(Duration.ofMillis(500), Duration.ofSeconds(20));
            assertEquals(List.of(0x3fL, 0x7fL, 0xbfL, 0xffL), h.verified.stream().map(kv -> kv.key).toList());
            final Map<Long, String> reasons = new java.util.TreeMap<>();
            h.failures.forEach(kv -> reasons.put(kv.key, kv.value.getReason()));
            assertEquals(Map.of(0x13fL, "MISSING_FILE", 0x17fL, "CHAIN_LINK_BROKEN", 0x1bfL, "CHAIN_LINK_BROKEN",
                    0x1ffL, "CHAIN_LINK_BROKEN"), reasons, h.failures::toString);
        }
    }

    @Test
    void shouldReadAgainFromAnotherSourceACheckpointWhoseSuccessorsCopiesDoNotLinkToIt() throws Exception {
        // the first mirror's 0x13f alone is forged (a close time changed, its ledgers re-chained: it links to 0xff,
        // and the honest 0x17f does not link to it); with nobody asking again (a tail asks once), the chain check
        // asks for 0x13f and 0x17f itself once the gate has the forged copy as failed
        final Path one = forgedCloseTime("one-forged", 0x13f - 5, 0x13f, 0x17f);
        try (PipelineHarness h = askedFor(List.of(one.toString(), Fixtures.testnetSmall().toString()),
                Checkpoint.range(1, 0x17f))) {
            final List<String> logged = io.historystreams.testing.Logs.during(RequestGate.class, () -> {
                assertTrue(h.runUntil(() -> h.verified.stream().filter(kv -> kv.key == 0x17f).count() == 1,
                        Duration.ofSeconds(90)), () -> h.verified.size() + " verified, failures " + h.failures);
                h.settle(Duration.ofMillis(500), Duration.ofSeconds(20));
            }).stream().map(e -> e.getLevel() + " " + e.getFormattedMessage()).toList();
            // not "failed after 1 attempt(s)", which read as a verdict on a checkpoint verified again later
            assertTrue(logged.stream().anyMatch(l -> l.startsWith("WARN checkpoint 319, verified, is taken back: "
                    + "CHAIN_LINK_BROKEN")), logged::toString);
            assertTrue(logged.stream().noneMatch(l -> l.startsWith("WARN checkpoint 319 failed after")),
                    logged::toString);
            // 0x13f verified from the forged mirror, 0x17f failed on it, 0x13f taken back; then both verified
            assertEquals(List.of(0x17fL, 0x13fL), h.failures.stream().map(kv -> kv.key).toList(), h.failures::toString);
            assertTrue(h.failures.get(1).value.getDetail().contains("is not what the copies of checkpoint 383 from "),
                    h.failures.get(1).value.getDetail());
            assertEquals(List.of(false, true), h.failures.stream().map(kv -> kv.value.getTakesBack()).toList(),
                    "the failure of 0x13f takes its verdict back");
            final List<Long> order = h.verified.stream().map(kv -> kv.key).toList();
            assertEquals(List.of(0x3fL, 0x7fL, 0xbfL, 0xffL, 0x13fL, 0x13fL, 0x17fL), order);
            final CheckpointVerified again = h.verified.get(5).value;
            assertTrue(again.getOtherCopyRefused(), "targets rewrite the files of the copy taken back");
            assertArrayEquals(honestLast(0x13f), again.getLastLedgerHash().bytes(), "the honest copy");
            assertEquals(again.getLastLedgerHash(), h.verified.get(6).value.getFirstPreviousLedgerHash());
        }
    }

    @Test
    void shouldWalkBackAForgedSegmentOfTwoCheckpointsThatLinksToTheOneBeforeIt() throws Exception {
        // the first mirror's 0xff and 0x13f are forged (a close time in 0xff changed, both re-chained: 0xff links to
        // 0xbf, 0x13f to the forged 0xff, and the honest 0x17f to neither). The forged 0x13f is taken back, as above;
        // read from the honest mirror it does not link to the forged 0xff, whose mirror served the copy of 0x13f
        // taken back: that mirror contradicts itself there too, so its 0xff is taken back (a trial: the forged 0xff
        // stayed verified and published, and every checkpoint after it failed)
        final Path two = forgedCloseTime("two-forged", 0xff - 5, 0x13f, 0x1bf);
        final List<Long> cps = Checkpoint.range(1, 0x1bf);
        try (PipelineHarness h = askedFor(List.of(two.toString(), Fixtures.testnetSmall().toString()), cps)) {
            final Map<Long, CheckpointVerified> latest = new HashMap<>();
            assertTrue(h.runUntil(() -> {
                h.verified.forEach(kv -> latest.put(kv.key, kv.value));
                return latest.keySet().containsAll(cps) && latest.get(0xffL).getOtherCopyRefused();
            }, Duration.ofSeconds(90)), () -> latest.keySet() + " verified, failures " + h.failures);
            h.settle(Duration.ofMillis(500), Duration.ofSeconds(20));
            h.verified.forEach(kv -> latest.put(kv.key, kv.value));
            for (final long cp : cps) {
                assertArrayEquals(honestLast(cp), latest.get(cp).getLastLedgerHash().bytes(),
                        "the honest copy of " + cp + " is the verdict");
            }
            // each taken back once: the forged 0x13f, then the forged 0xff
            assertEquals(List.of(0x13fL, 0xffL), h.failures.stream().filter(kv -> kv.value.getTakesBack())
                    .map(kv -> kv.key).toList(), h.failures::toString);
        }
    }

    /**
     * A mirror of testnet-small's checkpoints up to {@code last} whose ledger {@code seq} has another close time, its
     * ledgers re-chained up to {@code forgedTo} (the checkpoints after that are the honest ones).
     */
    private Path forgedCloseTime(final String name, final long seq, final long forgedTo, final long last)
            throws java.io.IOException {
        final Path mirror = dir.resolve(name);
        ForgedArchive.ledgersAndTransactionsOf(Fixtures.testnetSmall(), mirror, forgedTo).closeTime(seq, 1_234_567L)
                .write().copyTheRestFrom(Fixtures.testnetSmall());
        ForgedArchive.copyCheckpoints(Fixtures.testnetSmall(), mirror, forgedTo + Checkpoint.FREQUENCY, last);
        return mirror;
    }

    /**
     * A pipeline asked for {@code cps} from {@code sources}, each with its predecessor but the first, with a backoff of
     * 10 minutes: the next source is read at once after a bad copy, and nothing else is tried again in a test.
     */
    private PipelineHarness askedFor(final List<String> sources, final List<Long> cps) throws Exception {
        final PipelineHarness h = new PipelineHarness(dir.resolve("run"),
                HistoryTopology.Settings.defaults().withRetries(3, Duration.ofMinutes(10)));
        for (final long cp : cps) {
            h.request(sources, cp, TESTNET, cp != cps.get(0));
        }
        return h;
    }

    /** The last ledger hash of testnet-small's checkpoint {@code cp}. */
    private static byte[] honestLast(final long cp) throws java.io.IOException {
        final List<byte[]> headers = io.historystreams.testing.XdrFiles.records(Files.readAllBytes(
                Fixtures.testnetSmall().resolve(ArchivePaths.checkpointFile(FileType.LEDGER, cp))));
        return java.util.Arrays.copyOf(headers.get(headers.size() - 1), 32);
    }

    @Test
    void shouldReadAnotherSourceAfterABadCopyWhicheverSourceTheArchiveOfTheRetrysOrderReadsFirst() throws Exception {
        // a trial: the honest mirror, first in a retry's order, had answered passing errors in a row, so the archive of
        // that order read the forged mirror first; every retry after the forged copy of 0x17f failed its link read it
        // again, only the forged mirror's copies failed, and the forged 0x13f before them stood
        final Path forged = forgedCloseTime("one-forged", 0x13f - 5, 0x13f, 0x1ff);
        try (FaultyArchiveServer f = FaultyArchiveServer.start(forged);
                FaultyArchiveServer honest = FaultyArchiveServer.start(Fixtures.testnetSmall());
                PipelineHarness h = new PipelineHarness(dir.resolve("run"),
                        HistoryTopology.Settings.defaults().withRetries(3, Duration.ofMinutes(10)))) {
            final io.historystreams.archive.HistoryArchive retryOrder = h.ctx.archive(List.of(honest.url(), f.url()));
            honest.on(ArchivePaths.WELL_KNOWN).status(503).forever();
            for (int i = 0; i < 3; i++) { // down: the harness's fetches make 3 attempts
                retryOrder.fetch(ArchivePaths.WELL_KNOWN, java.io.InputStream::readAllBytes);
            }
            honest.clearFaults();
            assertEquals(f.url(), retryOrder.fetch(ArchivePaths.WELL_KNOWN, java.io.InputStream::readAllBytes)
                    .source(), "the archive of that order reads the forged mirror first");
            final List<Long> cps = Checkpoint.range(1, 0x1ff);
            for (final long cp : cps) {
                h.request(List.of(f.url(), honest.url()), cp, TESTNET, cp != cps.get(0));
            }
            final Map<Long, CheckpointVerified> last = new HashMap<>();
            assertTrue(h.runUntil(() -> {
                h.verified.forEach(kv -> last.put(kv.key, kv.value));
                return cps.stream().allMatch(cp -> last.containsKey(cp)
                        && java.util.Arrays.equals(last.get(cp).getLastLedgerHash().bytes(), honestLastOrNull(cp)));
            }, Duration.ofSeconds(60)), () -> h.verified.size() + " verified, failures " + h.failures);
        }
    }

    private static byte[] honestLastOrNull(final long cp) {
        try {
            return honestLast(cp);
        } catch (final java.io.IOException e) {
            return null;
        }
    }

    @Test
    void shouldTakeBackAForgedSegmentWhenTheHonestMirrorLacksItsFirstCheckpoint() throws Exception {
        // the honest mirror lacks 0xff's ledger and transactions files, which the forged one serves (0xff and 0x13f
        // forged). A copy blamed on the last of the sources was tried again after the backoff instead of from the
        // first source at once, and the forged 0xff stayed verified (a trial: the run ended first)
        final Path partial = dir.resolve("partial");
        ForgedArchive.ledgersAndTransactionsOf(Fixtures.testnetSmall(), partial, 0x1bf).write()
                .copyTheRestFrom(Fixtures.testnetSmall());
        Files.delete(partial.resolve(ArchivePaths.checkpointFile(FileType.LEDGER, 0xff)));
        Files.delete(partial.resolve(ArchivePaths.checkpointFile(FileType.TRANSACTIONS, 0xff)));
        final Path two = forgedCloseTime("two-forged", 0xff - 5, 0x13f, 0x1bf);
        final List<Long> cps = Checkpoint.range(1, 0x1bf);
        try (PipelineHarness h = askedFor(List.of(partial.toString(), two.toString()), cps)) {
            final Map<Long, Object> latest = new HashMap<>();
            assertTrue(h.runUntil(() -> h.verified.size() + h.failures.size() >= cps.size()
                    && h.failures.stream().anyMatch(kv -> kv.key == 0xff), Duration.ofSeconds(90)),
                    () -> h.verified.size() + " verified, failures " + h.failures);
            h.settle(Duration.ofMillis(1000), Duration.ofSeconds(30));
            // the last word on each checkpoint, in the order the two outputs were written
            h.verified.forEach(kv -> latest.put(kv.key, kv.value));
            for (final KeyValue<Long, CheckpointFailed> kv : h.failures) {
                if (!(latest.get(kv.key) instanceof CheckpointVerified v)
                        || v.getVerifiedAt().isBefore(kv.value.getFailedAt())) {
                    latest.put(kv.key, kv.value);
                }
            }
            for (final long cp : cps) {
                if (latest.get(cp) instanceof CheckpointVerified v) {
                    assertArrayEquals(honestLast(cp), v.getLastLedgerHash().bytes(), "the honest copy of " + cp);
                }
            }
            assertTrue(latest.get(0xffL) instanceof CheckpointFailed, () -> "0xff: " + latest.get(0xffL));
        }
    }

    /**
     * An archive that starts mid-history holds nothing of the checkpoint before its first: that first checkpoint,
     * asked for without its predecessor, is verified with its link not checked (ARCHIVE_START), and the next links to
     * it. Before, it failed on the predecessor's absent ledger file, and so did every checkpoint after it.
     */
    @Test
    void shouldVerifyTheFirstCheckpointOfAnArchiveThatStartsMidHistoryWithItsLinkNotChecked() throws Exception {
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.testnetSmall());
                PipelineHarness h = new PipelineHarness(dir,
                        HistoryTopology.Settings.defaults().withRetries(2, Duration.ofMillis(50)))) {
            server.onRegex(".*-000003bf\\..*").status(404).forever();
            h.request(List.of(server.url()), 0x3ff, TESTNET, false);
            h.request(List.of(server.url()), 0x43f, TESTNET, true);
            assertTrue(h.runUntil(() -> h.verified.size() + h.failures.size() >= 2, Duration.ofSeconds(60)),
                    () -> h.verified + " " + h.failures);
            assertEquals(List.of(), h.failures);
            final Map<Long, ChainLinkStatus> links = new HashMap<>();
            h.verified.forEach(kv -> links.put(kv.key, kv.value.getChainLinkedToPrevious()));
            assertEquals(Map.of(0x3ffL, ChainLinkStatus.ARCHIVE_START, 0x43fL, ChainLinkStatus.VERIFIED), links);
            assertTrue(server.requests(ArchivePaths.has(0x3bf)) > 0, "the predecessor's state file was asked for");
        }
    }

    /** A source that does not answer may hold the predecessor: the first checkpoint is not passed as the start. */
    @Test
    void shouldNotTakeACheckpointAsTheArchivesStartWhileASourceThatMayHoldItsPredecessorIsDown() throws Exception {
        try (FaultyArchiveServer down = FaultyArchiveServer.start(Fixtures.testnetSmall());
                FaultyArchiveServer later = FaultyArchiveServer.start(Fixtures.testnetSmall());
                PipelineHarness h = new PipelineHarness(dir,
                        HistoryTopology.Settings.defaults().withRetries(2, Duration.ofMillis(50)))) {
            down.onRegex(".*-000003bf\\..*").status(503).forever();
            later.onRegex(".*-000003bf\\..*").status(404).forever();
            h.request(List.of(down.url(), later.url()), 0x3ff, TESTNET, false);
            assertTrue(h.runUntil(() -> !h.verified.isEmpty() || !h.failures.isEmpty(), Duration.ofSeconds(90)),
                    () -> h.verified + " " + h.failures);
            assertEquals(List.of(), h.verified);
            assertTrue(h.failures.get(0).value.getDetail().contains("no answer from " + down.url()),
                    h.failures.get(0).value::getDetail);
        }
    }

    /**
     * The predecessor's state file there, its ledger file not: a damaged archive, not one that starts there; and a
     * checkpoint whose predecessor was asked for too fails with it, as before.
     */
    @Test
    void shouldFailAFirstCheckpointWhosePredecessorsLedgerFileAloneIsAbsentOrWasAskedFor() throws Exception {
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.testnetSmall());
                PipelineHarness h = new PipelineHarness(dir,
                        HistoryTopology.Settings.defaults().withRetries(2, Duration.ofMillis(50)))) {
            server.on(ArchivePaths.checkpointFile(FileType.LEDGER, 0x3bf)).status(404).forever();
            server.onRegex(".*-0000047f\\..*").status(404).forever();
            h.request(List.of(server.url()), 0x3ff, TESTNET, false);
            h.request(List.of(server.url()), 0x47f, TESTNET, true);
            h.request(List.of(server.url()), 0x4bf, TESTNET, true);
            assertTrue(h.runUntil(() -> h.failures.stream().map(kv -> kv.key).distinct().count() >= 3,
                    Duration.ofSeconds(60)), () -> h.verified + " " + h.failures);
            assertEquals(List.of(), h.verified);
            for (final KeyValue<Long, CheckpointFailed> kv : h.failures) {
                if (kv.key != 0x47f) {
                    assertTrue(kv.value.getDetail().contains("MISSING_FILE " + ArchivePaths.checkpointFile(
                            FileType.LEDGER, kv.key - 64) + " (" + server.url() + "): the link to the previous "
                            + "checkpoint cannot be checked, its ledger file failed: "), kv.value::getDetail);
                }
            }
        }
    }

    /** A checkpoint passed as its archive's start is checked again when its predecessor is verified after all. */
    @Test
    void shouldCheckAnArchiveStartAgainWhenItsPredecessorIsVerifiedLater() throws Exception {
        try (Chain c = new Chain(dir)) {
            final CheckpointVerified start = CheckpointVerified.newBuilder(candidate(0xbf, 9, 3, 0))
                    .setPreviousCheckpointLastHash(null).build();
            c.in(start, false);
            assertEquals(List.of(0xbfL), c.passed());
            assertEquals(ChainLinkStatus.ARCHIVE_START, c.verdicts.get(0).getChainLinkedToPrevious());
            c.in(candidate(0x7f, 4, 2, 2), false); // its last ledger is not the one 0xbf names
            assertEquals(List.of(0xbfL, 0x7fL), c.passed());
            assertEquals(List.of(0xbfL), c.broken());
            assertTrue(c.brokenLinks.get(0).getDetail().contains("changed after this checkpoint was verified"),
                    c.brokenLinks.get(0)::getDetail);
        }
    }

    @Test
    void shouldReportABrokenLinkAgainstTheVerifiedPredecessorOrItsLedgerFile() throws Exception {
        try (Chain c = new Chain(dir)) {
            // predecessor first: the successor's first header does not link to it
            c.in(candidate(0x7f, 1, 2, 2), false);
            c.in(candidate(0xbf, 9, 3, 3), false);
            assertEquals(List.of(0x7fL), c.passed());
            assertEquals(List.of(0xbfL), c.broken());
            // successor first, passed on its predecessor's ledger file (the anchor), then a predecessor whose last
            // hash differs from the successor's link: reported late, against the successor
            c.in(from(candidate(0x13f, 1, 5, 5), "mirror-0x13f"), false);
            c.in(candidate(0xff, 77, 6, 6), false);
            assertEquals(List.of(0x7fL, 0x13fL, 0xffL), c.passed());
            assertEquals(List.of(0xbfL, 0x13fL), c.broken());
            // named with the ledger file and the source that served it, as every other failure is
            final CheckpointFailed late = c.brokenLinks.get(1);
            assertEquals(ArchivePaths.checkpointFile(FileType.LEDGER, 0x13f), late.getFile());
            assertEquals("mirror-0x13f", late.getSource());
            assertTrue(late.getDetail().contains("changed after this checkpoint was verified"), late.getDetail());
        }
    }

    @Test
    void shouldPassACheckpointOnlyOnceThePredecessorCopyItLinksToIsVerified() throws Exception {
        try (Chain c = new Chain(dir)) {
            // out of order, each asked for with its predecessor: nothing passes before the first, then all in order;
            // their ledger files' anchors are wrong, so each was checked against its verified predecessor
            c.in(candidate(0xbf, 3, 2, 99), true);
            c.in(candidate(0x7f, 2, 1, 99), true);
            assertEquals(List.of(), c.passed());
            c.in(candidate(0x3f, 1, 0, 0), false);
            assertEquals(List.of(0x3fL, 0x7fL, 0xbfL), c.passed());
            assertEquals(List.of(ChainLinkStatus.NOT_APPLICABLE, ChainLinkStatus.VERIFIED, ChainLinkStatus.VERIFIED),
                    c.verdicts.stream().map(CheckpointVerified::getChainLinkedToPrevious).toList());
            assertEquals(List.of(), c.broken());

            // a forged mirror's segment (a trial's case): its first checkpoint does not link, its second links to
            // the first and to the first's ledger file; the honest copies come later, from the other mirror
            c.in(candidate(0xff, 50, 40, 3), true);       // forged 0xff: its first header breaks the chain
            c.in(candidate(0x13f, 51, 50, 50), true);     // forged 0x13f: links to forged 0xff's ledger file
            assertEquals(List.of(0xffL), c.broken());
            assertEquals(List.of(0x3fL, 0x7fL, 0xbfL), c.passed(), "the forged successor waits");
            c.in(candidate(0xff, 4, 3, 3), true);         // honest 0xff
            assertEquals(List.of(0xffL, 0x13fL), c.broken(), "the forged successor fails against the honest copy");
            c.in(candidate(0x13f, 5, 4, 4), true);        // honest 0x13f
            assertEquals(List.of(0x3fL, 0x7fL, 0xbfL, 0xffL, 0x13fL), c.passed());
            assertEquals(List.of(4, 5), c.verdicts.subList(3, 5).stream()
                    .map(v -> (int) v.getLastLedgerHash().bytes()[0]).toList(), "only the honest copies pass");
        }
    }

    @Test
    void shouldCheckAWaitingCheckpointAgainstItsLedgerFileWhenNoVerdictOfItsPredecessorIsComing() throws Exception {
        try (Chain c = new Chain(dir)) {
            c.in(candidate(0xbf, 3, 2, 2), true);
            assertEquals(List.of(), c.passed());
            c.word(0x7f, "FAILED"); // the predecessor's attempts ran out: checked against its ledger file
            assertEquals(List.of(0xbfL), c.passed());
            c.in(candidate(0x13f, 7, 6, 6), true);
            c.word(0xff, "VERIFIED_EARLIER"); // verified before this chain knew it
            assertEquals(List.of(0xbfL, 0x13fL), c.passed());
            c.word(0x17f, "FAILED"); // the word first: the successor does not wait
            c.in(candidate(0x1bf, 9, 8, 8), true);
            assertEquals(List.of(0xbfL, 0x13fL, 0x1bfL), c.passed());
            c.in(candidate(0x23f, 9, 8, 1), true);
            c.word(0x1ff, "FAILED"); // released, and its ledger file does not link either
            assertEquals(List.of(0x23fL), c.broken());
            // a predecessor verified after all: its successor on the anchor is checked again (it links)
            c.in(candidate(0xff, 6, 3, 3), false);
            assertEquals(List.of(0x23fL), c.broken());
            assertEquals(List.of(0xbfL, 0x13fL, 0x1bfL, 0xffL), c.passed());
            // a predecessor that failed is asked for again: the word that it failed no longer lets a successor by
            // (a trial: a failure from an earlier run let the forged successors through)
            c.word(0x2ff, "FAILED");
            c.word(0x2ff, "ADMITTED");
            c.in(candidate(0x33f, 13, 12, 12), true);
            assertEquals(List.of(0xbfL, 0x13fL, 0x1bfL, 0xffL), c.passed(), "waits for 0x2ff's new verdict");
            c.word(0x2ff, "FAILED");
            assertEquals(List.of(0xbfL, 0x13fL, 0x1bfL, 0xffL, 0x33fL), c.passed());
        }
    }

    @Test
    void shouldFailWhatLinksToARefusedCopyAndTakeBackWhatLinkedToARevokedOne() throws Exception {
        try (Chain c = new Chain(dir)) {
            // a copy that failed its link anchors nothing (a trial: a forged mirror's copy, whose link had just
            // failed, anchored the forged successor when the attempts ran out)
            c.in(candidate(0x3f, 1, 0, 0), false);
            c.in(candidate(0x7f, 50, 40, 40), true);
            c.in(candidate(0xbf, 51, 50, 50), true);
            assertEquals(List.of(0x7fL), c.broken());
            c.word(0x7f, "FAILED");
            assertEquals(List.of(0x7fL, 0xbfL), c.broken());
            assertTrue(c.brokenLinks.get(1).getDetail().endsWith("links to a copy of the previous checkpoint that "
                    + "failed its own link"), c.brokenLinks.get(1).getDetail());
            assertEquals(List.of(0x3fL), c.passed());

            // passed on its predecessor's ledger file, then two more linked to it; the predecessor verified later
            // does not match: all three are taken back, in chain order (a trial: the two stayed verified, forged)
            c.in(candidate(0x13f, 60, 59, 59), false);
            c.in(candidate(0x17f, 61, 60, 60), true);
            c.in(candidate(0x1bf, 62, 61, 61), true);
            assertEquals(List.of(0x3fL, 0x13fL, 0x17fL, 0x1bfL), c.passed());
            c.in(candidate(0xff, 8, 7, 7), false);
            assertEquals(List.of(0x7fL, 0xbfL, 0x13fL, 0x17fL, 0x1bfL), c.broken());
            assertTrue(c.brokenLinks.get(3).getDetail().endsWith("links to checkpoint 319's copy, which was found not "
                    + "to link after both were verified"), c.brokenLinks.get(3).getDetail());
            assertEquals(ArchivePaths.checkpointFile(FileType.LEDGER, 0x17f), c.brokenLinks.get(3).getFile());
            // the honest copy passes against 0xff; the taken-back copy of 0x17f does not link to it
            c.in(candidate(0x13f, 70, 8, 8), true);
            c.in(candidate(0x17f, 61, 60, 60), true);
            assertEquals(List.of(0x3fL, 0x13fL, 0x17fL, 0x1bfL, 0xffL, 0x13fL), c.passed());
            assertEquals(List.of(0x7fL, 0xbfL, 0x13fL, 0x17fL, 0x1bfL, 0x17fL), c.broken());
        }
    }

    @Test
    void anAnchorFromACheckpointThatFailedOnAnotherFileVouchesOnlyWhenItLinksToWhatWasVerifiedBeforeIt()
            throws Exception {
        // a trial: 0x27f's last header forged, 0x2bf's results file missing. 0x2bf failed MISSING_FILE, 0x2ff was
        // passed on 0x2bf's ledger file, which does not link to the forged copy verified: the break was never said,
        // and every checkpoint after it was verified. Here 0x7f is the forged copy (last 9; the honest last is 2)
        try (Chain c = new Chain(dir)) {
            c.in(candidate(0x3f, 1, 0, 0), false);
            c.in(candidate(0x7f, 9, 1, 1), true);
            c.word(0xbf, "FAILED"); // on another file: no candidate
            c.in(candidate(0xff, 4, 3, 3, 2), true);
            assertEquals(List.of(0xffL), c.broken());
            assertTrue(c.brokenLinks.get(0).getDetail().endsWith("links to checkpoint 191's ledger file ("
                    + Hashes.hex(h32(3)) + "), which does not link to checkpoint 127's verified last ledger ("
                    + Hashes.hex(h32(9)) + "; it has " + Hashes.hex(h32(2)) + "): checkpoint 191 itself was not "
                    + "verified"), c.brokenLinks.get(0).getDetail());
            // and the break fails every checkpoint after it
            c.in(candidate(0x13f, 5, 4, 4, 3), true);
            c.word(0xff, "FAILED");
            assertEquals(List.of(0xffL, 0x13fL), c.broken());
            assertEquals(List.of(0x3fL, 0x7fL), c.passed());
        }
        // the cascade of a break goes on past a checkpoint that failed on another file: its anchor links to a copy
        // that failed its link (a trial: 0x47f failed MISSING_FILE, and 0x4bf on were verified)
        try (Chain c = new Chain(dir.resolve("cascade"))) {
            c.in(candidate(0x3f, 1, 0, 0), false);
            c.in(candidate(0x7f, 2, 7, 7), true);
            c.word(0x7f, "FAILED");
            c.word(0xbf, "FAILED"); // on another file
            c.in(candidate(0xff, 4, 3, 3, 2), true);
            assertEquals(List.of(0x7fL, 0xffL), c.broken());
            assertTrue(c.brokenLinks.get(1).getDetail().endsWith("links to checkpoint 191's ledger file, which links "
                    + "to a copy of checkpoint 127 that failed its own link"), c.brokenLinks.get(1).getDetail());
        }
    }

    @Test
    void aCheckpointPassedOnAnAnchorIsTakenBackWhenWhatIsVerifiedBeforeTheAnchorDoesNotLinkToIt() throws Exception {
        // the same archive asked for from 0xff first: nothing before the failed 0xbf was known, so 0xff passed on its
        // anchor; 0x7f's copy verified later (forged, last 9) is not what the anchor links to (2)
        try (Chain c = new Chain(dir)) {
            c.word(0xbf, "FAILED");
            c.in(candidate(0xff, 4, 3, 3, 2), true);
            c.in(candidate(0x13f, 5, 4, 4, 3), true);
            assertEquals(List.of(0xffL, 0x13fL), c.passed());
            c.in(candidate(0x3f, 1, 0, 0), false);
            c.in(candidate(0x7f, 9, 1, 1), true);
            assertEquals(List.of(0xffL, 0x13fL), c.broken(), "taken back, in chain order");
            assertTrue(c.brokenLinks.get(0).getDetail().endsWith("links to checkpoint 191's ledger file, which does "
                    + "not link to checkpoint 127's last ledger as verified later (" + Hashes.hex(h32(9)) + ")"),
                    c.brokenLinks.get(0).getDetail());
        }
        // 0x7f's copy failing its own link, with the anchor's first ledger linking to it: taken back too
        try (Chain c = new Chain(dir.resolve("refused"))) {
            c.word(0xbf, "FAILED");
            c.in(candidate(0xff, 4, 3, 3, 2), true);
            c.in(candidate(0x3f, 1, 0, 0), false);
            c.in(candidate(0x7f, 2, 7, 7), true); // does not link to 0x3f's last (1)
            assertEquals(List.of(0x7fL, 0xffL), c.broken());
            assertTrue(c.brokenLinks.get(1).getDetail().endsWith("links to checkpoint 191's ledger file, which links "
                    + "to a copy of checkpoint 127 found later not to link"), c.brokenLinks.get(1).getDetail());
        }
        // an event of an older build, without the anchor's link: taken back once the predecessor's own copy fails
        try (Chain c = new Chain(dir.resolve("older"))) {
            c.in(candidate(0x3f, 1, 0, 0), false);
            c.in(candidate(0x7f, 9, 1, 1), true);
            c.word(0xbf, "FAILED");
            c.in(candidate(0xff, 4, 3, 3), true);
            assertEquals(List.of(0x3fL, 0x7fL, 0xffL), c.passed());
            c.word(0xbf, "ADMITTED");
            c.in(candidate(0xbf, 3, 2, 2), true); // its file put back: it does not link to 0x7f's copy
            assertEquals(List.of(0xbfL, 0xffL), c.broken());
            assertTrue(c.brokenLinks.get(1).getDetail().endsWith("links to checkpoint 191's ledger file, whose copy "
                    + "was found later not to link to the checkpoint before it"), c.brokenLinks.get(1).getDetail());
        }
    }

    @Test
    void shouldTakeBackACopyWhoseSourceAndAnotherServeASuccessorThatDoesNotLinkToIt() throws Exception {
        try (Chain c = new Chain(dir)) {
            // 0x7f from mirror a links to 0x3f, but the copies of 0xbf from a and from b link to another 0x7f (a
            // trial: a's forged 0x7f was verified, and the honest 0xbf failed, blamed on b too)
            c.in(from(candidate(0x3f, 1, 0, 0), "a"), false);
            c.in(from(candidate(0x7f, 2, 1, 1), "a"), true);
            c.in(from(candidate(0xbf, 3, 9, 9), "a"), true);
            c.in(from(candidate(0xbf, 3, 9, 9), "b"), true);
            assertEquals(List.of(0x3fL, 0x7fL), c.passed());
            assertEquals(List.of(0xbfL, 0xbfL), c.broken());
            c.word(0xbf, "FAILED", List.of("a", "c", "b"));
            assertEquals(List.of(0xbfL, 0xbfL, 0x7fL), c.broken());
            assertTrue(c.brokenLinks.get(2).getDetail().contains("is not what the copies of checkpoint 191 from a, b "
                    + "link to: this copy, from a, is taken back"), c.brokenLinks.get(2).getDetail());
            assertEquals("a", c.brokenLinks.get(2).getSource());
            // once the gate has it as failed, it and 0xbf are asked for again (a tail asks for neither), from b first
            assertTrue(c.requests.isEmpty());
            c.word(0x7f, "FAILED");
            final List<CheckpointRequest> again = c.requests.readValuesToList();
            assertEquals(List.of(0x7fL, 0xbfL), again.stream().map(CheckpointRequest::getCheckpoint).toList());
            assertEquals(List.of("c", "b", "a"), again.get(0).getSources(), "the successor's request's sources, a last");
            assertEquals(List.of(false, true), again.stream().map(CheckpointRequest::getPredecessorRequested).toList());
            c.word(0x7f, "FAILED");
            assertTrue(c.requests.isEmpty(), "asked for once");
            // read again: that copy fails at once; b's passes, saying another copy was refused; then 0xbf's
            c.word(0x7f, "ADMITTED");
            c.in(from(candidate(0x7f, 2, 1, 1), "a"), false);
            assertEquals(0x7fL, c.broken().get(3));
            assertTrue(c.brokenLinks.get(3).getDetail().contains("taken back before"), c.brokenLinks.get(3).getDetail());
            c.in(from(candidate(0x7f, 9, 1, 1), "b"), false);
            c.in(from(candidate(0xbf, 3, 9, 9), "a"), true);
            assertEquals(List.of(0x3fL, 0x7fL, 0x7fL, 0xbfL), c.passed());
            assertTrue(c.verdicts.get(2).getOtherCopyRefused(), "0x7f replaces a copy: targets rewrite its files");
            assertFalse(c.verdicts.get(3).getOtherCopyRefused());

            // copies of 0x13f that do not link to 0xff, from a only (the source of 0xff): the break is a's, and the
            // failure of 0x13f stands alone
            c.in(from(candidate(0xff, 4, 3, 3), "a"), true);
            c.in(from(candidate(0x13f, 5, 7, 7), "a"), true);
            c.word(0x13f, "FAILED");
            assertEquals(List.of(0x3fL, 0x7fL, 0x7fL, 0xbfL, 0xffL), c.passed());
            assertEquals(List.of(0xbfL, 0xbfL, 0x7fL, 0x7fL, 0x13fL), c.broken());

            // from b only: a's 0xff and b's 0x13f do not link, and nothing says which is wrong: it stands alone too
            c.word(0x13f, "ADMITTED");
            c.in(from(candidate(0x13f, 5, 7, 7), "b"), true);
            c.word(0x13f, "FAILED");
            assertEquals(List.of(0x3fL, 0x7fL, 0x7fL, 0xbfL, 0xffL), c.passed());
            assertEquals(List.of(0xbfL, 0xbfL, 0x7fL, 0x7fL, 0x13fL, 0x13fL), c.broken());
        }
    }

    private static CheckpointVerified from(final CheckpointVerified v, final String source) {
        return CheckpointVerified.newBuilder(v).setFiles(v.getFiles().stream().map(f -> io.historystreams.events.FileRef
                .newBuilder(f).setSource(source).build()).toList()).build();
    }

    @Test
    void shouldCheckTheChainWhateverArchiveIdTheRequestsCarried() throws Exception {
        // one pipeline holds one archive's history; a predecessor verified under another first source is known to its
        // successor (a trial: the successor waited for good, or trusted a forged mirror's copy of its predecessor)
        try (Chain c = new Chain(dir)) {
            c.in(candidate(0x3f, 1, 0, 0), false);
            c.in(CheckpointVerified.newBuilder(candidate(0xbf, 3, 2, 2)).setArchive("b").build(), true);
            c.in(CheckpointVerified.newBuilder(candidate(0x7f, 2, 1, 9)).setArchive("b").build(), true);
            assertEquals(List.of(0x3fL, 0x7fL, 0xbfL), c.passed());
            c.in(CheckpointVerified.newBuilder(candidate(0xff, 4, 7, 7)).setArchive("c").build(), true);
            assertEquals(List.of(0xffL), c.broken(), "checked against 0xbf as verified, not its ledger file");
        }
    }

    /** The chain check alone (its sub-topology), fed and read: its verdicts and the broken links it reported. */
    private static final class Chain implements AutoCloseable {
        final org.apache.kafka.streams.TopologyTestDriver driver;
        final org.apache.kafka.streams.TestInputTopic<String, ChainInput> in;
        final org.apache.kafka.streams.TestOutputTopic<Long, CheckpointVerified> out;
        final org.apache.kafka.streams.TestOutputTopic<Long, CheckpointFailed> failed;
        final org.apache.kafka.streams.TestOutputTopic<Long, CheckpointRequest> requests;
        final List<CheckpointVerified> verdicts = new java.util.ArrayList<>();
        final List<CheckpointFailed> brokenLinks = new java.util.ArrayList<>();

        Chain(final Path dir) {
            final Topics topics = new Topics("history.", io.historystreams.events.serde.SchemaRegistry.forUrl(
                    "mock://chain-" + java.util.UUID.randomUUID()));
            final org.apache.kafka.streams.Topology top = new org.apache.kafka.streams.Topology();
            HistoryTopology.addChainCheck(top, topics);
            final java.util.Properties props = new java.util.Properties();
            props.put(org.apache.kafka.streams.StreamsConfig.APPLICATION_ID_CONFIG, "chain");
            props.put(org.apache.kafka.streams.StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
            props.put(org.apache.kafka.streams.StreamsConfig.STATE_DIR_CONFIG, dir.resolve("chain").toString());
            driver = new org.apache.kafka.streams.TopologyTestDriver(top, props);
            in = driver.createInputTopic(topics.chainInputs.name(), topics.chainInputs.keySerde().serializer(),
                    topics.chainInputs.valueSerde().serializer());
            out = driver.createOutputTopic(topics.chainVerdicts.name(), topics.chainVerdicts.keySerde().deserializer(),
                    topics.chainVerdicts.valueSerde().deserializer());
            failed = driver.createOutputTopic(topics.attemptFailures.name(),
                    topics.attemptFailures.keySerde().deserializer(), topics.attemptFailures.valueSerde()
                            .deserializer());
            requests = driver.createOutputTopic(topics.checkpointRequests.name(),
                    topics.checkpointRequests.keySerde().deserializer(), topics.checkpointRequests.valueSerde()
                            .deserializer());
        }

        @Override
        public void close() {
            driver.close();
        }

        void in(final CheckpointVerified v, final boolean predecessorRequested) {
            in.pipeInput(ChainLinker.KEY, ChainInput.newBuilder().setArchive(v.getArchive())
                    .setCheckpoint(v.getCheckpoint()).setCandidate(v).setPredecessorRequested(predecessorRequested)
                    .build());
        }

        void word(final long cp, final String settled) {
            word(cp, settled, List.of());
        }

        void word(final long cp, final String settled, final List<String> sources) {
            in.pipeInput(ChainLinker.KEY, ChainInput.newBuilder().setArchive("a").setCheckpoint(cp).setSettled(settled)
                    .setSources(sources).build());
        }

        List<Long> passed() {
            verdicts.addAll(out.readValuesToList());
            return verdicts.stream().map(CheckpointVerified::getCheckpoint).toList();
        }

        List<Long> broken() {
            for (final CheckpointFailed f : failed.readValuesToList()) {
                assertEquals("CHAIN_LINK_BROKEN", f.getReason());
                brokenLinks.add(f);
            }
            return brokenLinks.stream().map(CheckpointFailed::getCheckpoint).toList();
        }
    }

    /** A synthetic assembled checkpoint whose blob files do not exist: enough for the chain stage's decisions. */
    private static CheckpointVerified candidate(final long cp, final int last, final int firstPrev, final int anchor) {
        return CheckpointVerified.newBuilder(candidate(cp, last, firstPrev, anchor, 0))
                .setPreviousCheckpointFirstPreviousHash(null).build();
    }

    /** With {@code anchorLink}: the first previous ledger hash of the predecessor's ledger file, the anchor's link. */
    private static CheckpointVerified candidate(final long cp, final int last, final int firstPrev, final int anchor,
            final int anchorLink) {
        return CheckpointVerified.newBuilder().setPreviousCheckpointFirstPreviousHash(h32(anchorLink)).setCheckpoint(cp).setArchive("a").setFirstLedger(cp - 63)
                .setLastLedger(cp).setLastLedgerHash(h32(last)).setFirstPreviousLedgerHash(h32(firstPrev))
                .setPreviousCheckpointLastHash(h32(anchor)).setBucketListHash(h32(0)).setFiles(List.of(
                        io.historystreams.events.FileRef.newBuilder().setPath(ArchivePaths.checkpointFile(
                                FileType.LEDGER, cp)).setSource("mirror")
                                .setSha256(h32(0)).setSizeBytes(1).setRawSizeBytes(1).build()))
                .setBuckets(List.of()).setLedgerCount(64).setTransactionSetCount(0).setResultSetCount(0)
                .setVerifiedAt(java.time.Instant.now()).build();
    }

    private static io.historystreams.events.Hash32 h32(final int seed) {
        final byte[] b = new byte[32];
        b[0] = (byte) seed;
        return new io.historystreams.events.Hash32(b);
    }

    private static byte[] bytes(final java.nio.ByteBuffer b) {
        final byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }

    private static byte[] gzip(final byte[] raw) throws java.io.IOException {
        final java.io.ByteArrayOutputStream bos = new java.io.ByteArrayOutputStream();
        try (java.util.zip.GZIPOutputStream gz = new java.util.zip.GZIPOutputStream(bos)) {
            gz.write(raw);
        }
        return bos.toByteArray();
    }
}
