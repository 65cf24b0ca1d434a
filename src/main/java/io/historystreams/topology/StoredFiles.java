package io.historystreams.topology;

import io.historystreams.events.FileRef;
import io.historystreams.events.Hashes;
import io.historystreams.verify.FailureReason;
import io.historystreams.verify.VerificationException;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Optional;

/**
 * Opens the verified bytes of a file recorded in an event: from the blob store, or, when this instance does not
 * have the blob (another instance fetched it, or it was evicted), fetched again from the source that served it and
 * checked against the recorded SHA-256 before use.
 */
public final class StoredFiles {
    /** Fetches of a blob evicted again before it could be read, before giving up. */
    private static final int EVICTED_ATTEMPTS = 3;

    private StoredFiles() {
    }

    public static InputStream open(final PipelineContext ctx, final FileRef file) throws VerificationException {
        final String ref = file.getBlobRef() != null ? file.getBlobRef() : Hashes.hex(file.getSha256());
        final Optional<InputStream> local = stored(ctx, ref, file);
        if (local.isPresent()) {
            return local.get();
        }
        final String expected = Hashes.hex(file.getSha256());
        // fetched again and stored; a blob store kept under its limit may evict it again before it is opened (a
        // checkpoint that is done already no longer needs it), which is no mismatch: it is fetched again, a few times
        for (int attempt = 1; ; attempt++) {
            final FileFetcher.Stored<Boolean> again = FileFetcher.fetch(ctx, ctx.archive(List.of(file.getSource())),
                    file.getPath(), (in, p) -> {
                        in.transferTo(java.io.OutputStream.nullOutputStream());
                        return Boolean.TRUE;
                    });
            if (!Hashes.hex(again.file().getSha256()).equals(expected)) {
                throw new VerificationException(FailureReason.BUCKET_HASH_MISMATCH, file.getPath(),
                        "re-fetched bytes from " + file.getSource() + " do not match the recorded SHA-256 " + expected);
            }
            final Optional<InputStream> stored = stored(ctx, expected, file);
            if (stored.isPresent()) {
                return stored.get();
            }
            if (attempt == EVICTED_ATTEMPTS) {
                throw Facts.internal(file.getPath(), new IOException("fetched again " + attempt + " times from "
                        + file.getSource() + ", and evicted from the blob store each time before it could be read: "
                        + "raise blob.max.bytes"));
            }
        }
    }

    /** The blob {@code ref} from the blob store, if it holds it; a store that cannot be read is an internal error. */
    private static Optional<InputStream> stored(final PipelineContext ctx, final String ref, final FileRef file)
            throws VerificationException {
        try {
            return ctx.blobs().open(ref);
        } catch (final IOException e) {
            throw Facts.internal(file.getPath(), e);
        }
    }
}
