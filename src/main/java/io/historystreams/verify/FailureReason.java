package io.historystreams.verify;

/**
 * Why a file or a checkpoint failed verification. Stable names: they appear in reports and failure events.
 * {@link #retryable()} says whether fetching again (possibly from another source) may help.
 */
public enum FailureReason {
    /** No source had the file (every source answered 404 / not found). */
    MISSING_FILE(true),
    /** The transfer failed after every retry (5xx, 429, resets, timeouts, truncated bodies). */
    FETCH_FAILED(true),
    /** The source refused the request for good (403, 400, TLS failure, ...). */
    FETCH_REFUSED(false),
    /** A hash or name in the input is not 64 lowercase hex characters and is refused before it becomes a path. */
    HOSTILE_NAME(false),
    /**
     * The file is not sound gzip: not gzip at all, cut short, inflate fails, or its CRC or length does not match. Also
     * when the damaged data decoded before inflate noticed failed an XDR check first: the detail names that check.
     */
    CORRUPT_GZIP(true),
    /** The file decompresses past the configured cap (a gzip bomb or an absurd file). */
    TOO_LARGE(true),
    /** Record marks are wrong: missing high bit, a length past the end of the stream, trailing bytes. */
    BAD_FRAMING(true),
    /** A record's XDR does not have the structure it must have. */
    MALFORMED_XDR(true),
    MALFORMED_JSON(true),
    /** The HAS is structurally invalid (version, levels, bucket states). */
    INVALID_HAS(true),
    /** The file belongs to another checkpoint (HAS currentLedger, ledger range, entry ledgers). */
    WRONG_CHECKPOINT(true),
    /** The HAS names another network's passphrase. */
    WRONG_NETWORK(false),
    /** A bucket's content does not hash to its name. */
    BUCKET_HASH_MISMATCH(true),
    /** A ledger header entry's hash is not SHA-256 of its header. */
    HEADER_HASH_MISMATCH(true),
    /** Headers inside the file do not chain (sequence or previousLedgerHash). */
    HEADER_CHAIN_BROKEN(true),
    /** The file does not hold exactly the checkpoint's ledgers. */
    WRONG_LEDGER_SET(true),
    /** Entries are not strictly increasing or lie outside the checkpoint. */
    BAD_ENTRY_ORDER(true),
    /**
     * A transaction set does not fit its header: its hash is not the header's txSetHash (or a ledger without an entry
     * does not carry the empty set), it names another previous ledger, or it has the other form than the previous
     * ledger's protocol makes.
     */
    TX_SET_HASH_MISMATCH(true),
    RESULT_SET_HASH_MISMATCH(true),
    /** The HAS bucket-list hash differs from the checkpoint header's bucketListHash. */
    BUCKET_LIST_HASH_MISMATCH(true),
    /** The first header does not link to the last header of the previous checkpoint. */
    CHAIN_LINK_BROKEN(true),
    /** A file or bucket the checkpoint needs failed, so the checkpoint cannot be verified. */
    DEPENDENCY_FAILED(false),
    /** Anything unexpected (a bug, an environment error). */
    INTERNAL_ERROR(false);

    private final boolean retryable;

    FailureReason(final boolean retryable) {
        this.retryable = retryable;
    }

    /** True when fetching the file again, or from another source, could change the outcome. */
    public boolean retryable() {
        return retryable;
    }

    /**
     * Whether a failure of this reason (its name, as events carry it) is about what a copy holds: not a file's absence,
     * its transfer, or this process. An unknown name counts as about content.
     */
    public static boolean aboutContent(final String reason) {
        return !(MISSING_FILE.name().equals(reason) || FETCH_FAILED.name().equals(reason)
                || FETCH_REFUSED.name().equals(reason) || INTERNAL_ERROR.name().equals(reason)
                || DEPENDENCY_FAILED.name().equals(reason));
    }
}
