package io.historystreams.topology;

import io.historystreams.events.FileRef;
import io.historystreams.events.Hashes;
import io.historystreams.verify.FailureReason;
import io.historystreams.verify.VerificationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BucketVerdictsTest {
    private static final String HASH = "ab".repeat(32);

    private static FileRef file(final String source) {
        return FileRef.newBuilder().setPath("bucket/ab/ab/ab/bucket-" + HASH + ".xdr.gz").setSource(source)
                .setBlobRef("blob-" + source).setSha256(Hashes.hash32(HASH)).setSizeBytes(10).setRawSizeBytes(20)
                .build();
    }

    @Test
    void shouldAnswerFromAVerdictAlreadyReachedWithoutFetching() throws Exception {
        final BucketVerdicts verdicts = new BucketVerdicts(8);
        final AtomicInteger fetches = new AtomicInteger();
        final FileRef first = verdicts.get(HASH, f -> true, () -> {
            fetches.incrementAndGet();
            return file("a");
        });
        final FileRef second = verdicts.get(HASH, f -> true, () -> {
            fetches.incrementAndGet();
            return file("b");
        });
        assertEquals(1, fetches.get());
        assertEquals(first, second);
        assertEquals("a", second.getSource());
        assertNotSame(first, second, "each caller gets its own copy");
    }

    @Test
    @Timeout(20)
    void shouldLetASecondCallerWaitForTheFetchInFlight() throws Exception {
        final BucketVerdicts verdicts = new BucketVerdicts(8);
        final AtomicInteger fetches = new AtomicInteger();
        final CountDownLatch started = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        final ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            final Future<FileRef> one = pool.submit(() -> verdicts.get(HASH, f -> true, () -> {
                fetches.incrementAndGet();
                started.countDown();
                try {
                    release.await();
                } catch (final InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return file("a");
            }));
            assertTrue(started.await(10, TimeUnit.SECONDS));
            final Future<FileRef> two = pool.submit(() -> verdicts.get(HASH, f -> true, () -> {
                fetches.incrementAndGet();
                return file("b");
            }));
            Thread.sleep(200); // the second caller is now waiting on the first one's fetch
            release.countDown();
            assertEquals("a", one.get().getSource());
            assertEquals("a", two.get().getSource());
            assertEquals(1, fetches.get());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void shouldNotShareAFailure() throws Exception {
        final BucketVerdicts verdicts = new BucketVerdicts(8);
        assertThrows(VerificationException.class, () -> verdicts.get(HASH, f -> true, () -> {
            throw new VerificationException(FailureReason.BUCKET_HASH_MISMATCH, "bucket/x", "corrupt");
        }));
        assertEquals(0, verdicts.size());
        assertEquals("b", verdicts.get(HASH, f -> true, () -> file("b")).getSource());
    }

    @Test
    void shouldFetchAgainWhenTheVerdictIsNotUsable() throws Exception {
        // e.g. the bucket's kept bytes were evicted from the blob store and a sink needs them
        final BucketVerdicts verdicts = new BucketVerdicts(8);
        verdicts.get(HASH, f -> true, () -> file("a"));
        assertEquals("b", verdicts.get(HASH, f -> !f.getSource().equals("a"), () -> file("b")).getSource());
        assertEquals("b", verdicts.get(HASH, f -> true, () -> file("c")).getSource(), "the new verdict replaced it");
    }

    @Test
    void shouldKeepAtMostCapacityVerdicts() throws Exception {
        final BucketVerdicts verdicts = new BucketVerdicts(4);
        for (int i = 0; i < 100; i++) {
            verdicts.get(String.format("%064x", i), f -> true, () -> file("a"));
        }
        assertEquals(4, verdicts.size());
    }
}
