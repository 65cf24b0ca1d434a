package io.historystreams.publish;

import java.io.IOException;
import java.time.Duration;

/** A failed write to a target archive; {@link #retryable()} says whether another attempt may succeed. */
public final class PublishException extends IOException {
    private final boolean retryable;
    private final Duration retryAfter;

    public PublishException(final String message, final boolean retryable, final Throwable cause) {
        this(message, retryable, null, cause);
    }

    public PublishException(final String message, final boolean retryable, final Duration retryAfter,
            final Throwable cause) {
        super(message, cause);
        this.retryable = retryable;
        this.retryAfter = retryAfter;
    }

    /** True for transient failures (5xx, 429, connection errors, timeouts, a failing upload command). */
    public boolean retryable() {
        return retryable;
    }

    /** The server's Retry-After hint, or null. */
    public Duration retryAfter() {
        return retryAfter;
    }
}
