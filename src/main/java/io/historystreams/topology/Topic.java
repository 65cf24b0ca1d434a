package io.historystreams.topology;

import org.apache.kafka.common.serialization.Serde;

import java.util.Map;

/**
 * A topic with its key and value serdes and the settings it is created with, so topology code never spells a
 * topic name or picks a serde by itself.
 *
 * @param compacted true when records are state (latest value per key), false for event logs
 */
public record Topic<K, V>(String name, Serde<K> keySerde, Serde<V> valueSerde, boolean compacted,
        Map<String, String> configs, String description) {
}
