package io.historystreams.verify;

/** A file failed a check: names the reason and the file; the message says exactly what was wrong. */
public class VerificationException extends Exception {
    private final FailureReason reason;
    private final String file;
    private String source;

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

    /** Same failure with the file path filled in (verifiers working on a bare stream do not know it). */
    public VerificationException withFile(final String path) {
        if (file != null) {
            return this;
        }
        final VerificationException e = new VerificationException(reason, path, getMessage(), getCause());
        e.source = source;
        e.setStackTrace(getStackTrace());
        return e;
    }

    @Override
    public String toString() {
        return reason + (file == null ? "" : " " + file) + (source == null ? "" : " from " + source) + ": "
                + getMessage();
    }
}
