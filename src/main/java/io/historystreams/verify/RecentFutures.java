package io.historystreams.verify;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * Work done once per key while the key keeps being asked for (a bucket, named by checkpoint after checkpoint): the
 * futures of the latest {@code capacity} keys asked for are kept, the least recently asked for dropped (asked for
 * again, its work is done again). Pubnet's history names millions of buckets: a future kept for each grew the memory of
 * a long range without bound.
 */
public final class RecentFutures<K, V> {
    private final Map<K, CompletableFuture<V>> kept;
    private long started;

    public RecentFutures(final int capacity) {
        this.kept = new LinkedHashMap<>(1024, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(final Map.Entry<K, CompletableFuture<V>> eldest) {
                return size() > capacity;
            }
        };
    }

    /** The future of {@code key}'s work: the one kept, or {@code start}'s (which must not block). */
    public synchronized CompletableFuture<V> get(final K key, final Function<K, CompletableFuture<V>> start) {
        CompletableFuture<V> f = kept.get(key);
        if (f == null) {
            f = start.apply(key);
            kept.put(key, f);
            started++;
        }
        return f;
    }

    /** How many times work was started: the distinct keys, unless one was asked for again after it was dropped. */
    public synchronized long started() {
        return started;
    }
}
