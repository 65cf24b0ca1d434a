package io.historystreams.verify;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;

/**
 * Verifies a bucket while it streams (stellar-core's {@code VerifyBucketWork}): SHA-256 of the whole gunzipped file,
 * record marks included, must equal the hash in its name, and the file must be framed as every {@code .xdr.gz} is
 * ({@link RecordFraming}; a bucket named by its own hash could hold anything else). Never holds the bucket in memory;
 * the decompressed size is capped.
 */
public final class BucketVerifier {
    /** A verified bucket's sizes. */
    public record BucketSummary(Hash hash, long rawBytes) {
    }

    private BucketVerifier() {
    }

    public static BucketSummary verify(final InputStream gz, final String file, final Hash expected,
            final VerificationLimits limits) throws IOException, VerificationException {
        return verify(gz, file, expected, limits, null);
    }

    /**
     * @param copy when not null, receives the decompressed bytes as they are hashed (never buffered here)
     */
    public static BucketSummary verify(final InputStream gz, final String file, final Hash expected,
            final VerificationLimits limits, final OutputStream copy) throws IOException, VerificationException {
        final MessageDigest sha = Hash.sha256();
        final long cap = limits.maxBucketRawBytes();
        long raw = 0;
        final RecordFraming framing = new RecordFraming(file, limits.maxRecordBytes());
        final byte[] buf = Buffers.borrow();
        try (InputStream in = XdrRecordStream.gunzip(gz, file)) {
            int n;
            while ((n = in.read(buf)) > 0) {
                raw += n;
                if (raw > cap) {
                    throw new VerificationException(FailureReason.TOO_LARGE, file,
                            "bucket decompresses past the " + cap + "-byte cap");
                }
                sha.update(buf, 0, n);
                framing.update(buf, 0, n);
                if (copy != null) {
                    copy.write(buf, 0, n);
                }
            }
        } catch (final IOException e) {
            throw XdrRecordStream.translate(e, file);
        } finally {
            Buffers.giveBack(buf);
        }
        final Hash actual = Hash.digest(sha);
        if (!actual.equals(expected)) {
            throw new VerificationException(FailureReason.BUCKET_HASH_MISMATCH, file,
                    "content hashes to " + actual.hex() + ", its name says " + expected.hex());
        }
        framing.finish();
        return new BucketSummary(actual, raw);
    }
}
