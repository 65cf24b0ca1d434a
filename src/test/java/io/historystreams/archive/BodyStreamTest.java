package io.historystreams.archive;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A body that ends before its declared length reads "body cut short" whichever way the JDK reports it: JDK 17's
 * HttpURLConnection as the end of the stream, later JDKs as an IOException "Premature EOF" (HttpArchiveSourceTest
 * covers the first over a real connection on the JDK that runs the tests).
 */
class BodyStreamTest {
    /** {@code bytes} bytes, then {@code failure}. */
    private static InputStream failingAfter(final int bytes, final IOException failure) {
        return new InputStream() {
            private int left = bytes;

            @Override
            public int read() throws IOException {
                if (left == 0) {
                    throw failure;
                }
                left--;
                return 0;
            }
        };
    }

    private static FetchException.Transient readAll(final InputStream in, final long declared) {
        final BodyStream body = new BodyStream(in, "http://archive/", "ledger/00/00/00/ledger-0000003f.xdr.gz",
                declared, null);
        return assertThrows(FetchException.Transient.class, () -> {
            try (body) {
                body.readAllBytes();
            }
        });
    }

    @Test
    void anEarlyEndIsABodyCutShortHoweverTheJdkReportsIt() {
        final String expected = "body cut short: got 1000 of 5000 bytes";
        assertTrue(readAll(new ByteArrayInputStream(new byte[1000]), 5000).getMessage().contains(expected));
        final FetchException.Transient premature = readAll(failingAfter(1000, new IOException("Premature EOF")), 5000);
        assertTrue(premature.getMessage().contains(expected + " (IOException (Premature EOF))"),
                premature.getMessage());
        final FetchException.Transient eof = readAll(failingAfter(1000, new EOFException()), 5000);
        assertTrue(eof.getMessage().contains(expected), eof.getMessage());
        assertInstanceOf(EOFException.class, eof.getCause());
    }

    @Test
    void otherTransportFailuresKeepTheirOwnMessage() {
        final FetchException.Transient reset = readAll(failingAfter(1000, new SocketException("Connection reset")),
                5000);
        assertTrue(reset.getMessage().contains("read failed after 1000 of 5000 bytes: SocketException (Connection reset)"),
                reset.getMessage());
        // no declared length: an EOF-like failure cannot be called short
        final FetchException.Transient undeclared = readAll(failingAfter(10, new IOException("Premature EOF")), -1);
        assertTrue(undeclared.getMessage().contains("read failed after 10 bytes: IOException (Premature EOF)"),
                undeclared.getMessage());
        assertEquals("http://archive/", undeclared.source());
    }

    /** {@code chunks} reads of 10 bytes, each but the first after {@code pause}. */
    private static InputStream slow(final int chunks, final java.time.Duration pause) {
        return new InputStream() {
            private int left = chunks;

            @Override
            public int read() {
                throw new UnsupportedOperationException();
            }

            @Override
            public int read(final byte[] b, final int off, final int len) {
                if (left == 0) {
                    return -1;
                }
                if (left-- == chunks) {
                    return Math.min(len, 10);
                }
                try {
                    Thread.sleep(pause.toMillis());
                } catch (final InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return Math.min(len, 10);
            }
        };
    }

    @Test
    void aSlowBodyFailsButNotOnTheReadThatCompletesIt() throws IOException {
        final java.time.Duration window = java.time.Duration.ofMillis(100);
        // the read that brings the last declared byte ends the transfer: nothing is left to wait for (it failed
        // as "too slow" and the whole body was fetched again)
        try (BodyStream whole = new BodyStream(slow(2, java.time.Duration.ofMillis(150)), "http://archive/", "a.json",
                20, null, window)) {
            assertEquals(20, whole.readAllBytes().length);
        }
        // the same pace with more to come fails
        final BodyStream more = new BodyStream(slow(2, java.time.Duration.ofMillis(150)), "http://archive/", "a.json",
                30, null, window);
        final FetchException.Transient e = assertThrows(FetchException.Transient.class, more::readAllBytes);
        assertTrue(e.getMessage().contains("transfer too slow: 20 bytes in 0 s (under 1024 bytes/s), 20 bytes in all"),
                e.getMessage());
        more.close();
    }
}
