package io.historystreams.events.serde;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.historystreams.events.CheckpointFailed;
import io.historystreams.events.CheckpointRequest;
import io.historystreams.events.SampleEvents;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Produced;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class StreamsIntegrationTest {
    private static final String SCOPE = "streams-integration-test";

    @AfterEach
    void drop() {
        MockSchemaRegistry.dropScope(SCOPE);
    }

    @Test
    void serdesWorkInATopology() {
        final MockSchemaRegistry registry = MockSchemaRegistry.forScope(SCOPE);
        final AvroSerde<CheckpointRequest> requests = AvroSerde.forClass(CheckpointRequest.class, registry);
        final AvroSerde<CheckpointFailed> failures = AvroSerde.forClass(CheckpointFailed.class, registry);

        final StreamsBuilder builder = new StreamsBuilder();
        builder.stream("requests", Consumed.with(Serdes.String(), requests))
                .mapValues(r -> r == null ? null : CheckpointFailed.newBuilder()
                        .setCheckpoint(r.getCheckpoint()).setArchive(r.getArchive()).setReason("MISSING_FILE")
                        .setDetail("no source has it").setRetryable(true).setAttempt(r.getAttempt())
                        .setFailedAt(r.getRequestedAt()).build())
                .to("failures", Produced.with(Serdes.String(), failures));

        final Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "events-serde-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "dummy:1234");
        try (TopologyTestDriver driver = new TopologyTestDriver(builder.build(), props)) {
            final TestInputTopic<String, CheckpointRequest> in =
                    driver.createInputTopic("requests", Serdes.String().serializer(), requests);
            final TestOutputTopic<String, CheckpointFailed> out =
                    driver.createOutputTopic("failures", Serdes.String().deserializer(), failures);
            final CheckpointRequest request = (CheckpointRequest) SampleEvents.all().get("CheckpointRequest/full");
            in.pipeInput("a", request);
            in.pipeInput("a", (CheckpointRequest) null);
            final List<KeyValue<String, CheckpointFailed>> got = out.readKeyValuesToList();
            assertEquals(2, got.size());
            assertEquals(127L, got.get(0).value.getCheckpoint());
            assertEquals(3, got.get(0).value.getAttempt());
            assertNull(got.get(1).value, "tombstones pass through");
        }
        assertTrue(registry.subjects().containsAll(List.of("requests-value", "failures-value")), registry.subjects().toString());
    }
}
