package io.historystreams.archive;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Whether one source answers, shared by every {@link HistoryArchive} of this process that reads it (by its name): its
 * transient failures in a row, across fetches, threads and archives, since it last answered (served, said "not
 * present", refused or served bad bytes), and when it may be rechecked once taken as down. Each archive had counted on
 * its own: a trial's tail took a hanging mirror as down in its pipeline, while its polls of the root state, another
 * archive of the same sources, waited a read timeout each until they had counted their own failures too. Kept while
 * an archive that reads the source is open, so that a source of the same name later starts afresh.
 */
final class SourceHealth {
    private static final Map<String, SourceHealth> BY_NAME = new HashMap<>();

    /** Transient failures in a row since the source last answered. */
    final AtomicInteger failuresInARow = new AtomicInteger();
    /** When ({@link System#nanoTime()}) it may be rechecked, once down; {@link Long#MAX_VALUE} while a recheck runs. */
    final AtomicLong recheckAt = new AtomicLong(System.nanoTime());
    /**
     * The file of its last transient failure when that waited out a timeout, asked for by its rechecks once it is
     * down; null otherwise, and once it answers. A mirror that hangs on buckets only was found back by each recheck of
     * an idle tail (which asked for the root state it serves), and cost every checkpoint after a read timeout (a
     * trial).
     */
    volatile String failedPath;
    /**
     * When it was taken as down for not answering within a hedged read's wait while another source did, that wait
     * (ns): a recheck answered later than that leaves it down. 0 otherwise, and once it answers in time.
     */
    volatile long slowAfterNanos;
    private int users;

    private SourceHealth() {
    }

    /** The health of the source named {@code name}, for an archive that reads it until {@link #release}. */
    static SourceHealth acquire(final String name) {
        synchronized (BY_NAME) {
            final SourceHealth h = BY_NAME.computeIfAbsent(name, n -> new SourceHealth());
            h.users++;
            return h;
        }
    }

    /** The transient failures in a row of the source named {@code name}; 0 while no archive reads it. */
    static int failuresInARow(final String name) {
        synchronized (BY_NAME) {
            final SourceHealth h = BY_NAME.get(name);
            return h == null ? 0 : h.failuresInARow.get();
        }
    }

    /** An archive that {@link #acquire}d the health of {@code name} no longer reads it. */
    static void release(final String name) {
        synchronized (BY_NAME) {
            final SourceHealth h = BY_NAME.get(name);
            if (h != null && --h.users <= 0) {
                BY_NAME.remove(name);
            }
        }
    }
}
