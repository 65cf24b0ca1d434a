package io.historystreams.service;

import io.historystreams.blob.LocalBlobStore;
import io.historystreams.events.CheckpointPublished;
import io.historystreams.events.CheckpointVerified;
import io.historystreams.events.FileRef;
import io.historystreams.events.Hashes;
import io.historystreams.topology.Topics;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Keeps the blob store under {@code blob.max.bytes}. It follows {@code checkpoints-verified} (which blobs each
 * checkpoint references) and {@code checkpoints-published} (which targets have each checkpoint), and when the store
 * is over its limit deletes the least recently used blobs all of whose known checkpoints are verified and published
 * to every target of this process (or simply verified when there are none). Blobs of work in flight are never
 * known here and so never deleted: the limit bounds what is kept after use, not the data in flight (a range
 * requested at once is fetched ahead of verification and publishing, up to {@code fetch.concurrency} files at a
 * time, before anything can be evicted). Eviction is safe in any case: a reader that misses a blob
 * ({@code StoredFiles.open}) fetches it again from its source and checks the recorded SHA-256.
 */
final class BlobEvictor implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BlobEvictor.class);

    private final LocalBlobStore store;
    private final long maxBytes;
    private final Map<String, Object> clientProps;
    private final Topics topics;
    private final Set<String> targets;
    private final Map<String, Set<Long>> checkpointsOfBlob = new HashMap<>();
    private final Map<Long, Set<String>> blobsOfCheckpoint = new HashMap<>();
    private final Map<Long, Set<String>> publishedTo = new HashMap<>();
    private final Thread thread;
    private volatile boolean running = true;
    private volatile KafkaConsumer<byte[], byte[]> consumer;
    private long evictedBlobs;
    private long evictedBytes;

    BlobEvictor(final LocalBlobStore store, final long maxBytes, final Map<String, Object> clientProps,
            final Topics topics, final Set<String> targets) {
        this.store = store;
        this.maxBytes = maxBytes;
        this.clientProps = clientProps;
        this.topics = topics;
        this.targets = Set.copyOf(targets);
        this.thread = new Thread(this::run, "blob-evictor");
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    private void run() {
        final Map<String, Object> p = new HashMap<>(clientProps);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, Topics.MAX_MESSAGE_BYTES + 65536);
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            consumer = c;
            final List<TopicPartition> parts = new ArrayList<>();
            for (final String topic : List.of(topics.checkpointsVerified.name(), topics.checkpointsPublished.name())) {
                for (final PartitionInfo pi : c.partitionsFor(topic, Duration.ofSeconds(60))) {
                    parts.add(new TopicPartition(topic, pi.partition()));
                }
            }
            c.assign(parts);
            c.seekToBeginning(parts);
            while (running) {
                for (final ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(300))) {
                    if (r.value() == null) {
                        continue;
                    }
                    if (r.topic().equals(topics.checkpointsVerified.name())) {
                        verified(topics.checkpointsVerified.valueSerde().deserializer().deserialize(r.topic(),
                                r.value()));
                    } else {
                        published(topics.checkpointsPublished.valueSerde().deserializer().deserialize(r.topic(),
                                r.value()));
                    }
                }
                if (store.sizeBytes() > maxBytes) {
                    evict();
                }
            }
        } catch (final WakeupException e) {
            // closing
        } catch (final RuntimeException e) {
            if (running) {
                LOG.error("blob eviction stopped (the store may grow past blob.max.bytes)", e);
            }
        }
    }

    private void verified(final CheckpointVerified v) {
        final Set<String> refs = new HashSet<>();
        for (final FileRef f : v.getFiles()) {
            refs.add(f.getBlobRef() != null ? f.getBlobRef() : Hashes.hex(f.getSha256()));
        }
        blobsOfCheckpoint.put(v.getCheckpoint(), refs);
        for (final String ref : refs) {
            checkpointsOfBlob.computeIfAbsent(ref, k -> new HashSet<>()).add(v.getCheckpoint());
        }
    }

    private void published(final CheckpointPublished e) {
        publishedTo.computeIfAbsent(e.getCheckpoint(), k -> new HashSet<>()).add(e.getTarget());
    }

    private boolean done(final long checkpoint) {
        if (!blobsOfCheckpoint.containsKey(checkpoint)) {
            return false;
        }
        return targets.isEmpty() || publishedTo.getOrDefault(checkpoint, Set.of()).containsAll(targets);
    }

    /** Deletes evictable blobs, least recently used first, until the store is under its limit. */
    private void evict() {
        final List<Map.Entry<String, FileTime>> candidates = new ArrayList<>();
        for (final Map.Entry<String, Set<Long>> e : checkpointsOfBlob.entrySet()) {
            if (e.getValue().stream().allMatch(this::done)) {
                final Path file = store.file(e.getKey()).orElse(null);
                if (file != null) {
                    try {
                        candidates.add(Map.entry(e.getKey(), Files.getLastModifiedTime(file)));
                    } catch (final IOException ignored) {
                        // gone meanwhile
                    }
                }
            }
        }
        candidates.sort(Map.Entry.comparingByValue(Comparator.naturalOrder()));
        for (final Map.Entry<String, FileTime> c : candidates) {
            if (store.sizeBytes() <= maxBytes) {
                break;
            }
            try {
                final long before = store.sizeBytes();
                if (store.delete(c.getKey())) {
                    evictedBlobs++;
                    evictedBytes += before - store.sizeBytes();
                }
            } catch (final IOException e) {
                LOG.warn("cannot evict blob {}: {}", c.getKey(), e.toString());
            }
        }
        LOG.debug("blob store {} bytes after eviction ({} blobs, {} bytes evicted so far)", store.sizeBytes(),
                evictedBlobs, evictedBytes);
    }

    long evictedBlobs() {
        return evictedBlobs;
    }

    @Override
    public void close() {
        running = false;
        final KafkaConsumer<byte[], byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
        try {
            thread.join(10_000);
        } catch (final InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!thread.isAlive() && store.sizeBytes() > maxBytes) {
            evict(); // a last pass with everything seen so far (the thread is gone: no concurrent access)
        }
    }

    /** For tests: the blob files currently in a store directory. */
    static long sizeOnDisk(final Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
    }
}
