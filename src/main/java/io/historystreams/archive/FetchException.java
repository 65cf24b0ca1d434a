package io.historystreams.archive;

import java.io.IOException;
import java.time.Duration;

/** A failed attempt to read a file from one source. The subclass says whether another attempt may help. */
public abstract class FetchException extends IOException {
    private final String source;
    private final String path;

    protected FetchException(final String source, final String path, final String message, final Throwable cause) {
        super(source + " " + path + ": " + message, cause);
        this.source = source;
        this.path = path;
    }

    public String source() {
        return source;
    }

    public String path() {
        return path;
    }

    /** The source does not have the file (404 or no such file). */
    public static final class NotPresent extends FetchException {
        public NotPresent(final String source, final String path, final String message) {
            super(source, path, message, null);
        }
    }

    /** Trying again may help: 5xx, 408, 429, resets, timeouts, a body cut short. */
    public static final class Transient extends FetchException {
        private final Duration retryAfter;

        public Transient(final String source, final String path, final String message, final Duration retryAfter,
                final Throwable cause) {
            super(source, path, message, cause);
            this.retryAfter = retryAfter;
        }

        /** The server's Retry-After, or null. */
        public Duration retryAfter() {
            return retryAfter;
        }
    }

    /** Trying again will not help: 4xx other than 404/408/429, TLS failure, a path that escapes the root. */
    public static final class Refused extends FetchException {
        public Refused(final String source, final String path, final String message, final Throwable cause) {
            super(source, path, message, cause);
        }
    }
}
