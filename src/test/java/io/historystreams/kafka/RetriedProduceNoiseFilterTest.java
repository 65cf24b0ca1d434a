package io.historystreams.kafka;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.spi.FilterReply;
import org.apache.kafka.common.errors.NotControllerException;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletionException;

import static org.junit.jupiter.api.Assertions.assertEquals;

class RetriedProduceNoiseFilterTest {
    private final RetriedProduceNoiseFilter filter = new RetriedProduceNoiseFilter();
    private final LoggerContext logging = new LoggerContext();

    private LoggingEvent event(final String logger, final String message, final Throwable thrown) {
        return new LoggingEvent(RetriedProduceNoiseFilterTest.class.getName(), logging.getLogger(logger), Level.ERROR,
                message, thrown, null);
    }

    @Test
    void dropsTheEmbeddedControllersFirstRegistrationAnsweredNotController() {
        // what the embedded broker logs when it restarts on an existing data dir (seen on every second ingest)
        final String msg = "[ControllerApis nodeId=1] Unexpected error handling request RequestHeader(apiKey="
                + "CONTROLLER_REGISTRATION, apiVersion=0, clientId=1, correlationId=0, headerVersion=2) -- ...";
        final Throwable thrown = new CompletionException(
                new NotControllerException("The active controller appears to be node 1."));
        assertEquals(FilterReply.DENY, filter.decide(event("kafka.server.ControllerApis", msg, thrown)));
    }

    @Test
    void keepsOtherControllerErrors() {
        final Throwable notController = new CompletionException(new NotControllerException("x"));
        assertEquals(FilterReply.NEUTRAL, filter.decide(event("kafka.server.ControllerApis",
                "Unexpected error handling request RequestHeader(apiKey=CREATE_TOPICS, ...)", notController)));
        assertEquals(FilterReply.NEUTRAL, filter.decide(event("kafka.server.ControllerApis",
                "Unexpected error handling request RequestHeader(apiKey=CONTROLLER_REGISTRATION, ...)",
                new IllegalStateException("something else"))));
        assertEquals(FilterReply.NEUTRAL, filter.decide(event("kafka.server.ControllerApis",
                "Unexpected error handling request RequestHeader(apiKey=CONTROLLER_REGISTRATION, ...)", null)));
    }

    @Test
    void dropsTheEmbeddedBrokersTwoRoutineWarningsOnly() {
        final LoggingEvent activation = new LoggingEvent(getClass().getName(),
                logging.getLogger("org.apache.kafka.controller.QuorumController"), Level.WARN,
                "[QuorumController id=1] Performing controller activation.", null, null);
        assertEquals(FilterReply.DENY, filter.decide(activation));
        // the first start on a new data dir says more
        assertEquals(FilterReply.DENY, filter.decide(new LoggingEvent(getClass().getName(),
                logging.getLogger("org.apache.kafka.controller.QuorumController"), Level.WARN,
                "[QuorumController id=1] Performing controller activation. The metadata log appears to be empty. "
                        + "Appending 6 bootstrap record(s) in metadata transaction at metadata.version 4.4-IV2", null,
                null)));
        final LoggingEvent closed = new LoggingEvent(getClass().getName(),
                logging.getLogger("org.apache.kafka.clients.NetworkClient"), Level.WARN,
                "[NodeToControllerChannelManager id=1 name=registration] Attempting to close NetworkClient that has "
                        + "already been closed.", null, null);
        assertEquals(FilterReply.DENY, filter.decide(closed));
        assertEquals(FilterReply.NEUTRAL, filter.decide(new LoggingEvent(getClass().getName(),
                logging.getLogger("org.apache.kafka.clients.NetworkClient"), Level.WARN,
                "[Consumer clientId=c] Connection to node 1 (127.0.0.1:9092) could not be established.", null, null)));
        assertEquals(FilterReply.NEUTRAL, filter.decide(new LoggingEvent(getClass().getName(),
                logging.getLogger("org.apache.kafka.controller.QuorumController"), Level.WARN,
                "[QuorumController id=1] Renouncing leadership.", null, null)));
    }

    @Test
    void stillDropsRetriedProduceErrorsAndKeepsTheRest() {
        assertEquals(FilterReply.DENY, filter.decide(event("org.apache.kafka.clients.producer.internals.Sender",
                "Got error produce response ... CONCURRENT_TRANSACTIONS", null)));
        assertEquals(FilterReply.NEUTRAL, filter.decide(event("org.apache.kafka.clients.producer.internals.Sender",
                "Got error produce response ... MESSAGE_TOO_LARGE", null)));
        assertEquals(FilterReply.NEUTRAL, filter.decide(event("io.historystreams.service.HistoryStreamsService",
                "CONCURRENT_TRANSACTIONS", null)));
    }

    @Test
    void letsAClientsRepeatedConnectionWarningThroughOnceAMinute() {
        final long[] now = {0};
        final RetriedProduceNoiseFilter timed = new RetriedProduceNoiseFilter(() -> now[0]);
        final String admin = "[AdminClient clientId=adminclient-1] Connection to node -1 (/127.0.0.1:1) could not be "
                + "established. Node may not be available.";
        final String consumer = "[Consumer clientId=c1, groupId=g] Connection to node -1 (/127.0.0.1:1) could not be "
                + "established. Node may not be available.";
        final String bootstrap = "[Producer clientId=p1] Bootstrap broker 127.0.0.1:1 (id: -1 rack: null) disconnected";
        assertEquals(FilterReply.NEUTRAL, timed.decide(warn(admin)));
        assertEquals(FilterReply.NEUTRAL, timed.decide(warn(consumer)), "another client's line is its own");
        assertEquals(FilterReply.NEUTRAL, timed.decide(warn(bootstrap)));
        now[0] += 1_000_000_000L;
        assertEquals(FilterReply.DENY, timed.decide(warn(admin)));
        assertEquals(FilterReply.DENY, timed.decide(warn(consumer)));
        assertEquals(FilterReply.DENY, timed.decide(warn(bootstrap)));
        assertEquals(FilterReply.NEUTRAL, timed.decide(warn("[Consumer clientId=c1, groupId=g] Error while fetching "
                + "metadata with correlation id 7 : {t=UNKNOWN_TOPIC_OR_PARTITION}")), "other warnings pass");
        now[0] += RetriedProduceNoiseFilter.REPEAT_NANOS;
        assertEquals(FilterReply.NEUTRAL, timed.decide(warn(admin)), "again after a minute");
        assertEquals(FilterReply.DENY, timed.decide(warn(admin)));
    }

    private LoggingEvent warn(final String message) {
        return new LoggingEvent(getClass().getName(), logging.getLogger("org.apache.kafka.clients.NetworkClient"),
                Level.WARN, message, null, null);
    }
}
