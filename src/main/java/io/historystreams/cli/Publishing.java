package io.historystreams.cli;

import io.historystreams.service.HistoryStreamsService;

import java.io.PrintWriter;
import java.util.Collection;
import java.util.List;

/** The publishing side of a command: one runner per target (placeholder until the sink is wired). */
final class Publishing implements AutoCloseable {
    private final List<String> targets;

    private Publishing(final List<String> targets) {
        this.targets = targets;
    }

    static Publishing start(final HistoryStreamsService svc, final List<String> targets) {
        if (!targets.isEmpty()) {
            throw new IllegalArgumentException("--publish-to is not available yet");
        }
        return new Publishing(targets);
    }

    /** Waits until every given checkpoint is published to every target; true when they all are. */
    boolean awaitPublished(final Collection<Long> checkpoints, final PrintWriter err) {
        return true;
    }

    @Override
    public void close() {
    }
}
