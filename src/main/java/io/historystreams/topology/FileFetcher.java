package io.historystreams.topology;

import io.historystreams.archive.HistoryArchive;
import io.historystreams.blob.BlobStore;
import io.historystreams.blob.BlobStoreFailure;
import io.historystreams.events.FileRef;
import io.historystreams.events.Hashes;
import io.historystreams.verify.VerificationException;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * Fetches one file, verifies it while it streams and keeps the exact bytes in the blob store: the verifier reads
 * through a tee that writes every byte to a blob, which is committed only when verification passed.
 */
final class FileFetcher {

    /** Checks a file's bytes and returns what it found. */
    @FunctionalInterface
    interface Check<T> {
        T verify(InputStream in, String path) throws IOException, VerificationException;
    }

    /**
     * A verified file: its check's result, its reference, and whether the source read first served it at the first
     * request ({@code firstTry}; otherwise it came after a failure or a "not present", from a source read later).
     */
    record Stored<T>(T value, FileRef file, boolean firstTry) {
    }

    private FileFetcher() {
    }

    static <T> Stored<T> fetch(final PipelineContext ctx, final HistoryArchive archive, final String path,
            final Check<T> check) throws VerificationException {
        return fetch(ctx, archive, path, true, check);
    }

    /**
     * As {@link #fetch(PipelineContext, HistoryArchive, String, Check)}; with {@code keep} false the bytes are only
     * hashed and counted, not stored (the event's file reference then has no blob: a later reader fetches the file
     * again and checks it against the recorded SHA-256, see {@link StoredFiles}).
     */
    static <T> Stored<T> fetch(final PipelineContext ctx, final HistoryArchive archive, final String path,
            final boolean keep, final Check<T> check) throws VerificationException {
        final BlobStore blobs = ctx.blobs();
        final HistoryArchive.Fetched<Blob<T>> f = archive.fetch(path, in -> {
            // the blob store's failures are this process's (a full disk), not the source's: they must not read as a
            // bad file (the source blamed, the checkpoint failed for good) or a broken transfer (retried, then
            // FETCH_FAILED), so they leave the fetch as BlobStoreFailure, which stops the pipeline
            final BlobStore.Writer created;
            try {
                created = keep ? blobs.create() : BlobStore.hashOnly();
            } catch (final IOException e) {
                throw new BlobStoreFailure("cannot store " + path + " in the blob store", e);
            }
            try (BlobStore.Writer w = created) {
                final Tee tee = new Tee(in, w.stream(), path);
                final T value = check.verify(tee, path);
                tee.transferTo(OutputStream.nullOutputStream()); // whatever the verifier did not need to read
                final long size = w.size();
                final String ref;
                try {
                    ref = w.commit();
                } catch (final IOException e) {
                    throw new BlobStoreFailure("cannot store the verified file " + path + " in the blob store", e);
                }
                return new Blob<>(value, ref, size, rawSize(path, size, tee.lastFour()));
            }
        });
        final Blob<T> b = f.value();
        final FileRef ref = FileRef.newBuilder().setPath(path).setSource(f.source()).setBlobRef(keep ? b.ref() : null)
                .setSha256(Hashes.hash32(b.ref())).setSizeBytes(b.size()).setRawSizeBytes(b.rawSize())
                .setBlamed(ctx.blamedFor(path, f.blamed())).build();
        return new Stored<>(b.value(), ref, f.attempts() == 1);
    }

    /** A verified file's check result, the SHA-256 (hex) and size of its bytes, and its size decompressed. */
    private record Blob<T>(T value, String ref, long size, long rawSize) {
    }

    /**
     * The size of a verified file after decompression: a state file ({@code .json}) is not compressed; an
     * {@code .xdr.gz} file's is the gzip trailer's ISIZE (its last four bytes, little-endian), which its verifier
     * checked against the bytes it inflated. ISIZE is that size modulo 2^32, and the verifiers cap a checkpoint file
     * at 4 GiB decompressed, so it is exact but for a file of exactly 4 GiB: an ISIZE of 0 counts only for a small
     * file (an empty gzip stream), otherwise the size is unknown (-1). Buckets have their own count (their verifier's).
     */
    static long rawSize(final String path, final long size, final byte[] lastFour) {
        if (path.endsWith(".json")) {
            return size;
        }
        if (!path.endsWith(".gz") || size < 4) {
            return -1;
        }
        final long isize = (lastFour[0] & 0xffL) | (lastFour[1] & 0xffL) << 8 | (lastFour[2] & 0xffL) << 16
                | (lastFour[3] & 0xffL) << 24;
        return isize == 0 && size > 64 ? -1 : isize;
    }

    /**
     * Copies every byte read to a sink; closing it leaves the source open (the archive client closes it). A sink that
     * cannot be written throws {@link BlobStoreFailure}, which the archive client does not take for the source's.
     */
    private static final class Tee extends FilterInputStream {
        private final OutputStream sink;
        private final String path;
        /** The last four bytes read, oldest first (a gzip stream's ISIZE once it is read to its end). */
        private final byte[] last = new byte[4];

        Tee(final InputStream in, final OutputStream sink, final String path) {
            super(in);
            this.sink = sink;
            this.path = path;
        }

        byte[] lastFour() {
            return last.clone();
        }

        private void remember(final byte[] b, final int off, final int len) {
            if (len >= 4) {
                System.arraycopy(b, off + len - 4, last, 0, 4);
            } else {
                System.arraycopy(last, len, last, 0, 4 - len);
                System.arraycopy(b, off, last, 4 - len, len);
            }
        }

        @Override
        public int read() throws IOException {
            final int b = in.read();
            if (b >= 0) {
                System.arraycopy(last, 1, last, 0, 3);
                last[3] = (byte) b;
                try {
                    sink.write(b);
                } catch (final IOException e) {
                    throw failed(e);
                }
            }
            return b;
        }

        @Override
        public int read(final byte[] b, final int off, final int len) throws IOException {
            final int n = in.read(b, off, len);
            if (n > 0) {
                remember(b, off, n);
                write(b, off, n);
            }
            return n;
        }

        private void write(final byte[] b, final int off, final int len) {
            try {
                sink.write(b, off, len);
            } catch (final IOException e) {
                throw failed(e);
            }
        }

        private BlobStoreFailure failed(final IOException e) {
            return new BlobStoreFailure("cannot store " + path + " in the blob store", e);
        }

        @Override
        public long skip(final long n) throws IOException {
            final byte[] buf = new byte[(int) Math.min(n, 8192)];
            final int r = read(buf, 0, buf.length);
            return Math.max(r, 0);
        }

        @Override
        public void close() {
            // the archive client owns the source stream
        }
    }
}
