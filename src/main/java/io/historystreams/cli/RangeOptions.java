package io.historystreams.cli;

import io.historystreams.archive.Checkpoint;
import io.historystreams.archive.HistoryArchive;
import io.historystreams.verify.ArchiveStart;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** The range and output options of the commands that read an archive without Kafka ({@code verify}, {@code scan}). */
public final class RangeOptions {
    @Option(names = "--from", paramLabel = "L", description = "First ledger (default 1, or the archive's start "
            + "when it starts later: a validator's archive, a mirror made --from a ledger).")
    Long from;

    @Option(names = "--to", paramLabel = "L",
            description = "Last ledger (default: the archive's current ledger from .well-known).")
    Long to;

    @Option(names = "--report", paramLabel = "FILE", description = "Write a JSON report to FILE.")
    Path report;

    @Option(names = "--quiet", description = "No progress lines.")
    boolean quiet;

    /**
     * The range to read: {@code archive}'s {@link ArchiveOptions#resolve resolution} of {@code --from} and
     * {@code --to}, and with no {@code --from}, from the archive's start when it starts mid-history (a validator's
     * archive had every checkpoint before it asked for, each failing as missing). Throws as {@code resolve} does.
     */
    ArchiveOptions.Range resolve(final ArchiveOptions archive, final HistoryArchive ha) {
        final ArchiveOptions.Range resolved = archive.resolve(ha, from, to);
        final long firstCp = Checkpoint.containing(Math.max(1, resolved.first()));
        final long start = from != null ? -1
                : ArchiveStart.startWithin(ha, firstCp, Checkpoint.containing(resolved.last()));
        return start > firstCp ? resolved.from(start, ArchiveStart.startNote(firstCp, start)) : resolved;
    }
}
