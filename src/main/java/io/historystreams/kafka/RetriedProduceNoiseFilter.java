package io.historystreams.kafka;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.filter.Filter;
import ch.qos.logback.core.spi.FilterReply;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Drops log lines about produce errors that Kafka retries by design and that end in success: the transactions-v2
 * "expected sequence 0" out-of-order rejection (KAFKA-18202), CONCURRENT_TRANSACTIONS while the previous
 * transaction's commit completes, and NOT_LEADER_OR_FOLLOWER right after topic creation. Any such error that is not resolved by the retry still surfaces through the client that sent it.
 * Also the embedded broker's own controller registration when it restarts on an existing data dir: the request can
 * arrive before the controller has finished activating, is answered NOT_CONTROLLER (logged at ERROR with a stack
 * trace) and is sent again by the broker's registration manager; a registration that never succeeds stops the
 * broker's start-up, which the service reports. And two WARN lines the embedded broker writes on every run: its
 * controller's "Performing controller activation" at start and "Attempting to close NetworkClient that has already
 * been closed" at shutdown (both informational in KRaft's own code paths).
 *
 * <p>A Kafka client that cannot reach a broker logs "Connection to node ... could not be established" (or "...
 * disconnected") at every reconnect attempt, about once a second per client: an unreachable cluster buried the one
 * error line that says what is wrong under dozens of identical lines, and a worker whose cluster is down for an hour
 * would log thousands. Each such line (per client and node: the text names both) is let through once a minute.
 */
public final class RetriedProduceNoiseFilter extends Filter<ILoggingEvent> {
    /** How long an identical connection WARN of a Kafka client is held back after it was let through. */
    static final long REPEAT_NANOS = 60_000_000_000L;

    private static final String NETWORK_CLIENT = "org.apache.kafka.clients.NetworkClient";

    /** Connection WARN text -> when it was last let through (cleared when it grows past 1,000 texts). */
    private final Map<String, Long> connectionWarnings = new ConcurrentHashMap<>();
    private final LongSupplier clock;

    public RetriedProduceNoiseFilter() {
        this(System::nanoTime);
    }

    RetriedProduceNoiseFilter(final LongSupplier clock) {
        this.clock = clock;
    }

    /** Logger -> the text of the one WARN line of it that is routine. */
    private static final Map<String, String> ROUTINE_WARNINGS = Map.of(
            "org.apache.kafka.controller.QuorumController", "] Performing controller activation.",
            "org.apache.kafka.clients.NetworkClient", "Attempting to close NetworkClient that has already been closed.");

    @Override
    public FilterReply decide(final ILoggingEvent event) {
        final String logger = event.getLoggerName();
        final String routine = ROUTINE_WARNINGS.get(logger);
        if (routine != null && event.getLevel() == Level.WARN && event.getFormattedMessage().contains(routine)) {
            return FilterReply.DENY;
        }
        if (logger.equals(NETWORK_CLIENT) && event.getLevel() == Level.WARN) {
            final String msg = event.getFormattedMessage();
            return msg.contains("could not be established") || msg.endsWith(" disconnected")
                    ? (repeated(msg) ? FilterReply.DENY : FilterReply.NEUTRAL) : FilterReply.NEUTRAL;
        }
        if (logger.equals("kafka.server.ControllerApis")) {
            return event.getFormattedMessage().contains("CONTROLLER_REGISTRATION") && causedBy(event,
                    "org.apache.kafka.common.errors.NotControllerException") ? FilterReply.DENY : FilterReply.NEUTRAL;
        }
        if (!logger.startsWith("org.apache.kafka.clients.producer.internals.Sender")
                && !logger.startsWith("kafka.server.ReplicaManager")) {
            return FilterReply.NEUTRAL;
        }
        final String msg = event.getFormattedMessage();
        final String thrown = event.getThrowableProxy() == null ? "" : event.getThrowableProxy().getClassName();
        if (msg.contains("OUT_OF_ORDER_SEQUENCE_NUMBER") || thrown.endsWith("OutOfOrderSequenceException")
                || msg.contains("CONCURRENT_TRANSACTIONS") || msg.contains("NOT_LEADER_OR_FOLLOWER") || msg.contains("NotLeaderOrFollowerException")) {
            return FilterReply.DENY;
        }
        return FilterReply.NEUTRAL;
    }

    /** True when {@code text} was let through less than {@link #REPEAT_NANOS} ago; else records it as let through. */
    private boolean repeated(final String text) {
        final long now = clock.getAsLong();
        final Long last = connectionWarnings.get(text);
        if (last != null && now - last < REPEAT_NANOS) {
            return true;
        }
        if (connectionWarnings.size() > 1_000) {
            connectionWarnings.clear();
        }
        connectionWarnings.put(text, now);
        return false;
    }

    private static boolean causedBy(final ILoggingEvent event, final String className) {
        for (IThrowableProxy t = event.getThrowableProxy(); t != null; t = t.getCause()) {
            if (t.getClassName().equals(className)) {
                return true;
            }
        }
        return false;
    }
}
