package io.historystreams.verify;

/**
 * Checks the record framing of a decompressed {@code .xdr.gz} stream as its bytes go by, without holding a record:
 * every record a 4-byte mark {@code 0x80000000 | length} and then that many bytes, up to the end of the stream (the
 * rule {@link XdrRecordStream} applies to the files it parses, for the buckets, which are only hashed). A missing
 * last-fragment bit, a length over the cap or past the end, or a partial mark at the end is {@code BAD_FRAMING}
 * ({@code TOO_LARGE} for the cap); a length that no XDR value has (0, or not a multiple of 4) is
 * {@code MALFORMED_XDR}. The first failure is kept and said by {@link #finish()}, so that a caller can put another
 * check first (a bucket whose content is not what its name says is a hash mismatch, wherever the damage fell).
 */
final class RecordFraming {
    private final String file;
    private final int maxRecord;
    /** Bytes of the current record still to come; while 0, the next bytes are a mark. */
    private long remaining;
    private int mark;
    private int markBytes;
    private long records;
    private VerificationException failure;

    RecordFraming(final String file, final int maxRecord) {
        this.file = file;
        this.maxRecord = maxRecord;
    }

    /** Takes the next {@code n} bytes of the stream. */
    void update(final byte[] b, final int off, final int n) {
        if (failure != null) {
            return;
        }
        int i = off;
        final int end = off + n;
        while (i < end) {
            if (remaining > 0) {
                final int skip = (int) Math.min(remaining, end - i);
                i += skip;
                remaining -= skip;
                continue;
            }
            mark = (mark << 8) | (b[i++] & 0xff);
            if (++markBytes == 4) {
                failure = startRecord();
                if (failure != null) {
                    return;
                }
            }
        }
    }

    /**
     * What is wrong with record {@code record}'s mark (the last-fragment bit missing, a length over {@code maxRecord}),
     * or null: the checks of every record mark, here and in {@link XdrRecordStream}.
     */
    static VerificationException badMark(final int mark, final long record, final String file, final int maxRecord) {
        if ((mark & 0x80000000) == 0) {
            return new VerificationException(FailureReason.BAD_FRAMING, file,
                    "record #" + record + " mark 0x" + Integer.toHexString(mark) + " lacks the last-fragment bit");
        }
        final int len = mark & 0x7FFFFFFF;
        if (len > maxRecord) {
            return new VerificationException(FailureReason.TOO_LARGE, file,
                    "record #" + record + " claims " + len + " bytes, over the " + maxRecord + "-byte cap");
        }
        return null;
    }

    private VerificationException startRecord() {
        final VerificationException bad = badMark(mark, records, file, maxRecord);
        if (bad != null) {
            return bad;
        }
        final int len = mark & 0x7FFFFFFF;
        if (len == 0 || len % 4 != 0) {
            return new VerificationException(FailureReason.MALFORMED_XDR, file, "record #" + records + " is " + len
                    + " bytes long: XDR values are whole 4-byte units, and a bucket entry is at least one");
        }
        remaining = len;
        mark = 0;
        markBytes = 0;
        records++;
        return null;
    }

    /** At the end of the stream: the first failure, or the last record not whole. Returns the number of records. */
    long finish() throws VerificationException {
        if (failure != null) {
            throw failure;
        }
        if (markBytes != 0) {
            throw new VerificationException(FailureReason.BAD_FRAMING, file,
                    "trailing bytes after record #" + records + " (a partial record mark)");
        }
        if (remaining > 0) {
            throw new VerificationException(FailureReason.BAD_FRAMING, file, "record #" + (records - 1)
                    + " runs past the end of the stream (" + remaining + " bytes missing)");
        }
        return records;
    }
}
