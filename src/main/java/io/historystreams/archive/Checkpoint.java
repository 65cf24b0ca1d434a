package io.historystreams.archive;

import java.util.List;

/**
 * Checkpoint arithmetic: a checkpoint closes every 64 ledgers (63, 127, 191, ...). The first checkpoint holds
 * ledgers 1..63, every later one the 64 ledgers {@code cp-63 .. cp}.
 */
public final class Checkpoint {
    public static final int FREQUENCY = 64;
    /** The largest ledger sequence whose checkpoint still fits an unsigned 32-bit ledger number. */
    public static final long MAX_LEDGER = 0xFFFFFFFFL;

    private Checkpoint() {
    }

    /** The checkpoint ledger of the checkpoint that contains {@code ledger}. */
    public static long containing(final long ledger) {
        if (ledger < 0 || ledger > MAX_LEDGER) {
            throw new IllegalArgumentException("ledger out of range: " + ledger);
        }
        return ((ledger / FREQUENCY) + 1) * FREQUENCY - 1;
    }

    public static boolean isCheckpoint(final long ledger) {
        return ledger >= 0 && (ledger + 1) % FREQUENCY == 0;
    }

    /** First ledger held by the checkpoint: 1 for the first checkpoint (63), {@code cp - 63} for later ones. */
    public static long firstLedger(final long checkpoint) {
        requireCheckpoint(checkpoint);
        return checkpoint == FREQUENCY - 1 ? 1 : checkpoint - (FREQUENCY - 1);
    }

    /** Number of ledger headers the checkpoint holds: 63 for the first, 64 for every other. */
    public static int ledgerCount(final long checkpoint) {
        return (int) (checkpoint - firstLedger(checkpoint) + 1);
    }

    /** The checkpoint before this one, or -1 for the first. */
    public static long previous(final long checkpoint) {
        requireCheckpoint(checkpoint);
        return checkpoint == FREQUENCY - 1 ? -1 : checkpoint - FREQUENCY;
    }

    public static long next(final long checkpoint) {
        requireCheckpoint(checkpoint);
        return checkpoint + FREQUENCY;
    }

    /**
     * The checkpoints that contain ledgers {@code from..to} (inclusive), in order: a view computed on access, so a
     * range of millions of checkpoints takes no memory of its own (read-only).
     */
    public static List<Long> range(final long from, final long to) {
        if (from > to) {
            throw new IllegalArgumentException("range is empty: from " + from + " > to " + to);
        }
        final long first = containing(Math.max(from, 1));
        final long last = containing(Math.max(to, 1));
        final int size = Math.toIntExact((last - first) / FREQUENCY + 1);
        return new Range(first, size);
    }

    private static final class Range extends java.util.AbstractList<Long> implements java.util.RandomAccess {
        private final long first;
        private final int size;

        Range(final long first, final int size) {
            this.first = first;
            this.size = size;
        }

        @Override
        public Long get(final int index) {
            java.util.Objects.checkIndex(index, size);
            return first + (long) index * FREQUENCY;
        }

        @Override
        public int size() {
            return size;
        }

        @Override
        public int indexOf(final Object o) {
            if (!(o instanceof Long c) || c < first || (c - first) % FREQUENCY != 0) {
                return -1;
            }
            final long i = (c - first) / FREQUENCY;
            return i < size ? (int) i : -1;
        }

        @Override
        public int lastIndexOf(final Object o) {
            return indexOf(o);
        }

        @Override
        public boolean contains(final Object o) {
            return indexOf(o) >= 0;
        }
    }

    /** {@code %08x} of the checkpoint ledger, as used in file names. */
    public static String hex(final long checkpoint) {
        return String.format("%08x", checkpoint);
    }

    public static void requireCheckpoint(final long ledger) {
        if (!isCheckpoint(ledger) || ledger > MAX_LEDGER) {
            throw new IllegalArgumentException(ledger + " is not a checkpoint ledger (63, 127, 191, ...)");
        }
    }
}
