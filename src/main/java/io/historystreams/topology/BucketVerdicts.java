package io.historystreams.topology;

import io.historystreams.events.FileRef;
import io.historystreams.verify.VerificationException;

import java.util.List;
import java.util.function.Predicate;

/**
 * The buckets this process has verified, by hash, shared by the bucket fetchers of every task. Buckets are
 * content-addressed and most of them are named by many checkpoints, which land on different partitions: each task
 * keeps its own {@code verified-buckets} store, and this lets a task take another task's verdict (or wait for its
 * fetch in flight) instead of fetching the same bucket again. The sharing is {@link SharedFetches} keyed by hash
 * alone (any source), with entries kept until evicted: at most {@code capacity} verdicts (the least recently used go
 * first), a failed fetch not shared, and a verdict whose kept bytes are gone from the blob store not taken
 * ({@code usable}).
 */
final class BucketVerdicts {
    private final SharedFetches<FileRef> shared;

    BucketVerdicts(final int capacity) {
        this.shared = new SharedFetches<>(capacity);
    }

    /**
     * The verified file of bucket {@code hash}: a verdict already reached in this process when {@code usable} accepts
     * it, the result of a fetch in flight, or {@code fetch}'s own result. A copy is returned each time (callers
     * modify their {@link FileRef}).
     */
    FileRef get(final String hash, final Predicate<FileRef> usable, final SharedFetches.Fetch<FileRef> fetch)
            throws VerificationException {
        return FileRef.newBuilder(shared.get(List.of(), hash, SharedFetches.UNTIL_EVICTED, usable, fetch)).build();
    }

    /**
     * How long a bucket that failed its checks from some sources answers the requests of other checkpoints, for the
     * same attempt or an earlier one, without a fetch.
     */
    static final long FAILED_FOR_NANOS = java.util.concurrent.TimeUnit.MINUTES.toNanos(1);

    private record FailureKey(String hash, List<String> sources) {
    }

    private record Failed(VerificationException e, int attempt, long atNanos) {
    }

    /** Buckets whose every copy from the key's sources failed a check of their bytes, the latest 256. */
    private final java.util.Map<FailureKey, Failed> failed = new java.util.LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(final java.util.Map.Entry<FailureKey, Failed> eldest) {
            return size() > 256;
        }
    };

    /**
     * The failure of bucket {@code hash} from {@code sources} reached by a fetch in the last {@link #FAILED_FOR_NANOS}
     * for a checkpoint request's attempt {@code attempt} or a later one, or null: a bad bucket named by many
     * checkpoints was fetched again for each of them (a trial: 91 downloads of one bucket in one ingest; buckets are
     * gigabytes on pubnet). A later attempt fetches again, so each checkpoint's retries still read the sources anew.
     */
    VerificationException failedBefore(final String hash, final List<String> sources, final int attempt) {
        final Failed f;
        synchronized (failed) {
            f = failed.get(new FailureKey(hash, sources));
        }
        if (f == null || f.attempt() < attempt || System.nanoTime() - f.atNanos() > FAILED_FOR_NANOS) {
            return null;
        }
        return new VerificationException(f.e().reason(), f.e().file(), f.e().detail() + " (the verdict of a fetch "
                + "of it for another checkpoint " + java.util.concurrent.TimeUnit.NANOSECONDS.toSeconds(
                        System.nanoTime() - f.atNanos()) + " s ago: not fetched again)").withSource(f.e().source());
    }

    /** A fetch of bucket {@code hash} from {@code sources} for {@code attempt} failed with {@code e}. */
    void failed(final String hash, final List<String> sources, final int attempt, final VerificationException e) {
        if (!io.historystreams.verify.FailureReason.aboutContent(e.reason().name())) {
            return; // absent, or not fetched: not the bytes' verdict
        }
        synchronized (failed) {
            failed.merge(new FailureKey(hash, List.copyOf(sources)), new Failed(e, attempt, System.nanoTime()),
                    (old, now) -> old.attempt() > now.attempt() ? old : now);
        }
    }

    /** Verdicts held, reached or in flight (for tests). */
    int size() {
        return shared.size();
    }
}
