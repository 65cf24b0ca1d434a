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

    /** A verified file: the verifier's result and the reference to its stored bytes. */
    record Stored<T>(T value, FileRef file) {
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
                final InputStream tee = new Tee(in, w.stream(), path);
                final T value = check.verify(tee, path);
                tee.transferTo(OutputStream.nullOutputStream()); // whatever the verifier did not need to read
                final long size = w.size();
                final String ref;
                try {
                    ref = w.commit();
                } catch (final IOException e) {
                    throw new BlobStoreFailure("cannot store the verified file " + path + " in the blob store", e);
                }
                return new Blob<>(value, ref, size);
            }
        });
        final Blob<T> b = f.value();
        final FileRef ref = FileRef.newBuilder().setPath(path).setSource(f.source()).setBlobRef(keep ? b.ref() : null)
                .setSha256(Hashes.hash32(b.ref())).setSizeBytes(b.size()).setRawSizeBytes(-1).build();
        return new Stored<>(b.value(), ref);
    }

    /** A verified file's check result, and the SHA-256 (hex) and size of its bytes. */
    private record Blob<T>(T value, String ref, long size) {
    }

    /**
     * Copies every byte read to a sink; closing it leaves the source open (the archive client closes it). A sink that
     * cannot be written throws {@link BlobStoreFailure}, which the archive client does not take for the source's.
     */
    private static final class Tee extends FilterInputStream {
        private final OutputStream sink;
        private final String path;

        Tee(final InputStream in, final OutputStream sink, final String path) {
            super(in);
            this.sink = sink;
            this.path = path;
        }

        @Override
        public int read() throws IOException {
            final int b = in.read();
            if (b >= 0) {
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
