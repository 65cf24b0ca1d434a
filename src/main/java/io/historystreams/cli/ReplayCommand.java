package io.historystreams.cli;

import io.historystreams.archive.Checkpoint;
import io.historystreams.events.CheckpointVerified;
import io.historystreams.events.Hashes;
import io.historystreams.kafka.TopicAdmin;
import io.historystreams.kafka.TopicSpec;
import io.historystreams.service.HistoryStreamsService;
import io.historystreams.service.OutcomeWatcher;
import io.historystreams.service.ServiceConfig;
import io.historystreams.service.TopicSnapshot;
import io.historystreams.topology.Topic;
import io.historystreams.topology.Topics;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;

/**
 * {@code replay}: re-emits verified checkpoints (and optionally their ledger events) of a range from the topics
 * alone, without touching any source archive: to replay topics for downstream consumers, and to targets.
 */
@Command(name = "replay", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Re-emit the verified checkpoints of a range, whole (and with --ledgers their ledger events), "
                + "from the topics, without reading any archive: to <prefix>replay.checkpoints-verified / "
                + "<prefix>replay.ledgers-verified and, with --publish-to, to target archives. A checkpoint taken "
                + "back after it was verified (a later failure record) is left out and named (exit 1).")
public final class ReplayCommand implements Callable<Integer> {
    @Mixin
    ServiceOptions service;

    @Option(names = "--from", required = true, paramLabel = "L", description = "First ledger.")
    long from;

    @Option(names = "--to", required = true, paramLabel = "L", description = "Last ledger.")
    long to;

    @Option(names = "--ledgers", description = "Also re-emit the verified ledger events of the range's checkpoints.")
    boolean ledgers;

    @Option(names = "--publish-to", paramLabel = "TARGET", description = "Publish the checkpoints (repeatable).")
    List<String> publishTo = List.of();

    @Option(names = "--rewrite", description = "With --publish-to: put every file of the range over what the target "
            + "has (a damaged mirror: files it has are otherwise skipped unchecked).")
    boolean rewrite;

    @Option(names = "--quiet", description = "Only the summary line (no line per checkpoint).")
    boolean quiet;

    @Option(names = "--report", paramLabel = "FILE", description = "Write a JSON report to FILE.")
    java.nio.file.Path report;

    @Spec
    CommandSpec spec;

    /**
     * A verified checkpoint read from the topic: the record's bytes, re-emitted as they are, the event, and where the
     * record is (publishing is done once the targets' runners have committed past it).
     */
    private record Verified(byte[] bytes, CheckpointVerified event, OutcomeWatcher.RecordAt at, long timestamp) {
    }

    @Override
    public Integer call() throws Exception {
        final PrintWriter out = spec.commandLine().getOut();
        final PrintWriter err = spec.commandLine().getErr();
        if (from < 0) {
            err.println("error: --from must be a ledger number (0 or more), not " + from);
            return ExitCode.COULD_NOT_RUN;
        }
        if (to < from) {
            err.println("error: empty range " + from + ".." + to);
            return ExitCode.COULD_NOT_RUN;
        }
        final long startedMillis = System.currentTimeMillis();
        if (report != null) {
            try {
                io.historystreams.verify.VerificationReport.checkWritable(report); // before the work, not after it
            } catch (final java.io.IOException e) {
                err.println("error: " + e.getMessage());
                return ExitCode.COULD_NOT_RUN;
            }
        }
        final List<Long> wanted = Checkpoint.range(from, to);
        // checkpoints are replayed whole, with --ledgers their ledger events too, as ingest emitted them (a trial:
        // --from 1 --to 1000 replayed checkpoint 0x3ff and the events of ledgers 1..1000 only)
        final long firstLedger = Checkpoint.firstLedger(wanted.get(0));
        final long lastLedger = wanted.get(wanted.size() - 1);
        if (firstLedger != Math.max(from, 1) || lastLedger != to) {
            err.printf("note: ledgers %d..%d lie in checkpoints 0x%x..0x%x, which are replayed whole: ledgers %d..%d%n",
                    from, to, wanted.get(0), lastLedger, firstLedger, lastLedger);
            err.flush();
        }
        final ServiceConfig config = service.load();
        if (config.embedded() && !java.nio.file.Files.isDirectory(config.dataDir()
                .resolve(io.historystreams.kafka.EmbeddedKafkaBroker.KAFKA_SUBDIR))) {
            // a mistyped --data-dir started a fresh broker, and said only that nothing was verified in its topics
            err.println("error: " + config.dataDir() + " holds no topics to replay (no embedded broker's data in it): "
                    + "give the --data-dir of the ingest, tail or run whose verified checkpoints to replay");
            return ExitCode.COULD_NOT_RUN;
        }
        if (!config.embedded() && config.directoryRegistryMissing()) {
            // a fresh directory registry knows none of the ids the events were written with
            err.println("error: the schema registry " + config.schemaRegistryUrl() + " does not exist: on a cluster, "
                    + "replay reads the events with the registry they were written with (--schema-registry-url, or on "
                    + "the workers' host their --data-dir)");
            return ExitCode.COULD_NOT_RUN;
        }
        if (rewrite && publishTo.isEmpty()) {
            err.println("error: --rewrite puts the files over those of the --publish-to targets: give one");
            return ExitCode.COULD_NOT_RUN;
        }
        Publishing.check(config, publishTo);
        // no pipeline: reads only; without a target on a cluster, nothing on disk either
        try (HistoryStreamsService svc = HistoryStreamsService.start(config, !publishTo.isEmpty(), false)) {
            final Topics t = svc.topics();
            final String prefix = config.get(ServiceConfig.TOPIC_PREFIX) + "replay.";
            final String cpOut = prefix + "checkpoints-verified";
            final String ledgerOut = prefix + "ledgers-verified";
            try (Admin admin = Admin.create(svc.clientProps())) {
                // as many partitions as the topics replayed, so that a replayed record lands on its original's
                // partition number (a trial: a replay on a cluster made 6 for topics of 2, from --partitions' default)
                final int partitions = config.partitions();
                // as the pipeline's topics: replication.factor, or min(3, brokers)
                final short rf = (short) HistoryStreamsService.replicationFactor(config, admin);
                TopicAdmin.ensureTopics(admin, List.of(
                        new TopicSpec(cpOut, HistoryStreamsService.partitionsOf(admin,
                                t.checkpointsVerified.name(), partitions), rf,
                                t.checkpointsVerified.configs()),
                        new TopicSpec(ledgerOut, HistoryStreamsService.partitionsOf(admin,
                                t.ledgersVerified.name(), partitions), rf,
                                t.ledgersVerified.configs())));
            }
            // each checkpoint's latest verified record, unless a failure record was given after it (the chain check
            // found later that it does not link: taken back, see the README)
            final TreeMap<Long, Verified> checkpoints = new TreeMap<>();
            final Set<Long> verifiedAgain = new HashSet<>();
            readValues(svc, t.checkpointsVerified, (r, v) -> {
                if (wanted.contains(v.getCheckpoint())) {
                    final Verified before = checkpoints.get(v.getCheckpoint());
                    // verified again: the events of the copy before are in ledgers-verified too (also when the topic,
                    // compacted, no longer holds its verified record: the verdict says another copy was refused)
                    if (before != null || v.getOtherCopyRefused()) {
                        verifiedAgain.add(v.getCheckpoint());
                    }
                    if (before == null || !v.getVerifiedAt().isBefore(before.event().getVerifiedAt())) {
                        checkpoints.put(v.getCheckpoint(), new Verified(r.value(), v,
                                new OutcomeWatcher.RecordAt(r.partition(), r.offset()), r.timestamp()));
                    }
                }
            });
            final Map<Long, Instant> lastFailure = new HashMap<>();
            readValues(svc, t.checkpointFailures, (r, f) -> {
                if (checkpoints.containsKey(f.getCheckpoint())) {
                    lastFailure.merge(f.getCheckpoint(), f.getFailedAt(), (a, b) -> a.isAfter(b) ? a : b);
                }
            });
            final List<Long> takenBack = new ArrayList<>();
            lastFailure.forEach((cp, failedAt) -> {
                if (failedAt.isAfter(checkpoints.get(cp).event().getVerifiedAt())) {
                    takenBack.add(cp);
                }
            });
            takenBack.forEach(checkpoints::remove);
            takenBack.sort(null);
            verifiedAgain.retainAll(checkpoints.keySet());
            // Only the range is published: the topic holds every checkpoint ever verified, and the runners read all
            // of it; in groups of this run's own, so the range is published whatever the targets' groups did before,
            // and of a checkpoint verified again, the record replayed (not a copy taken back before it)
            try (Publishing publishing = publishTo.isEmpty() ? null
                    : Publishing.startInOwnGroups(svc, publishTo, v -> {
                        final Verified chosen = checkpoints.get(v.getCheckpoint());
                        return chosen != null && chosen.event().getVerifiedAt().equals(v.getVerifiedAt());
                    }, rewrite)) {
                final Map<String, Object> p = new HashMap<>(svc.clientProps());
                p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
                p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Topics.MAX_MESSAGE_BYTES + 65536);
                final int[] ledgerCount = {0};
                // the ledgers of the replayed checkpoints whose events were found, by sequence - firstLedger
                final BitSet ledgersFound = new BitSet();
                try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(),
                        new ByteArraySerializer())) {
                    for (final Map.Entry<Long, Verified> e : checkpoints.entrySet()) {
                        // with the record's own timestamp, as every replayed record (a trial: the replayed ledgers
                        // of a checkpoint carried the times they were sent, not the one time they share)
                        producer.send(new ProducerRecord<>(cpOut, null, e.getValue().timestamp(),
                                t.checkpointsVerified.keySerde().serializer().serialize(cpOut, e.getKey()),
                                e.getValue().bytes()));
                        if (!quiet) {
                            final CheckpointVerified v = e.getValue().event();
                            out.printf("checkpoint %d (0x%x) ledgers %d..%d last hash %s%n", v.getCheckpoint(),
                                    v.getCheckpoint(), v.getFirstLedger(), v.getLastLedger(),
                                    Hashes.hex(v.getLastLedgerHash()));
                        }
                    }
                    if (ledgers) {
                        // a checkpoint verified again has the events of each copy, keyed by ledger: the last of a
                        // ledger's is the replayed copy's. Where it is (partition, offset) is kept, and those records
                        // are sent from a second read of the topic
                        final Map<Long, Long> latest = new HashMap<>();
                        readValues(svc, t.ledgersVerified, (r, l) -> {
                            if (checkpoints.containsKey(l.getCheckpoint())) {
                                if (verifiedAgain.contains(l.getCheckpoint())) {
                                    latest.put(l.getLedgerSeq(), ((long) r.partition() << 48) | r.offset());
                                    return;
                                }
                                producer.send(new ProducerRecord<>(ledgerOut, null, r.timestamp(), r.key(), r.value()));
                                ledgerCount[0]++;
                                ledgersFound.set(Math.toIntExact(l.getLedgerSeq() - firstLedger));
                            }
                        });
                        if (!latest.isEmpty()) {
                            readAll(svc, t.ledgersVerified.name(), r -> {
                                if (r.key() == null || r.key().length != Long.BYTES) {
                                    return;
                                }
                                final long seq = java.nio.ByteBuffer.wrap(r.key()).getLong();
                                final Long at = latest.get(seq);
                                if (at != null && at == (((long) r.partition() << 48) | r.offset())) {
                                    producer.send(new ProducerRecord<>(ledgerOut, null, r.timestamp(), r.key(),
                                            r.value()));
                                    ledgerCount[0]++;
                                    ledgersFound.set(Math.toIntExact(seq - firstLedger));
                                }
                            });
                        }
                    }
                    producer.flush();
                }
                final Set<Long> notMissing = new HashSet<>(checkpoints.keySet());
                notMissing.addAll(takenBack);
                final String missing = missing(wanted, notMissing);
                out.printf("replayed %d of %d checkpoints%s to %s%s%s%s%n", checkpoints.size(), wanted.size(),
                        ledgers ? " and " + ledgerCount[0] + " ledger events" : "", cpOut,
                        ledgers ? " and " + ledgerOut : "",
                        missing.isEmpty() ? "" : "; not verified in the topics: " + missing,
                        takenBack.isEmpty() ? "" : "; taken back after they were verified (a failure record after the "
                                + "verified one: the copy was found later not to link; ingest them again): "
                                + missing(takenBack, Set.of()));
                boolean ledgersComplete = true;
                // the ledgers without an event, by checkpoint (for the report)
                final Map<Long, Long> ledgerGaps = new TreeMap<>();
                if (ledgers) {
                    long absent = 0;
                    final List<Long> where = new ArrayList<>();
                    for (final long cp : checkpoints.keySet()) {
                        long gaps = 0;
                        for (long seq = Checkpoint.firstLedger(cp); seq <= cp; seq++) {
                            if (!ledgersFound.get(Math.toIntExact(seq - firstLedger))) {
                                gaps++;
                            }
                        }
                        if (gaps > 0) {
                            ledgerGaps.put(cp, gaps);
                            absent += gaps;
                            where.add(cp);
                        }
                    }
                    if (absent > 0) {
                        ledgersComplete = false;
                        out.printf("warning: %s holds no event for %d ledger(s) of %d replayed checkpoint(s) (0x%x..0x%x): "
                                + "deleted by the topic's retention (retention.ms), or never written; those ledgers were "
                                + "not replayed%n", t.ledgersVerified.name(), absent, where.size(), where.get(0),
                                where.get(where.size() - 1));
                    }
                }
                out.flush();
                boolean published = true;
                if (publishing != null) {
                    final Map<Long, OutcomeWatcher.RecordAt> at = new TreeMap<>();
                    checkpoints.forEach((cp, v) -> at.put(cp, v.at()));
                    // a range from below the archive's start: a target new to it starts there, as ingest's does
                    // (a trial: replay warned that the target lacked the checkpoints below it, which ingest did not)
                    final Map.Entry<Long, Verified> first = checkpoints.firstEntry();
                    final long floor = first != null && first.getValue().event().getChainLinkedToPrevious()
                            == io.historystreams.events.ChainLinkStatus.ARCHIVE_START ? first.getKey() : wanted.get(0);
                    published = publishing.awaitPublished(at, floor, Map.of(), err, null);
                    if (publishing.nothingPublished()) {
                        // not "INCOMPLETE (see above)" with nothing above (a trial)
                        out.println("nothing to publish: no checkpoint of the range is verified in the topics");
                    } else if (!published) {
                        // each target's reason on this stream too (a trial: "see above", with the reason on stderr)
                        out.println(svc.closing() ? "publishing INCOMPLETE: stopped by a signal; run again to publish "
                                + "the rest" : "publishing INCOMPLETE: " + String.join("; ", publishing.outcomes()
                                        .stream().filter(o -> o.error() != null)
                                        .map(o -> o.target() + ": " + o.error()).toList()));
                    } else {
                        out.println("published the " + checkpoints.size() + " checkpoint(s) to " + publishTo.size()
                                + " target(s)");
                    }
                    out.flush();
                }
                final boolean all = missing.isEmpty() && takenBack.isEmpty() && published && ledgersComplete;
                if (report != null) {
                    try {
                        writeReport(wanted, checkpoints, takenBack, ledgers ? ledgerCount[0] : -1, ledgerGaps,
                                publishing == null ? null : publishing.outcomes(), published, all, startedMillis,
                                cpOut, ledgers ? ledgerOut : null);
                    } catch (final java.io.IOException e) {
                        err.println("error: " + e.getMessage());
                        return ExitCode.COULD_NOT_RUN;
                    }
                }
                return all ? ExitCode.OK : ExitCode.VERIFICATION_FAILED;
            }
        }
    }

    /**
     * The report: each checkpoint of the range {@code REPLAYED} (with its last ledger's hash, when it was verified,
     * and with {@code --ledgers} the ledgers without an event), {@code TAKEN_BACK} or {@code NOT_VERIFIED}; the
     * targets as {@code ingest}'s report has them; a summary. {@code ledgerEvents} is -1 without {@code --ledgers}.
     */
    private void writeReport(final List<Long> wanted, final Map<Long, Verified> replayed, final List<Long> takenBack,
            final int ledgerEvents, final Map<Long, Long> ledgerGaps, final List<Publishing.TargetOutcome> targets,
            final boolean published, final boolean all, final long startedMillis, final String cpOut,
            final String ledgerOut) throws java.io.IOException {
        final Set<Long> back = new HashSet<>(takenBack);
        try (java.io.OutputStream os = io.historystreams.verify.VerificationReport.openPartial(report);
                com.fasterxml.jackson.core.JsonGenerator g = new com.fasterxml.jackson.core.JsonFactory()
                        .createGenerator(os, com.fasterxml.jackson.core.JsonEncoding.UTF8).useDefaultPrettyPrinter()) {
            g.writeStartObject();
            g.writeStringField("command", "replay");
            g.writeStringField("startedAt", Instant.ofEpochMilli(startedMillis).toString());
            g.writeNumberField("fromLedger", from);
            g.writeNumberField("toLedger", to);
            g.writeArrayFieldStart("topics");
            g.writeString(cpOut);
            if (ledgerOut != null) {
                g.writeString(ledgerOut);
            }
            g.writeEndArray();
            g.writeArrayFieldStart("checkpoints");
            for (final long cp : wanted) {
                g.writeStartObject();
                g.writeNumberField("checkpoint", cp);
                g.writeStringField("hex", String.format("0x%x", cp));
                final Verified v = replayed.get(cp);
                if (v != null) {
                    g.writeStringField("status", "REPLAYED");
                    g.writeStringField("lastLedgerHash", Hashes.hex(v.event().getLastLedgerHash()));
                    g.writeStringField("verifiedAt", v.event().getVerifiedAt().toString());
                    if (ledgerGaps.containsKey(cp)) {
                        g.writeNumberField("ledgerEventsMissing", ledgerGaps.get(cp));
                    }
                } else {
                    g.writeStringField("status", back.contains(cp) ? "TAKEN_BACK" : "NOT_VERIFIED");
                }
                g.writeEndObject();
            }
            g.writeEndArray();
            if (targets != null) {
                IngestCommand.writeTargets(g, targets);
            }
            g.writeObjectFieldStart("summary");
            g.writeNumberField("checkpoints", wanted.size());
            g.writeNumberField("replayed", replayed.size());
            g.writeNumberField("takenBack", takenBack.size());
            g.writeNumberField("notVerified", wanted.size() - replayed.size() - takenBack.size());
            if (ledgerEvents >= 0) {
                g.writeNumberField("ledgerEvents", ledgerEvents);
                g.writeNumberField("ledgerEventsMissing", ledgerGaps.values().stream().mapToLong(Long::longValue)
                        .sum());
            }
            if (targets != null) {
                g.writeBooleanField("published", published);
            }
            g.writeNumberField("elapsedMillis", System.currentTimeMillis() - startedMillis);
            g.writeStringField("finishedAt", io.historystreams.verify.VerificationReport.now());
            g.writeBooleanField("allReplayed", all);
            g.writeEndObject();
            g.writeEndObject();
        }
        io.historystreams.verify.VerificationReport.moveIntoPlace(report);
    }

    private static void readAll(final HistoryStreamsService svc, final String topic,
            final java.util.function.Consumer<ConsumerRecord<byte[], byte[]>> sink) {
        TopicSnapshot.read(svc.clientProps(), topic, new ByteArrayDeserializer(), new ByteArrayDeserializer(),
                Duration.ofMinutes(10), sink);
    }

    /** Reads {@code topic} to its end: each record with a value, and that value deserialized. */
    private static <V> void readValues(final HistoryStreamsService svc, final Topic<Long, V> topic,
            final java.util.function.BiConsumer<ConsumerRecord<byte[], byte[]>, V> sink) {
        readAll(svc, topic.name(), r -> {
            if (r.value() != null) {
                sink.accept(r, topic.valueSerde().deserializer().deserialize(r.topic(), r.value()));
            }
        });
    }

    /**
     * The checkpoints of {@code wanted} not in {@code found}, as runs ({@code 0x3f, 0xbf..0x13f (3)}), the first 20
     * runs at most: a range typed with extra digits is millions of checkpoints (one line of 170 MB, 5 GB of memory).
     * Empty when none is missing.
     */
    static String missing(final List<Long> wanted, final java.util.Set<Long> found) {
        final StringBuilder b = new StringBuilder();
        int runs = 0;
        long total = 0;
        long start = -1;
        long last = -1;
        for (final long cp : wanted) {
            if (found.contains(cp)) {
                continue;
            }
            total++;
            if (start >= 0 && cp == last + Checkpoint.FREQUENCY) {
                last = cp;
                continue;
            }
            if (start >= 0 && runs++ < 20) {
                appendRun(b, start, last);
            }
            start = cp;
            last = cp;
        }
        if (start < 0) {
            return "";
        }
        if (runs++ < 20) {
            appendRun(b, start, last);
        }
        return total + " (" + b + (runs > 20 ? ", ... " + (runs - 20) + " more runs" : "") + ")";
    }

    private static void appendRun(final StringBuilder b, final long first, final long last) {
        if (b.length() > 0) {
            b.append(", ");
        }
        b.append(String.format("0x%x", first));
        if (last != first) {
            b.append(String.format("..0x%x", last));
        }
    }
}
