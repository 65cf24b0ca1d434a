package io.historystreams.archive;

import io.historystreams.verify.FailureReason;
import io.historystreams.verify.VerificationException;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/** Bucket files of a fixture archive, and a reader that verifies a bucket against the hash in its name. */
final class TestBuckets {
    private static final Pattern NAME = Pattern.compile(".*bucket-([0-9a-f]{64})\\.xdr\\.gz");

    private TestBuckets() {
    }

    /** Archive-relative paths of every bucket, largest first. */
    static List<String> all(final Path root) {
        try (Stream<Path> files = Files.walk(root.resolve("bucket"))) {
            return files.filter(Files::isRegularFile)
                    .filter(p -> NAME.matcher(p.getFileName().toString()).matches())
                    .sorted(Comparator.comparingLong(TestBuckets::size).reversed())
                    .map(p -> root.relativize(p).toString().replace('\\', '/'))
                    .toList();
        } catch (final IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String largest(final Path root) {
        return all(root).get(0);
    }

    static String hashOf(final String path) {
        final Matcher m = NAME.matcher(path);
        if (!m.matches()) {
            throw new IllegalArgumentException("not a bucket path: " + path);
        }
        return m.group(1);
    }

    /** Gunzips the body, hashes it, and returns the hex hash when it equals the name's hash. */
    static HistoryArchive.BodyReader<String> verifier(final String path) {
        final String expected = hashOf(path);
        return body -> {
            final String actual = sha256Gunzipped(body, path);
            if (!actual.equals(expected)) {
                throw new VerificationException(FailureReason.BUCKET_HASH_MISMATCH, path,
                        "content hashes to " + actual + ", name says " + expected);
            }
            return actual;
        };
    }

    static String sha256Gunzipped(final InputStream body, final String path)
            throws IOException, VerificationException {
        final MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (final NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        try (GZIPInputStream gz = new GZIPInputStream(body, 64 * 1024)) {
            final byte[] buf = new byte[64 * 1024];
            int n;
            while ((n = gz.read(buf)) >= 0) {
                sha.update(buf, 0, n);
            }
        } catch (final ZipException | EOFException e) {
            throw new VerificationException(FailureReason.CORRUPT_GZIP, path, "corrupt gzip: " + e.getMessage(), e);
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    private static long size(final Path p) {
        try {
            return Files.size(p);
        } catch (final IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
