package io.historystreams.verify;

import io.historystreams.archive.FileType;
import io.historystreams.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.nio.file.Files;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every file verifier and cross-file check over whole real archives, read straight from disk. */
class FileVerifiersFixtureTest {
    private static final VerificationLimits LIMITS = VerificationLimits.defaults();
    private static final String TESTNET = "Test SDF Network ; September 2015";

    @Test
    void shouldVerifyEveryFileOfTestnetSmall() throws Exception {
        final FixtureFiles f = new FixtureFiles(Fixtures.testnetSmall());
        final List<Long> cps = f.checkpoints();
        assertEquals(157, cps.size());
        int headers = 0;
        int txSets = 0;
        int resultSets = 0;
        int scpEntries = 0;
        final Set<Hash> buckets = new HashSet<>();
        LedgerHeaderSummary prevLast = null;
        for (final long cp : cps) {
            final HistoryArchiveState has;
            try (InputStream in = f.open(FileType.HAS, cp)) {
                has = HasVerifier.verify(in, "has", cp, TESTNET, LIMITS);
            }
            final List<LedgerHeaderSummary> hs;
            try (InputStream in = f.open(FileType.LEDGER, cp)) {
                hs = LedgerHeaderVerifier.verify(in, "ledger", cp, LIMITS);
            }
            final List<LedgerSetHash> txs;
            try (InputStream in = f.open(FileType.TRANSACTIONS, cp)) {
                txs = TransactionSetVerifier.verify(in, "tx", cp, LIMITS);
            }
            final List<LedgerSetHash> rs;
            try (InputStream in = f.open(FileType.RESULTS, cp)) {
                rs = ResultSetVerifier.verify(in, "results", cp, LIMITS);
            }
            try (InputStream in = f.open(FileType.SCP, cp)) {
                scpEntries += ScpVerifier.verify(in, "scp", cp, LIMITS).entryCount();
            }
            CheckpointCrossCheck.transactionSets(hs, txs, prevLast == null ? null : prevLast.ledgerVersion(), "tx");
            CheckpointCrossCheck.resultSets(hs, rs, "results");
            CheckpointCrossCheck.bucketList(has, hs, "has");
            if (prevLast != null) {
                CheckpointCrossCheck.chainLink(prevLast, hs, "ledger");
            } else {
                CheckpointCrossCheck.genesis(hs, "ledger");
            }
            assertTrue(txs.stream().allMatch(LedgerSetHash::generalized), "protocol 22: generalized sets");
            headers += hs.size();
            txSets += txs.size();
            resultSets += rs.size();
            buckets.addAll(has.buckets());
            prevLast = hs.get(hs.size() - 1);
        }
        assertEquals(10047, headers);
        assertEquals(5722, txSets);
        assertEquals(5722, resultSets);
        assertTrue(scpEntries > 0);
        assertEquals(1169, buckets.size());
        for (final Hash b : buckets) {
            try (InputStream in = Files.newInputStream(f.bucket(b))) {
                assertTrue(BucketVerifier.verify(in, "bucket", b, LIMITS).rawBytes() > 0);
            }
        }
    }

    @Test
    void shouldVerifyPubnetGenesisWithLegacySetsAndNoScp() throws Exception {
        final FixtureFiles f = new FixtureFiles(Fixtures.pubnetGenesis());
        LedgerHeaderSummary prevLast = null;
        int legacy = 0;
        for (final long cp : List.of(63L, 127L)) {
            final HistoryArchiveState has;
            try (InputStream in = f.open(FileType.HAS, cp)) {
                has = HasVerifier.verify(in, "has", cp, "Public Global Stellar Network ; September 2015", LIMITS);
            }
            assertEquals(null, has.networkPassphrase());
            final List<LedgerHeaderSummary> hs;
            try (InputStream in = f.open(FileType.LEDGER, cp)) {
                hs = LedgerHeaderVerifier.verify(in, "ledger", cp, LIMITS);
            }
            assertEquals(cp == 63 ? 63 : 64, hs.size());
            final List<LedgerSetHash> txs;
            try (InputStream in = f.open(FileType.TRANSACTIONS, cp)) {
                txs = TransactionSetVerifier.verify(in, "tx", cp, LIMITS);
            }
            legacy += (int) txs.stream().filter(s -> !s.generalized()).count();
            final List<LedgerSetHash> rs;
            try (InputStream in = f.open(FileType.RESULTS, cp)) {
                rs = ResultSetVerifier.verify(in, "results", cp, LIMITS);
            }
            CheckpointCrossCheck.transactionSets(hs, txs, prevLast == null ? null : prevLast.ledgerVersion(), "tx");
            CheckpointCrossCheck.resultSets(hs, rs, "results");
            CheckpointCrossCheck.bucketList(has, hs, "has");
            if (prevLast == null) {
                assertEquals(0, hs.get(0).ledgerVersion());
                CheckpointCrossCheck.genesis(hs, "ledger");
            } else {
                CheckpointCrossCheck.chainLink(prevLast, hs, "ledger");
            }
            assertFalse(Files.exists(f.path(FileType.SCP, cp)));
            prevLast = hs.get(hs.size() - 1);
        }
        assertTrue(legacy >= 1, "pubnet genesis era has legacy transaction sets");
    }

    @Test
    void shouldComputeVersion2BucketListHashOfHotArchive() throws Exception {
        final FixtureFiles f = new FixtureFiles(Fixtures.testnetP24Hot());
        final long cp = 127;
        final HistoryArchiveState has;
        try (InputStream in = f.open(FileType.HAS, cp)) {
            has = HasVerifier.verify(in, "has", cp, TESTNET, LIMITS);
        }
        assertEquals(2, has.version());
        assertFalse(has.hotLevels().isEmpty());
        final List<LedgerHeaderSummary> hs;
        try (InputStream in = f.open(FileType.LEDGER, cp)) {
            hs = LedgerHeaderVerifier.verify(in, "ledger", cp, LIMITS);
        }
        CheckpointCrossCheck.bucketList(has, hs, "has");
        assertEquals(24, hs.get(hs.size() - 1).ledgerVersion());
    }
}
