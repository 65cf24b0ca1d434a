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
        private final boolean waited;

        /** A failure that waited out a timeout when {@code cause} is one (see {@link #waited}). */
        public Transient(final String source, final String path, final String message, final Duration retryAfter,
                final Throwable cause) {
            this(source, path, message, retryAfter, cause, timedOut(cause));
        }

        public Transient(final String source, final String path, final String message, final Duration retryAfter,
                final Throwable cause, final boolean waited) {
            super(source, path, message, cause);
            this.retryAfter = retryAfter;
            this.waited = waited;
        }

        /** The server's Retry-After, or null. */
        public Duration retryAfter() {
            return retryAfter;
        }

        /**
         * Whether the attempt failed after waiting out a timeout (connect, read, the headers' deadline, a body too
         * slow): each such attempt costs that wait, unlike a refused connection or a 503, which fail at once.
         */
        public boolean waited() {
            return waited;
        }
    }

    /** Whether {@code e}, or a cause of it, is a timeout (a socket's, or the HTTP client's). */
    public static boolean timedOut(final Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof java.net.SocketTimeoutException || t instanceof java.net.http.HttpTimeoutException
                    || t instanceof Transient f && f.waited) {
                return true;
            }
        }
        return false;
    }

    /** Trying again will not help: 4xx other than 404/408/429, TLS failure, a path that escapes the root. */
    public static final class Refused extends FetchException {
        public Refused(final String source, final String path, final String message, final Throwable cause) {
            super(source, path, message, cause);
        }
    }
}
