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

    /** Verdicts held, reached or in flight (for tests). */
    int size() {
        return shared.size();
    }
}
