package io.historystreams.verify;

/**
 * Caps that keep hostile or absurd input from exhausting memory or disk: decompressed sizes per file kind, the
 * largest single XDR record, the largest HAS document.
 */
public record VerificationLimits(long maxBucketRawBytes, long maxXdrFileRawBytes, int maxRecordBytes,
        int maxHasBytes) {

    /** Generous for pubnet (buckets of tens of GB, transaction sets of a few MB), small enough to refuse bombs. */
    public static VerificationLimits defaults() {
        return new VerificationLimits(256L << 30, 4L << 30, 64 << 20, 4 << 20);
    }

    public VerificationLimits withMaxBucketRawBytes(final long max) {
        return new VerificationLimits(max, maxXdrFileRawBytes, maxRecordBytes, maxHasBytes);
    }

    public VerificationLimits withMaxXdrFileRawBytes(final long max) {
        return new VerificationLimits(maxBucketRawBytes, max, maxRecordBytes, maxHasBytes);
    }
}
