package io.historystreams.verify;

/** A file failed a check: names the reason and the file; the message says exactly what was wrong. */
public class VerificationException extends Exception {
    private final FailureReason reason;
    private final String file;
    private String source;
    private boolean absentEverywhere;

    /** @param detail what was wrong; control characters in it (from hostile input) are escaped */
    public VerificationException(final FailureReason reason, final String file, final String detail) {
        super(io.historystreams.archive.ArchivePaths.printable(detail));
        this.reason = reason;
        this.file = file;
    }

    public VerificationException(final FailureReason reason, final String file, final String detail,
            final Throwable cause) {
        super(io.historystreams.archive.ArchivePaths.printable(detail), cause);
        this.reason = reason;
        this.file = file;
    }

    public FailureReason reason() {
        return reason;
    }

    /** The archive-relative path of the file, or null when the failure is not about one file. */
    public String file() {
        return file;
    }

    /** The source (archive root) that served the bad bytes, or null when not known or not about one source. */
    public String source() {
        return source;
    }

    /** Records which source served the file; returns this. */
    public VerificationException withSource(final String servedBy) {
        this.source = servedBy;
        return this;
    }

    public String detail() {
        return getMessage();
    }

    /**
     * Whether every source answered that it does not have the file. MISSING_FILE is also given when one source said
     * so and the others failed or refused (a mirror that answered outweighs those that did not, for a retry), but a
     * file that a failing source may hold is not known to be missing ({@code scan} counts it unreadable).
     */
    public boolean absentFromEverySource() {
        return absentEverywhere;
    }

    /** Marks a MISSING_FILE that every source answered; returns this. */
    public VerificationException absentEverywhere() {
        this.absentEverywhere = true;
        return this;
    }

    /** Same failure with the file path filled in (verifiers working on a bare stream do not know it). */
    public VerificationException withFile(final String path) {
        if (file != null) {
            return this;
        }
        final VerificationException e = new VerificationException(reason, path, getMessage(), getCause());
        e.source = source;
        e.absentEverywhere = absentEverywhere;
        e.setStackTrace(getStackTrace());
        return e;
    }

    @Override
    public String toString() {
        return reason + (file == null ? "" : " " + file) + (source == null ? "" : " from " + source) + ": "
                + getMessage();
    }
}
