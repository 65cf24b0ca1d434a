package io.historystreams.cli;

import io.historystreams.service.ServiceConfig;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The settings {@code ingest} gives its own pipeline, as a batch command. */
class IngestBatchConfigTest {

    /** Kafka Streams' view of the pass-through client settings of {@code config}. */
    private static StreamsConfig streams(final ServiceConfig config) {
        final Map<String, Object> p = new HashMap<>(config.kafkaClientSettings());
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, "app");
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:1");
        return new StreamsConfig(p);
    }

    private static long pollMs(final ServiceConfig config) {
        return streams(config).getLong(StreamsConfig.POLL_MS_CONFIG);
    }

    /** The stream threads' consumers' fetch.max.wait.ms as Kafka Streams reads it from {@code config}. */
    private static Object mainFetchWait(final ServiceConfig config) {
        return streams(config).getMainConsumerConfigs("g", "c", 0).get("fetch.max.wait.ms");
    }

    @Test
    void streamThreadsParkFetchesFor50msUnlessTheOperatorChose() {
        final ServiceConfig plain = ServiceConfig.of(Map.of());
        assertEquals(null, mainFetchWait(plain));
        assertEquals("50", String.valueOf(mainFetchWait(IngestCommand.batch(plain))));
        assertEquals(50, IngestCommand.BATCH_FETCH_MAX_WAIT_MS);
        // only the stream threads' consumers: the restore consumer keeps the default the service gives it
        assertEquals(null, streams(IngestCommand.batch(plain)).getRestoreConsumerConfigs("r").get("fetch.max.wait.ms"));
        for (final String setting : new String[] {"kafka.fetch.max.wait.ms", "kafka.consumer.fetch.max.wait.ms",
            "kafka.main.consumer.fetch.max.wait.ms"}) {
            assertEquals("300", String.valueOf(mainFetchWait(IngestCommand.batch(
                    ServiceConfig.of(Map.of(setting, "300"))))), setting);
        }
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
        assertEquals(plain.with("kafka.poll.ms", "10").with("kafka.main.consumer.fetch.max.wait.ms", "50")
                .kafkaClientSettings(), IngestCommand.batch(plain).kafkaClientSettings());
    }
}
