package io.historystreams.archive;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * How hard {@link HistoryArchive} tries one file: at most {@code maxAttempts} transient failures, exponential backoff
 * with full jitter between {@code baseDelay} and {@code maxDelay}, a server's Retry-After honoured up to
 * {@code maxRetryAfter}, and {@code contentRetries} re-downloads from a source that served bad bytes. A source taken as
 * down ({@code maxAttempts} transient failures in a row), and so read after the others, is asked again apart from the
 * fetches {@code downRecheck} after its last recheck ended, until it answers (see {@link HistoryArchive}).
 */
public record RetryPolicy(int maxAttempts, Duration baseDelay, Duration maxDelay, Duration maxRetryAfter,
        int contentRetries, Duration downRecheck) {
    public static final int DEFAULT_MAX_ATTEMPTS = 6;
    public static final Duration DEFAULT_BASE_DELAY = Duration.ofMillis(200);
    public static final Duration DEFAULT_MAX_DELAY = Duration.ofSeconds(30);
    public static final Duration DEFAULT_MAX_RETRY_AFTER = Duration.ofSeconds(120);
    public static final int DEFAULT_CONTENT_RETRIES = 1;
    public static final Duration DEFAULT_DOWN_RECHECK = Duration.ofSeconds(30);

    public RetryPolicy {
        Objects.requireNonNull(baseDelay, "baseDelay");
        Objects.requireNonNull(maxDelay, "maxDelay");
        Objects.requireNonNull(maxRetryAfter, "maxRetryAfter");
        Objects.requireNonNull(downRecheck, "downRecheck");
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("maxAttempts must be at least 1: " + maxAttempts);
        }
        if (contentRetries < 0) {
            throw new IllegalArgumentException("contentRetries must not be negative: " + contentRetries);
        }
        if (baseDelay.isNegative() || maxDelay.isNegative() || maxRetryAfter.isNegative() || downRecheck.isNegative()) {
            throw new IllegalArgumentException("delays must not be negative");
        }
        if (maxDelay.compareTo(baseDelay) < 0) {
            throw new IllegalArgumentException("maxDelay " + maxDelay + " is below baseDelay " + baseDelay);
        }
    }

    /** A policy whose source taken as down is rechecked every 30 s. */
    public RetryPolicy(final int maxAttempts, final Duration baseDelay, final Duration maxDelay,
            final Duration maxRetryAfter, final int contentRetries) {
        this(maxAttempts, baseDelay, maxDelay, maxRetryAfter, contentRetries, DEFAULT_DOWN_RECHECK);
    }

    /** A policy with the default number of content retries (1). */
    public RetryPolicy(final int maxAttempts, final Duration baseDelay, final Duration maxDelay,
            final Duration maxRetryAfter) {
        this(maxAttempts, baseDelay, maxDelay, maxRetryAfter, DEFAULT_CONTENT_RETRIES);
    }

    /**
     * 6 attempts, 200 ms doubling up to 30 s, Retry-After honoured up to 120 s, one content retry, a source taken as
     * down rechecked every 30 s.
     */
    public static RetryPolicy defaults() {
        return new RetryPolicy(DEFAULT_MAX_ATTEMPTS, DEFAULT_BASE_DELAY, DEFAULT_MAX_DELAY, DEFAULT_MAX_RETRY_AFTER,
                DEFAULT_CONTENT_RETRIES, DEFAULT_DOWN_RECHECK);
    }

    public RetryPolicy withMaxAttempts(final int attempts) {
        return new RetryPolicy(attempts, baseDelay, maxDelay, maxRetryAfter, contentRetries, downRecheck);
    }

    public RetryPolicy withContentRetries(final int retries) {
        return new RetryPolicy(maxAttempts, baseDelay, maxDelay, maxRetryAfter, retries, downRecheck);
    }

    public RetryPolicy withDownRecheck(final Duration every) {
        return new RetryPolicy(maxAttempts, baseDelay, maxDelay, maxRetryAfter, contentRetries, every);
    }

    /** The ceiling of the backoff after failed attempt {@code attempt} (1-based): {@code min(maxDelay, base * 2^(attempt-1))}. */
    public Duration backoffCeiling(final int attempt) {
        final int shift = Math.max(0, Math.min(attempt - 1, 40));
        final long base = baseDelay.toNanos();
        final long max = maxDelay.toNanos();
        final long ceiling = base > (max >> shift) ? max : Math.min(max, base << shift);
        return Duration.ofNanos(ceiling);
    }

    /**
     * The wait after failed attempt {@code attempt} (1-based): a uniformly random backoff in
     * {@code [0, backoffCeiling(attempt)]} ("full jitter"), raised to the server's Retry-After when there is one,
     * which is itself capped at {@code maxRetryAfter}.
     */
    public Duration delayFor(final int attempt, final Duration retryAfter) {
        final long ceiling = backoffCeiling(attempt).toNanos();
        final long jittered = ceiling == 0 ? 0 : ThreadLocalRandom.current().nextLong(ceiling + 1);
        Duration delay = Duration.ofNanos(jittered);
        if (retryAfter != null && !retryAfter.isNegative()) {
            final Duration honoured = retryAfter.compareTo(maxRetryAfter) > 0 ? maxRetryAfter : retryAfter;
            if (honoured.compareTo(delay) > 0) {
                delay = honoured;
            }
        }
        return delay;
    }
}
