package io.historystreams.service;

import io.historystreams.events.CheckpointFailed;
import io.historystreams.events.CheckpointVerified;
import io.historystreams.topology.Topics;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Follows the outcome topics (read committed, from the beginning) and keeps the verdict of the checkpoints a command
 * asked for: verified (in this run or an earlier one) or failed in this run.
 */
public final class OutcomeWatcher implements AutoCloseable {
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Topics topics;
    private final Set<Long> wanted;
    private final long since;
    private final Map<Long, CheckpointVerified> verified = new TreeMap<>();
    private final Map<Long, CheckpointFailed> failed = new TreeMap<>();

    public OutcomeWatcher(final Map<String, Object> clientProps, final Topics topics, final Collection<Long> wanted,
            final long sinceMillis) {
        this.topics = topics;
        this.wanted = new HashSet<>(wanted);
        this.since = sinceMillis;
        final Map<String, Object> p = new HashMap<>(clientProps);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, Topics.MAX_MESSAGE_BYTES + 65536);
        this.consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        final List<TopicPartition> parts = new ArrayList<>();
        for (final String t : List.of(topics.checkpointsVerified.name(), topics.checkpointFailures.name())) {
            for (final PartitionInfo pi : consumer.partitionsFor(t, Duration.ofSeconds(30))) {
                parts.add(new TopicPartition(t, pi.partition()));
            }
        }
        consumer.assign(parts);
        consumer.seekToBeginning(parts);
    }

    /** Reads what has arrived (waiting at most {@code wait}). */
    public void poll(final Duration wait) {
        for (final ConsumerRecord<byte[], byte[]> r : consumer.poll(wait)) {
            if (r.value() == null) {
                continue;
            }
            if (r.topic().equals(topics.checkpointsVerified.name())) {
                final CheckpointVerified v = topics.checkpointsVerified.valueSerde().deserializer()
                        .deserialize(r.topic(), r.value());
                if (wanted.contains(v.getCheckpoint())) {
                    verified.put(v.getCheckpoint(), v);
                    failed.remove(v.getCheckpoint());
                }
            } else {
                final CheckpointFailed f = topics.checkpointFailures.valueSerde().deserializer()
                        .deserialize(r.topic(), r.value());
                if (wanted.contains(f.getCheckpoint()) && !verified.containsKey(f.getCheckpoint())
                        && f.getFailedAt().toEpochMilli() >= since) {
                    failed.put(f.getCheckpoint(), f);
                }
            }
        }
    }

    public boolean done() {
        return verified.size() + failed.size() >= wanted.size();
    }

    public Map<Long, CheckpointVerified> verified() {
        return verified;
    }

    public Map<Long, CheckpointFailed> failed() {
        return failed;
    }

    public int pending() {
        return wanted.size() - verified.size() - failed.size();
    }

    @Override
    public void close() {
        consumer.close(Duration.ofSeconds(5));
    }
}
