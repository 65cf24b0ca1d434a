package io.historystreams.topology;

import io.historystreams.verify.FailureReason;
import io.historystreams.verify.VerificationException;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

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
    void shouldKeepAtMostCapacityEntries() throws Exception {
        final SharedFetches<Integer> shared = new SharedFetches<>(4);
        for (int i = 0; i < 100; i++) {
            final int v = i;
            shared.get(SOURCES, "ledger/" + i, 2, () -> v);
        }
        assertEquals(4, shared.size());
    }
}
