package io.historystreams.cli;

/** Process exit codes shared by every command. */
public final class ExitCode {
    /** Every requested checkpoint verified. */
    public static final int OK = 0;
    /** The run completed but at least one checkpoint failed verification or is incomplete. */
    public static final int VERIFICATION_FAILED = 1;
    /** The run could not be carried out: bad arguments, an archive that refuses or has no root state, broker trouble. */
    public static final int COULD_NOT_RUN = 2;
    /**
     * The run could not start because no source of the archive answered (connections refused, timeouts, 5xx or 429
     * after every retry): nothing was verified, and a later run may succeed (a cron job tells it from bad arguments).
     */
    public static final int ARCHIVE_UNREACHABLE = 3;

    /** The exit code of a run refused before its work: {@link #ARCHIVE_UNREACHABLE} or {@link #COULD_NOT_RUN}. */
    static int couldNotRun(final IllegalArgumentException e) {
        return e instanceof ArchiveOptions.Unreachable ? ARCHIVE_UNREACHABLE : COULD_NOT_RUN;
    }

    private ExitCode() {
    }
}
