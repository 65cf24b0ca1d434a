package io.historystreams.verify;

import io.historystreams.archive.FetchException;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.zip.ZipException;

/**
 * Reads the records of an {@code .xdr.gz} file while it streams in: gunzips with a cap on the decompressed size,
 * then splits records on their marks ({@code 0x80000000 | length}). A missing high bit, a length past the end of
 * the stream, trailing bytes, a record over the cap: each a {@link VerificationException} naming the file.
 * Transport failures ({@link FetchException}) pass through untouched so the caller can retry.
 */
public final class XdrRecordStream implements AutoCloseable {
    private static final int INITIAL_RECORD_BUFFER = 8 << 10;

    private final CappedInputStream in;
    /** Read-ahead of decompressed bytes ({@code io[ioPos, ioLim)}), a pooled buffer; null once closed. */
    private byte[] io;
    private int ioPos;
    private int ioLim;
    private final String file;
    private final int maxRecord;
    private byte[] buf = new byte[INITIAL_RECORD_BUFFER];
    private int length;
    private long records;

    private XdrRecordStream(final CappedInputStream counted, final String file, final int maxRecord) {
        this.in = counted;
        this.io = Buffers.borrow();
        this.file = file;
        this.maxRecord = maxRecord;
    }

    /** Opens a gzipped record stream; the caller closes {@code compressed}. */
    public static XdrRecordStream open(final InputStream compressed, final String file, final long maxRawBytes,
            final int maxRecordBytes) throws IOException, VerificationException {
        return new XdrRecordStream(new CappedInputStream(gunzip(compressed, file), maxRawBytes, file), file,
                maxRecordBytes);
    }

    /** What {@link #forEach} does with each record. */
    @FunctionalInterface
    public interface RecordBody {
        void accept(XdrReader record) throws VerificationException;
    }

    /**
     * Reads every record of a gzipped file through {@code body}. A failure met on the way (by the framing or by the
     * body) is {@link #explain explained} before the stream closes: damaged deflate data often decodes to garbage for a
     * while before inflate notices, and then the damage is the gzip stream's, not the XDR's.
     */
    public static void forEach(final InputStream compressed, final String file, final VerificationLimits limits,
            final RecordBody body) throws IOException, VerificationException {
        try (XdrRecordStream records = open(compressed, file, limits.maxXdrFileRawBytes(), limits.maxRecordBytes())) {
            try {
                while (records.next()) {
                    body.accept(records.record());
                }
            } catch (final VerificationException e) {
                throw records.explain(e);
            }
        }
    }

    /**
     * What a failure met while reading the records means: when the rest of the stream is not sound gzip (inflate
     * fails, it ends early, or its CRC does not match), that {@link FailureReason#CORRUPT_GZIP}, with the failure it
     * caused named; otherwise {@code e} itself. Reads the rest of the stream, within the decompressed-size cap; a
     * transport failure or the cap on the way leaves {@code e} as it is.
     */
    public VerificationException explain(final VerificationException e) {
        if (e.reason() == FailureReason.CORRUPT_GZIP || io == null) {
            return e;
        }
        try {
            while (available() > 0) {
                ioPos = ioLim;
            }
        } catch (final EOFException | ZipException gz) {
            final VerificationException corrupt;
            try {
                corrupt = translate(gz, file);
            } catch (final IOException notGzip) {
                return e;
            }
            return new VerificationException(FailureReason.CORRUPT_GZIP, file, corrupt.getMessage()
                    + "; the damaged data read as XDR before that: " + e.reason() + " " + e.getMessage(), gz);
        } catch (final IOException other) {
            return e;
        }
        return e;
    }

    /** Starts gunzipping; a stream that is not gzip at all fails here with {@link FailureReason#CORRUPT_GZIP}. */
    public static InputStream gunzip(final InputStream compressed, final String file)
            throws IOException, VerificationException {
        try {
            return new StrictGzipInputStream(compressed);
        } catch (final FetchException e) {
            throw e;
        } catch (final EOFException e) {
            throw new VerificationException(FailureReason.CORRUPT_GZIP, file, "empty or truncated gzip header", e);
        } catch (final ZipException e) {
            throw new VerificationException(FailureReason.CORRUPT_GZIP, file, "not gzip: " + e.getMessage(), e);
        }
    }

    /**
     * Translates an IOException raised while decompressing into the verification failure it means; transport
     * failures are rethrown as they are.
     */
    public static VerificationException translate(final IOException e, final String file) throws IOException {
        if (e instanceof FetchException) {
            throw e;
        }
        if (e instanceof CappedInputStream.CapExceeded cap) {
            return new VerificationException(FailureReason.TOO_LARGE, file, cap.getMessage(), e);
        }
        if (e instanceof EOFException) {
            return new VerificationException(FailureReason.CORRUPT_GZIP, file,
                    "gzip stream ends early (truncated file)", e);
        }
        if (e instanceof ZipException) {
            return new VerificationException(FailureReason.CORRUPT_GZIP, file, "corrupt gzip: " + e.getMessage(), e);
        }
        throw e;
    }

    /** Advances to the next record; false at a clean end of stream. */
    public boolean next() throws IOException, VerificationException {
        try {
            return readRecord();
        } catch (final IOException e) {
            throw translate(e, file);
        }
    }

    /** Bytes buffered ahead, refilling when none are: 0 only at the end of the stream. */
    private int available() throws IOException {
        if (ioPos < ioLim) {
            return ioLim - ioPos;
        }
        if (io == null) {
            throw new IOException("Stream closed");
        }
        int n;
        do {
            n = in.read(io, 0, io.length);
        } while (n == 0);
        ioPos = 0;
        ioLim = Math.max(n, 0);
        return ioLim;
    }

    private boolean readRecord() throws IOException, VerificationException {
        if (available() == 0) {
            return false;
        }
        int mark = 0;
        for (int i = 0; i < 4; i++) {
            if (available() == 0) {
                throw new VerificationException(FailureReason.BAD_FRAMING, file,
                        "trailing bytes after record #" + records + " (a partial record mark)");
            }
            mark = (mark << 8) | (io[ioPos++] & 0xff);
        }
        final VerificationException bad = RecordFraming.badMark(mark, records, file, maxRecord);
        if (bad != null) {
            throw bad;
        }
        final int len = mark & 0x7FFFFFFF;
        // grow only as bytes actually arrive, so a hostile length cannot allocate memory by itself
        int got = 0;
        while (got < len) {
            if (got == buf.length) {
                buf = Arrays.copyOf(buf, (int) Math.min((long) len, (long) buf.length * 2));
            }
            final int avail = available();
            if (avail == 0) {
                throw new VerificationException(FailureReason.BAD_FRAMING, file, "record #" + records + " length "
                        + len + " runs past the end of the stream (" + got + " bytes left)");
            }
            final int n = Math.min(avail, Math.min(len, buf.length) - got);
            System.arraycopy(io, ioPos, buf, got, n);
            ioPos += n;
            got += n;
        }
        length = len;
        records++;
        return true;
    }

    /** A cursor over the current record. */
    public XdrReader record() {
        return new XdrReader(buf, 0, length, file, records - 1);
    }

    public byte[] recordBytes() {
        return Arrays.copyOf(buf, length);
    }

    public int recordLength() {
        return length;
    }

    public long recordCount() {
        return records;
    }

    /** Decompressed bytes read so far. */
    public long rawBytes() {
        return in.count();
    }

    public String file() {
        return file;
    }

    @Override
    public void close() throws IOException {
        in.close();
        if (io != null) {
            Buffers.giveBack(io);
            io = null;
            ioPos = 0;
            ioLim = 0;
        }
    }
}
