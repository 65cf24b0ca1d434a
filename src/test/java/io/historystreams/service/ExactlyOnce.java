package io.historystreams.service;

import io.historystreams.archive.Checkpoint;
import io.historystreams.cli.Main;
import io.historystreams.events.CheckpointPublished;
import io.historystreams.events.serde.SchemaRegistry;
import io.historystreams.topology.Topics;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.LongDeserializer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The properties every fault run must keep: each checkpoint and ledger verified once, each file published once. */
final class ExactlyOnce {
    private ExactlyOnce() {
    }

    /** What a run produced, for the fault table. */
    record Counts(int checkpoints, int ledgers, int publishedEvents, int filesWritten) {
    }

    static Counts check(final String bootstrap, final String app, final String registryUrl, final long from,
            final long to, final Path publishDir) throws IOException {
        final Topics t = new Topics(app + ".", SchemaRegistry.forUrl(registryUrl));
        final List<Long> range = Checkpoint.range(from, to);
        final List<ConsumerRecord<Long, byte[]>> verified = TopicReader.readAll(bootstrap,
                t.checkpointsVerified.name(), new LongDeserializer(), new ByteArrayDeserializer());
        assertEquals(range, verified.stream().map(ConsumerRecord::key).sorted().toList(),
                "every checkpoint verified exactly once (none lost, none twice)");
        final List<ConsumerRecord<Long, byte[]>> ledgers = TopicReader.readAll(bootstrap, t.ledgersVerified.name(),
                new LongDeserializer(), new ByteArrayDeserializer());
        final Set<Long> distinct = new HashSet<>();
        final List<Long> dups = ledgers.stream().map(ConsumerRecord::key).filter(k -> !distinct.add(k)).toList();
        assertEquals(List.of(), dups, "no ledger event twice");
        final long expectedLedgers = range.stream().mapToLong(Checkpoint::ledgerCount).sum();
        assertEquals(expectedLedgers, distinct.size(), "every ledger once");
        int events = 0;
        int written = 0;
        if (publishDir != null) {
            final List<ConsumerRecord<Long, byte[]>> published = TopicReader.readAll(bootstrap,
                    t.checkpointsPublished.name(), new LongDeserializer(), new ByteArrayDeserializer());
            final Map<String, Set<String>> byTarget = new HashMap<>();
            final List<String> twice = new ArrayList<>();
            final Set<Long> publishedCps = new HashSet<>();
            for (final ConsumerRecord<Long, byte[]> r : published) {
                final CheckpointPublished e = t.checkpointsPublished.valueSerde().deserializer()
                        .deserialize(r.topic(), r.value());
                publishedCps.add(e.getCheckpoint());
                final Set<String> seen = byTarget.computeIfAbsent(e.getTarget(), k -> new HashSet<>());
                for (final String w : e.getWritten()) {
                    written++;
                    if (!seen.add(w) && !isRootHas(w)) {
                        twice.add(w);
                    }
                }
            }
            events = published.size();
            assertEquals(List.of(), twice, "no published file written twice");
            assertTrue(publishedCps.containsAll(range), "every checkpoint published");
            try (Stream<Path> s = Files.walk(publishDir)) {
                final List<Path> temporaries = s.filter(Files::isRegularFile)
                        .filter(p -> p.getFileName().toString().endsWith(".tmp")
                                || p.getFileName().toString().endsWith(".part"))
                        .toList();
                assertEquals(List.of(), temporaries, "no temporary left behind in the target");
            }
            assertEquals(0, Main.run("verify", "--archive", publishDir.toString(), "--quiet"),
                    "the published target verifies (no partial file under a final name, root HAS consistent)");
        }
        return new Counts(verified.size(), distinct.size(), events, written);
    }

    /** The root HAS moves forward and is rewritten on purpose; every other file is written once. */
    static boolean isRootHas(final String path) {
        return path.equals(".well-known/stellar-history.json");
    }
}
