package io.historystreams.service;

import org.apache.kafka.streams.errors.ProcessorStateException;
import org.apache.kafka.streams.errors.StreamsException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which stream-thread failures a new thread recovers from (the thread is replaced) and which stop the service. */
class ThreadFailuresTest {
    @Test
    void aCommitThatTimedOutIsRecoveredByANewThreadOtherStateErrorsAreNot() {
        // a trial's worker stopped on this after a broker outage of 2.5 minutes while its two peers recovered; the
        // message is Kafka's TransactionManager's ("Cannot attempt operation `%s` because the previous call to `%s`
        // timed out and must be retried")
        assertTrue(HistoryStreamsService.retriable(new StreamsException(new ProcessorStateException(
                "Failed to flush cache of store chain-predecessors", new IllegalStateException("Cannot attempt "
                        + "operation `send` because the previous call to `commitTransaction` timed out and must be "
                        + "retried")))));
        assertTrue(HistoryStreamsService.retriable(new StreamsException(
                new org.apache.kafka.common.errors.TimeoutException("request timed out"))));
        assertFalse(HistoryStreamsService.retriable(new StreamsException(new ProcessorStateException(
                "Failed to flush cache of store chain-predecessors", new IllegalStateException("a bug")))));
        assertFalse(HistoryStreamsService.retriable(new StreamsException(
                new io.historystreams.blob.BlobStoreFailure("cannot store x", new java.io.IOException("full")))));
    }
}
