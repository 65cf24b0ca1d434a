package io.historystreams.topology;

import io.historystreams.verify.FailureReason;
import io.historystreams.verify.VerificationException;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SharedFetchesTest {
    private static final List<String> SOURCES = List.of("http://a/");

    @Test
    void shouldFetchOnceForTwoUsesThenForget() throws Exception {
        final SharedFetches<String> shared = new SharedFetches<>(8);
        final AtomicInteger fetches = new AtomicInteger();
        assertEquals("v1", shared.get(SOURCES, "ledger/x", 2, () -> "v" + fetches.incrementAndGet()));
        assertEquals(1, shared.size());
        assertEquals("v1", shared.get(SOURCES, "ledger/x", 2, () -> "v" + fetches.incrementAndGet()));
        assertEquals(0, shared.size());
        assertEquals("v2", shared.get(SOURCES, "ledger/x", 2, () -> "v" + fetches.incrementAndGet()));
        assertEquals("w3", shared.get(List.of("http://b/"), "ledger/x", 2, () -> "w" + fetches.incrementAndGet()));
    }

    @Test
    void shouldNotShareFailures() throws Exception {
        final SharedFetches<String> shared = new SharedFetches<>(8);
        assertThrows(VerificationException.class, () -> shared.get(SOURCES, "ledger/x", 2, () -> {
            throw new VerificationException(FailureReason.MISSING_FILE, "ledger/x", "absent");
        }));
        assertEquals(0, shared.size());
        assertEquals("ok", shared.get(SOURCES, "ledger/x", 2, () -> "ok"));
    }

    @Test
    void aCallerWaitingForAnotherOnesFetchTakesNoPlaceOfTheFetchPool() throws Exception {
        // with --fetch-concurrency 2, the waiter for a slow ledger file held the pool's second thread: nothing else was
        // fetched until that file came (a run stopped at 2 verified checkpoints for minutes)
        final SharedFetches<String> shared = new SharedFetches<>(8);
        final java.util.concurrent.ForkJoinPool pool = PipelineContext.fetchPool(2);
        try {
            final java.util.concurrent.CountDownLatch fetching = new java.util.concurrent.CountDownLatch(1);
            final java.util.concurrent.CountDownLatch slowFileComes = new java.util.concurrent.CountDownLatch(1);
            final AtomicInteger fetches = new AtomicInteger();
            final java.util.concurrent.Future<String> first = pool.submit(() -> shared.get(SOURCES, "ledger/x", 2,
                    () -> {
                        fetches.incrementAndGet();
                        fetching.countDown();
                        try {
                            slowFileComes.await();
                        } catch (final InterruptedException e) {
                            throw new IllegalStateException(e);
                        }
                        return "v";
                    }));
            assertTrue(fetching.await(10, java.util.concurrent.TimeUnit.SECONDS));
            final java.util.concurrent.Future<String> waiter = pool.submit(() -> shared.get(SOURCES, "ledger/x", 2,
                    () -> "fetched again"));
            final java.util.concurrent.CountDownLatch other = new java.util.concurrent.CountDownLatch(1);
            pool.execute(other::countDown);
            assertTrue(other.await(10, java.util.concurrent.TimeUnit.SECONDS),
                    "another fetch ran while one thread fetched the slow file and one waited for it");
            assertFalse(first.isDone() || waiter.isDone());
            slowFileComes.countDown();
            assertEquals("v", first.get(10, java.util.concurrent.TimeUnit.SECONDS));
            assertEquals("v", waiter.get(10, java.util.concurrent.TimeUnit.SECONDS), "the waiter shared the fetch");
            assertEquals(1, fetches.get());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aResultNotShareableIsFetchedAgainByTheNextCaller() throws Exception {
        // a ledger file read from a later source after the first one's passing error: the checkpoint read again to
        // replace a forged copy took the forged mirror's copy its successor had read as its anchor (a trial)
        final SharedFetches<String> shared = new SharedFetches<>(8, v -> !v.startsWith("fallback"));
        final AtomicInteger fetches = new AtomicInteger();
        assertEquals("fallback 1", shared.get(SOURCES, "ledger/x", 2, () -> "fallback " + fetches.incrementAndGet()));
        assertEquals(0, shared.size());
        assertEquals("first 2", shared.get(SOURCES, "ledger/x", 2, () -> "first " + fetches.incrementAndGet()));
        assertEquals("first 2", shared.get(SOURCES, "ledger/x", 2, () -> "first " + fetches.incrementAndGet()));
        assertEquals(2, fetches.get());
    }

    @Test
    void shouldKeepAtMostCapacityEntries() throws Exception {
        final SharedFetches<Integer> shared = new SharedFetches<>(4);
        for (int i = 0; i < 100; i++) {
            final int v = i;
            shared.get(SOURCES, "ledger/" + i, 2, () -> v);
        }
        assertEquals(4, shared.size());
    }
}
