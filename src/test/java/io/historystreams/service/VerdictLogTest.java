package io.historystreams.service;

import io.historystreams.events.CheckpointFailed;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class VerdictLogTest {
    private static final String SRC = "/archives/testnet-p24-hot";

    private static CheckpointFailed failed(final String detail, final List<String> failures) {
        return CheckpointFailed.newBuilder().setCheckpoint(63).setArchive(SRC).setReason("MISSING_FILE")
                .setFile("bucket/39/a.xdr.gz").setSource(SRC).setDetail(detail).setRetryable(true).setAttempt(3)
                .setFailedAt(Instant.EPOCH).setFailures(failures).build();
    }

    @Test
    void filesThatFailedAlikeAreNamedTogetherWithTheSourceOnce() {
        // as the join stage lists them (Facts.line): two buckets missing, one corrupt
        final CheckpointFailed f = failed("incomplete: ...", List.of(
                "MISSING_FILE bucket/39/a.xdr.gz (" + SRC + "): not present in any source: " + SRC,
                "MISSING_FILE bucket/8c/b.xdr.gz (" + SRC + "): not present in any source: " + SRC,
                "BUCKET_HASH_MISMATCH bucket/9f/c.xdr.gz (" + SRC + "): hash 00ff"));
        assertEquals("checkpoint 63 (0x3f) FAILED: 3 files: MISSING_FILE bucket/39/a.xdr.gz, bucket/8c/b.xdr.gz "
                + "(2 files) from " + SRC + " (not present in any source); BUCKET_HASH_MISMATCH bucket/9f/c.xdr.gz from "
                + SRC + " (hash 00ff);", VerdictLog.failedLine(f));
    }

    @Test
    void oneFailureOrAnUnreadableListIsPrintedAsTheEventSaysIt() {
        final String one = "MISSING_FILE bucket/39/a.xdr.gz (" + SRC + "): not present in any source: " + SRC;
        assertEquals("checkpoint 63 (0x3f) FAILED: MISSING_FILE bucket/39/a.xdr.gz from " + SRC + ": gone",
                VerdictLog.failedLine(failed("gone", List.of(one))));
        assertEquals("checkpoint 63 (0x3f) FAILED: MISSING_FILE bucket/39/a.xdr.gz from " + SRC + ": both",
                VerdictLog.failedLine(failed("both", List.of(one, "something else"))));
    }
}
