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

    /** This observer, then {@code next}, told of everything (a method added here is forwarded here too). */
    default FetchObserver andThen(final FetchObserver next) {
        final FetchObserver first = this;
        return new FetchObserver() {
            @Override
            public void attempt(final String source, final String path) {
                first.attempt(source, path);
                next.attempt(source, path);
            }

            @Override
            public void retry(final String source, final String path, final String reason, final Duration delay) {
                first.retry(source, path, reason, delay);
                next.retry(source, path, reason, delay);
            }

            @Override
            public void success(final String source, final String path, final long bytes, final long nanos) {
                first.success(source, path, bytes, nanos);
                next.success(source, path, bytes, nanos);
            }

            @Override
            public void blamed(final String source, final String path, final VerificationException e) {
                first.blamed(source, path, e);
                next.blamed(source, path, e);
            }

            @Override
            public void notPresent(final String source, final String path) {
                first.notPresent(source, path);
                next.notPresent(source, path);
            }

            @Override
            public void refused(final String source, final String path, final String reason) {
                first.refused(source, path, reason);
                next.refused(source, path, reason);
            }

            @Override
            public void failedAttempt(final String source, final String path, final String outcome,
                    final long nanos) {
                first.failedAttempt(source, path, outcome, nanos);
                next.failedAttempt(source, path, outcome, nanos);
            }
        };
    }

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
