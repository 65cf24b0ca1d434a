package io.historystreams.verify;

import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.HistoryArchive;

import java.io.OutputStream;

/**
 * Whether an archive starts at a checkpoint: a validator's archive, or a mirror, may start mid-history (stellar-core
 * publishes from the ledger it caught up to; {@code tail --from} and {@code ingest --from} with {@code --publish-to}
 * make such mirrors). Its first checkpoint links to a checkpoint the archive does not hold: the link is not checked
 * ({@code ARCHIVE_START}) rather than the checkpoint failed. Asked only of a range's first checkpoint (a checkpoint of
 * the range whose predecessor failed fails too), and only once the predecessor's ledger file was found absent from
 * every source that answered: an archive that holds the predecessor's state file but not its ledger file is damaged,
 * and the checkpoint fails as before. The link is to a file of the same sources, so checking it adds no trust that
 * skipping it takes away.
 */
public final class ArchiveStart {
    private ArchiveStart() {
    }

    /**
     * True when no source that answered holds the state file of {@code checkpoint} (its ledger file was found absent
     * already); false when one does, or the answer is not known (sources down, refused).
     */
    public static boolean holdsNoStateOf(final HistoryArchive archive, final long checkpoint) {
        try {
            archive.fetch(ArchivePaths.has(checkpoint), in -> in.transferTo(OutputStream.nullOutputStream()));
            return false;
        } catch (final VerificationException e) {
            return e.reason() == FailureReason.MISSING_FILE;
        }
    }

    /** The words that say so, for logs and reports. */
    public static String describe(final long checkpoint, final long previous) {
        return String.format("checkpoint %d (0x%x): the archive holds no checkpoint %d (0x%x), neither its state file "
                + "nor its ledger file: it starts at %d, and the link to %d is not checked", checkpoint, checkpoint,
                previous, previous, checkpoint, previous);
    }
}
