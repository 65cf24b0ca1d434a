package io.historystreams.topology;

import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Runs blocking work (fetching files) off the stream thread and hands the results back to it: a processor submits
 * work in {@code process} and drains finished results from a wall-clock punctuator, where forwarding is allowed.
 * Pending work is kept in a state store by the processor, so a restart resubmits it (nothing is lost).
 */
final class AsyncWork<R> {
    private final ExecutorService pool;
    private final Queue<R> done = new ConcurrentLinkedQueue<>();
    private volatile boolean closed;

    AsyncWork(final ExecutorService pool) {
        this.pool = pool;
    }

    void submit(final Supplier<R> work) {
        try {
            pool.execute(() -> {
                if (!closed) {
                    final R r = work.get();
                    if (!closed) {
                        done.add(r);
                    }
                }
            });
        } catch (final RejectedExecutionException e) {
            // shutting down: the pending store entry makes the next run redo it
        }
    }

    /** Hands every finished result to {@code sink} (on the caller's thread). */
    int drain(final Consumer<R> sink) {
        int n = 0;
        R r;
        while ((r = done.poll()) != null) {
            sink.accept(r);
            n++;
        }
        return n;
    }

    void close() {
        closed = true;
        done.clear();
    }
}
