package io.historystreams.topology;

import io.historystreams.events.CheckpointFailed;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which failures of a checkpoint the gate tells the chain check were failures of its own ledger file's content. */
class RequestGateTest {
    private static final String LEDGER_FF = "ledger/00/00/00/ledger-000000ff.xdr.gz";
    private static final String LEDGER_BF = "ledger/00/00/00/ledger-000000bf.xdr.gz";

    @Test
    void aLedgerFileFailsForWhatItHoldsNotForBeingAbsent() {
        // a broken link is named by the checkpoint's own ledger file: that copy anchors no successor
        assertTrue(RequestGate.failedOnLedgerFile(0xff, failed("CHAIN_LINK_BROKEN", LEDGER_FF, List.of())));
        // one of several failed files, the first another
        assertTrue(RequestGate.failedOnLedgerFile(0xff, failed("MISSING_FILE", "bucket/00/11/22/bucket-x.xdr.gz",
                List.of("MISSING_FILE bucket/00/11/22/bucket-x.xdr.gz: gone",
                        "HEADER_HASH_MISMATCH " + LEDGER_FF + " (mirror): ledger 200"))));
        // absent, or not fetched: says nothing against the copy a successor read (a tailed archive's hole)
        assertFalse(RequestGate.failedOnLedgerFile(0xff, failed("MISSING_FILE", LEDGER_FF,
                List.of("MISSING_FILE " + LEDGER_FF + " (mirror): 404"))));
        assertFalse(RequestGate.failedOnLedgerFile(0xff, failed("FETCH_FAILED", LEDGER_FF, List.of())));
        // the predecessor's ledger file, named when the link could not be checked, is not this checkpoint's
        assertFalse(RequestGate.failedOnLedgerFile(0xff, failed("HEADER_HASH_MISMATCH", LEDGER_BF,
                List.of("HEADER_HASH_MISMATCH " + LEDGER_BF + ": the link to the previous checkpoint cannot be "
                        + "checked"))));
    }

    private static CheckpointFailed failed(final String reason, final String file, final List<String> lines) {
        return CheckpointFailed.newBuilder().setCheckpoint(0xff).setArchive("a").setReason(reason).setFile(file)
                .setDetail("d").setRetryable(true).setFailedAt(Instant.EPOCH).setFailures(lines).build();
    }
}
