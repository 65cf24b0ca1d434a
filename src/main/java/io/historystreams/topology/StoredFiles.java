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
    private StoredFiles() {
    }

    public static InputStream open(final PipelineContext ctx, final FileRef file) throws VerificationException {
        final String ref = file.getBlobRef() != null ? file.getBlobRef() : Hashes.hex(file.getSha256());
        try {
            final Optional<InputStream> local = ctx.blobs().open(ref);
            if (local.isPresent()) {
                return local.get();
            }
        } catch (final IOException e) {
            throw Facts.internal(file.getPath(), e);
        }
        final String expected = Hashes.hex(file.getSha256());
        FileFetcher.fetch(ctx, ctx.archive(List.of(file.getSource())), file.getPath(), (in, p) -> {
            in.transferTo(java.io.OutputStream.nullOutputStream());
            return Boolean.TRUE;
        });
        try {
            final Optional<InputStream> again = ctx.blobs().open(expected);
            if (again.isEmpty()) {
                throw new VerificationException(FailureReason.BUCKET_HASH_MISMATCH, file.getPath(),
                        "re-fetched bytes from " + file.getSource() + " do not match the recorded SHA-256 " + expected);
            }
            return again.get();
        } catch (final IOException e) {
            throw Facts.internal(file.getPath(), e);
        }
    }
}
