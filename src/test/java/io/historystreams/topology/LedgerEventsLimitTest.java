package io.historystreams.topology;

import io.historystreams.verify.FailureReason;
import io.historystreams.verify.VerificationException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A forged archive can chain headers to a transaction set of any size (a set is checked against its header's hash
 * alone): a ledger event too large for a Kafka message of the pipeline's topics failed to send and stopped the
 * pipeline, on every restart. It is now the checkpoint's TOO_LARGE failure.
 */
class LedgerEventsLimitTest {
    private static final String PATH = "transactions/00/00/27/transactions-0000273f.xdr.gz";

    @Test
    void aLedgerEventTooLargeForAMessageFailsTheCheckpoint() throws VerificationException {
        final byte[] big = new byte[Topics.MAX_MESSAGE_BYTES - 200 * 1024];
        assertEquals(big.length + 400 + 4, LedgerEvents.fits(9984, 400, big, new byte[4], 0, PATH));
        final VerificationException e = assertThrows(VerificationException.class,
                () -> LedgerEvents.fits(9984, 400, new byte[20 << 20], new byte[4], 0, PATH));
        assertEquals(FailureReason.TOO_LARGE, e.reason());
        assertEquals(PATH, e.file());
        assertTrue(e.getMessage().contains("ledger 9984's transaction set (20971520 bytes) and result set (4 bytes) "
                + "are too large for one ledger event"), e.getMessage());
        // results count too
        assertThrows(VerificationException.class,
                () -> LedgerEvents.fits(9984, 400, big, new byte[300 * 1024], 0, PATH));
    }

    @Test
    void aCheckpointsEventsTogetherAreBoundedToo() throws VerificationException {
        final byte[] set = new byte[8 << 20];
        long total = 0;
        for (int i = 0; i < 31; i++) {
            total += LedgerEvents.fits(i, 400, set, null, total, PATH);
        }
        final long before = total;
        final VerificationException e = assertThrows(VerificationException.class,
                () -> LedgerEvents.fits(31, 400, set, null, before, PATH));
        assertEquals(FailureReason.TOO_LARGE, e.reason());
        assertTrue(e.getMessage().contains("hold more than 256 MiB"), e.getMessage());
    }
}
