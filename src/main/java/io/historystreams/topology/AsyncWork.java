package io.historystreams.topology;

import io.historystreams.blob.BlobStoreFailure;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Iterator;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

/**
 * Runs blocking work (fetching files) off the stream thread and hands the results back to it: a processor submits
 * work in {@code process} and drains finished results from a wall-clock punctuator, where forwarding is allowed.
 * At most {@code limit} pieces of work are outstanding (submitted and not yet drained): a processor asks
 * {@link #hasRoom()} and leaves the rest in its pending state store, which also makes a restart resubmit whatever was
 * in flight (nothing is lost). Submitting and draining happen on the stream thread only.
 */
final class AsyncWork<R> {
    private static final Logger LOG = LoggerFactory.getLogger(AsyncWork.class);

    private final Executor pool;
    private final IntSupplier limit;
    private final Queue<R> done = new ConcurrentLinkedQueue<>();
    /** Work that ended without a result (an Error escaped it): frees its place, its pending entry stays. */
    private final AtomicInteger lost = new AtomicInteger();
    /** A failure of this process (the blob store's disk full) that stops the pipeline at the next drain. */
    private final java.util.concurrent.atomic.AtomicReference<BlobStoreFailure> stop =
            new java.util.concurrent.atomic.AtomicReference<>();
    private int outstanding;
    private volatile boolean closed;

    /** {@code limit} is read at every check (it is a setting of the pipeline context). */
    AsyncWork(final Executor pool, final IntSupplier limit) {
        this.pool = pool;
        this.limit = limit;
    }

    /** Whether another piece of work may be submitted now. */
    boolean hasRoom() {
        return outstanding - lost.get() < limit.getAsInt();
    }

    /**
     * Offers waiting entries in iteration order to {@code submitIfNew} (which submits the ones not in flight yet)
     * while there is room; true when the entries ran out first, i.e. nothing is left waiting.
     */
    <E> boolean offer(final Iterator<E> waiting, final Consumer<E> submitIfNew) {
        while (waiting.hasNext()) {
            if (!hasRoom()) {
                return false;
            }
            submitIfNew.accept(waiting.next());
        }
        return true;
    }

    void submit(final Supplier<R> work) {
        outstanding++;
        try {
            pool.execute(() -> {
                if (closed) {
                    return;
                }
                try {
                    final R r = work.get();
                    if (!closed) {
                        done.add(r);
                    }
                } catch (final BlobStoreFailure e) {
                    lost.incrementAndGet();
                    stop.compareAndSet(null, e);
                } catch (final Throwable e) { // the work turns failures into results; this is a bug or an Error
                    lost.incrementAndGet();
                    LOG.error("background work ended without a result (left pending until a restart)", e);
                    throw e;
                }
            });
        } catch (final RejectedExecutionException e) {
            outstanding--; // shutting down: the pending store entry makes the next run redo it
        }
    }

    /**
     * Hands every finished result to {@code sink} (on the caller's thread); then throws the {@link BlobStoreFailure}
     * a piece of work ended with, if one did: the stream thread stops, its transaction is aborted, and the pending
     * entries of the work stay for the next run.
     */
    int drain(final Consumer<R> sink) {
        int n = 0;
        R r;
        while ((r = done.poll()) != null) {
            outstanding--;
            sink.accept(r);
            n++;
        }
        final BlobStoreFailure failure = stop.get();
        if (failure != null) {
            throw failure;
        }
        return n;
    }

    void close() {
        closed = true;
        done.clear();
    }
}
