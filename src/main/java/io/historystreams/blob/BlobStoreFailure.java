package io.historystreams.blob;

import java.io.IOException;

/**
 * The blob store could not keep a file that was being verified (its disk is full, or it cannot be written). That is
 * this process's fault, not the archive's: it is neither a failed file nor a failed transfer, so no source is
 * blamed and no checkpoint fails on it. It stops the pipeline instead; the checkpoint's work stays pending, and the
 * next run, with room on the disk, does it.
 */
public final class BlobStoreFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public BlobStoreFailure(final String message, final IOException cause) {
        super(message + ": " + io.historystreams.kafka.Causes.describe(cause), cause);
    }
}
