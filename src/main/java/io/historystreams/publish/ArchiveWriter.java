package io.historystreams.publish;

import java.nio.file.Path;
import java.util.Optional;

/**
 * One target archive that verified files are published to. Every path is archive-relative and checked by
 * {@link TargetPath#require}; a file appears under its final name only with its complete content.
 */
public interface ArchiveWriter extends AutoCloseable {

    /** A printable name for logs and errors: never credentials. */
    String name();

    /** True when the target holds a file under the final name {@code path} (leftover temporaries do not count). */
    boolean exists(String path) throws PublishException;

    /**
     * Publishes {@code localFile} under {@code path}, atomically from a reader's point of view. An existing file of
     * that name is replaced (archive files are write-once, so a repeat carries the same bytes).
     */
    void put(String path, Path localFile) throws PublishException;

    /** The current root state ({@code .well-known/stellar-history.json}), empty when the target has none yet. */
    default Optional<byte[]> readRootState() throws PublishException {
        return readSmall(io.historystreams.archive.ArchivePaths.WELL_KNOWN);
    }

    /**
     * A small file of the target (a state file: the root state or a checkpoint's {@code history-*.json}, 16 MiB at
     * most), empty when the target has none.
     */
    Optional<byte[]> readSmall(String path) throws PublishException;

    /**
     * Replaces the root state atomically. Writers do not compare ledgers: the caller publishes it last and only when
     * it moves forward.
     */
    void putRootState(byte[] json) throws PublishException;

    @Override
    default void close() throws PublishException {
    }
}
