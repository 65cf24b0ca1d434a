package io.historystreams.topology;

import io.historystreams.events.FileRef;
import io.historystreams.verify.VerificationException;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.Predicate;

/**
 * The buckets this process has verified, by hash, shared by the bucket fetchers of every task. Buckets are
 * content-addressed and most of them are named by many checkpoints, which land on different partitions: each task
 * keeps its own {@code verified-buckets} store, and this lets a task take another task's verdict (or wait for its
 * fetch in flight) instead of fetching the same bucket again. At most {@code capacity} verdicts are kept (the least
 * recently used go first), so memory stays flat; a failed fetch is not shared (each caller then fetches on its own,
 * and fails or succeeds on its own, as before), and a verdict whose kept bytes are gone from the blob store is not
 * taken ({@code usable}).
 */
final class BucketVerdicts {
    /** A fetch of one bucket that may fail verification. */
    @FunctionalInterface
    interface Fetch {
        FileRef get() throws VerificationException;
    }

    private final int capacity;
    private final Map<String, CompletableFuture<FileRef>> verdicts;

    BucketVerdicts(final int capacity) {
        this.capacity = capacity;
        this.verdicts = new LinkedHashMap<>(64, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(final Map.Entry<String, CompletableFuture<FileRef>> eldest) {
                return size() > BucketVerdicts.this.capacity;
            }
        };
    }

    /**
     * The verified file of bucket {@code hash}: a verdict already reached in this process when {@code usable} accepts
     * it, the result of a fetch in flight, or {@code fetch}'s own result. A copy is returned each time (callers
     * modify their {@link FileRef}).
     */
    FileRef get(final String hash, final Predicate<FileRef> usable, final Fetch fetch) throws VerificationException {
        final CompletableFuture<FileRef> mine = new CompletableFuture<>();
        final CompletableFuture<FileRef> existing;
        synchronized (verdicts) {
            final CompletableFuture<FileRef> e = verdicts.get(hash);
            existing = e != null && (!e.isDone() || usable(e, usable)) ? e : null;
            if (existing == null) {
                verdicts.put(hash, mine);
            }
        }
        if (existing != null) {
            try {
                return copy(existing.get());
            } catch (final InterruptedException e) {
                Thread.currentThread().interrupt();
                return fetch.get();
            } catch (final ExecutionException e) {
                return fetch.get(); // that fetch failed: no shared verdict, fetch on our own
            }
        }
        try {
            final FileRef file = fetch.get();
            mine.complete(copy(file));
            return file;
        } catch (final VerificationException | RuntimeException e) {
            synchronized (verdicts) {
                verdicts.remove(hash, mine);
            }
            mine.completeExceptionally(e);
            throw e;
        }
    }

    private static boolean usable(final CompletableFuture<FileRef> done, final Predicate<FileRef> usable) {
        return !done.isCompletedExceptionally() && usable.test(done.join());
    }

    private static FileRef copy(final FileRef f) {
        return FileRef.newBuilder(f).build();
    }

    /** Verdicts held, reached or in flight (for tests). */
    int size() {
        synchronized (verdicts) {
            return verdicts.size();
        }
    }
}
