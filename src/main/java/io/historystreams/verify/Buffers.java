package io.historystreams.verify;

/**
 * Per-thread reuse of the 64 KiB I/O buffers the verifiers stream through, so that verifying thousands of small files
 * does not allocate (and zero, and collect) several fresh buffers per file. A few spare buffers per thread (a file in
 * flight holds two: the gunzip input and the reader's): a buffer borrowed while none is parked is simply allocated,
 * and one given back while the thread's spares are all parked is dropped. A buffer must not be touched after it is
 * given back.
 */
final class Buffers {
    static final int SIZE = 64 << 10;

    private static final int SPARES = 4;
    private static final ThreadLocal<byte[][]> SPARE = ThreadLocal.withInitial(() -> new byte[SPARES][]);

    private Buffers() {
    }

    /** A {@link #SIZE}-byte buffer with arbitrary content. */
    static byte[] borrow() {
        final byte[][] slots = SPARE.get();
        for (int i = 0; i < SPARES; i++) {
            final byte[] b = slots[i];
            if (b != null) {
                slots[i] = null;
                return b;
            }
        }
        return new byte[SIZE];
    }

    static void giveBack(final byte[] b) {
        if (b != null && b.length == SIZE) {
            final byte[][] slots = SPARE.get();
            for (int i = 0; i < SPARES; i++) {
                if (slots[i] == b) {
                    return; // given back twice: keep one reference only
                }
            }
            for (int i = 0; i < SPARES; i++) {
                if (slots[i] == null) {
                    slots[i] = b;
                    return;
                }
            }
        }
    }
}
