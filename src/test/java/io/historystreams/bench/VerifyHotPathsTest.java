package io.historystreams.bench;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The JMH benchmarks measure what they say: each operation once, outside JMH, on the same fixture (what it times is
 * bench/jmh.sh's business; this only keeps the operations honest as the code changes).
 */
class VerifyHotPathsTest {
    @Test
    void everyOperationDoesTheWholeFileTypeAndAgreesWithTheJdkFloor() throws Exception {
        final VerifyHotPaths b = new VerifyHotPaths();
        b.load();

        final VerifyHotPaths.Bytes verify = new VerifyHotPaths.Bytes();
        final long bucketRaw = b.bucketsVerify(verify);
        final VerifyHotPaths.Bytes floor = new VerifyHotPaths.Bytes();
        assertEquals(bucketRaw, b.bucketsJdkGunzipSha256(floor), "the verifier and the JDK read the same bytes");
        assertEquals(bucketRaw, b.bucketsJdkGunzipOnly(new VerifyHotPaths.Bytes()));
        assertEquals(verify.compressedBytes, floor.compressedBytes);
        assertTrue(verify.compressedBytes > 10_000_000, "all the fixture's buckets: " + verify.compressedBytes);
        assertTrue(bucketRaw > verify.compressedBytes, "decompressed: " + bucketRaw);

        assertEquals(10047, b.ledgerHeadersVerify(new VerifyHotPaths.Bytes()), "every header of ledgers 1..10047");
        final long framed = b.transactionsFraming(new VerifyHotPaths.Bytes());
        final long gunzipped = b.transactionsJdkGunzipOnly(new VerifyHotPaths.Bytes());
        assertTrue(framed > 0 && framed < gunzipped && gunzipped - framed < gunzipped / 10,
                "the records are the stream less their 4-byte marks: " + framed + " of " + gunzipped);
        final long txSets = b.transactionsVerify(new VerifyHotPaths.Bytes());
        assertTrue(txSets > 0 && txSets <= 10047, "transaction sets: " + txSets);
        final long resultSets = b.resultsVerify(new VerifyHotPaths.Bytes());
        assertEquals(txSets, resultSets, "a result set for every transaction set");
        assertTrue(b.scpVerify(new VerifyHotPaths.Bytes()) > 0);
        assertTrue(b.scpJdkGunzipOnly(new VerifyHotPaths.Bytes()) > 0);
    }
}
