package io.historystreams.events.serde;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.avro.Schema;

/** Wraps a registry and counts calls, to prove the serde's caches. */
final class CountingRegistry implements SchemaRegistry {
    final SchemaRegistry delegate;
    final AtomicInteger registers = new AtomicInteger();
    final AtomicInteger lookups = new AtomicInteger();
    final List<String> subjects = new ArrayList<>();

    CountingRegistry(final SchemaRegistry delegate) {
        this.delegate = delegate;
    }

    @Override
    public synchronized int register(final String subject, final Schema schema) {
        registers.incrementAndGet();
        subjects.add(subject);
        return delegate.register(subject, schema);
    }

    @Override
    public Schema byId(final int id) {
        lookups.incrementAndGet();
        return delegate.byId(id);
    }
}
