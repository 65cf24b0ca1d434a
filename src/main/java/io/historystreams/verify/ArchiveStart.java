package io.historystreams.verify;

import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.Checkpoint;
import io.historystreams.archive.HistoryArchive;

import java.io.OutputStream;
import java.util.List;
import java.util.Set;

/**
 * Whether an archive starts at a checkpoint: a validator's archive, or a mirror, may start mid-history (stellar-core
 * publishes from the ledger it caught up to; {@code tail --from} and {@code ingest --from} with {@code --publish-to}
 * make such mirrors). Its first checkpoint links to a checkpoint the archive does not hold: the link is not checked
 * ({@code ARCHIVE_START}) rather than the checkpoint failed. Asked only of a range's first checkpoint, or of the
 * archive's start within a range from below it ({@link #startWithin}): a checkpoint of the range whose predecessor
 * failed fails too. And only when every source answered that it has neither the predecessor's ledger file nor its
 * state file: an archive that holds the state file but not the ledger file is damaged, and a source that does not
 * answer may hold both; the checkpoint then fails as before. The link is to a file of the same sources, so checking
 * it adds no trust that skipping it takes away.
 */
public final class ArchiveStart {
    private ArchiveStart() {
    }

    /**
     * True when every source of {@code archive} said it has neither the ledger file of {@code previous} ({@code
     * ledgerFailure}, the failure of that fetch) nor its state file; false when one has either, or did not answer
     * (down, refused, a passing error): a mirror that is down may hold it (a trial: one source down, the other
     * starting later, and the checkpoint was passed as the archive's start).
     */
    public static boolean holdsNothingOf(final HistoryArchive archive, final long previous,
            final VerificationException ledgerFailure) {
        return everySourceSaidAbsent(archive, ledgerFailure) && held(archive, previous) == Boolean.FALSE;
    }

    /**
     * Where an archive starts within a range whose first checkpoint it does not hold: the lowest checkpoint of {@code
     * first..last} of which a source holds the state file or the ledger file, found by bisection, when every source
     * answered that it has neither of {@code first}; -1 when one holds either, the answer is not known (a source down), or none of the range
     * is held. A range from below an archive's start asks for checkpoints that fail as missing, and for its first
     * checkpoint's predecessor: asked for without it, that checkpoint is verified as the archive's start (a trial:
     * {@code tail --from} below it failed the archive's first checkpoint for good, and said nothing of where the
     * archive starts). Bisection is exact for an archive that holds every checkpoint from its start (stellar-core
     * publishes so); one with a gap (a validator offline for a while, files lost) may lead it to the gap's end, so
     * below what it found checkpoints are probed ({@link #probesBelow}), and one held there starts the search again
     * below it (a trial: a gap of one checkpoint was taken for the start, and the archive's checkpoints below it were
     * never read, exit 0). A gap then fails as missing, as it should; checkpoints held below a gap and between the
     * probes are missed.
     */
    public static long startWithin(final HistoryArchive archive, final long first, final long last) {
        if (first >= last) {
            return -1;
        }
        // asked first of the sources whose last answer was not a failure: one that hangs held the start of every
        // ingest for a read timeout more (a trial); only when none of them holds it are all asked
        final List<String> names = archive.sourceNames();
        final List<Integer> failing = new java.util.ArrayList<>();
        for (final String name : archive.sourcesFailing()) {
            failing.add(names.indexOf(name));
        }
        if (!failing.isEmpty() && failing.size() < names.size()
                && heldAny(archive.without(failing), first) == Boolean.TRUE) {
            return -1;
        }
        if (heldAny(archive, first) != Boolean.FALSE || heldAny(archive, last) != Boolean.TRUE) {
            return -1;
        }
        long present = last;
        while (true) {
            final long[] edge = bisect(first, present, cp -> heldAny(archive, cp));
            if (edge == null) {
                return -1;
            }
            present = edge[1];
            long below = -1;
            for (final long probe : probesBelow(first, present)) {
                final Boolean h = heldAny(archive, probe);
                if (h == null) {
                    return -1;
                }
                if (h) {
                    below = probe;
                    break;
                }
            }
            if (below < 0) {
                return present;
            }
            present = below;
        }
    }

    /**
     * The highest checkpoint from {@code floor} up to below {@code checkpoint} whose state file a source holds: asked
     * for 1, 2, 4... checkpoints down, then by bisection between the lowest absent and the held one found (exact for
     * an archive whose files end at one checkpoint, as an archive whose root state got ahead of its files does); -1
     * when none of them is held, null when that is not known (a source down).
     */
    public static Long highestHeldBelow(final HistoryArchive archive, final long floor, final long checkpoint) {
        long absent = checkpoint;
        long found = -1;
        for (long down = Checkpoint.FREQUENCY; found < 0; down *= 2) {
            final long probe = Math.max(floor, checkpoint - down);
            if (probe >= absent) {
                return -1L;
            }
            final Boolean h = held(archive, probe);
            if (h == null) {
                return null;
            }
            if (h) {
                found = probe;
            } else if (probe == floor) {
                return -1L;
            } else {
                absent = probe;
            }
        }
        final long[] edge = bisect(absent, found, cp -> held(archive, cp));
        return edge == null ? null : edge[1];
    }

    /**
     * Narrows a checkpoint no source holds ({@code absent}) and one a source holds ({@code present}), below or above
     * it, to adjacent checkpoints by bisection: {absent, present}; null when an answer is not known (a source down).
     */
    private static long[] bisect(final long absent, final long present,
            final java.util.function.LongFunction<Boolean> held) {
        long a = absent;
        long p = present;
        while (Math.abs(p - a) > Checkpoint.FREQUENCY) {
            final long mid = Math.min(a, p) + Math.abs(p - a) / 2 / Checkpoint.FREQUENCY * Checkpoint.FREQUENCY;
            final Boolean h = held.apply(mid);
            if (h == null) {
                return null;
            }
            if (h) {
                p = mid;
            } else {
                a = mid;
            }
        }
        return new long[] {a, p};
    }

    /** How many checkpoints evenly spaced below a start found are probed, besides those at doubling distances. */
    static final int EVEN_PROBES = 32;

    /**
     * The checkpoints probed between {@code first} (excluded) and a start found by bisection at {@code present}
     * (excluded), highest first: 2, 4, 8... checkpoints down, and {@link #EVEN_PROBES} evenly spaced (doubling
     * distances alone missed 20 checkpoints held below a gap of 71: a trial).
     */
    static List<Long> probesBelow(final long first, final long present) {
        final java.util.TreeSet<Long> probes = new java.util.TreeSet<>(java.util.Comparator.reverseOrder());
        for (long down = 2 * Checkpoint.FREQUENCY; present - down > first; down *= 2) {
            probes.add(present - down);
        }
        final long between = (present - first) / Checkpoint.FREQUENCY; // checkpoints from first to present
        for (int i = 1; i <= EVEN_PROBES; i++) {
            final long cp = first + between * i / (EVEN_PROBES + 1) * Checkpoint.FREQUENCY;
            if (cp > first && cp < present - Checkpoint.FREQUENCY) {
                probes.add(cp);
            }
        }
        return List.copyOf(probes);
    }

    /** Whether a source holds the state file of {@code checkpoint}: null when that is not known. */
    private static Boolean held(final HistoryArchive archive, final long checkpoint) {
        return holds(archive, ArchivePaths.has(checkpoint));
    }

    /**
     * Whether a source holds anything of {@code checkpoint}: its state file or, when no source has that, its ledger
     * file; null when that is not known. An archive that holds a checkpoint's ledger file but not its state file is
     * damaged there, not starting later (a trial: the first checkpoint's state file deleted, and {@code verify} with
     * no {@code --from} passed the archive as one starting at the second, exit 0).
     */
    private static Boolean heldAny(final HistoryArchive archive, final long checkpoint) {
        final Boolean state = held(archive, checkpoint);
        return state == Boolean.FALSE
                ? holds(archive, ArchivePaths.checkpointFile(io.historystreams.archive.FileType.LEDGER, checkpoint))
                : state;
    }

    private static Boolean holds(final HistoryArchive archive, final String path) {
        try {
            archive.fetch(path, in -> in.transferTo(OutputStream.nullOutputStream()));
            return Boolean.TRUE;
        } catch (final VerificationException e) {
            return everySourceSaidAbsent(archive, e) ? Boolean.FALSE : null;
        }
    }

    /** The warning that says so (without "warning: "), for a range whose checkpoints below the start are asked for. */
    public static String rangeStartWarning(final long first, final long start, final String what) {
        return startsAt(first, start, what) + ". The checkpoints below it fail as missing, and it is verified as the "
                + "archive's start (its link to the checkpoint before is not checked); --from "
                + Checkpoint.firstLedger(start) + " starts there";
    }

    /**
     * The note that says so (with "note: "), for a range whose first ledger was not given (--from): it starts at the
     * archive's start. Asked for from ledger 1, a validator's archive that starts mid-history had every checkpoint
     * before its start asked for, each failing as missing: hours, for pubnet.
     */
    public static String startNote(final long first, final long start) {
        return "note: " + startsAt(first, start, "of the range (no --from)") + ". The range starts there, and it is "
                + "verified as the archive's start (its link to the checkpoint before is not checked); --from "
                + Checkpoint.firstLedger(first) + " asks for every checkpoint below it (those the archive lacks fail "
                + "as missing: checkpoints held below a gap that the probes missed would be verified there)";
    }

    /**
     * The warning that says so (without "warning: "), for a range the archive holds nothing of, with the first
     * checkpoint after it that it holds: its start, or the end of a gap (a trial's range in a gap was told the
     * archive started after it, which held checkpoints below it).
     */
    public static String startsAfterWarning(final long first, final long last, final long start) {
        return String.format("the archive holds none of the range (checkpoints %d..%d, 0x%x..0x%x): the first "
                + "checkpoint after it whose state file it holds, up to its current ledger, is %d (0x%x) (its start, or "
                + "the end of a gap); --from %d starts there", first, last, first, last, start, start,
                Checkpoint.firstLedger(start));
    }

    /** The warning that says so (without "warning: "), for a tail, which starts there. */
    public static String tailStartWarning(final long first, final long start) {
        return startsAt(first, start, "asked for (--from)") + ". The tail starts there, and it is verified as the "
                + "archive's start (its link to the checkpoint before is not checked)";
    }

    private static String startsAt(final long first, final long start, final String what) {
        return String.format("the archive holds no checkpoint %d (0x%x), the first %s: it starts at %d (0x%x), the "
                + "lowest checkpoint of the range of which it holds the state file or the ledger file", first, first, what,
                start, start);
    }

    /** Whether {@code e} says that every source of {@code archive} answered "not present" (its source names them). */
    private static boolean everySourceSaidAbsent(final HistoryArchive archive, final VerificationException e) {
        return e != null && e.reason() == FailureReason.MISSING_FILE && e.source() != null
                && Set.of(e.source().split(", ")).containsAll(archive.sourceNames());
    }

    /** The words of a verdict that says so, read later (by an {@code ingest} whose range holds it). */
    public static String describeVerdict(final long checkpoint, final long previous) {
        return String.format("checkpoint %d (0x%x) is verified as the archive's start: when it was verified, no source "
                + "held checkpoint %d (0x%x), and its link to it is not checked", checkpoint, checkpoint, previous,
                previous);
    }

    /** The words that say so, for logs and reports. */
    public static String describe(final long checkpoint, final long previous) {
        return String.format("checkpoint %d (0x%x): the archive holds no checkpoint %d (0x%x), neither its state file "
                + "nor its ledger file: it starts at %d, and the link to %d is not checked", checkpoint, checkpoint,
                previous, previous, checkpoint, previous);
    }
}
