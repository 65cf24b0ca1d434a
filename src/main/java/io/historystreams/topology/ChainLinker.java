package io.historystreams.topology;

import io.historystreams.archive.Checkpoint;
import io.historystreams.events.ChainInput;
import io.historystreams.events.ChainLinkStatus;
import io.historystreams.events.CheckpointVerified;
import io.historystreams.events.FileRef;
import io.historystreams.events.Hash32;
import io.historystreams.events.Hashes;
import io.historystreams.verify.FailureReason;
import io.historystreams.verify.VerificationException;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;

import java.time.Instant;

/**
 * The chain check between checkpoints, keyed by archive: one task sees every assembled checkpoint of an archive, so
 * a checkpoint is passed only once the copy of its predecessor it links to is the copy that was verified.
 *
 * <p>A checkpoint links to its predecessor's verified last ledger when the predecessor is verified here. When the
 * predecessor's verdict is still coming (its request said so: {@code predecessorRequested}) the checkpoint waits for
 * it; a predecessor verified later passes its waiting successors on at once, in chain order. Only when no verdict is
 * coming (the predecessor was not asked for, its attempts ran out, or it was verified before this chain knew it) is
 * the link checked against the anchor, the last header of the predecessor's own ledger file, and checked again if the
 * predecessor is verified later. The alternative, passing a checkpoint on its predecessor's ledger file while the
 * predecessor was being tried again from another source, verified a mirror's forged segment whose first checkpoint
 * failed (its successor linked to the forged copy, the predecessor was then verified from the honest mirror).
 *
 * <p>Passed checkpoints go back to their own partition ({@code chain-verdicts}), where their ledger events are read
 * from the files stored there; broken links go to the attempt failures, so the gate tries the checkpoint again with
 * the source that served the ledger file last.
 */
final class ChainLinker implements Processor<String, ChainInput, Long, Object> {
    static final String FAILED = "FAILED";
    static final String VERIFIED_EARLIER = "VERIFIED_EARLIER";

    private final Stores names;
    private final String verdictChild;
    private final String failureChild;
    private ProcessorContext<Long, Object> context;
    /** The last ledger hash of every checkpoint passed, by {@link #key}: what successors link to. */
    private KeyValueStore<String, byte[]> lastHashes;
    /** Checkpoints waiting for their predecessor's verdict. */
    private KeyValueStore<String, CheckpointVerified> held;
    /** Checkpoints passed on their anchor: checked again when their predecessor is verified. */
    private KeyValueStore<String, CheckpointVerified> anchored;
    /** Checkpoints whose verdict is not coming (FAILED, VERIFIED_EARLIER) while they are not passed here. */
    private KeyValueStore<String, String> settled;

    /** The chain check's store names. */
    record Stores(String lastHashes, String held, String anchored, String settled) {
    }

    ChainLinker(final Stores names, final String verdictChild, final String failureChild) {
        this.names = names;
        this.verdictChild = verdictChild;
        this.failureChild = failureChild;
    }

    @Override
    public void init(final ProcessorContext<Long, Object> context) {
        this.context = context;
        this.lastHashes = context.getStateStore(names.lastHashes());
        this.held = context.getStateStore(names.held());
        this.anchored = context.getStateStore(names.anchored());
        this.settled = context.getStateStore(names.settled());
    }

    /** A checkpoint of an archive as a store key. */
    static String key(final String archive, final long checkpoint) {
        return archive + '\u0000' + checkpoint;
    }

    @Override
    public void process(final Record<String, ChainInput> record) {
        final ChainInput in = record.value();
        if (in == null || in.getArchive() == null) {
            return;
        }
        if (in.getCandidate() != null) {
            candidate(in.getArchive(), in.getCandidate(), in.getPredecessorRequested(), record.timestamp());
        } else if (in.getSettled() != null) {
            settled(in.getArchive(), in.getCheckpoint(), in.getSettled(), record.timestamp());
        }
    }

    private void candidate(final String archive, final CheckpointVerified v, final boolean predecessorRequested,
            final long ts) {
        final long cp = v.getCheckpoint();
        if (cp == Checkpoint.FREQUENCY - 1) {
            pass(archive, v, ChainLinkStatus.NOT_APPLICABLE, ts);
            return;
        }
        final long prev = Checkpoint.previous(cp);
        if (lastHash(archive, prev) == null && predecessorRequested && settled.get(key(archive, prev)) == null) {
            held.put(key(archive, cp), v);
            return;
        }
        link(archive, v, ts);
    }

    /** The gate's word that {@code cp} will not be assembled now: a successor waiting for it is checked without. */
    private void settled(final String archive, final long cp, final String word, final long ts) {
        if (lastHash(archive, cp) != null) {
            return; // passed here: successors link to its verified last ledger
        }
        settled.put(key(archive, cp), word);
        final String next = key(archive, cp + Checkpoint.FREQUENCY);
        final CheckpointVerified waiting = held.get(next);
        if (waiting != null) {
            held.delete(next);
            link(archive, waiting, ts);
        }
    }

    /** Checks the link against the predecessor's verified last ledger if passed here, otherwise against the anchor. */
    private void link(final String archive, final CheckpointVerified v, final long ts) {
        final Hash32 verified = lastHash(archive, Checkpoint.previous(v.getCheckpoint()));
        if (verified != null) {
            if (verified.equals(v.getFirstPreviousLedgerHash())) {
                pass(archive, v, ChainLinkStatus.VERIFIED, ts);
            } else {
                broken(v, verified, "the previous checkpoint's verified last ledger", ts);
            }
        } else if (v.getPreviousCheckpointLastHash() != null
                && v.getPreviousCheckpointLastHash().equals(v.getFirstPreviousLedgerHash())) {
            anchored.put(key(archive, v.getCheckpoint()), v);
            pass(archive, v, ChainLinkStatus.VERIFIED, ts);
        } else {
            broken(v, v.getPreviousCheckpointLastHash(), "the previous checkpoint's ledger file", ts);
        }
    }

    /** Passes {@code first} on, then every successor that waited for it, in chain order. */
    private void pass(final String archive, final CheckpointVerified first, final ChainLinkStatus status,
            final long ts) {
        CheckpointVerified v = first;
        ChainLinkStatus link = status;
        while (v != null) {
            final long cp = v.getCheckpoint();
            final Hash32 last = v.getLastLedgerHash();
            lastHashes.put(key(archive, cp), last.bytes());
            settled.delete(key(archive, cp));
            context.forward(new Record<>(cp, CheckpointVerified.newBuilder(v).setChainLinkedToPrevious(link)
                    .setVerifiedAt(Instant.ofEpochMilli(context.currentSystemTimeMs())).build(), ts), verdictChild);
            final String next = key(archive, cp + Checkpoint.FREQUENCY);
            final CheckpointVerified onAnchor = anchored.get(next);
            if (onAnchor != null) {
                anchored.delete(next);
                if (!last.equals(onAnchor.getFirstPreviousLedgerHash())) {
                    broken(onAnchor, last, "the previous checkpoint's verified last ledger (which changed after "
                            + "this checkpoint was verified)", ts);
                }
            }
            v = held.get(next);
            if (v != null) {
                held.delete(next);
                if (!last.equals(v.getFirstPreviousLedgerHash())) {
                    broken(v, last, "the previous checkpoint's verified last ledger", ts);
                    v = null;
                }
                link = ChainLinkStatus.VERIFIED;
            }
        }
    }

    private Hash32 lastHash(final String archive, final long cp) {
        final byte[] b = lastHashes.get(key(archive, cp));
        return b == null ? null : new Hash32(b);
    }

    private void broken(final CheckpointVerified v, final Hash32 expected, final String against, final long ts) {
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
}
