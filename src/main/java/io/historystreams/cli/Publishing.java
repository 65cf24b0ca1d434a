package io.historystreams.cli;

import io.historystreams.events.CheckpointPublished;
import io.historystreams.publish.ArchiveWriter;
import io.historystreams.publish.ArchiveWriters;
import io.historystreams.publish.CheckpointPublisher;
import io.historystreams.publish.PublishRunner;
import io.historystreams.service.HistoryStreamsService;
import io.historystreams.service.ServiceConfig;
import io.historystreams.topology.Topics;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongPredicate;

/**
 * The publishing side of a command: one {@link PublishRunner} per target, each with its own consumer group, so a
 * slow or failing target never holds back another.
 */
final class Publishing implements AutoCloseable {
    private final HistoryStreamsService svc;
    private final List<PublishRunner> runners = new ArrayList<>();
    private final List<ArchiveWriter> writers = new ArrayList<>();

    private Publishing(final HistoryStreamsService svc) {
        this.svc = svc;
    }

    /** Refuses unknown {@code publish.*} settings before anything is started (the targets are opened by start). */
    static void check(final ServiceConfig config, final List<String> targets) {
        for (final String target : targets) {
            ArchiveWriters.options(target, config.withPrefix(ServiceConfig.PUBLISH_PREFIX));
        }
    }

    /** Publishing of every verified checkpoint the targets' consumer groups have not published yet. */
    static Publishing start(final HistoryStreamsService svc, final List<String> targets) throws Exception {
        return start(svc, targets, checkpoint -> true);
    }

    /**
     * Publishing of only the checkpoints {@code scope} accepts (a bounded job, {@code replay}): the runners read the
     * whole topic, since they share the targets' consumer groups, but publish nothing else, neither files put ahead
     * nor a root naming a checkpoint out of scope.
     */
    static Publishing start(final HistoryStreamsService svc, final List<String> targets, final LongPredicate scope)
            throws Exception {
        final Publishing p = new Publishing(svc);
        try {
            for (final String target : targets) {
                final ArchiveWriter w = ArchiveWriters.open(target, ArchiveWriters.options(target,
                        svc.config().withPrefix(ServiceConfig.PUBLISH_PREFIX)));
                p.writers.add(w);
                final PublishRunner r = new PublishRunner(svc.config().get(ServiceConfig.APPLICATION_ID),
                        svc.clientProps(), w.name(), new CheckpointPublisher(w, svc.context()), svc.topics(),
                        PublishRunner.Settings.defaults(), scope);
                p.runners.add(r);
                bindMetrics(svc, w.name(), r);
                r.start();
            }
        } catch (final Exception e) {
            p.close();
            throw e;
        }
        svc.startBlobEviction(p.writers.stream().map(ArchiveWriter::name).collect(java.util.stream.Collectors.toSet()));
        return p;
    }

    /** Sink metrics per target, next to the pipeline's in the service's Prometheus registry. */
    private static void bindMetrics(final HistoryStreamsService svc, final String target, final PublishRunner r) {
        final io.micrometer.core.instrument.MeterRegistry m = svc.metrics().registry();
        io.micrometer.core.instrument.Gauge.builder("history_publish_checkpoints", r, PublishRunner::checkpointsPublished)
                .description("Checkpoints published to the target").tag("target", target).register(m);
        io.micrometer.core.instrument.Gauge.builder("history_publish_files_written", r, PublishRunner::filesWritten)
                .tag("target", target).register(m);
        io.micrometer.core.instrument.Gauge.builder("history_publish_files_skipped", r, PublishRunner::filesSkipped)
                .tag("target", target).register(m);
        io.micrometer.core.instrument.Gauge.builder("history_publish_bytes", r, PublishRunner::bytesWritten)
                .tag("target", target).register(m);
        io.micrometer.core.instrument.Gauge.builder("history_publish_failures", r, PublishRunner::failures)
                .description("Failed publish attempts (retried)").tag("target", target).register(m);
    }

    /** Waits until every given checkpoint is published to every target; false when a runner failed for good. */
    boolean awaitPublished(final Collection<Long> checkpoints, final PrintWriter err) throws InterruptedException {
        if (runners.isEmpty() || checkpoints.isEmpty()) {
            return true;
        }
        final Topics t = svc.topics();
        final Map<String, Set<Long>> done = new HashMap<>();
        for (final ArchiveWriter w : writers) {
            done.put(w.name(), new HashSet<>());
        }
        final Map<String, Object> p = new HashMap<>(svc.clientProps());
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.putIfAbsent(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, Topics.FOLLOW_FETCH_MAX_WAIT_MS);
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            final List<TopicPartition> parts = new ArrayList<>();
            for (final PartitionInfo pi : c.partitionsFor(t.checkpointsPublished.name(), Duration.ofSeconds(30))) {
                parts.add(new TopicPartition(pi.topic(), pi.partition()));
            }
            c.assign(parts);
            c.seekToBeginning(parts);
            long lastLine = System.nanoTime();
            while (true) {
                for (final ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(300))) {
                    final CheckpointPublished e = t.checkpointsPublished.valueSerde().deserializer()
                            .deserialize(r.topic(), r.value());
                    final Set<Long> s = done.get(e.getTarget());
                    if (s != null) {
                        s.add(e.getCheckpoint());
                    }
                }
                if (done.values().stream().allMatch(s -> s.containsAll(checkpoints))) {
                    return true;
                }
                for (final PublishRunner r : runners) {
                    if (r.fatalError() != null) {
                        err.println("error: publishing stopped: " + r.fatalError());
                        return false;
                    }
                }
                if (System.nanoTime() - lastLine > 10_000_000_000L) {
                    lastLine = System.nanoTime();
                    done.forEach((name, s) -> err.printf("publish: %s: %d/%d checkpoints%n", name,
                            s.stream().filter(checkpoints::contains).count(), checkpoints.size()));
                    err.flush();
                }
                if (svc.closing()) {
                    return false;
                }
            }
        }
    }

    @Override
    public void close() {
        for (final PublishRunner r : runners) {
            r.close();
        }
        for (final ArchiveWriter w : writers) {
            try {
                w.close();
            } catch (final Exception e) {
                // nothing left to do with a writer that cannot close
            }
        }
    }
}
