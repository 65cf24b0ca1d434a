package io.historystreams.topology;

import io.historystreams.events.BucketVerified;
import io.historystreams.events.ChainInput;
import io.historystreams.events.CheckpointFailed;
import io.historystreams.events.CheckpointPublished;
import io.historystreams.events.CheckpointRequest;
import io.historystreams.events.CheckpointVerified;
import io.historystreams.events.DeadLetter;
import io.historystreams.events.HasDownloaded;
import io.historystreams.events.LedgerHeadersDownloaded;
import io.historystreams.events.LedgerVerified;
import io.historystreams.events.ResultsDownloaded;
import io.historystreams.events.ScpDownloaded;
import io.historystreams.events.TransactionsDownloaded;
import io.historystreams.events.serde.AvroSerde;
import io.historystreams.events.serde.SchemaRegistry;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;

import java.util.List;
import java.util.Map;

/**
 * Every topic of the pipeline: name, serdes, compaction. Topics keyed by checkpoint share one partition count so the
 * join stage sees all parts of a checkpoint in one task.
 */
public final class Topics {
    /**
     * {@code fetch.max.wait.ms} of the consumers that follow the pipeline's outcomes (the outcome watcher of
     * {@code ingest}, the publish runners, the wait for published events), unless the Kafka settings give one. Records
     * a transaction commit makes visible reached such a read-committed follower only when its parked fetch timed out:
     * the last verified checkpoint reached {@code ingest} 550-660 ms after the pipeline wrote it with the default
     * 500 ms, 155-215 ms with 50 ms (3 runs each). An idle follower then asks the broker 20 times a second.
     */
    public static final int FOLLOW_FETCH_MAX_WAIT_MS = 50;

    /**
     * Producer batch size of the pipeline's producers (Kafka's default is 16 KiB). Measured on testnet-small, excl.
     * start, 4 interleaved runs each: 16 KiB 4.37 s, 64 KiB 3.64 s, 128 KiB 3.63 s, 256 KiB 3.67 s; a batch buffer is
     * taken per partition being written, so larger ones only add memory.
     */
    public static final int PRODUCER_BATCH_BYTES = 64 << 10;

    /**
     * {@code retry.backoff.ms} of every Kafka client when the broker is the embedded one (Kafka's default is 100 ms,
     * growing to {@code retry.backoff.max.ms} on repeated failures). A client waits that long after each coordinator
     * lookup before it sends the request again, and a stream thread's producer met three such waits before its first
     * commit: its {@code InitProducerId} (the coordinator lookup, then the broker still fetching a block of producer ids
     * from the controller) and its first offset commit (the group coordinator lookup). Streams reached RUNNING
     * 0.89 -> 0.68 s after start-up with 10 ms (4 runs each, JDK 25). On a cluster Kafka's default stays.
     */
    public static final int EMBEDDED_RETRY_BACKOFF_MS = 10;

    /** Largest message (a ledger event inlines its transaction set, which can be several MB on pubnet). */
    public static final int MAX_MESSAGE_BYTES = 16 << 20;
    /**
     * Partition count every topic is created with unless configured otherwise. Topics keyed by checkpoint must all
     * share one count (the join stage co-partitions them), so the count is set once, here, for all of them.
     */
    public static final int DEFAULT_PARTITIONS = 6;
    /** Partitions of new pipeline topics on the embedded single-node broker (see ServiceConfig#partitions()). */
    public static final int EMBEDDED_PARTITIONS = 2;

    public final Topic<Long, CheckpointRequest> checkpointRequests;
    public final Topic<Long, HasDownloaded> hasDownloaded;
    public final Topic<Long, LedgerHeadersDownloaded> ledgersDownloaded;
    public final Topic<Long, TransactionsDownloaded> transactionsDownloaded;
    public final Topic<Long, ResultsDownloaded> resultsDownloaded;
    public final Topic<Long, ScpDownloaded> scpDownloaded;
    public final Topic<Long, BucketVerified> bucketVerified;
    public final Topic<Long, CheckpointFailed> fileFailures;
    public final Topic<String, ChainInput> chainInputs;
    public final Topic<Long, CheckpointVerified> chainVerdicts;
    public final Topic<Long, CheckpointVerified> checkpointsVerified;
    public final Topic<Long, LedgerVerified> ledgersVerified;
    public final Topic<Long, CheckpointFailed> checkpointFailures;
    public final Topic<Long, CheckpointFailed> attemptFailures;
    public final Topic<Long, CheckpointPublished> checkpointsPublished;
    public final Topic<byte[], DeadLetter> deadLetters;
    public final Topic<String, Long> tailState;

    private final SchemaRegistry registry;

    public Topics(final String prefix, final SchemaRegistry registry) {
        this.registry = registry;
        final Serde<Long> cp = Serdes.Long();
        checkpointRequests = event(prefix + "checkpoint-requests", cp, CheckpointRequest.class,
                "Checkpoints to fetch and verify (from ingest's range or the tailer; replay reads the verdicts instead)");
        hasDownloaded = event(prefix + "has-downloaded", cp, HasDownloaded.class,
                "A checkpoint's HAS, fetched and verified on its own");
        ledgersDownloaded = event(prefix + "ledgers-downloaded", cp, LedgerHeadersDownloaded.class,
                "A checkpoint's ledger headers, self-hash and internal chain verified");
        transactionsDownloaded = event(prefix + "transactions-downloaded", cp, TransactionsDownloaded.class,
                "A checkpoint's transaction-set hashes, computed on the raw bytes");
        resultsDownloaded = event(prefix + "results-downloaded", cp, ResultsDownloaded.class,
                "A checkpoint's result-set hashes, computed on the raw bytes");
        scpDownloaded = event(prefix + "scp-downloaded", cp, ScpDownloaded.class,
                "A checkpoint's SCP file, structurally checked (or absent, which is not a failure)");
        bucketVerified = event(prefix + "bucket-verified", cp, BucketVerified.class,
                "A bucket verified for a checkpoint that names it (keyed by that checkpoint)");
        fileFailures = event(prefix + "file-failures", cp, CheckpointFailed.class,
                "A file of a checkpoint failed (after retries): input of the join stage");
        chainInputs = event(prefix + "chain-inputs", Serdes.String(), ChainInput.class,
                "Assembled checkpoints, and the gate's word on whether one is coming, under one key: one task checks "
                        + "the whole chain");
        chainVerdicts = event(prefix + "chain-verdicts", cp, CheckpointVerified.class,
                "Checkpoints whose link the chain check verified, back to their own partition, where their ledger "
                        + "events are read from the stored files");
        checkpointsVerified = state(prefix + "checkpoints-verified", cp, CheckpointVerified.class,
                "Verified checkpoints (compacted: one record per checkpoint)");
        ledgersVerified = event(prefix + "ledgers-verified", cp, LedgerVerified.class,
                "One event per verified ledger with header, transaction set and result set XDR, keyed by ledger");
        checkpointFailures = event(prefix + "checkpoint-failures", cp, CheckpointFailed.class,
                "Checkpoints that failed verification after their attempts, with every reason (a tailed archive's are "
                        + "tried again, and may be verified later)");
        attemptFailures = event(prefix + "attempt-failures", cp, CheckpointFailed.class,
                "A failed attempt at a checkpoint: the gate retries it or publishes it as a checkpoint failure "
                        + "(attempt is 0 here when written by the join or the chain check; the gate knows it)");
        checkpointsPublished = event(prefix + "checkpoints-published", cp, CheckpointPublished.class,
                "Checkpoints written to a target archive");
        deadLetters = event(prefix + "dead-letters", Serdes.ByteArray(), DeadLetter.class,
                "Records that hit an unexpected error, with the error and the raw key and value");
        tailState = new Topic<>(prefix + "tail-state", Serdes.String(), Serdes.Long(), true,
                Map.of("cleanup.policy", "compact"),
                "The last checkpoint the tailer requested, per archive (compacted; written with the requests)");
    }

    public SchemaRegistry registry() {
        return registry;
    }

    /** A serde for records kept in state stores (registered under the changelog topic's subject). */
    public <T extends SpecificRecord> Serde<T> storeSerde(final Class<T> type) {
        return AvroSerde.forClass(type, registry);
    }

    /** Topics joined by checkpoint key: they must share one partition count. */
    public List<Topic<?, ?>> all() {
        return List.of(checkpointRequests, hasDownloaded, ledgersDownloaded, transactionsDownloaded,
                resultsDownloaded, scpDownloaded, bucketVerified, fileFailures, chainInputs, chainVerdicts,
                checkpointsVerified, ledgersVerified, checkpointFailures, attemptFailures, checkpointsPublished, deadLetters,
                tailState);
    }

    private <K, V extends SpecificRecord> Topic<K, V> event(final String name, final Serde<K> key, final Class<V> type,
            final String description) {
        return new Topic<>(name, key, AvroSerde.forClass(type, registry), false,
                Map.of("max.message.bytes", Integer.toString(MAX_MESSAGE_BYTES)), description);
    }

    private <K, V extends SpecificRecord> Topic<K, V> state(final String name, final Serde<K> key, final Class<V> type,
            final String description) {
        return new Topic<>(name, key, AvroSerde.forClass(type, registry), true,
                Map.of("cleanup.policy", "compact", "max.message.bytes", Integer.toString(MAX_MESSAGE_BYTES)),
                description);
    }
}
