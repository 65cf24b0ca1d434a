package io.historystreams.topology;

import io.historystreams.verify.VerificationException;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.function.Predicate;

/**
 * Lets pieces of fetch work that need the same verified file share one download: a checkpoint's ledger file is
 * needed by its own ledger work and, as the chain anchor, by the next checkpoint's; a bucket by every checkpoint that
 * names it ({@link BucketVerdicts}). Whoever asks first fetches, the others wait for that result (or take it later);
 * an entry is dropped after its expected number of uses ({@link #UNTIL_EVICTED}: never), or when a caller finds it no
 * longer usable, and at most {@code capacity} entries are kept (the least recently used go first), so memory stays
 * flat however long the range. A failed fetch is not shared: each caller then fetches and fails (or succeeds) on its
 * own, as before.
 */
final class SharedFetches<T> {
    /** A fetch that may fail verification. */
    @FunctionalInterface
    interface Fetch<T> {
        T get() throws VerificationException;
    }

    private record Key(List<String> sources, String path) {
    }

    private static final class Entry<T> {
        final CompletableFuture<T> result = new CompletableFuture<>();
        int usesLeft;

        Entry(final int uses) {
            this.usesLeft = uses;
        }
    }

    /** As {@code uses}: the entry stays until it is evicted or found unusable. */
    static final int UNTIL_EVICTED = Integer.MAX_VALUE;

    private final int capacity;
    private final Predicate<T> shareable;
    private final Map<Key, Entry<T>> entries;

    SharedFetches(final int capacity) {
        this(capacity, v -> true);
    }

    /**
     * A result {@code shareable} refuses is handed only to the callers already waiting for it; a later caller fetches
     * on its own.
     */
    SharedFetches(final int capacity, final Predicate<T> shareable) {
        this.capacity = capacity;
        this.shareable = shareable;
        this.entries = new LinkedHashMap<>(16, 0.75f, true) {
            // SharedFetches.Entry named in full: in this LinkedHashMap subclass, the javac of JDK 25 (even with
            // --release 17) takes a bare "Entry" for LinkedHashMap's own Entry<K, V> and the build fails
            @Override
            protected boolean removeEldestEntry(final Map.Entry<Key, SharedFetches.Entry<T>> eldest) {
                return size() > SharedFetches.this.capacity;
            }
        };
    }

    /**
     * The verified result for {@code path} from {@code sources}: shared with the other {@code uses - 1} callers
     * that ask for the same file, fetched by whichever caller comes first.
     */
    T get(final List<String> sources, final String path, final int uses, final Fetch<T> fetch)
            throws VerificationException {
        return get(sources, path, uses, v -> true, fetch);
    }

    /**
     * As {@link #get(List, String, int, Fetch)}, but a result already reached is taken only when {@code usable}
     * accepts it; otherwise it is dropped and this caller fetches (and shares) a new one.
     */
    T get(final List<String> sources, final String path, final int uses, final Predicate<T> usable,
            final Fetch<T> fetch) throws VerificationException {
        final Key key = new Key(List.copyOf(sources), Objects.requireNonNull(path));
        final Entry<T> mine;
        final Entry<T> existing;
        synchronized (entries) {
            final Entry<T> found = entries.get(key);
            final boolean stale = found != null && found.result.isDone() && !found.result.isCompletedExceptionally()
                    && !usable.test(found.result.join());
            if (stale) {
                entries.remove(key);
            }
            existing = stale ? null : found;
            if (existing != null) {
                if (--existing.usesLeft <= 0) {
                    entries.remove(key);
                }
                mine = null;
            } else {
                mine = new Entry<>(uses - 1);
                if (mine.usesLeft > 0) {
                    entries.put(key, mine);
                }
            }
        }
        if (existing != null) {
            try {
                return await(existing.result);
            } catch (final InterruptedException e) {
                Thread.currentThread().interrupt();
                return fetch.get();
            } catch (final ExecutionException e) {
                return fetch.get(); // the first caller failed: no shared verdict, fetch on our own
            }
        }
        try {
            final T value = fetch.get();
            if (!shareable.test(value)) {
                synchronized (entries) {
                    entries.remove(key, mine);
                }
            }
            mine.result.complete(value);
            return value;
        } catch (final VerificationException | RuntimeException e) {
            synchronized (entries) {
                entries.remove(key, mine);
            }
            mine.result.completeExceptionally(e);
            throw e;
        }
    }

    /**
     * The result of another caller's fetch, once it is reached. On a thread of a fork-join pool (the fetch pool) the
     * wait is a managed block: the pool runs a spare thread meanwhile, so waiting takes no place of the fetches.
     */
    private static <T> T await(final CompletableFuture<T> result) throws InterruptedException, ExecutionException {
        if (!result.isDone()) {
            ForkJoinPool.managedBlock(new ForkJoinPool.ManagedBlocker() {
                @Override
                public boolean block() {
                    try {
                        result.get();
                    } catch (final InterruptedException e) {
                        Thread.currentThread().interrupt();
                    } catch (final ExecutionException | java.util.concurrent.CancellationException e) {
                        // read below
                    }
                    return true;
                }

                @Override
                public boolean isReleasable() {
                    return result.isDone();
                }
            });
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
        }
        return result.get();
    }

    /** Entries held (for tests). */
    int size() {
        synchronized (entries) {
            return entries.size();
        }
    }
}
