package io.historystreams.service;

import io.historystreams.events.serde.AvroSerde;
import io.historystreams.topology.Topic;
import io.historystreams.topology.Topics;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Checks, before a process on a cluster works, that its schema registry reads what the application's topics hold:
 * the last records of every partition of the event topics, decoded with this process's registry. A worker given
 * another directory registry (another data dir's, which numbers the schemas in another order) started without a
 * word, wrote its state with its own numbers, and after it died the worker that took its tasks over could not read
 * them: a trial's 24 checkpoints never had a verdict. Records no process can decode (garbage) are the dead-letter
 * handlers' business, not this check's.
 */
final class RegistryCheck {
    /** Records read from the end of each partition (a transaction's commit marker takes an offset of its own). */
    private static final int TAIL = 4;
    private static final Logger LOG = LoggerFactory.getLogger(RegistryCheck.class);

    private RegistryCheck() {
    }

    /**
     * @param clientProps the process's Kafka client settings (the cluster, its security)
     * @param registryUrl the process's registry, named in the refusal
     * @throws java.io.IOException a record this registry decodes as another schema, or not at all: the process must
     *                             not start
     */
    static void check(final Map<String, Object> clientProps, final Topics topics, final String registryUrl,
            final Duration timeout) throws java.io.IOException {
        final Map<String, Object> props = new HashMap<>(clientProps);
        props.remove(ConsumerConfig.GROUP_ID_CONFIG);
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        final Map<String, Topic<?, ?>> avro = new HashMap<>();
        for (final Topic<?, ?> t : topics.all()) {
            if (t.valueSerde() instanceof AvroSerde) {
                avro.put(t.name(), t);
            }
        }
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(props)) {
            final List<TopicPartition> partitions = new ArrayList<>();
            for (final String name : avro.keySet()) {
                final List<PartitionInfo> infos = c.partitionsFor(name, timeout);
                if (infos != null) {
                    infos.forEach(p -> partitions.add(new TopicPartition(name, p.partition())));
                }
            }
            final Map<TopicPartition, Long> begin = c.beginningOffsets(partitions, timeout);
            final Map<TopicPartition, Long> end = c.endOffsets(partitions, timeout);
            final Set<TopicPartition> pending = new HashSet<>();
            for (final TopicPartition tp : partitions) {
                if (end.getOrDefault(tp, 0L) > begin.getOrDefault(tp, 0L)) {
                    pending.add(tp);
                }
            }
            if (pending.isEmpty()) {
                return;
            }
            c.assign(pending);
            for (final TopicPartition tp : pending) {
                c.seek(tp, Math.max(begin.get(tp), end.get(tp) - TAIL));
            }
            final long deadline = System.nanoTime() + timeout.toNanos();
            while (!pending.isEmpty() && System.nanoTime() < deadline) {
                for (final ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    pending.remove(new TopicPartition(r.topic(), r.partition()));
                    decode(avro.get(r.topic()), r, registryUrl);
                }
                // a tail of commit markers or aborted records only: nothing to read there
                pending.removeIf(tp -> c.position(tp) >= end.get(tp));
            }
        } catch (final KafkaException e) {
            // the cluster could not say: the check is skipped, not the start
            LOG.warn("cannot check that the schema registry {} reads the application's topics ({}); starting anyway",
                    registryUrl, e.toString());
        }
    }

    private static void decode(final Topic<?, ?> topic, final ConsumerRecord<byte[], byte[]> r,
            final String registryUrl) throws java.io.IOException {
        if (r.value() == null) {
            return;
        }
        try {
            topic.valueSerde().deserializer().deserialize(r.topic(), r.value());
        } catch (final AvroSerde.RegistryMismatchException e) {
            throw new java.io.IOException("the schema registry " + registryUrl + " does not read what this "
                    + "application's topics hold (" + r.topic() + ", partition " + r.partition() + ", offset "
                    + r.offset() + ": " + e.getMessage() + "): " + AvroSerde.RegistryMismatchException.ADVICE
                    + "; a worker with another registry writes state that the others cannot read", e);
        } catch (final RuntimeException e) {
            // garbage, or a registry that cannot answer now: for the pipeline's handlers, which say so
        }
    }
}
