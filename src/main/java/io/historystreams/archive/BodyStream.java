package io.historystreams.archive;

import java.io.EOFException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;

/**
 * A source's body stream: counts bytes, turns every transport IOException into {@link FetchException.Transient},
 * and turns an early end of a body with a declared length into "body cut short" instead of a silent EOF. With a
 * low-speed window, a transfer that averages less than {@link #LOW_SPEED_BYTES_PER_SECOND} over a whole window fails
 * as a transient failure too: a server that drips a byte every few seconds never trips the read timeout (an idle
 * timeout), and would hold a fetch for hours.
 */
final class BodyStream extends FilterInputStream {
    private final String source;
    private final String path;
    private final long declaredLength;
    private final Runnable onAbort;
    /** Bytes per second below which a whole window is too slow (1 KiB/s: far below any working archive server). */
    static final long LOW_SPEED_BYTES_PER_SECOND = 1024;
    private final long windowNanos;
    private long windowStart;
    private long countAtWindowStart;
    private long count;
    private boolean broken;
    private boolean closed;

    /**
     * @param onAbort run on close when a read failed or the body was cut short, so that a broken connection is dropped
     *                instead of reused; may be null (a body merely left unread is drained or dropped by the JDK)
     */
    BodyStream(final InputStream in, final String source, final String path, final long declaredLength,
            final Runnable onAbort) {
        this(in, source, path, declaredLength, onAbort, null);
    }

    /** @param lowSpeedWindow the window of the low-speed check; null: no check (a local file) */
    BodyStream(final InputStream in, final String source, final String path, final long declaredLength,
            final Runnable onAbort, final Duration lowSpeedWindow) {
        super(in);
        this.source = source;
        this.path = path;
        this.declaredLength = declaredLength;
        this.onAbort = onAbort;
        this.windowNanos = lowSpeedWindow == null ? 0 : lowSpeedWindow.toNanos();
        this.windowStart = System.nanoTime();
    }

    /** After a read: fails the transfer when the window that just ended brought too few bytes. */
    private void checkSpeed() throws FetchException.Transient {
        if (windowNanos == 0) {
            return;
        }
        final long now = System.nanoTime();
        final long elapsed = now - windowStart;
        if (elapsed < windowNanos || count == declaredLength) {
            return; // within the window, or the whole declared body has come: nothing is left to wait for
        }
        final long got = count - countAtWindowStart;
        if (got * 1_000_000_000L < LOW_SPEED_BYTES_PER_SECOND * elapsed) {
            broken = true;
            throw new FetchException.Transient(source, path, String.format("transfer too slow: %d bytes in %.0f s "
                    + "(under %d bytes/s), %d bytes in all", got, elapsed / 1e9, LOW_SPEED_BYTES_PER_SECOND, count),
                    null, null, true);
        }
        windowStart = now;
        countAtWindowStart = count;
    }

    @Override
    public int read() throws IOException {
        final int b;
        try {
            b = in.read();
        } catch (final FetchException e) {
            throw e;
        } catch (final IOException e) {
            throw transportFailure(e);
        }
        if (b < 0) {
            atEnd();
            return -1;
        }
        count++;
        checkSpeed();
        return b;
    }

    @Override
    public int read(final byte[] buf, final int off, final int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        final int n;
        try {
            n = in.read(buf, off, len);
        } catch (final FetchException e) {
            throw e;
        } catch (final IOException e) {
            throw transportFailure(e);
        }
        if (n < 0) {
            atEnd();
            return -1;
        }
        count += n;
        checkSpeed();
        return n;
    }

    @Override
    public long skip(final long n) throws IOException {
        // Skip by reading so that the count and the cut-short check stay exact.
        return skipByReading(this, n);
    }

    /** Skips {@code n} bytes of {@code in} through its own {@code read}, so wrappers that count or check see them. */
    static long skipByReading(final InputStream in, final long n) throws IOException {
        final byte[] scratch = new byte[(int) Math.min(8192, Math.max(n, 1))];
        long skipped = 0;
        while (skipped < n) {
            final int r = in.read(scratch, 0, (int) Math.min(scratch.length, n - skipped));
            if (r < 0) {
                break;
            }
            skipped += r;
        }
        return skipped;
    }

    @Override
    public int available() throws IOException {
        try {
            return in.available();
        } catch (final IOException e) {
            throw transportFailure(e);
        }
    }

    @Override
    public boolean markSupported() {
        return false;
    }

    @Override
    public synchronized void mark(final int readlimit) {
    }

    @Override
    public synchronized void reset() throws IOException {
        throw new IOException("mark/reset not supported");
    }

    /** Bytes read so far. */
    long count() {
        return count;
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (broken && onAbort != null) {
                onAbort.run();
            }
        } finally {
            try {
                in.close();
            } catch (final IOException e) {
                // The body was read (or abandoned) already; a failing close changes nothing for the caller.
            }
        }
    }

    private void atEnd() throws FetchException.Transient {
        if (endedEarly()) {
            throw cutShort(null);
        }
    }

    /** Fewer bytes than the declared length so far. */
    private boolean endedEarly() {
        return declaredLength >= 0 && count < declaredLength;
    }

    /**
     * The connection ended before the declared length. JDK 17's HttpURLConnection reports it as the end of the body
     * ({@link #atEnd}), later JDKs throw "Premature EOF" ({@code cause}); the same message either way.
     */
    private FetchException.Transient cutShort(final IOException cause) {
        broken = true;
        return new FetchException.Transient(source, path, "body cut short: got " + count + " of " + declaredLength
                + " bytes" + (cause == null ? "" : " (" + describe(cause) + ")"), null, cause);
    }

    private FetchException.Transient transportFailure(final IOException e) {
        if (endedEarly() && (e instanceof EOFException || "Premature EOF".equals(e.getMessage()))) {
            return cutShort(e);
        }
        broken = true;
        return new FetchException.Transient(source, path,
                "read failed after " + count + (declaredLength >= 0 ? " of " + declaredLength : "") + " bytes: "
                        + describe(e), null, e);
    }

    /** Exception class and message, for error messages. */
    static String describe(final Throwable e) {
        final String m = e.getMessage();
        return e.getClass().getSimpleName() + (m == null || m.isBlank() ? "" : " (" + m + ")");
    }
}
