package io.historystreams.verify;

import io.historystreams.archive.Checkpoint;

/** Checks that per-ledger entries of a transactions or results file are strictly increasing inside the checkpoint. */
final class EntryOrder {
    private final String file;
    private final long first;
    private final long checkpoint;
    private long last = -1;

    EntryOrder(final String file, final long checkpoint) {
        this.file = file;
        this.first = Checkpoint.firstLedger(checkpoint);
        this.checkpoint = checkpoint;
    }

    void accept(final long ledgerSeq) throws VerificationException {
        if (ledgerSeq < first || ledgerSeq > checkpoint) {
            throw new VerificationException(FailureReason.WRONG_CHECKPOINT, file, "entry for ledger " + ledgerSeq
                    + " lies outside checkpoint " + checkpoint + " (ledgers " + first + ".." + checkpoint + ")");
        }
        if (ledgerSeq <= last) {
            throw new VerificationException(FailureReason.BAD_ENTRY_ORDER, file,
                    "entry for ledger " + ledgerSeq + " follows ledger " + last + " (entries must strictly increase)");
        }
        last = ledgerSeq;
    }
}
