package io.historystreams.verify;

import java.security.MessageDigest;

/**
 * A bounds-checked cursor over one XDR record held in a byte array. Reads only what verification needs; every
 * read past the record's end is a {@link FailureReason#MALFORMED_XDR} naming the file, the record and the offset.
 */
public final class XdrReader {
    private final byte[] buf;
    private final int start;
    private final int limit;
    private final String file;
    private final long recordIndex;
    private int pos;

    public XdrReader(final byte[] buf, final int offset, final int length, final String file, final long recordIndex) {
        this.buf = buf;
        this.start = offset;
        this.pos = offset;
        this.limit = offset + length;
        this.file = file;
        this.recordIndex = recordIndex;
    }

    public String file() {
        return file;
    }

    public byte[] buffer() {
        return buf;
    }

    /** Offset of the cursor in {@link #buffer()}. */
    public int position() {
        return pos;
    }

    /** Offset of the cursor relative to the record start. */
    public int offset() {
        return pos - start;
    }

    public int start() {
        return start;
    }

    public int limit() {
        return limit;
    }

    public int remaining() {
        return limit - pos;
    }

    public long recordIndex() {
        return recordIndex;
    }

    private void need(final long n, final String what) throws VerificationException {
        if (n < 0 || n > limit - pos) {
            throw malformed(what + " needs " + n + " bytes at offset " + (pos - start) + ", only " + (limit - pos)
                    + " left in the record");
        }
    }

    public VerificationException malformed(final String detail) {
        return new VerificationException(FailureReason.MALFORMED_XDR, file, "record #" + recordIndex + ": " + detail);
    }

    public int readInt(final String what) throws VerificationException {
        need(4, what);
        final int v = ((buf[pos] & 0xff) << 24) | ((buf[pos + 1] & 0xff) << 16) | ((buf[pos + 2] & 0xff) << 8)
                | (buf[pos + 3] & 0xff);
        pos += 4;
        return v;
    }

    public long readUnsignedInt(final String what) throws VerificationException {
        return readInt(what) & 0xFFFFFFFFL;
    }

    public long readLong(final String what) throws VerificationException {
        final long hi = readUnsignedInt(what);
        final long lo = readUnsignedInt(what);
        return (hi << 32) | lo;
    }

    public Hash readHash(final String what) throws VerificationException {
        need(Hash.SIZE, what);
        final Hash h = Hash.of(buf, pos);
        pos += Hash.SIZE;
        return h;
    }

    public void skip(final int n, final String what) throws VerificationException {
        need(n, what);
        pos += n;
    }

    /** Reads a variable-length opaque's length (checked against {@code max}) and skips its padded bytes. */
    public int skipVarOpaque(final int max, final String what) throws VerificationException {
        final long len = readUnsignedInt(what + " length");
        if (len > max) {
            throw malformed(what + " length " + len + " exceeds its maximum " + max);
        }
        final int padded = (int) ((len + 3) & ~3L);
        need(padded, what);
        for (int i = (int) len; i < padded; i++) {
            if (buf[pos + i] != 0) {
                throw malformed(what + " has non-zero padding");
            }
        }
        pos += padded;
        return (int) len;
    }

    /** Reads an array count, refusing counts that could not fit in the rest of the record. */
    public int readCount(final int minElementBytes, final String what) throws VerificationException {
        final long n = readUnsignedInt(what + " count");
        if (n * minElementBytes > remaining()) {
            throw malformed(what + " count " + n + " cannot fit in the " + remaining() + " bytes left");
        }
        return (int) n;
    }

    public void expectEnd(final String what) throws VerificationException {
        if (pos != limit) {
            throw malformed((limit - pos) + " unexpected trailing bytes after " + what);
        }
    }

    /** Feeds {@code [from, to)} of the buffer (absolute offsets) to a digest. */
    public void digest(final MessageDigest d, final int from, final int to) {
        d.update(buf, from, to - from);
    }

    public Hash sha256(final int from, final int to) {
        return Hash.sha256(buf, from, to - from);
    }
}
