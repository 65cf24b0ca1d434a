package io.historystreams.verify;

import io.historystreams.archive.FileType;

/**
 * What happened to one file of a checkpoint: verified (with the source that served it and its size) or failed
 * (with the failure). Optional SCP files that no source has are {@code absent}, which is not a failure.
 */
public record FileOutcome(FileType type, String path, Status status, String source, long bytes, int attempts,
        VerificationException failure) {

    /** The file's state after the run. */
    public enum Status { VERIFIED, ABSENT, FAILED }

    public static FileOutcome verified(final FileType type, final String path, final String source, final long bytes,
            final int attempts) {
        return new FileOutcome(type, path, Status.VERIFIED, source, bytes, attempts, null);
    }

    public static FileOutcome absent(final FileType type, final String path) {
        return new FileOutcome(type, path, Status.ABSENT, null, 0, 0, null);
    }

    public static FileOutcome failed(final FileType type, final String path, final VerificationException e) {
        return new FileOutcome(type, path, Status.FAILED, e.source(), 0, 0, e);
    }

    public boolean ok() {
        return status != Status.FAILED;
    }
}
