package io.historystreams.topology;

import io.historystreams.events.CheckpointFailed;
import io.historystreams.events.CheckpointRequest;
import io.historystreams.events.CheckpointVerified;
import io.historystreams.events.RequestReason;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;

/**
 * Admits checkpoint requests: a checkpoint already verified, or being worked on, is not fetched again (a re-sent
 * request makes no duplicate output); a failed one is admitted again. Learns outcomes from the output topics.
 */
final class RequestGate implements Processor<Long, Object, Long, CheckpointRequest> {
    static final String VERIFIED = "VERIFIED";
    static final String FAILED = "FAILED";
    static final String IN_PROGRESS = "IN_PROGRESS";
    private static final Logger LOG = LoggerFactory.getLogger(RequestGate.class);

    private final String storeName;
    private final Duration staleAfter;
    private ProcessorContext<Long, CheckpointRequest> context;
    private KeyValueStore<Long, String> status;

    RequestGate(final String storeName, final Duration staleAfter) {
        this.storeName = storeName;
        this.staleAfter = staleAfter;
    }

    @Override
    public void init(final ProcessorContext<Long, CheckpointRequest> context) {
        this.context = context;
        this.status = context.getStateStore(storeName);
    }

    @Override
    public void process(final Record<Long, Object> record) {
        final Long cp = record.key();
        if (cp == null) {
            return;
        }
        final Object v = record.value();
        if (v instanceof CheckpointVerified) {
            status.put(cp, VERIFIED);
        } else if (v instanceof CheckpointFailed) {
            status.put(cp, FAILED);
        } else if (v instanceof CheckpointRequest req) {
            final String s = status.get(cp);
            final long now = context.currentSystemTimeMs();
            if (admit(s, req, now)) {
                status.put(cp, IN_PROGRESS + " " + now);
                context.forward(new Record<>(cp, req, record.timestamp()));
            } else {
                LOG.debug("checkpoint {} already {}: request from {} ignored", cp, s, req.getReason());
            }
        }
    }

    private boolean admit(final String s, final CheckpointRequest req, final long now) {
        if (s == null || s.equals(FAILED)) {
            return true;
        }
        if (s.equals(VERIFIED)) {
            return false;
        }
        // in progress: admit again only when it has been stuck for longer than the stale limit, or on RETRY
        final long since = Long.parseLong(s.substring(IN_PROGRESS.length() + 1));
        return now - since > staleAfter.toMillis() || req.getReason() == RequestReason.RETRY && req.getAttempt() > 0;
    }
}
