package io.historystreams.service;

import io.historystreams.events.ChainLinkStatus;
import io.historystreams.events.CheckpointFailed;
import io.historystreams.events.CheckpointVerified;
import io.historystreams.topology.Topics;
import io.historystreams.verify.FailureList;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Prints each verdict as the pipeline commits it, from the end of the verdict topics when it starts: one line per
 * checkpoint verified ({@code checkpoints-verified}) or failed for good ({@code checkpoint-failures}, with the
 * reason, file, source and detail, as {@code ingest} prints them). What {@code tail} shows of the checkpoints it
 * requested, which otherwise only {@code /metrics} told. Read committed: a line is a verdict, never one of a
 * transaction that was aborted.
 */
public final class VerdictLog implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(VerdictLog.class);

    private final KafkaConsumer<Long, byte[]> consumer;
    private final Topics topics;
    private final PrintWriter out;
    private final Thread thread;
    private volatile boolean running = true;

    private VerdictLog(final Map<String, Object> clientProps, final Topics topics, final PrintWriter out) {
        final Map<String, Object> p = new HashMap<>(clientProps);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.remove(ConsumerConfig.GROUP_ID_CONFIG); // assigned partitions, no group: nothing to commit or rebalance
        this.consumer = new KafkaConsumer<>(p, new LongDeserializer(), new ByteArrayDeserializer());
        this.topics = topics;
        this.out = out;
        try {
            final List<TopicPartition> parts = new ArrayList<>();
            for (final String topic : List.of(topics.checkpointsVerified.name(), topics.checkpointFailures.name())) {
                for (final PartitionInfo pi : consumer.partitionsFor(topic, Duration.ofSeconds(30))) {
                    parts.add(new TopicPartition(topic, pi.partition()));
                }
            }
            consumer.assign(parts);
            consumer.seekToEnd(parts); // verdicts from now on
            parts.forEach(consumer::position);
        } catch (final RuntimeException e) {
            consumer.close(Duration.ZERO);
            throw e;
        }
        this.thread = new Thread(this::run, "verdict-log");
        this.thread.setDaemon(true);
    }

    /** Starts printing the verdicts committed from now on to {@code out}. */
    public static VerdictLog start(final Map<String, Object> clientProps, final Topics topics, final PrintWriter out) {
        final VerdictLog v = new VerdictLog(clientProps, topics, out);
        v.thread.start();
        return v;
    }

    private void run() {
        final InChainOrder held = new InChainOrder(HOLD);
        try {
            while (running) {
                held.add(lines(consumer.poll(Duration.ofMillis(500)), topics), System.nanoTime());
                print(held.due(System.nanoTime()));
            }
        } catch (final WakeupException | InterruptException e) {
            // closing
        } catch (final RuntimeException e) {
            LOG.warn("verdicts are no longer printed: {}", e.toString());
        } finally {
            print(held.due(Long.MAX_VALUE));
            consumer.close(Duration.ofSeconds(5));
        }
    }

    private void print(final List<String> lines) {
        if (!lines.isEmpty()) {
            lines.forEach(out::println);
            out.flush();
        }
    }

    /** How long a verdict read is held for the verdicts of lower checkpoints read soon after it. */
    static final Duration HOLD = Duration.ofSeconds(2);

    /**
     * Verdicts printed in chain order: each partition's came in the order read (a trial's tail printed 9343, 9535,
     * 9663, then 9023). One read is held for {@link #HOLD}; when it is due, it is printed with every verdict held of a
     * checkpoint up to its own, lowest first. Of one checkpoint, in the order read (a verdict, then the failure that
     * took it back). A verdict read more than the hold after a higher one's still comes after it (a trial at load 10,
     * with a hold of 1 s: one to three in the first twenty lines of a catch-up).
     */
    static final class InChainOrder {
        private record Held(long checkpoint, long seq, long readNanos, String line) {
        }

        private final long holdNanos;
        private final java.util.TreeSet<Held> held = new java.util.TreeSet<>(
                java.util.Comparator.comparingLong(Held::checkpoint).thenComparingLong(Held::seq));
        private long seq;

        InChainOrder(final Duration hold) {
            this.holdNanos = hold.toNanos();
        }

        void add(final List<Map.Entry<Long, String>> lines, final long nowNanos) {
            for (final Map.Entry<Long, String> l : lines) {
                held.add(new Held(l.getKey(), seq++, nowNanos, l.getValue()));
            }
        }

        /** The lines due at {@code nowNanos} (Long.MAX_VALUE: all), in chain order. */
        List<String> due(final long nowNanos) {
            long upTo = Long.MIN_VALUE;
            for (final Held h : held) {
                if (nowNanos == Long.MAX_VALUE || nowNanos - h.readNanos() >= holdNanos) {
                    upTo = Math.max(upTo, h.checkpoint());
                }
            }
            final List<String> out = new ArrayList<>();
            while (!held.isEmpty() && held.first().checkpoint() <= upTo) {
                out.add(held.pollFirst().line());
            }
            return out;
        }
    }

    /** The verdicts of {@code records}, each as its checkpoint and its line, in the order read. */
    static List<Map.Entry<Long, String>> lines(final Iterable<ConsumerRecord<Long, byte[]>> records,
            final Topics topics) {
        final Deserializer<CheckpointVerified> verified = topics.checkpointsVerified.valueSerde().deserializer();
        final Deserializer<CheckpointFailed> failed = topics.checkpointFailures.valueSerde().deserializer();
        final List<Map.Entry<Long, String>> out = new ArrayList<>();
        for (final ConsumerRecord<Long, byte[]> r : records) {
            if (r.value() == null) {
                continue;
            }
            try {
                if (r.topic().equals(topics.checkpointsVerified.name())) {
                    final CheckpointVerified v = verified.deserialize(r.topic(), r.value());
                    out.add(Map.entry(v.getCheckpoint(), String.format("checkpoint %d (0x%x) verified: ledgers "
                            + "%d..%d%s%s", v.getCheckpoint(), v.getCheckpoint(), v.getFirstLedger(), v.getLastLedger(),
                            v.getChainLinkedToPrevious() == ChainLinkStatus.ARCHIVE_START
                                    ? " (the archive's start: no source holds the checkpoint before, and the link to "
                                    + "it is not checked)" : "",
                            // (optional, and not fetched again once verified: a trial's SCP file that came late was
                            // left out of the mirror for good, and only ingest and verify said so)
                            v.getFiles().stream().anyMatch(f -> f.getPath().toString().startsWith("scp/")) ? ""
                                    : " (without an SCP file: no source had it; it is not fetched again)")));
                } else {
                    final CheckpointFailed f = failed.deserialize(r.topic(), r.value());
                    out.add(Map.entry(f.getCheckpoint(), failedLine(f)));
                }
            } catch (final RuntimeException e) {
                LOG.warn("a verdict on {} at offset {} could not be read: {}", r.topic(), r.offset(), e.toString());
            }
        }
        return out;
    }

    /** One line of a failure event's list: {@code REASON file (source): detail} (see {@code Facts.line}). */
    private static final Pattern FAILURE = Pattern.compile("(\\S+) (\\S+)(?: \\((.+?)\\))?: (.*)");

    /**
     * A checkpoint's failure as {@code tail} and {@code ingest} print it: reason, file, source and detail. A failure
     * of several files lists them, those with the same reason, source and detail once with all their files (an
     * archive's missing buckets, typically), as {@code verify} does.
     */
    public static String failedLine(final CheckpointFailed f) {
        final String head = String.format("checkpoint %d (0x%x) FAILED: ", f.getCheckpoint(), f.getCheckpoint());
        final List<String> failures = f.getFailures();
        if (failures.size() > 1) {
            final List<FailureList.Item> items = new ArrayList<>(failures.size());
            for (final String line : failures) {
                final Matcher m = FAILURE.matcher(line);
                if (!m.matches()) {
                    items.clear();
                    break;
                }
                items.add(new FailureList.Item(m.group(1), m.group(2), m.group(3), m.group(4)));
            }
            if (!items.isEmpty()) {
                return head + failures.size() + " files: " + FailureList.format(items);
            }
        }
        return head + String.format("%s %s%s: %s", f.getReason(), f.getFile() == null ? "" : f.getFile(),
                f.getSource() == null ? "" : " from " + f.getSource(), f.getDetail());
    }

    @Override
    public void close() {
        running = false;
        consumer.wakeup();
        try {
            thread.join(10_000);
        } catch (final InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
