package io.historystreams.cli;

/** Process exit codes shared by every command. */
public final class ExitCode {
    /** Every requested checkpoint verified. */
    public static final int OK = 0;
    /** The run completed but at least one checkpoint failed verification or is incomplete. */
    public static final int VERIFICATION_FAILED = 1;
    /** The run could not be carried out: bad arguments, unreachable archive, broker trouble. */
    public static final int COULD_NOT_RUN = 2;

    private ExitCode() {
    }
}
