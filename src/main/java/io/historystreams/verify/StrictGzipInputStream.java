package io.historystreams.verify;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;
import java.util.zip.ZipException;

/**
 * Gunzips exactly one gzip member (RFC 1952) and refuses anything after it, as the archive rules require ("each
 * {@code .xdr.gz} file is one gzip stream ... trailing bytes are errors"). {@link java.util.zip.GZIPInputStream}
 * cannot be used for that: after a member it reads on into a second member as if the two were one stream, and it
 * drops whatever follows a member when that does not parse as a gzip header, so a file with bytes appended passed.
 * <p>
 * The header is read from the input directly; the compressed bytes go through a pooled buffer ({@link Buffers}),
 * given back on close. The trailer's CRC-32 and size are checked against the bytes inflated. Errors are
 * {@link ZipException} (corrupt) and {@link EOFException} (cut short), as {@code GZIPInputStream}'s are; transport
 * exceptions of the input pass through.
 */
final class StrictGzipInputStream extends InputStream {
    private static final int FHCRC = 2;
    private static final int FEXTRA = 4;
    private static final int FNAME = 8;
    private static final int FCOMMENT = 16;

    private final InputStream in;
    private final Inflater inflater = new Inflater(true);
    private final CRC32 crc = new CRC32();
    private byte[] buf = Buffers.borrow();
    /** The input last given to the inflater was {@code buf[0, lastInputLength)}. */
    private int lastInputLength;
    private boolean eof;
    private boolean closed;
    private final byte[] single = new byte[1];

    /** Reads and checks the gzip header; {@link EOFException} when the input ends inside it. */
    StrictGzipInputStream(final InputStream in) throws IOException {
        this.in = in;
        try {
            readHeader();
        } catch (final IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    private void readHeader() throws IOException {
        final CRC32 headerCrc = new CRC32();
        if (byteOf(headerCrc) != 0x1f || byteOf(headerCrc) != 0x8b) {
            throw new ZipException("Not in GZIP format");
        }
        if (byteOf(headerCrc) != 8) {
            throw new ZipException("Unsupported compression method");
        }
        final int flags = byteOf(headerCrc);
        for (int i = 0; i < 6; i++) { // MTIME, XFL, OS
            byteOf(headerCrc);
        }
        if ((flags & FEXTRA) != 0) {
            final int len = byteOf(headerCrc) | (byteOf(headerCrc) << 8);
            for (int i = 0; i < len; i++) {
                byteOf(headerCrc);
            }
        }
        if ((flags & FNAME) != 0) {
            while (byteOf(headerCrc) != 0) {
                // the original file name, zero-terminated
            }
        }
        if ((flags & FCOMMENT) != 0) {
            while (byteOf(headerCrc) != 0) {
                // a comment, zero-terminated
            }
        }
        if ((flags & FHCRC) != 0) {
            final int expected = (int) (headerCrc.getValue() & 0xffff);
            final int got = byteOf(null) | (byteOf(null) << 8);
            if (got != expected) {
                throw new ZipException("Corrupt GZIP header");
            }
        }
    }

    /** The next input byte (added to {@code headerCrc} if given); {@link EOFException} at the end of the input. */
    private int byteOf(final CRC32 headerCrc) throws IOException {
        final int b = in.read();
        if (b < 0) {
            throw new EOFException("Unexpected end of ZLIB input stream");
        }
        if (headerCrc != null) {
            headerCrc.update(b);
        }
        return b;
    }

    @Override
    public int read() throws IOException {
        return read(single, 0, 1) == 1 ? single[0] & 0xff : -1;
    }

    @Override
    public int read(final byte[] b, final int off, final int len) throws IOException {
        if (closed) {
            throw new IOException("Stream closed");
        }
        if (len == 0) {
            return 0;
        }
        if (eof) {
            return -1;
        }
        try {
            while (true) {
                final int n = inflater.inflate(b, off, len);
                if (n > 0) {
                    crc.update(b, off, n);
                    return n;
                }
                if (inflater.finished()) {
                    readTrailer();
                    eof = true;
                    return -1;
                }
                if (inflater.needsDictionary()) {
                    throw new ZipException("a deflate stream that needs a preset dictionary");
                }
                if (inflater.needsInput()) {
                    final int got = in.read(buf, 0, buf.length);
                    if (got < 0) {
                        throw new EOFException("Unexpected end of ZLIB input stream");
                    }
                    inflater.setInput(buf, 0, got);
                    lastInputLength = got;
                }
            }
        } catch (final DataFormatException e) {
            final String m = e.getMessage();
            throw new ZipException(m != null ? m : "Invalid ZLIB data format");
        }
    }

    /** Checks the 8-byte trailer (CRC-32 and size modulo 2^32), then that nothing follows it. */
    private void readTrailer() throws IOException {
        final int remaining = inflater.getRemaining();
        final int start = lastInputLength - remaining;
        final byte[] trailer = new byte[8];
        final int fromBuffer = Math.min(8, remaining);
        System.arraycopy(buf, start, trailer, 0, fromBuffer);
        for (int i = fromBuffer; i < 8; i++) {
            trailer[i] = (byte) byteOf(null);
        }
        final long crcValue = le32(trailer, 0);
        final long size = le32(trailer, 4);
        if (crcValue != crc.getValue() || size != (inflater.getBytesWritten() & 0xffffffffL)) {
            throw new ZipException("Corrupt GZIP trailer");
        }
        if (remaining > 8 || in.read() >= 0) {
            throw new ZipException("trailing bytes after the gzip stream (a file is one gzip stream)");
        }
    }

    private static long le32(final byte[] b, final int off) {
        return (b[off] & 0xffL) | (b[off + 1] & 0xffL) << 8 | (b[off + 2] & 0xffL) << 16 | (b[off + 3] & 0xffL) << 24;
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        inflater.end();
        Buffers.giveBack(buf);
        buf = null;
        in.close();
    }
}
