package io.historystreams.verify;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/** Counts the bytes read and fails once they pass a cap (a gzip bomb or an absurd file stops here). */
final class CappedInputStream extends FilterInputStream {
    private final long cap;
    private final String file;
    private long count;

    CappedInputStream(final InputStream in, final long cap, final String file) {
        super(in);
        this.cap = cap;
        this.file = file;
    }

    long count() {
        return count;
    }

    @Override
    public int read() throws IOException {
        final int b = super.read();
        if (b >= 0) {
            add(1);
        }
        return b;
    }

    @Override
    public int read(final byte[] b, final int off, final int len) throws IOException {
        final int n = super.read(b, off, len);
        if (n > 0) {
            add(n);
        }
        return n;
    }

    @Override
    public long skip(final long n) throws IOException {
        final long s = super.skip(n);
        add(s);
        return s;
    }

    private void add(final long n) throws CapExceeded {
        count += n;
        if (count > cap) {
            throw new CapExceeded(file + " decompresses past the " + cap + "-byte cap");
        }
    }

    /** The stream passed its cap. */
    static final class CapExceeded extends IOException {
        CapExceeded(final String message) {
            super(message);
        }
    }
}
