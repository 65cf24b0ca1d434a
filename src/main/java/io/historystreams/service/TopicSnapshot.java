package io.historystreams.service;

import io.historystreams.topology.Topics;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/** Reads a topic from the beginning to where it ends now (read committed): replays, tail state, checks. */
public final class TopicSnapshot {
    private TopicSnapshot() {
    }

    /** Hands every record (tombstones excluded) to {@code sink}; gives up after {@code timeout}. */
    public static <K, V> void read(final Map<String, Object> clientProps, final String topic,
            final Deserializer<K> keys, final Deserializer<V> values, final Duration timeout,
            final Consumer<ConsumerRecord<K, V>> sink) {
        final Map<String, Object> p = new HashMap<>(clientProps);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, Topics.MAX_MESSAGE_BYTES + 65536);
        try (KafkaConsumer<K, V> c = new KafkaConsumer<>(p, keys, values)) {
            final List<TopicPartition> parts = new ArrayList<>();
            for (final PartitionInfo pi : c.partitionsFor(topic, Duration.ofSeconds(30))) {
                parts.add(new TopicPartition(topic, pi.partition()));
            }
            c.assign(parts);
            c.seekToBeginning(parts);
            final Map<TopicPartition, Long> end = c.endOffsets(parts);
            final long deadline = System.nanoTime() + timeout.toNanos();
            while (parts.stream().anyMatch(tp -> c.position(tp) < end.get(tp)) && System.nanoTime() < deadline) {
                for (final ConsumerRecord<K, V> r : c.poll(Duration.ofMillis(300))) {
                    if (r.value() != null) {
                        sink.accept(r);
                    }
                }
            }
        }
    }
}
