package io.historystreams.topology;

import io.historystreams.events.CheckpointRequest;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Fetches and verifies one file type of a checkpoint per request, off the stream thread. The request is kept in a
 * pending store until its outcome has been forwarded, so the outcome and the store update commit together
 * (exactly once) and a restart resubmits whatever was in flight. At most
 * {@link PipelineContext#fetchesPerProcessor()} requests are submitted at a time, lowest checkpoint first; the rest
 * wait in the store, so memory does not grow with the range.
 */
final class FetchFileProcessor implements Processor<Long, CheckpointRequest, Object, Object> {

    /** The fetch-and-verify work of one file type: never throws, failures are outputs too. */
    @FunctionalInterface
    interface Work {
        List<Out> run(PipelineContext ctx, CheckpointRequest request, long nowMillis);
    }

    private record Done(long checkpoint, CheckpointRequest request, List<Out> outputs) {
    }

    private final PipelineContext ctx;
    private final String storeName;
    private final Work work;
    private final Duration poll;
    private ProcessorContext<Object, Object> context;
    private KeyValueStore<Long, CheckpointRequest> pending;
    private AsyncWork<Done> async;
    /** Hands finished fetches back, while any is submitted. */
    private OnDemandPunctuator drains;
    /** Checkpoints whose request is submitted and not yet drained (at most the work's limit). */
    private final Set<Long> submitted = new HashSet<>();
    /** Whether the pending store may hold requests not submitted yet (a scan is only worth it then). */
    private boolean backlog = true;

    FetchFileProcessor(final PipelineContext ctx, final String storeName, final Work work, final Duration poll) {
        this.ctx = ctx;
        this.storeName = storeName;
        this.work = work;
        this.poll = poll;
    }

    @Override
    public void init(final ProcessorContext<Object, Object> context) {
        this.context = context;
        this.pending = context.getStateStore(storeName);
        this.async = new AsyncWork<>(ctx.fetchPool(), ctx::fetchesPerProcessor);
        this.drains = new OnDemandPunctuator(context, poll, t -> drain());
        fill();
    }

    @Override
    public void process(final Record<Long, CheckpointRequest> record) {
        if (record.key() == null || record.value() == null) {
            return;
        }
        pending.put(record.key(), record.value());
        // a request for a checkpoint already submitted (a newer attempt) waits for that one's result
        if (async.hasRoom() && !submitted.contains(record.key())) {
            submit(record.key(), record.value());
        } else {
            backlog = true;
        }
    }

    /** Submits pending requests, lowest checkpoint first, while there is room. */
    private void fill() {
        if (!backlog || !async.hasRoom()) {
            return;
        }
        try (KeyValueIterator<Long, CheckpointRequest> it = pending.all()) {
            backlog = !async.offer(it, kv -> {
                if (!submitted.contains(kv.key)) {
                    submit(kv.key, kv.value);
                }
            });
        }
    }

    private void submit(final long cp, final CheckpointRequest request) {
        submitted.add(cp);
        drains.start();
        async.submit(() -> new Done(cp, request, work.run(ctx, request, System.currentTimeMillis())));
    }

    private void drain() {
        async.drain(d -> {
            submitted.remove(d.checkpoint());
            final CheckpointRequest current = pending.get(d.checkpoint());
            if (current == null || !current.equals(d.request())) {
                backlog |= current != null; // superseded: the newer request waits for its turn
                return;
            }
            final long now = context.currentSystemTimeMs();
            for (final Out o : d.outputs()) {
                context.forward(new Record<>(o.key(), o.value(), now), o.child());
            }
            pending.delete(d.checkpoint());
        });
        fill();
        if (submitted.isEmpty()) {
            drains.stop();
        }
    }

    @Override
    public void close() {
        if (async != null) {
            async.close();
        }
    }
}
