package io.historystreams.verify;

import io.historystreams.archive.Checkpoint;

import java.io.IOException;
import java.io.InputStream;

/**
 * Structural check of a checkpoint's {@code scp-*.xdr.gz}: every {@code SCPHistoryEntry} (v0) parses exactly, quorum
 * sets and envelopes included, and each entry's ledger lies in the checkpoint. Signatures are not checked (that
 * needs the validators' keys and is not part of archive verification).
 */
public final class ScpVerifier {
    private static final int MAX_QSET_DEPTH = 4;
    private static final int MAX_VALUE = 1 << 20;

    /** What an SCP file held. */
    public record ScpSummary(int entryCount, int envelopeCount) {
    }

    private ScpVerifier() {
    }

    public static ScpSummary verify(final InputStream gz, final String file, final long checkpoint,
            final VerificationLimits limits) throws IOException, VerificationException {
        final long first = Checkpoint.firstLedger(checkpoint);
        final int[] counts = new int[2]; // entries, envelopes
        XdrRecordStream.forEach(gz, file, limits, r -> {
            final int v = r.readInt("SCPHistoryEntry version");
            if (v != 0) {
                throw r.malformed("unknown SCPHistoryEntry version " + v);
            }
            final int qsets = r.readCount(8, "quorumSets");
            for (int i = 0; i < qsets; i++) {
                skipQuorumSet(r, 0);
            }
            final long seq = r.readUnsignedInt("ledgerMessages.ledgerSeq");
            if (seq < first || seq > checkpoint) {
                throw new VerificationException(FailureReason.WRONG_CHECKPOINT, file, "SCP entry for ledger "
                        + seq + " lies outside checkpoint " + checkpoint + " (" + first + ".." + checkpoint + ")");
            }
            final int n = r.readCount(4, "ledgerMessages.messages");
            for (int i = 0; i < n; i++) {
                skipEnvelope(r);
            }
            r.expectEnd("SCPHistoryEntry");
            counts[0]++;
            counts[1] += n;
        });
        return new ScpSummary(counts[0], counts[1]);
    }

    private static void skipQuorumSet(final XdrReader r, final int depth) throws VerificationException {
        if (depth > MAX_QSET_DEPTH) {
            throw r.malformed("quorum set nested deeper than " + MAX_QSET_DEPTH);
        }
        r.readInt("qset.threshold");
        final int validators = r.readCount(36, "qset.validators");
        for (int i = 0; i < validators; i++) {
            skipNodeId(r);
        }
        final int inner = r.readCount(8, "qset.innerSets");
        for (int i = 0; i < inner; i++) {
            skipQuorumSet(r, depth + 1);
        }
    }

    private static void skipNodeId(final XdrReader r) throws VerificationException {
        final int type = r.readInt("NodeID type");
        if (type != 0) {
            throw r.malformed("unknown public key type " + type);
        }
        r.skip(32, "NodeID ed25519");
    }

    private static void skipBallot(final XdrReader r) throws VerificationException {
        r.readInt("ballot.counter");
        r.skipVarOpaque(MAX_VALUE, "ballot.value");
    }

    private static void skipOptionalBallot(final XdrReader r) throws VerificationException {
        final int present = r.readInt("optional ballot");
        if (present == 1) {
            skipBallot(r);
        } else if (present != 0) {
            throw r.malformed("optional flag " + present);
        }
    }

    private static void skipEnvelope(final XdrReader r) throws VerificationException {
        skipNodeId(r);
        r.readLong("slotIndex");
        final int type = r.readInt("pledges type");
        switch (type) {
            case 0 -> { // PREPARE
                r.skip(32, "quorumSetHash");
                skipBallot(r);
                skipOptionalBallot(r);
                skipOptionalBallot(r);
                r.readInt("nC");
                r.readInt("nH");
            }
            case 1 -> { // CONFIRM
                skipBallot(r);
                r.readInt("nPrepared");
                r.readInt("nCommit");
                r.readInt("nH");
                r.skip(32, "quorumSetHash");
            }
            case 2 -> { // EXTERNALIZE
                skipBallot(r);
                r.readInt("nH");
                r.skip(32, "commitQuorumSetHash");
            }
            case 3 -> { // NOMINATE
                r.skip(32, "quorumSetHash");
                final int votes = r.readCount(4, "votes");
                for (int i = 0; i < votes; i++) {
                    r.skipVarOpaque(MAX_VALUE, "vote");
                }
                final int accepted = r.readCount(4, "accepted");
                for (int i = 0; i < accepted; i++) {
                    r.skipVarOpaque(MAX_VALUE, "accepted");
                }
            }
            default -> throw r.malformed("unknown SCP statement type " + type);
        }
        r.skipVarOpaque(64, "signature");
    }
}
