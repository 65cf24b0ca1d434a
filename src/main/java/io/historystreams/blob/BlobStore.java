package io.historystreams.blob;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Optional;

/**
 * Content-addressed storage for downloaded files, so events carry a reference and a hash instead of the bytes.
 * A blob's reference is the lowercase hex SHA-256 of its bytes. The local directory store is the default; a
 * shared store (object storage, a network file system) implements the same interface.
 */
public interface BlobStore extends AutoCloseable {

    /** Starts writing a blob; the bytes become visible under their hash only on {@link Writer#commit()}. */
    Writer create() throws IOException;

    /** Opens a stored blob, or empty when it is not (or no longer) stored. */
    Optional<InputStream> open(String ref) throws IOException;

    boolean contains(String ref);

    /** Removes a blob; false when it was not there. */
    boolean delete(String ref) throws IOException;

    /** Bytes currently stored. */
    long sizeBytes();

    @Override
    default void close() {
    }

    /**
     * A writer that keeps nothing: it hashes and counts what is written, and {@link Writer#commit()} returns the
     * reference the bytes would have (for files verified but not stored).
     */
    static Writer hashOnly() {
        final HashingOutputStream out = new HashingOutputStream(OutputStream.nullOutputStream());
        return new Writer() {
            @Override
            public OutputStream stream() {
                return out;
            }

            @Override
            public String commit() {
                return out.ref();
            }

            @Override
            public long size() {
                return out.size();
            }

            @Override
            public void close() {
            }
        };
    }

    /** A blob being written: write, then commit (or abort). */
    interface Writer extends AutoCloseable {
        OutputStream stream();

        /** Makes the bytes written so far visible under their SHA-256 and returns that reference. */
        String commit() throws IOException;

        /** SHA-256 (hex) and size of what was written so far. */
        long size();

        /** Discards the bytes (also what close does when commit was not called). */
        @Override
        void close();
    }
}
