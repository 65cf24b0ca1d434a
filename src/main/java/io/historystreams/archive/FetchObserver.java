package io.historystreams.archive;

import io.historystreams.verify.VerificationException;
import java.time.Duration;

/**
 * Hears what {@link HistoryArchive} does per file and source (for metrics and logs). Every method has a no-op default;
 * implementations must be thread-safe and fast, they are called on the fetching threads.
 */
public interface FetchObserver {
    /** A no-op observer. */
    FetchObserver NONE = new FetchObserver() {
    };

    /** An attempt to fetch {@code path} from {@code source} starts. */
    default void attempt(final String source, final String path) {
    }

    /** A transient failure; the next attempt follows after {@code delay}. */
    default void retry(final String source, final String path, final String reason, final Duration delay) {
    }

    /** The reader accepted the file: {@code bytes} transferred in {@code nanos} (open to close). */
    default void success(final String source, final String path, final long bytes, final long nanos) {
    }

    /** The source served bytes the reader rejected. */
    default void blamed(final String source, final String path, final VerificationException e) {
    }

    /** The source does not have the file. */
    default void notPresent(final String source, final String path) {
    }

    /** The source refused the request for good (403, TLS failure, hostile path...). */
    default void refused(final String source, final String path, final String reason) {
    }

    /**
     * An attempt failed after {@code nanos} (open to failure), before its {@link #retry}, {@link #blamed},
     * {@link #notPresent} or {@link #refused}: {@code outcome} is {@code transient}, {@code bad_content},
     * {@code not_present} or {@code refused}.
     */
    default void failedAttempt(final String source, final String path, final String outcome, final long nanos) {
    }
}
