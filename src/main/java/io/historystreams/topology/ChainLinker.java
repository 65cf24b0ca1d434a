package io.historystreams.topology;

import io.historystreams.archive.Checkpoint;
import io.historystreams.events.ChainLinkStatus;
import io.historystreams.events.CheckpointVerified;
import io.historystreams.events.FileRef;
import io.historystreams.events.Hashes;
import io.historystreams.events.LedgerVerified;
import io.historystreams.verify.FailureReason;
import io.historystreams.verify.VerificationException;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The chain check between checkpoints, and the gate to the verified outputs. Every assembled checkpoint arrives
 * twice: keyed by itself, and keyed by its successor (as that one's predecessor). A checkpoint is verified when its
 * first header links to its predecessor's last: the predecessor's assembled record when it came first, otherwise
 * the anchor hash read from the predecessor's own ledger file; a predecessor arriving later is checked again.
 * Verified checkpoints go out with their per-ledger events; broken links go to the failures.
 */
final class ChainLinker implements Processor<Long, CheckpointVerified, Long, Object> {
    private final PipelineContext ctx;
    private final String predecessorsStore;
    private final String awaitingStore;
    private final String verifiedChild;
    private final String ledgersChild;
    private final String failureChild;
    private ProcessorContext<Long, Object> context;
    private KeyValueStore<Long, CheckpointVerified> predecessors;
    private KeyValueStore<Long, CheckpointVerified> awaiting;

    ChainLinker(final PipelineContext ctx, final String predecessorsStore, final String awaitingStore,
            final String verifiedChild, final String ledgersChild, final String failureChild) {
        this.ctx = ctx;
        this.predecessorsStore = predecessorsStore;
        this.awaitingStore = awaitingStore;
        this.verifiedChild = verifiedChild;
        this.ledgersChild = ledgersChild;
        this.failureChild = failureChild;
    }

    @Override
    public void init(final ProcessorContext<Long, Object> context) {
        this.context = context;
        this.predecessors = context.getStateStore(predecessorsStore);
        this.awaiting = context.getStateStore(awaitingStore);
    }

    @Override
    public void process(final Record<Long, CheckpointVerified> record) {
        final Long key = record.key();
        final CheckpointVerified v = record.value();
        if (key == null || v == null) {
            return;
        }
        if (v.getCheckpoint() == key) {
            self(key, v, record.timestamp());
        } else if (v.getCheckpoint() + Checkpoint.FREQUENCY == key) {
            predecessor(key, v, record.timestamp());
        }
    }

    private void self(final long cp, final CheckpointVerified v, final long ts) {
        if (cp == Checkpoint.FREQUENCY - 1) {
            publish(v, ChainLinkStatus.NOT_APPLICABLE, ts);
            return;
        }
        final CheckpointVerified pred = predecessors.get(cp);
        if (pred != null) {
            predecessors.delete(cp);
            if (pred.getLastLedgerHash().equals(v.getFirstPreviousLedgerHash())) {
                publish(v, ChainLinkStatus.VERIFIED, ts);
            } else {
                broken(v, pred.getLastLedgerHash(), "the previous checkpoint's verified last ledger", ts);
            }
            return;
        }
        if (v.getPreviousCheckpointLastHash() != null
                && v.getPreviousCheckpointLastHash().equals(v.getFirstPreviousLedgerHash())) {
            if (publish(v, ChainLinkStatus.VERIFIED, ts)) {
                awaiting.put(cp, v); // checked again if the predecessor is verified later
            }
        } else {
            broken(v, v.getPreviousCheckpointLastHash(), "the previous checkpoint's ledger file", ts);
        }
    }

    private void predecessor(final long cp, final CheckpointVerified pred, final long ts) {
        final CheckpointVerified self = awaiting.get(cp);
        if (self == null) {
            predecessors.put(cp, pred);
            return;
        }
        awaiting.delete(cp);
        if (!pred.getLastLedgerHash().equals(self.getFirstPreviousLedgerHash())) {
            broken(self, pred.getLastLedgerHash(), "the previous checkpoint's verified last ledger (which changed "
                    + "after this checkpoint was verified)", ts);
        }
    }

    private void broken(final CheckpointVerified v, final io.historystreams.events.Hash32 expected,
            final String against, final long ts) {
        final FileRef ledgerFile = v.getFiles().stream().filter(f -> f.getPath().startsWith("ledger/")).findFirst()
                .orElse(null);
        final VerificationException e = new VerificationException(FailureReason.CHAIN_LINK_BROKEN,
                ledgerFile == null ? null : ledgerFile.getPath(), "ledger " + v.getFirstLedger()
                        + " previousLedgerHash " + Hashes.hex(v.getFirstPreviousLedgerHash()) + " does not match "
                        + against + " (" + (expected == null ? "unknown" : Hashes.hex(expected)) + ")")
                .withSource(ledgerFile == null ? null : ledgerFile.getSource());
        context.forward(new Record<>(v.getCheckpoint(), Facts.failure(v.getCheckpoint(), v.getArchive(), e, 0,
                context.currentSystemTimeMs()), ts), failureChild);
        // counted by the gate, which publishes it (after any retries), as every failure
    }

    /** Emits the verified checkpoint and its ledgers; false (and a failure event) when the ledgers cannot be read. */
    private boolean publish(final CheckpointVerified candidate, final ChainLinkStatus link, final long ts) {
        final CheckpointVerified v = CheckpointVerified.newBuilder(candidate).setChainLinkedToPrevious(link)
                .setVerifiedAt(Instant.ofEpochMilli(context.currentSystemTimeMs())).build();
        final List<LedgerVerified> ledgers = new ArrayList<>(v.getLedgerCount());
        try {
            LedgerEvents.emit(ctx, v, ledgers::add);
        } catch (final VerificationException e) {
            context.forward(new Record<>(v.getCheckpoint(), Facts.failure(v.getCheckpoint(), v.getArchive(), e, 0,
                    context.currentSystemTimeMs()), ts), failureChild);
            return false;
        }
        for (final LedgerVerified l : ledgers) {
            context.forward(new Record<>(l.getLedgerSeq(), l, ts), ledgersChild);
        }
        context.forward(new Record<>(v.getCheckpoint(), v, ts), verifiedChild);
        ctx.outcomes().verified(v.getCheckpoint());
        return true;
    }
}
