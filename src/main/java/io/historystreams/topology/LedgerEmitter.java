package io.historystreams.topology;

import io.historystreams.events.CheckpointVerified;
import io.historystreams.events.LedgerVerified;
import io.historystreams.verify.VerificationException;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;

/**
 * The verified outputs of a checkpoint the chain check passed, in the checkpoint's own task (where its files are
 * stored): its per-ledger events, then the checkpoint itself. A checkpoint whose stored files cannot be read goes to
 * the attempt failures instead (and is fetched again). A checkpoint the gate has as verified is not emitted again.
 */
final class LedgerEmitter implements Processor<Long, CheckpointVerified, Long, Object> {
    private static final Logger LOG = LoggerFactory.getLogger(LedgerEmitter.class);
    private final PipelineContext ctx;
    private final String statusStoreName;
    private final String verifiedChild;
    private final String ledgersChild;
    private final String failureChild;
    private ProcessorContext<Long, Object> context;
    private KeyValueStore<Long, String> status;

    LedgerEmitter(final PipelineContext ctx, final String statusStoreName, final String verifiedChild,
            final String ledgersChild, final String failureChild) {
        this.ctx = ctx;
        this.statusStoreName = statusStoreName;
        this.verifiedChild = verifiedChild;
        this.ledgersChild = ledgersChild;
        this.failureChild = failureChild;
    }

    @Override
    public void init(final ProcessorContext<Long, Object> context) {
        this.context = context;
        this.status = context.getStateStore(statusStoreName);
    }

    @Override
    public void process(final Record<Long, CheckpointVerified> record) {
        final CheckpointVerified v = record.value();
        if (record.key() == null || v == null) {
            return;
        }
        if (RequestGate.VERIFIED.equals(status.get(record.key()))) {
            LOG.debug("checkpoint {} passed the chain check again: verified already, its events are not repeated",
                    record.key());
            return;
        }
        final List<LedgerVerified> ledgers = new ArrayList<>(v.getLedgerCount());
        try {
            LedgerEvents.emit(ctx, v, ledgers::add);
        } catch (final VerificationException e) {
            context.forward(new Record<>(v.getCheckpoint(), Facts.failure(v.getCheckpoint(), v.getArchive(), e, 0,
                    context.currentSystemTimeMs()), record.timestamp()), failureChild);
            return;
        }
        for (final LedgerVerified l : ledgers) {
            context.forward(new Record<>(l.getLedgerSeq(), l, record.timestamp()), ledgersChild);
        }
        context.forward(new Record<>(v.getCheckpoint(), v, record.timestamp()), verifiedChild);
        ctx.outcomes().verified(v.getCheckpoint());
    }
}
