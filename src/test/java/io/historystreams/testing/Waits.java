package io.historystreams.testing;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Waiting in tests for something another thread does. */
public final class Waits {
    private Waits() {
    }

    /** Whether {@code done} held within {@code limit}, looked at every 10 ms. */
    public static boolean until(final BooleanSupplier done, final Duration limit) throws InterruptedException {
        final long end = System.nanoTime() + limit.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() - end > 0) {
                return false;
            }
            Thread.sleep(10);
        }
        return true;
    }
}
