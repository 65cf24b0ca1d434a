package io.historystreams.verify;

import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.HistoryArchive;

import java.io.OutputStream;
import java.util.Set;

/**
 * Whether an archive starts at a checkpoint: a validator's archive, or a mirror, may start mid-history (stellar-core
 * publishes from the ledger it caught up to; {@code tail --from} and {@code ingest --from} with {@code --publish-to}
 * make such mirrors). Its first checkpoint links to a checkpoint the archive does not hold: the link is not checked
 * ({@code ARCHIVE_START}) rather than the checkpoint failed. Asked only of a range's first checkpoint (a checkpoint of
 * the range whose predecessor failed fails too), and only when every source answered that it has neither the
 * predecessor's ledger file nor its state file: an archive that holds the state file but not the ledger file is
 * damaged, and one source down may hold both; the checkpoint then fails as before. The link is to a file of the same sources, so checking it adds no trust that
 * skipping it takes away.
 */
public final class ArchiveStart {
    private ArchiveStart() {
    }

    /**
     * True when every source of {@code archive} said it has neither the ledger file of {@code previous} ({@code
     * ledgerFailure}, the failure of that fetch) nor its state file; false when one has either, or did not answer
     * (down, refused, a passing error): a mirror that is down may hold it (a trial: one source down, the other
     * starting later, and the checkpoint was passed as the archive's start).
     */
    public static boolean holdsNothingOf(final HistoryArchive archive, final long previous,
            final VerificationException ledgerFailure) {
        if (!everySourceSaidAbsent(archive, ledgerFailure)) {
            return false;
        }
        try {
            archive.fetch(ArchivePaths.has(previous), in -> in.transferTo(OutputStream.nullOutputStream()));
            return false;
        } catch (final VerificationException e) {
            return everySourceSaidAbsent(archive, e);
        }
    }

    /** Whether {@code e} says that every source of {@code archive} answered "not present" (its source names them). */
    private static boolean everySourceSaidAbsent(final HistoryArchive archive, final VerificationException e) {
        return e.reason() == FailureReason.MISSING_FILE && e.source() != null
                && Set.of(e.source().split(", ")).containsAll(archive.sourceNames());
    }

    /** The words of a verdict that says so, read later (by an {@code ingest} whose range holds it). */
    public static String describeVerdict(final long checkpoint, final long previous) {
        return String.format("checkpoint %d (0x%x) is verified as the archive's start: when it was verified, no source "
                + "held checkpoint %d (0x%x), and its link to it is not checked", checkpoint, checkpoint, previous,
                previous);
    }

    /** The words that say so, for logs and reports. */
    public static String describe(final long checkpoint, final long previous) {
        return String.format("checkpoint %d (0x%x): the archive holds no checkpoint %d (0x%x), neither its state file "
                + "nor its ledger file: it starts at %d, and the link to %d is not checked", checkpoint, checkpoint,
                previous, previous, checkpoint, previous);
    }
}
