package io.historystreams.archive;

import java.time.Duration;
import java.util.Objects;

/**
 * Transport settings of an archive source: how long to wait for a connection, and how long a body may stay silent
 * (an idle timeout per read, not a limit on the whole transfer).
 */
public record SourceOptions(Duration connectTimeout, Duration readTimeout) {
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);
    public static final Duration DEFAULT_READ_TIMEOUT = Duration.ofSeconds(30);

    public SourceOptions {
        Objects.requireNonNull(connectTimeout, "connectTimeout");
        Objects.requireNonNull(readTimeout, "readTimeout");
        if (connectTimeout.isNegative() || connectTimeout.isZero() || readTimeout.isNegative()
                || readTimeout.isZero()) {
            throw new IllegalArgumentException("timeouts must be positive (zero would mean wait forever): connect "
                    + connectTimeout + ", read " + readTimeout);
        }
    }

    /** 10 s to connect, 30 s of silence on a body. */
    public static SourceOptions defaults() {
        return new SourceOptions(DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT);
    }

    public SourceOptions withConnectTimeout(final Duration timeout) {
        return new SourceOptions(timeout, readTimeout);
    }

    public SourceOptions withReadTimeout(final Duration timeout) {
        return new SourceOptions(connectTimeout, timeout);
    }

    /** A timeout as the int milliseconds {@link java.net.URLConnection} takes: at least 1, at most Integer.MAX_VALUE. */
    static int millis(final Duration d) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, d.toMillis()));
    }
}
