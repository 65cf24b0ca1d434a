package io.historystreams.cli;

import io.historystreams.service.ServiceConfig;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The settings {@code ingest} gives its own pipeline, as a batch command. */
class IngestBatchConfigTest {

    /** poll.ms as Kafka Streams reads it from the pass-through client settings of {@code config}. */
    private static long pollMs(final ServiceConfig config) {
        final Map<String, Object> p = new HashMap<>(config.kafkaClientSettings());
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, "app");
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:1");
        return new StreamsConfig(p).getLong(StreamsConfig.POLL_MS_CONFIG);
    }

    @Test
    void streamThreadsPollEvery10msUnlessTheOperatorChose() {
        final ServiceConfig plain = ServiceConfig.of(Map.of());
        // what run and tail get: Kafka's default
        assertEquals(100L, pollMs(plain));
        assertEquals(10, IngestCommand.BATCH_POLL_MS);
        assertEquals(10L, pollMs(IngestCommand.batch(plain)));
        final ServiceConfig chosen = ServiceConfig.of(Map.of("kafka.poll.ms", "40"));
        assertEquals(40L, pollMs(IngestCommand.batch(chosen)));
        // nothing else changes
        assertEquals(plain.with("kafka.poll.ms", "10").toString(), IngestCommand.batch(plain).toString());
    }
}
