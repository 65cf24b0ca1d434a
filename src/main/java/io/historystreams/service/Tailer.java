package io.historystreams.service;

import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.Checkpoint;
import io.historystreams.archive.HistoryArchive;
import io.historystreams.events.CheckpointRequest;
import io.historystreams.events.RequestReason;
import io.historystreams.topology.Topics;
import io.historystreams.verify.ArchiveStart;
import io.historystreams.verify.HasVerifier;
import io.historystreams.verify.HistoryArchiveState;
import io.historystreams.verify.VerificationException;
import io.historystreams.verify.VerificationLimits;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.LongSerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Follows an archive: polls its {@code .well-known/stellar-history.json} and requests every checkpoint published
 * since the last one it requested. The last requested checkpoint is kept in the compacted tail-state topic and
 * written in the same Kafka transaction as the requests, so a restart neither skips nor repeats a checkpoint.
 */
public final class Tailer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Tailer.class);

    private final HistoryArchive archive;
    private final List<String> sources;
    private final String archiveId;
    /**
     * The network's passphrase: given, or else the one in the first root state read that names one, kept from then
     * on, so a root state or HAS of another network fails (as {@code ingest} and {@code verify} take it).
     */
    private String passphrase;
    private final Topics topics;
    private final KafkaProducer<Object, Object> producer;
    private volatile long last;
    /** The first checkpoint this run requested, or -1. */
    private long firstThisRun = -1;
    /**
     * Whether this is the archive's first tail, from the ledger given: the first poll checks that the archive holds
     * it, and starts at the archive's start when it is below it ({@link ArchiveStart#startWithin}).
     */
    private final boolean fromGiven;
    /** The archive root state's ledger at the last poll that read it (-1: none yet), for the metrics. */
    private volatile long rootLedger = -1;
    /** When a poll last read the root state (epoch ms, 0: never), for the metrics. */
    private volatile long rootReadAt;
    /** The root state's ledger last warned about for going back (-1: none), so the warning is said once. */
    private long wentBackTo = -1;

    /**
     * @param startLedger where to begin when no state exists for the archive: the checkpoint containing it, or -1
     *                    for "the archive's current checkpoint only"
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public Tailer(final HistoryArchive archive, final List<String> sources, final String passphrase,
            final Topics topics, final Map<String, Object> clientProps, final String transactionalId,
            final long startLedger) {
        this.archive = archive;
        // stored without credentials; this process's fetchers find them again (see Credentials)
        this.sources = sources.stream().map(io.historystreams.archive.Credentials::strip).toList();
        this.archiveId = this.sources.get(0);
        this.passphrase = passphrase;
        this.topics = topics;
        final Map<String, Object> p = new HashMap<>(clientProps);
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        this.producer = new KafkaProducer<>(p, (org.apache.kafka.common.serialization.Serializer) new RoutingKeys(),
                (org.apache.kafka.common.serialization.Serializer) new RoutingValues(topics));
        producer.initTransactions(); // fences an older tailer with the same id
        final Map<String, Long> saved = readState(clientProps);
        if (!saved.containsKey(archiveId)) {
            // a position saved under a directory's relative name (as typed, before the events named it by its
            // absolute path) is this archive's when it names the same directory from here
            for (final Map.Entry<String, Long> e : Map.copyOf(saved).entrySet()) {
                if (!e.getKey().contains("://") && io.historystreams.archive.ArchiveSources.eventName(e.getKey())
                        .equals(archiveId)) {
                    LOG.info("the position saved under {} is taken for {}, the same directory", e.getKey(),
                            archiveId);
                    saved.remove(e.getKey());
                    saved.put(archiveId, e.getValue());
                    break;
                }
            }
        }
        final long stored = saved.getOrDefault(archiveId, -1L);
        this.last = stored >= 0 ? stored : startLedger >= 0 ? Checkpoint.containing(startLedger) - Checkpoint.FREQUENCY
                : -2;
        this.fromGiven = stored < 0 && startLedger >= 0;
        LOG.info("tailing {}: last requested checkpoint {}", archiveId, stored >= 0 ? stored : "none");
        if (stored >= 0 && startLedger >= 0) {
            LOG.info("the start ledger given ({}) is for a first run: this tail continues after its saved position",
                    startLedger);
        }
        saved.remove(archiveId);
        if (stored < 0 && !saved.isEmpty()) {
            // the position is kept under the first --archive: another URL, or another source in front, starts
            // afresh, and the checkpoints since the saved position would be skipped without a word
            LOG.warn("no saved position for {}, but for {}: if that is the same archive under another name (the "
                    + "first --archive names the position), give --from with the ledger after its last "
                    + "checkpoint, or the same first --archive; starting {}", archiveId, saved,
                    startLedger >= 0 ? "at ledger " + startLedger : "at the archive's current checkpoint");
        }
    }

    /** The saved positions of every tailed archive (its name -> the last checkpoint requested). */
    private Map<String, Long> readState(final Map<String, Object> clientProps) {
        final Map<String, Long> found = new java.util.TreeMap<>();
        TopicSnapshot.read(clientProps, topics.tailState.name(), topics.tailState.keySerde().deserializer(),
                topics.tailState.valueSerde().deserializer(), Duration.ofMinutes(2), r -> {
                    if (r.key() != null && r.value() != null) {
                        found.put(r.key(), r.value());
                    }
                });
        return found;
    }

    /**
     * Gauges of the tail's progress in {@code registry}: what it saw of the archive and when, and how far it asked. A
     * tail whose archive cannot be read keeps verifying nothing with its health and every other counter unchanged;
     * the time since {@code history_tail_root_read_timestamp_seconds} is what says so.
     */
    public void bindMetrics(final io.micrometer.core.instrument.MeterRegistry registry) {
        io.micrometer.core.instrument.Gauge.builder("history_tail_root_ledger", this, t -> t.rootLedger)
                .description("The archive root state's currentLedger at the last poll that read it (-1: none yet)")
                .tag("archive", archiveId).register(registry);
        io.micrometer.core.instrument.Gauge.builder("history_tail_root_read_timestamp_seconds", this,
                        t -> t.rootReadAt / 1000.0)
                .description("When a poll last read the archive's root state (Unix time; 0: never)")
                .tag("archive", archiveId).register(registry);
        io.micrometer.core.instrument.Gauge.builder("history_tail_requested_checkpoint", this, t -> t.last)
                .description("The last checkpoint the tail requested (negative: none yet)")
                .tag("archive", archiveId).register(registry);
    }

    /** The last checkpoint requested (from the stored state or this run), or a negative number for none. */
    public long lastRequested() {
        return last;
    }

    /** Polls once: returns the checkpoints requested (empty when the archive has not moved). */
    public List<Long> pollOnce() throws VerificationException {
        final String expected = passphrase;
        // the other sources asked too when the one read first does not answer within 5 s (a first mirror that hung
        // held tail's first poll for a read timeout)
        final io.historystreams.archive.HistoryArchive.Fetched<HistoryArchiveState> read = archive.fetchHedged(
                ArchivePaths.WELL_KNOWN, in -> HasVerifier.verify(in, ArchivePaths.WELL_KNOWN, -1, expected,
                        VerificationLimits.defaults()), io.historystreams.archive.HistoryArchive.HEDGE_AFTER);
        final HistoryArchiveState root = read.value();
        if (passphrase == null && root.networkPassphrase() != null) {
            passphrase = root.networkPassphrase();
            LOG.info("tailing network \"{}\" (from the archive's root state)", passphrase);
        }
        final long current = root.currentLedger();
        rootLedger = current;
        rootReadAt = System.currentTimeMillis();
        final long first = last == -2 ? current : last + Checkpoint.FREQUENCY;
        if (current < first) {
            if (last >= 0 && current < last && current != wentBackTo) {
                // a mirror restored from an older copy, or another archive behind the same URL: a WARN once, then a
                // line as it catches up (a trial: a WARN at each poll of a restored mirror catching up)
                if (wentBackTo < 0) {
                    LOG.warn("{}'s root state went back to ledger {}, before the last checkpoint requested ({}): "
                            + "nothing is requested until it passes {}", archiveId, current, last, last);
                } else {
                    LOG.info("{}'s root state is at ledger {}, still before the last checkpoint requested ({})",
                            archiveId, current, last);
                }
                wentBackTo = current;
            }
            return List.of();
        }
        wentBackTo = -1;
        if (!rootCheckpointPresent(read.source(), current)) {
            return List.of();
        }
        List<Long> cps = Checkpoint.range(Math.max(1, first), current);
        if (firstThisRun < 0 && fromGiven) {
            // below the archive's start: the checkpoints there are not in the archive, and a tail would ask for them
            // again every 5 minutes for good (a trial), so it starts at the archive's start
            final long start = ArchiveStart.startWithin(archive, cps.get(0), cps.get(cps.size() - 1));
            if (start >= 0) {
                LOG.warn(ArchiveStart.tailStartWarning(cps.get(0), start));
                cps = Checkpoint.range(Checkpoint.firstLedger(start), current);
            }
        }
        final Instant now = Instant.now();
        // in transactions of at most REQUESTS_PER_TRANSACTION, each saving how far it got (a tail from ledger 1 of
        // pubnet requests about a million checkpoints)
        for (int from = 0; from < cps.size(); from += REQUESTS_PER_TRANSACTION) {
            final List<Long> part = cps.subList(from, Math.min(cps.size(), from + REQUESTS_PER_TRANSACTION));
            producer.beginTransaction();
            for (final long cp : part) {
                producer.send(new ProducerRecord<>(topics.checkpointRequests.name(), cp, CheckpointRequest.newBuilder()
                        .setArchive(archiveId).setSources(sources).setNetworkPassphrase(passphrase).setCheckpoint(cp)
                        .setReason(RequestReason.TAIL).setRequestedAt(now)
                        // after this run's first checkpoint: its predecessor was asked for in this run (the verdict of
                        // one asked for by an earlier run, perhaps of an older version, may not be known to the chain)
                        .setPredecessorRequested((firstThisRun >= 0 && cp > firstThisRun) || cp != cps.get(0))
                        .build()));
            }
            if (firstThisRun < 0) {
                firstThisRun = part.get(0);
            }
            final long upTo = part.get(part.size() - 1);
            producer.send(new ProducerRecord<>(topics.tailState.name(), archiveId, upTo));
            producer.commitTransaction();
            last = upTo;
        }
        LOG.info("requested {} new checkpoint(s) up to {}", cps.size(), current);
        return cps;
    }

    /** Requests written (and the position saved) per transaction. */
    static final int REQUESTS_PER_TRANSACTION = 10_000;

    /** The root state's ledger last warned about for naming an absent checkpoint (-1: none), said once. */
    private long absentRoot = -1;

    /**
     * Whether the checkpoint the root state names has its own state file ({@link HasVerifier#rootCheckpoint}):
     * a root naming a ledger the archive has no checkpoint for is not followed (4294967295 was 67 million requests, and
     * a saved position nothing ever reached again), and said once.
     */
    private boolean rootCheckpointPresent(final String servedRoot, final long current) {
        if (HasVerifier.rootCheckpoint(archive, servedRoot, current).present()) {
            absentRoot = -1;
            return true;
        }
        if (absentRoot != current) {
            absentRoot = current;
            LOG.warn("{}'s root state names ledger {}, but that checkpoint's state file {} is absent: nothing is "
                    + "requested until it is there (a wrong root state, or one published before its files)",
                    archiveId, current, ArchivePaths.has(current));
        }
        return false;
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(5));
    }

    /** Serializes the two key types the tailer writes (checkpoint numbers and archive ids). */
    private static final class RoutingKeys implements org.apache.kafka.common.serialization.Serializer<Object> {
        private final LongSerializer longs = new LongSerializer();
        private final StringSerializer strings = new StringSerializer();

        @Override
        public byte[] serialize(final String topic, final Object data) {
            return data instanceof Long l ? longs.serialize(topic, l) : strings.serialize(topic, (String) data);
        }
    }

    /** Serializes requests with the request topic's serde and the tail state as a long. */
    private static final class RoutingValues implements org.apache.kafka.common.serialization.Serializer<Object> {
        private final Topics topics;

        RoutingValues(final Topics topics) {
            this.topics = topics;
        }

        @Override
        public byte[] serialize(final String topic, final Object data) {
            if (data instanceof CheckpointRequest r) {
                return topics.checkpointRequests.valueSerde().serializer().serialize(topic, r);
            }
            return topics.tailState.valueSerde().serializer().serialize(topic, (Long) data);
        }
    }
}
