package io.historystreams.archive;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class RetryPolicyTest {

    @Test
    void defaults() {
        final RetryPolicy p = RetryPolicy.defaults();
        assertEquals(6, p.maxAttempts());
        assertEquals(Duration.ofMillis(200), p.baseDelay());
        assertEquals(Duration.ofSeconds(30), p.maxDelay());
        assertEquals(Duration.ofSeconds(120), p.maxRetryAfter());
        assertEquals(1, p.contentRetries());
    }

    @Test
    void exponentialCeilingCappedAtMaxDelay() {
        final RetryPolicy p = RetryPolicy.defaults();
        assertEquals(Duration.ofMillis(200), p.backoffCeiling(1));
        assertEquals(Duration.ofMillis(400), p.backoffCeiling(2));
        assertEquals(Duration.ofMillis(3200), p.backoffCeiling(5));
        assertEquals(Duration.ofSeconds(30), p.backoffCeiling(9));
        assertEquals(Duration.ofSeconds(30), p.backoffCeiling(1000));
    }

    @Test
    void fullJitterStaysWithinTheCeiling() {
        final RetryPolicy p = RetryPolicy.defaults();
        boolean sawSmall = false;
        for (int i = 0; i < 500; i++) {
            final Duration d = p.delayFor(3, null);
            assertTrue(!d.isNegative() && d.compareTo(Duration.ofMillis(800)) <= 0, d.toString());
            sawSmall |= d.compareTo(Duration.ofMillis(400)) < 0;
        }
        assertTrue(sawSmall, "no jitter below half the ceiling in 500 draws");
    }

    @Test
    void retryAfterHonouredAndCapped() {
        final RetryPolicy p = RetryPolicy.defaults();
        for (int i = 0; i < 50; i++) {
            assertEquals(Duration.ofSeconds(5), p.delayFor(1, Duration.ofSeconds(5)));
            assertEquals(Duration.ofSeconds(120), p.delayFor(1, Duration.ofHours(2)));
            final Duration d = p.delayFor(9, Duration.ofSeconds(1));
            assertTrue(d.compareTo(Duration.ofSeconds(1)) >= 0 && d.compareTo(Duration.ofSeconds(30)) <= 0);
        }
    }

    @Test
    void rejectsNonsense() {
        assertThrows(IllegalArgumentException.class,
                () -> new RetryPolicy(0, Duration.ZERO, Duration.ZERO, Duration.ZERO));
        assertThrows(IllegalArgumentException.class,
                () -> new RetryPolicy(3, Duration.ofSeconds(2), Duration.ofSeconds(1), Duration.ZERO));
        assertThrows(IllegalArgumentException.class,
                () -> new RetryPolicy(3, Duration.ZERO, Duration.ZERO, Duration.ZERO, -1));
        assertThrows(IllegalArgumentException.class,
                () -> new SourceOptions(Duration.ZERO, Duration.ofSeconds(1)));
    }
}
