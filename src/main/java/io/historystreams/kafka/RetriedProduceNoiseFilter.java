package io.historystreams.kafka;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.filter.Filter;
import ch.qos.logback.core.spi.FilterReply;

/**
 * Drops log lines about produce errors that Kafka retries by design and that end in success: the transactions-v2
 * "expected sequence 0" out-of-order rejection (KAFKA-18202), CONCURRENT_TRANSACTIONS while the previous
 * transaction's commit completes, and NOT_LEADER_OR_FOLLOWER right after topic creation. Any such error that is not resolved by the retry still surfaces through the client that sent it.
 */
public final class RetriedProduceNoiseFilter extends Filter<ILoggingEvent> {
    @Override
    public FilterReply decide(final ILoggingEvent event) {
        final String logger = event.getLoggerName();
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
}
