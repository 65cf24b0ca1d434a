package io.historystreams.archive;

import java.io.IOException;
import java.io.InputStream;

/**
 * One place an archive's files can be read from (an HTTP(S) server, a directory). Implementations do one attempt;
 * retries, backoff and failover belong to {@link HistoryArchive}.
 */
public interface ArchiveSource extends AutoCloseable {

    /** A name safe to print and log: the root URL or directory without credentials or query strings. */
    String name();

    /**
     * Opens an archive-relative path for streaming.
     *
     * @throws FetchException.NotPresent when the source does not have the file (404, no such file)
     * @throws FetchException.Transient when trying again may succeed (5xx, 408, 429, connection errors, timeouts)
     * @throws FetchException.Refused when trying again will not help (403, 400, TLS failure, hostile path)
     */
    Body open(String path) throws FetchException;

    /**
     * Whether the source has the file, without its content where the source can (an HTTP {@code HEAD}): a body whose
     * stream is empty, with the declared length. Throws as {@link #open} does.
     */
    default Body head(final String path) throws FetchException {
        final Body body = open(path);
        try {
            body.close();
        } catch (final IOException e) {
            // nothing was read: a failure to close it says nothing of the file
        }
        return new Body(InputStream.nullInputStream(), body.declaredLength());
    }

    /**
     * Whether {@link #head} asks with {@code GET}s now: the server refused {@code HEAD}s, or failed them where
     * {@code GET}s answered (said in {@code scan}'s report: a cron job read only the report).
     */
    default boolean headsAskedWithGets() {
        return false;
    }

    @Override
    default void close() {
    }

    /**
     * A response body: the stream and its declared length (-1 when unknown). The caller closes it.
     *
     * @param note what the source saw that may explain content that fails its checks (an HTTP content encoding that
     *             is not undone), or null
     */
    record Body(InputStream stream, long declaredLength, String note) implements AutoCloseable {
        public Body(final InputStream stream, final long declaredLength) {
            this(stream, declaredLength, null);
        }

        @Override
        public void close() throws IOException {
            stream.close();
        }
    }
}
