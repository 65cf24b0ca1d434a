package io.historystreams.archive;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class CheckpointTest {

    @Test
    void checkpointLedgers() {
        assertTrue(Checkpoint.isCheckpoint(63));
        assertTrue(Checkpoint.isCheckpoint(127));
        assertFalse(Checkpoint.isCheckpoint(64));
        assertFalse(Checkpoint.isCheckpoint(128));
        assertFalse(Checkpoint.isCheckpoint(0));
        assertEquals(63, Checkpoint.containing(1));
        assertEquals(63, Checkpoint.containing(63));
        assertEquals(127, Checkpoint.containing(64));
        assertEquals(127, Checkpoint.containing(127));
        assertEquals(191, Checkpoint.containing(128));
    }

    @Test
    void firstCheckpointHolds63Ledgers() {
        assertEquals(63, Checkpoint.ledgerCount(63));
        assertEquals(1, Checkpoint.firstLedger(63));
        assertEquals(64, Checkpoint.ledgerCount(127));
        assertEquals(64, Checkpoint.firstLedger(127));
        assertEquals(-1, Checkpoint.previous(63));
        assertEquals(63, Checkpoint.previous(127));
        assertEquals(191, Checkpoint.next(127));
        assertThrows(IllegalArgumentException.class, () -> Checkpoint.ledgerCount(64));
        assertThrows(IllegalArgumentException.class, () -> Checkpoint.requireCheckpoint(128));
    }

    @Test
    void ranges() {
        assertEquals(List.of(63L, 127L), Checkpoint.range(1, 64));
        assertEquals(List.of(63L), Checkpoint.range(1, 63));
        assertEquals(List.of(127L), Checkpoint.range(64, 127));
        assertEquals(List.of(127L, 191L), Checkpoint.range(100, 130));
        assertThrows(IllegalArgumentException.class, () -> Checkpoint.range(10, 9));
    }

    @Test
    void paths() {
        assertEquals("ledger/00/00/3f/ledger-00003fff.xdr.gz", ArchivePaths.checkpointFile(FileType.LEDGER, 0x3fff));
        assertEquals("history/00/00/00/history-0000003f.json", ArchivePaths.has(63));
        assertEquals("transactions/01/23/45/transactions-012345ff.xdr.gz",
                ArchivePaths.checkpointFile(FileType.TRANSACTIONS, 0x012345ff));
        final String hash = "b175e30bd573b62355c213174f436bc0f1867a33d76fb70131510cd734d11f9f";
        assertEquals("bucket/b1/75/e3/bucket-" + hash + ".xdr.gz", ArchivePaths.bucket(hash));
        assertThrows(IllegalArgumentException.class, () -> ArchivePaths.checkpointFile(FileType.LEDGER, 64));
        assertThrows(IllegalArgumentException.class, () -> ArchivePaths.checkpointFile(FileType.BUCKET, 63));
    }

    @Test
    void hostileBucketHashesRefused() {
        assertThrows(IllegalArgumentException.class, () -> ArchivePaths.bucket("../../x"));
        assertThrows(IllegalArgumentException.class,
                () -> ArchivePaths.bucket("B175E30BD573B62355C213174F436BC0F1867A33D76FB70131510CD734D11F9F"));
        assertThrows(IllegalArgumentException.class, () -> ArchivePaths.bucket("b175e30b"));
        assertThrows(IllegalArgumentException.class, () -> ArchivePaths.bucket(null));
    }
}
