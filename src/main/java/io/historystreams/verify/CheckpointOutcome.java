package io.historystreams.verify;

import java.util.List;

/**
 * The verdict on one checkpoint: VERIFIED only when every file and every cross-file check passed; INCOMPLETE when
 * the only failures are files no source has; FAILED otherwise.
 *
 * @param link how the chain link to the previous checkpoint was checked
 */
public record CheckpointOutcome(long checkpoint, Status status, List<FileOutcome> files,
        List<VerificationException> failures, Facts facts, Link link) {

    /** Overall state of a checkpoint. */
    public enum Status { VERIFIED, INCOMPLETE, FAILED }

    /**
     * How the first header's link to the previous checkpoint was established: checked, none (genesis), not checked (a
     * checkpoint not read in order, or one whose predecessor's ledger file failed: with that failure), broken, or none
     * because the archive starts at this checkpoint ({@link ArchiveStart}).
     */
    public enum Link { VERIFIED, GENESIS, NOT_CHECKED, BROKEN, ARCHIVE_START }

    /**
     * Counts and the boundary headers, kept for the chain check and the summary (small, whatever the range).
     *
     * @param firstSetFile the transaction file (and its source) whose first ledger's set waits for the previous
     *                     ledger's protocol ({@link CheckpointCrossCheck#firstSetPending}), or null
     * @param firstSet     that set, or null
     */
    public record Facts(int headers, int transactionSets, int resultSets, int buckets, int scpEntries,
            LedgerHeaderSummary firstHeader, LedgerHeaderSummary lastHeader, FileOutcome firstSetFile,
            CheckpointCrossCheck.FirstSet firstSet) {
        public static final Facts NONE = new Facts(0, 0, 0, 0, 0, null, null, null, null);
    }

    public static Status statusOf(final List<VerificationException> failures) {
        if (failures.isEmpty()) {
            return Status.VERIFIED;
        }
        return failures.stream().allMatch(f -> f.reason() == FailureReason.MISSING_FILE) ? Status.INCOMPLETE
                : Status.FAILED;
    }
}
