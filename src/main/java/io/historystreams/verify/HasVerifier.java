package io.historystreams.verify;

import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.Checkpoint;

import java.io.IOException;
import java.io.InputStream;

/**
 * Reads and checks a checkpoint's {@code history-*.json} (stellar-core's {@code GetHistoryArchiveStateWork}): parses
 * within a size cap, then {@code currentLedger} must be the checkpoint and the passphrase, when present, the
 * network's.
 */
public final class HasVerifier {

    private HasVerifier() {
    }

    /** Reads at most {@code maxBytes} of a JSON document; more is a {@link FailureReason#TOO_LARGE}. */
    public static byte[] readCapped(final InputStream in, final String file, final int maxBytes)
            throws IOException, VerificationException {
        final byte[] data = in.readNBytes(maxBytes + 1);
        if (data.length > maxBytes) {
            throw new VerificationException(FailureReason.TOO_LARGE, file,
                    "HAS document larger than the " + maxBytes + "-byte cap");
        }
        return data;
    }

    /**
     * @param checkpoint the checkpoint the file belongs to, or -1 for the root {@code .well-known} state (any
     *                   checkpoint ledger)
     * @param passphrase the network's passphrase, or null to accept any
     */
    public static HistoryArchiveState verify(final InputStream in, final String file, final long checkpoint,
            final String passphrase, final VerificationLimits limits) throws IOException, VerificationException {
        final HistoryArchiveState has = HistoryArchiveState.parse(readCapped(in, file, limits.maxHasBytes()), file);
        check(has, file, checkpoint, passphrase);
        return has;
    }

    public static void check(final HistoryArchiveState has, final String file, final long checkpoint,
            final String passphrase) throws VerificationException {
        if (checkpoint >= 0 && has.currentLedger() != checkpoint) {
            throw new VerificationException(FailureReason.WRONG_CHECKPOINT, file,
                    "currentLedger is " + has.currentLedger() + ", the file belongs to checkpoint " + checkpoint);
        }
        if (checkpoint < 0 && !Checkpoint.isCheckpoint(has.currentLedger())) {
            throw new VerificationException(FailureReason.INVALID_HAS, file,
                    "currentLedger " + has.currentLedger() + " is not a checkpoint ledger");
        }
        if (passphrase != null && has.networkPassphrase() != null && !passphrase.equals(has.networkPassphrase())) {
            throw new VerificationException(FailureReason.WRONG_NETWORK, file, "networkPassphrase "
                    + ArchivePaths.quote(has.networkPassphrase()) + " is not the network's "
                    + ArchivePaths.quote(passphrase) + " (given, or the archive's root state's)");
        }
    }

    /**
     * What {@link #rootCheckpoint} found. {@code present}: whether the checkpoint a root state names has its own state
     * file, false only when no source has it (a root naming a ledger the archive has no checkpoint for: wrong, or
     * hostile, such as 4294967295, which would be 67 million checkpoints); a state file that fails its checks counts as
     * there, it is that checkpoint's verdict to give. {@code state}: the file, to compare with the root, or null.
     */
    public record RootCheckpoint(boolean present, HistoryArchiveState state) {
    }

    /**
     * The state file of the checkpoint a root state names, read without a passphrase check: {@code present} false when
     * no source has it; {@code state} null when it is there but fails its checks.
     */
    public static RootCheckpoint rootCheckpoint(final io.historystreams.archive.HistoryArchive archive,
            final long checkpoint) {
        final String path = ArchivePaths.has(checkpoint);
        try {
            return new RootCheckpoint(true, archive.fetch(path, in -> verify(in, path, checkpoint, null,
                    VerificationLimits.defaults())).value());
        } catch (final VerificationException e) {
            return new RootCheckpoint(e.reason() != FailureReason.MISSING_FILE, null);
        }
    }

    /**
     * As {@link #rootCheckpoint(io.historystreams.archive.HistoryArchive, long)}, read first from {@code servedRoot},
     * the source that served the root state (the sources before it in the read order did not: a mirror that hangs cost
     * a second read timeout here, at the start of ingest and at each of tail's polls), then from all of them when that
     * one cannot give it.
     */
    public static RootCheckpoint rootCheckpoint(final io.historystreams.archive.HistoryArchive archive,
            final String servedRoot, final long checkpoint) {
        final java.util.List<String> order = archive.readFrom();
        final int at = order.indexOf(servedRoot);
        final java.util.List<Integer> before = new java.util.ArrayList<>();
        for (final String name : order.subList(0, Math.max(at, 0))) {
            before.add(archive.sourceNames().indexOf(name));
        }
        final io.historystreams.archive.HistoryArchive first = archive.without(before);
        final RootCheckpoint own = rootCheckpoint(first, checkpoint);
        return first == archive || own.state() != null ? own : rootCheckpoint(archive, checkpoint);
    }

    /**
     * How a root state differs from its checkpoint's state file, of which it must be a copy (the server name
     * aside): the fields that differ, or an empty list.
     */
    public static java.util.List<String> differences(final HistoryArchiveState root,
            final HistoryArchiveState checkpoint) {
        final java.util.List<String> out = new java.util.ArrayList<>();
        if (root.version() != checkpoint.version()) {
            out.add("version " + root.version() + " vs " + checkpoint.version());
        }
        if (!java.util.Objects.equals(root.networkPassphrase(), checkpoint.networkPassphrase())) {
            out.add("networkPassphrase " + ArchivePaths.quote(String.valueOf(root.networkPassphrase())) + " vs "
                    + ArchivePaths.quote(String.valueOf(checkpoint.networkPassphrase())));
        }
        if (!root.liveLevels().equals(checkpoint.liveLevels())) {
            out.add("currentBuckets");
        }
        if (!root.hotLevels().equals(checkpoint.hotLevels())) {
            out.add("hotArchiveBuckets");
        }
        return out;
    }
}
