package io.historystreams.service;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.serialization.Deserializer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Reads a whole topic as it stands (read committed), for assertions on exactly-once outputs. */
final class TopicReader {
    private TopicReader() {
    }

    static <K, V> List<ConsumerRecord<K, V>> readAll(final String bootstrap, final String topic,
            final Deserializer<K> keys, final Deserializer<V> values) {
        final List<ConsumerRecord<K, V>> out = new ArrayList<>();
        TopicSnapshot.read(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap), topic, keys, values,
                Duration.ofSeconds(60), out::add);
        return out;
    }
}
