package io.historystreams.testing;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.slf4j.LoggerFactory;

import java.util.List;

/** What a class logged while a test ran some code (logback's list appender on that class's logger). */
public final class Logs {
    /** Code under test. */
    @FunctionalInterface
    public interface Action {
        void run() throws Exception;
    }

    private Logs() {
    }

    /** Runs {@code action} and returns the events the logger of {@code source} got meanwhile. */
    public static List<ILoggingEvent> during(final Class<?> source, final Action action) throws Exception {
        return during(source.getName(), action);
    }

    /** As {@link #during(Class, Action)}, for a logger by name (a class this package cannot see). */
    public static List<ILoggingEvent> during(final String logger, final Action action) throws Exception {
        final Logger log = (Logger) LoggerFactory.getLogger(logger);
        final ListAppender<ILoggingEvent> seen = new ListAppender<>();
        seen.start();
        log.addAppender(seen);
        try {
            action.run();
        } finally {
            log.detachAppender(seen);
        }
        return List.copyOf(seen.list);
    }
}
