package io.historystreams.service;

import io.historystreams.archive.Checkpoint;
import io.historystreams.events.ChainLinkStatus;
import io.historystreams.events.CheckpointFailed;
import io.historystreams.events.CheckpointVerified;
import io.historystreams.topology.Topics;
import io.historystreams.verify.FailureReason;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Follows the outcome topics (read committed, from the beginning) and keeps the verdict of the checkpoints a command
 * asked for: verified (in this run or an earlier one) or failed in this run. Memory is a few bytes per checkpoint
 * (a status and the chain-link verdict), plus the failure events themselves.
 */
public final class OutcomeWatcher implements AutoCloseable {
    /** A requested checkpoint's state. */
    public enum Status { PENDING, VERIFIED, FAILED }

    /**
     * Where a checkpoint's verified event is in the {@code checkpoints-verified} topic.
     *
     * @param events how many verified checkpoints this one stands for: 1, or for the last one read of a partition
     *               ({@link #lastVerified}) every checkpoint verified there up to it
     */
    public record RecordAt(int partition, long offset, long events) {
        public RecordAt(final int partition, final long offset) {
            this(partition, offset, 1);
        }
    }

    private static final Status[] STATUSES = Status.values();
    private static final ChainLinkStatus[] LINKS = ChainLinkStatus.values();

    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Topics topics;
    private final long[] wanted;
    private final byte[] status;
    private final byte[] link;
    private final long since;
    private final Map<Long, CheckpointFailed> failed = new TreeMap<>();
    /** The distinct lists of sources that served verified checkpoints (a handful), indexed from {@link #sourceSet}. */
    private final List<List<String>> sourceSets = new ArrayList<>();
    private final Map<List<String>, Integer> sourceSetIds = new HashMap<>();
    private final short[] sourceSet;
    /** Per wanted checkpoint, the partition and offset of the first verified record read (-1: none yet). */
    private final int[] verifiedPartition;
    private final long[] verifiedOffset;
    /** When each verified checkpoint's verdict was given (epoch ms): a failure given after it revokes it. */
    private final long[] verifiedAt;
    /** The latest failure of each checkpoint that had one (epoch ms, any run): a verdict given before it is revoked. */
    private final Map<Long, Long> lastFailureAt = new HashMap<>();
    /** Per checkpoint of the range, when each of its failures of this run was given (epoch ms). */
    private final Map<Long, List<Long>> failuresThisRun = new HashMap<>();
    private int verifiedCount;
    /** Per checkpoint without a verdict, its last failed attempt of this run (removed at its verdict). */
    private final Map<Long, CheckpointFailed> lastAttempt = new HashMap<>();
    /** Per checkpoint of the range, the attempts of this run whose copy failed a check of what it holds. */
    private final Map<Long, List<CheckpointFailed>> refused = new HashMap<>();
    /**
     * Checkpoints taken back in this run and not yet asked for again ({@link #takeTakenBack}); every one taken back
     * in this run is in {@link #askedAgain}, so each is asked for again once.
     */
    private final List<Long> takenBack = new ArrayList<>();
    private final java.util.Set<Long> askedAgain = new java.util.HashSet<>();
    /**
     * Checkpoints outside the wanted ones whose verdict was taken back in this run and not given again since, with
     * when (epoch ms): a backfill's checkpoint can take back the checkpoints after its range that an earlier run
     * verified (they do not link to it), which this run neither asked for nor reports otherwise.
     */
    private final Map<Long, Long> takenBackOutside = new TreeMap<>();
    /** The wanted checkpoints whose verified verdict a failure of this run took back ({@code takesBack}). */
    private final java.util.Set<Long> takenBackInRange = new java.util.TreeSet<>();
    /**
     * Checkpoints outside the wanted ones, or verified ones, with an attempt failed on its link in this run and no
     * verdict read since: a take-back on its way (the chain check's failure reaches the outcomes a commit later than
     * the verdict that caused it).
     */
    private final java.util.Set<Long> takeBackComing = new java.util.HashSet<>();
    /** The wanted checkpoints (by index) verified without an SCP file ({@link #verifiedWithoutScp}). */
    private final java.util.BitSet scpAbsent = new java.util.BitSet();
    /** The files of verified wanted checkpoints read after bad copies ({@link #blamedFiles}), by checkpoint. */
    private final Map<Long, List<BlamedFile>> blamedFiles = new HashMap<>();
    /**
     * Per partition of the verified topic, the checkpoint and offset of the last event read, and how many checkpoints
     * were verified there ({@link #lastVerified}).
     */
    private final Map<Integer, long[]> lastVerified = new HashMap<>();
    /**
     * Per partition, the checkpoints verified there (bit {@code checkpoint / 64}): a checkpoint verified twice (again
     * after a take-back, or by another run) counts once (a trial's report counted records).
     */
    private final Map<Integer, java.util.BitSet> verifiedIn = new HashMap<>();

    public OutcomeWatcher(final Map<String, Object> clientProps, final Topics topics, final Collection<Long> wanted,
            final long sinceMillis) {
        this.topics = topics;
        this.wanted = wanted.stream().mapToLong(Long::longValue).sorted().distinct().toArray();
        this.status = new byte[this.wanted.length];
        this.link = new byte[this.wanted.length];
        this.sourceSet = new short[this.wanted.length];
        this.verifiedPartition = new int[this.wanted.length];
        this.verifiedOffset = new long[this.wanted.length];
        this.verifiedAt = new long[this.wanted.length];
        Arrays.fill(this.verifiedPartition, -1);
        this.since = sinceMillis;
        final Map<String, Object> p = new HashMap<>(clientProps);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, Topics.MAX_MESSAGE_BYTES + 65536);
        p.putIfAbsent(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, Topics.FOLLOW_FETCH_MAX_WAIT_MS);
        this.consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        final List<TopicPartition> parts = new ArrayList<>();
        for (final String t : List.of(topics.checkpointsVerified.name(), topics.checkpointFailures.name(),
                topics.attemptFailures.name())) {
            for (final PartitionInfo pi : consumer.partitionsFor(t, Duration.ofSeconds(30))) {
                parts.add(new TopicPartition(t, pi.partition()));
            }
        }
        consumer.assign(parts);
        consumer.seekToBeginning(parts);
    }

    /**
     * The first verified event of each partition of the {@code checkpoints-verified} topic (the pipeline's earliest
     * verdicts: a sample of the archive whose history it holds), read within {@code max}; then the watcher reads from
     * the beginning again, as before. Empty for a pipeline that verified nothing yet (nothing is read then).
     */
    public List<CheckpointVerified> firstVerified(final Duration max) {
        final java.util.Set<TopicPartition> all = consumer.assignment();
        final List<TopicPartition> verified = all.stream()
                .filter(tp -> tp.topic().equals(topics.checkpointsVerified.name())).toList();
        final Map<TopicPartition, Long> end = consumer.endOffsets(verified, Duration.ofSeconds(30));
        final java.util.Set<TopicPartition> left = new java.util.HashSet<>();
        for (final TopicPartition tp : verified) {
            if (end.getOrDefault(tp, 0L) > consumer.position(tp, Duration.ofSeconds(30))) {
                left.add(tp);
            }
        }
        final List<CheckpointVerified> out = new ArrayList<>();
        if (left.isEmpty()) {
            return out;
        }
        final java.util.Set<TopicPartition> others = new java.util.HashSet<>(all);
        others.removeAll(left);
        consumer.pause(others);
        try {
            final long deadline = System.nanoTime() + max.toNanos();
            while (!left.isEmpty() && System.nanoTime() < deadline) {
                for (final ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                    final TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                    if (r.value() != null && left.remove(tp)) {
                        out.add(topics.checkpointsVerified.valueSerde().deserializer().deserialize(r.topic(),
                                r.value()));
                        consumer.pause(List.of(tp));
                    }
                }
                // (a partition whose events were all aborted has none to give)
                left.removeIf(tp -> consumer.position(tp) >= end.get(tp));
            }
        } finally {
            consumer.resume(all);
            consumer.seekToBeginning(all);
        }
        return out;
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
                final long[] last = lastVerified.computeIfAbsent(r.partition(), p -> new long[3]);
                last[0] = v.getCheckpoint();
                last[1] = r.offset();
                final java.util.BitSet seen = verifiedIn.computeIfAbsent(r.partition(), p -> new java.util.BitSet());
                final int bit = (int) (v.getCheckpoint() / io.historystreams.archive.Checkpoint.FREQUENCY);
                if (!seen.get(bit)) {
                    seen.set(bit);
                    last[2]++;
                }
                final int i = Arrays.binarySearch(wanted, v.getCheckpoint());
                takeBackComing.remove(v.getCheckpoint());
                if (i < 0) {
                    takenBackOutside.computeIfPresent(v.getCheckpoint(),
                            (cp, at) -> at < v.getVerifiedAt().toEpochMilli() ? null : at);
                } else if (status[i] == Status.FAILED.ordinal()
                        && lastFailureAt.getOrDefault(v.getCheckpoint(), 0L) > v.getVerifiedAt().toEpochMilli()) {
                    // its failure of this run, read first, was given after this verdict: it took this one back
                    takenBackNow(i);
                } else if (i >= 0 && status[i] != Status.VERIFIED.ordinal()
                        && lastFailureAt.getOrDefault(v.getCheckpoint(), 0L) <= v.getVerifiedAt().toEpochMilli()) {
                    if (status[i] == Status.FAILED.ordinal()) {
                        failed.remove(v.getCheckpoint());
                    }
                    status[i] = (byte) Status.VERIFIED.ordinal();
                    lastAttempt.remove(v.getCheckpoint());
                    link[i] = (byte) v.getChainLinkedToPrevious().ordinal();
                    verifiedPartition[i] = r.partition();
                    verifiedOffset[i] = r.offset();
                    verifiedAt[i] = v.getVerifiedAt().toEpochMilli();
                    final List<String> sources = v.getFiles().stream().map(f -> f.getSource())
                            .filter(java.util.Objects::nonNull).distinct().sorted().toList();
                    sourceSet[i] = (short) (int) sourceSetIds.computeIfAbsent(sources, k -> {
                        sourceSets.add(k);
                        return sourceSets.size() - 1;
                    });
                    // (the checkpoint's files: HAS, ledger, transactions, results, its SCP file when present, buckets)
                    scpAbsent.set(i, v.getFiles().stream().noneMatch(f -> f.getPath().startsWith("scp/")));
                    final List<BlamedFile> blamed = v.getFiles().stream().filter(f -> !f.getBlamed().isEmpty())
                            .map(f -> new BlamedFile(f.getPath(), List.copyOf(f.getBlamed()))).toList();
                    if (blamed.isEmpty()) {
                        blamedFiles.remove(v.getCheckpoint());
                    } else {
                        blamedFiles.put(v.getCheckpoint(), blamed);
                    }
                    verifiedCount++;
                }
            } else if (r.topic().equals(topics.attemptFailures.name())) {
                // an attempt that failed and is retried: what a checkpoint given up at the timeout was failing on
                final CheckpointFailed f = topics.attemptFailures.valueSerde().deserializer()
                        .deserialize(r.topic(), r.value());
                final int i = Arrays.binarySearch(wanted, f.getCheckpoint());
                if ((i < 0 || status[i] == Status.VERIFIED.ordinal()) && brokenLink(f)
                        && f.getFailedAt().toEpochMilli() >= since) {
                    takeBackComing.add(f.getCheckpoint());
                }
                if (i >= 0 && status[i] == Status.PENDING.ordinal() && f.getFailedAt().toEpochMilli() >= since) {
                    lastAttempt.put(f.getCheckpoint(), f);
                    if (f.getSource() != null && FailureReason.aboutContent(f.getReason())) {
                        // a copy refused on what it holds (a forged or damaged mirror's), another then read: named
                        // in the report, as verify names the sources of bad copies (a trial: only an INFO line said so)
                        refused.computeIfAbsent(f.getCheckpoint(), k -> new ArrayList<>()).add(f);
                    }
                }
            } else {
                final CheckpointFailed f = topics.checkpointFailures.valueSerde().deserializer()
                        .deserialize(r.topic(), r.value());
                final int i = Arrays.binarySearch(wanted, f.getCheckpoint());
                final long at = f.getFailedAt().toEpochMilli();
                if (at >= since) {
                    takeBackComing.remove(f.getCheckpoint());
                    if (f.getTakesBack() && i < 0) {
                        takenBackOutside.merge(f.getCheckpoint(), at, Math::max);
                    } else if (f.getTakesBack()) {
                        takenBackInRange.add(f.getCheckpoint());
                    }
                }
                if (i >= 0) {
                    lastFailureAt.merge(f.getCheckpoint(), at, Math::max);
                    if (at >= since) {
                        failuresThisRun.computeIfAbsent(f.getCheckpoint(), k -> new ArrayList<>()).add(at);
                    }
                }
                if (i >= 0 && status[i] == Status.VERIFIED.ordinal() && at > verifiedAt[i]) {
                    // given after the verdict: the chain check found the checkpoint does not link to its predecessor
                    // as verified later. Failed now, or (revoked before this run) to be verified again by this run
                    status[i] = (byte) (at >= since ? Status.FAILED : Status.PENDING).ordinal();
                    verifiedCount--;
                    verifiedPartition[i] = -1;
                    if (at >= since) {
                        failed.put(f.getCheckpoint(), f);
                        takenBackNow(i);
                    }
                } else if (i >= 0 && status[i] != Status.VERIFIED.ordinal() && at >= since) {
                    status[i] = (byte) Status.FAILED.ordinal();
                    failed.put(f.getCheckpoint(), f);
                    lastAttempt.remove(f.getCheckpoint());
                    if (i > 0 && wanted[i - 1] == f.getCheckpoint() - Checkpoint.FREQUENCY
                            && askedAgain.contains(wanted[i - 1]) && brokenLink(f)) {
                        // failed on its link to a predecessor taken back in this run: asked for again with it
                        takenBackNow(i);
                    }
                }
            }
        }
    }

    /**
     * A checkpoint of this run's failed just now by being taken back: pending again, to be asked for again
     * ({@link #takeTakenBack}), the first time only (a second failure is its verdict).
     */
    private void takenBackNow(final int i) {
        if (!reopen(i)) {
            return;
        }
        // its successors that failed on their link to it (to the copy taken back) are asked for again with it
        int j = i + 1;
        while (j < wanted.length && wanted[j] == wanted[j - 1] + Checkpoint.FREQUENCY
                && status[j] == Status.FAILED.ordinal() && brokenLink(failed.get(wanted[j])) && reopen(j)) {
            j++;
        }
    }

    /** Pending again, to be asked for again; false when it was once already. */
    private boolean reopen(final int i) {
        if (!askedAgain.add(wanted[i])) {
            return false;
        }
        status[i] = (byte) Status.PENDING.ordinal();
        failed.remove(wanted[i]);
        takenBack.add(wanted[i]);
        return true;
    }

    /**
     * Whether a checkpoint of this run failed on its link to a predecessor verified in it, which is not taken back yet:
     * the chain check may take the predecessor back right after the failure (its copy the odd one), and the verdict
     * saying so comes a few commits later. Or a checkpoint verified, or outside them, had an attempt fail on its
     * link in this run, and its failure is not read yet: taken back when its predecessor was verified, it comes to
     * the outcomes a commit after that verdict (a backfill's run ended first, with every checkpoint verified). Or a
     * checkpoint failed on its link to a predecessor taken back and verified again in this run, at most once since
     * that verdict: the chain check asks for it again once per copy of the predecessor (see below).
     */
    public boolean mayTakeBack() {
        if (!takeBackComing.isEmpty()) {
            return true;
        }
        for (final Map.Entry<Long, CheckpointFailed> e : failed.entrySet()) {
            final long prev = e.getKey() - Checkpoint.FREQUENCY;
            if (brokenLink(e.getValue()) && status(prev) == Status.VERIFIED && (!askedAgain.contains(prev)
                    || failuresSince(e.getKey(), verifiedAt[Arrays.binarySearch(wanted, prev)]) < 2)) {
                // verified again after this one failed: the chain check asks for it again, and for the failed
                // checkpoints after it, which are read again (a forged segment is walked back one at a time). Or
                // failed once since: its attempts may have run out on that predecessor's copy taken back, the last
                // one on a source whose copy does not link to the new one, and the chain check then asks for it again
                // (a run of a forged segment with three sources ended first, and reported the honest one FAILED)
                return true;
            }
        }
        return false;
    }

    /** How many failures of {@code checkpoint} this run gave after {@code at} (epoch ms). */
    private int failuresSince(final long checkpoint, final long at) {
        return (int) failuresThisRun.getOrDefault(checkpoint, List.of()).stream().filter(t -> t > at).count();
    }

    private static boolean brokenLink(final CheckpointFailed f) {
        return f != null && FailureReason.CHAIN_LINK_BROKEN.name().equals(f.getReason());
    }

    /**
     * The checkpoints taken back in this run since the last call (a verified verdict followed by a failure: the chain
     * check found later that the copy does not link to its predecessor as verified since), in ascending order. Each
     * is pending again once: the caller asks for it again, and its next verdict, verified or failed, is its verdict.
     */
    public List<Long> takeTakenBack() {
        final List<Long> out = takenBack.stream().sorted().toList();
        takenBack.clear();
        return out;
    }

    /**
     * The checkpoints outside the wanted ones whose verified verdict was taken back in this run and not given again,
     * in ascending order.
     */
    public List<Long> takenBackOutside() {
        return List.copyOf(takenBackOutside.keySet());
    }

    /**
     * The wanted checkpoints whose verified verdict was taken back in this run and that are not verified again, in
     * ascending order: a target may hold the files of the copy taken back.
     */
    public List<Long> takenBackNotVerifiedAgain() {
        return takenBackInRange.stream().filter(cp -> status(cp) != Status.VERIFIED).toList();
    }

    /**
     * The last verified event read of each partition, by its checkpoint, with the number of verified events read there:
     * what a target new to the data dir is given (everything verified there), for a range with none verified to wait
     * for.
     */
    public Map<Long, RecordAt> lastVerified() {
        final Map<Long, RecordAt> out = new java.util.TreeMap<>();
        lastVerified.forEach((partition, at) -> out.put(at[0], new RecordAt(partition, at[1], at[2])));
        return out;
    }

    /** Where the verified event of a verified checkpoint was read; null for one not verified (or not wanted). */
    public RecordAt verifiedAt(final long checkpoint) {
        final int i = Arrays.binarySearch(wanted, checkpoint);
        return i < 0 || verifiedPartition[i] < 0 ? null : new RecordAt(verifiedPartition[i], verifiedOffset[i]);
    }

    public boolean done() {
        return verifiedCount + failed.size() >= wanted.length;
    }

    public Status status(final long checkpoint) {
        final int i = Arrays.binarySearch(wanted, checkpoint);
        return i < 0 ? Status.PENDING : STATUSES[status[i]];
    }

    /** Whether a checkpoint's verdict, verified, was given in this run (since the watcher's start time). */
    public boolean verifiedThisRun(final long checkpoint) {
        final int i = Arrays.binarySearch(wanted, checkpoint);
        return i >= 0 && status[i] == Status.VERIFIED.ordinal() && verifiedAt[i] >= since;
    }

    /** How a verified checkpoint's link to its predecessor was established. */
    public ChainLinkStatus link(final long checkpoint) {
        final int i = Arrays.binarySearch(wanted, checkpoint);
        return LINKS[link[Math.max(i, 0)]];
    }

    /** The sources that served a verified checkpoint's files (credential-free names). */
    public List<String> sources(final long checkpoint) {
        final int i = Arrays.binarySearch(wanted, checkpoint);
        return i < 0 || status[i] != Status.VERIFIED.ordinal() ? List.of() : sourceSets.get(sourceSet[i]);
    }

    public int verifiedCount() {
        return verifiedCount;
    }

    /** The failures of this run, by checkpoint. */
    public Map<Long, CheckpointFailed> failed() {
        return failed;
    }

    /** Whether a verified wanted checkpoint was verified without an SCP file (no source had it: it is optional). */
    public boolean verifiedWithoutScp(final long checkpoint) {
        final int i = Arrays.binarySearch(wanted, checkpoint);
        return i >= 0 && status[i] == Status.VERIFIED.ordinal() && scpAbsent.get(i);
    }

    /** A file of a verified checkpoint, read after {@code sources} served bad copies of it (its fetch's failover). */
    public record BlamedFile(String path, List<String> sources) {
    }

    /**
     * The files of a verified checkpoint that were read after other sources served bad copies of them: its attempt
     * did not fail (another source's copy verified), so only this says that a source is damaged (a trial: exit 0, and
     * neither the report nor the terminal named the source, where {@code verify}'s report does).
     */
    public List<BlamedFile> blamedFiles(final long checkpoint) {
        return status(checkpoint) == Status.VERIFIED ? blamedFiles.getOrDefault(checkpoint, List.of()) : List.of();
    }

    /** The attempts of this run at {@code checkpoint} whose copy failed a check of what it holds, in order. */
    public List<CheckpointFailed> refusedCopies(final long checkpoint) {
        return refused.getOrDefault(checkpoint, List.of());
    }

    /** The last failed attempt read for a checkpoint still without a verdict, or null (none failed yet). */
    public CheckpointFailed lastAttemptFailure(final long checkpoint) {
        return lastAttempt.get(checkpoint);
    }

    public int pending() {
        return wanted.length - verifiedCount - failed.size();
    }

    @Override
    public void close() {
        consumer.close(Duration.ofSeconds(5));
    }
}
