package io.historystreams.verify;

import io.historystreams.archive.FileType;

import java.util.List;

/**
 * What happened to one file of a checkpoint: verified (with the source that served it and its size) or failed
 * (with the failure). Optional SCP files that no source has are {@code absent}, which is not a failure.
 * {@code blamed}: the sources that served bad bytes for this file before it verified (failover), in order.
 */
public record FileOutcome(FileType type, String path, Status status, String source, long bytes, int attempts,
        VerificationException failure, List<String> blamed) {

    public FileOutcome {
        blamed = blamed == null ? List.of() : List.copyOf(blamed);
    }

    public FileOutcome(final FileType type, final String path, final Status status, final String source,
            final long bytes, final int attempts, final VerificationException failure) {
        this(type, path, status, source, bytes, attempts, failure, List.of());
    }

    /** The file's state after the run. */
    public enum Status { VERIFIED, ABSENT, FAILED }

    public static FileOutcome verified(final FileType type, final String path, final String source, final long bytes,
            final int attempts) {
        return verified(type, path, source, bytes, attempts, List.of());
    }

    /** Verified after {@code blamed} sources served bad bytes for it. */
    public static FileOutcome verified(final FileType type, final String path, final String source, final long bytes,
            final int attempts, final List<String> blamed) {
        return new FileOutcome(type, path, Status.VERIFIED, source, bytes, attempts, null, blamed);
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
