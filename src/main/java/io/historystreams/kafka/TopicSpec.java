package io.historystreams.kafka;

import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.internals.Topic;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A topic the service needs: name, partition count, replication factor and topic-level configs (for example
 * {@code cleanup.policy=compact}). Used by {@link TopicAdmin#ensureTopics}.
 *
 * @param name              legal Kafka topic name
 * @param partitions        at least 1
 * @param replicationFactor at least 1 (1 on the embedded broker)
 * @param configs           topic-level configs; copied, never null
 */
public record TopicSpec(String name, int partitions, short replicationFactor, Map<String, String> configs) {

    public TopicSpec {
        Objects.requireNonNull(name, "name");
        Topic.validate(name);
        if (partitions < 1) {
            throw new IllegalArgumentException("topic " + name + ": partitions must be >= 1, got " + partitions);
        }
        if (replicationFactor < 1) {
            throw new IllegalArgumentException("topic " + name + ": replicationFactor must be >= 1, got "
                    + replicationFactor);
        }
        configs = configs == null ? Map.of() : Map.copyOf(configs);
    }

    /** A topic with {@code cleanup.policy=delete} (Kafka's default) and no other configs. */
    public static TopicSpec of(final String name, final int partitions, final int replicationFactor) {
        return new TopicSpec(name, partitions, (short) replicationFactor, Map.of());
    }

    /** A log-compacted topic ({@code cleanup.policy=compact}). */
    public static TopicSpec compacted(final String name, final int partitions, final int replicationFactor) {
        return new TopicSpec(name, partitions, (short) replicationFactor,
                Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT));
    }

    /** This spec with one more (or a replaced) topic config. */
    public TopicSpec withConfig(final String key, final String value) {
        final Map<String, String> c = new LinkedHashMap<>(configs);
        c.put(key, value);
        return new TopicSpec(name, partitions, replicationFactor, c);
    }

    /** The {@code cleanup.policy} asked for, or {@code delete} (Kafka's default) when not given. */
    public String cleanupPolicy() {
        return configs.getOrDefault(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE);
    }

    NewTopic toNewTopic() {
        return new NewTopic(name, partitions, replicationFactor).configs(configs);
    }
}
