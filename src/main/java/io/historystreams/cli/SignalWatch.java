package io.historystreams.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * What a signal (SIGTERM, Ctrl-C) does to {@code ingest} while no service of its own answers it: before the range is
 * requested (the root state read, the broker starting) it says so in one line, where the process ended with exit 143
 * and nothing on stderr; while {@code ingest --client} follows the workers' verdicts it lets the command end its wait
 * and say and write what was decided before the JVM exits. Once the command's pipeline is up, the service's own
 * shutdown answers the signal ({@link #handOver}).
 */
final class SignalWatch implements AutoCloseable {
    private enum Phase { STARTING, FOLLOWING, HANDED_OVER }

    private final CountDownLatch lastWords = new CountDownLatch(1);
    private final Thread hook;
    private volatile Phase phase = Phase.STARTING;
    private volatile boolean signalled;

    /**
     * Installs the watch.
     *
     * @param err      where the line said before the range is requested goes
     * @param lastWait how long the JVM waits, after a signal while the command follows, for its last words
     */
    SignalWatch(final PrintWriter err, final Duration lastWait) {
        this.hook = new Thread(() -> {
            signalled = true;
            switch (phase) {
                case STARTING -> {
                    err.println("error: stopped by a signal before the range was requested: this run decided nothing "
                            + "and writes no report (what earlier runs verified is kept); run the command again");
                    err.flush();
                }
                case FOLLOWING -> {
                    try {
                        lastWords.await(lastWait.toMillis(), TimeUnit.MILLISECONDS);
                    } catch (final InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                case HANDED_OVER -> {
                    // the service's own hook stops the pipeline and waits for the command's last words
                }
            }
        }, "history-streams-signal");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** The command now follows verdicts and ends its wait when {@link #signalled()}: the JVM waits for its words. */
    void follow() {
        phase = Phase.FOLLOWING;
    }

    /** The command's service answers signals from now on. */
    void handOver() {
        phase = Phase.HANDED_OVER;
    }

    boolean signalled() {
        return signalled;
    }

    /** The command's last words are out: a JVM exiting on a signal goes on. */
    @Override
    public void close() {
        lastWords.countDown();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (final IllegalStateException e) {
            // the JVM is shutting down: the hook runs, and returns at once now
        }
    }
}
