package io.historystreams.topology;

import io.historystreams.events.BucketRequest;
import io.historystreams.events.BucketVerified;
import io.historystreams.events.CheckpointAssembly;
import io.historystreams.events.CheckpointRequest;
import io.historystreams.events.CheckpointVerified;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;

import java.time.Duration;
import java.util.List;

/**
 * Builds the pipeline's topology, a pure function of its settings (main, the embedded run and the tests share it).
 * Every source, processor, store and sink is named; {@code topology-docs/} is generated from
 * {@link Topology#describe()} of what this returns.
 *
 * <pre>
 * checkpoint-requests, attempt-failures ─▶ request-gate (retries) ─▶ checkpoint-failures;
 * request-gate ─▶ fetch-{has,ledger,transactions,results,scp} ─▶ *-downloaded, assemble-checkpoint
 * fetch-has ─▶ fetch-bucket ─▶ bucket-verified, assemble-checkpoint
 * file-failures ─▶ assemble-checkpoint ─▶ chain-inputs (one key); request-gate ─▶ chain-inputs
 * chain-inputs ─▶ check-chain ─▶ chain-verdicts, attempt-failures
 * chain-verdicts ─▶ emit-ledgers ─▶ checkpoints-verified, ledgers-verified, attempt-failures
 * </pre>
 *
 * Two sub-topologies. The pipeline, keyed by checkpoint: the fetchers hand their downloaded events and verified
 * buckets to the join inside the task (the events still go to their topics for consumers), and the ledger events of a
 * passed checkpoint are read where its files are stored. The chain check, in one task: it sees the whole chain, so a
 * checkpoint is passed only after the copy of its predecessor it links to was (see {@link ChainLinker}). Under
 * exactly-once every topic hop waits for a transaction commit, so hops are kept to the two the chain check needs and
 * the failures'. Buckets are content-addressed and shared by many
 * checkpoints: each task's bucket fetcher keeps the buckets it verified by hash, and the tasks of one process share
 * their verdicts ({@link BucketVerdicts}), so a bucket is fetched once however many checkpoints and partitions name it.
 */
public final class HistoryTopology {
    public static final String GATE = "request-gate";
    public static final String STATUS_STORE = "checkpoint-status";
    public static final String INFLIGHT_STORE = "inflight-requests";
    public static final String RETRY_STORE = "retry-schedule";
    public static final String ASSEMBLER = "assemble-checkpoint";
    public static final String ASSEMBLY_STORE = "checkpoint-assembly";
    public static final String FETCH_BUCKET = "fetch-bucket";
    public static final String VERIFIED_BUCKETS_STORE = "verified-buckets";
    /**
     * Was {@code pending-buckets} before the bucket fetcher joined the checkpoint tasks: its waiters were partitioned
     * by bucket hash, and a data dir of an older version must not restore them into a checkpoint's task.
     */
    public static final String PENDING_BUCKETS_STORE = "bucket-waiters";
    public static final String CHAIN = "check-chain";
    /**
     * How the detail of a broken link ends when the checkpoint links to a copy of its predecessor that failed its own
     * link (a copy that failed anchors nothing: every checkpoint after a break fails with this).
     */
    public static final String LINKS_TO_A_REFUSED_COPY = "links to a copy of the previous checkpoint that failed its "
            + "own link";
    /**
     * The chain check's stores, keyed by checkpoint. Named apart from the stores of the earlier chain check in the
     * pipeline's tasks ({@code chain-predecessors}, {@code chain-awaiting}), which a data dir of an older version
     * holds.
     */
    public static final ChainLinker.Stores CHAIN_STORES = new ChainLinker.Stores("chain-last-hashes",
            "chain-held", "chain-anchored", "chain-settled", "chain-refused", "chain-disputed",
            "chain-taken-back");
    public static final String EMIT_LEDGERS = "emit-ledgers";
    private static final List<String> FETCHERS = List.of("fetch-has", "fetch-ledger", "fetch-transactions",
            "fetch-results", "fetch-scp");

    /**
     * Settings the topology's timing depends on.
     *
     * @param maxAttempts  attempts per checkpoint when failures are retryable (transport, corrupt or missing files)
     * @param retryBackoff first delay before a checkpoint is tried again; doubles per attempt up to the maximum
     */
    public record Settings(Duration pollInterval, Duration staleRequestAfter, int maxAttempts, Duration retryBackoff,
            Duration maxRetryBackoff) {
        public static Settings defaults() {
            return new Settings(Duration.ofMillis(20), Duration.ofMinutes(30), 3, Duration.ofSeconds(5),
                    Duration.ofMinutes(5));
        }

        public Settings withRetries(final int attempts, final Duration backoff) {
            return new Settings(pollInterval, staleRequestAfter, attempts, backoff, maxRetryBackoff);
        }
    }

    private HistoryTopology() {
    }

    public static Topology build(final Topics t, final Settings settings, final PipelineContext ctx) {
        final Topology top = new Topology();
        final Duration poll = settings.pollInterval();

        // requests and outcomes meet in the gate, which admits each checkpoint once until it fails
        top.addSource("checkpoint-requests-source", t.checkpointRequests.keySerde().deserializer(),
                t.checkpointRequests.valueSerde().deserializer(), t.checkpointRequests.name());
        top.addSource("verified-outcomes-source", t.checkpointsVerified.keySerde().deserializer(),
                t.checkpointsVerified.valueSerde().deserializer(), t.checkpointsVerified.name());
        top.addSource("attempt-failures-source", t.attemptFailures.keySerde().deserializer(),
                t.attemptFailures.valueSerde().deserializer(), t.attemptFailures.name());
        top.addProcessor(GATE, () -> new RequestGate(STATUS_STORE, INFLIGHT_STORE, RETRY_STORE, FETCHERS,
                "checkpoint-failures-sink", "gate-chain-sink", settings, ctx), "checkpoint-requests-source",
                "verified-outcomes-source", "attempt-failures-source");
        top.addStateStore(store(STATUS_STORE, Serdes.Long(), Serdes.String()), GATE);
        top.addStateStore(store(INFLIGHT_STORE, Serdes.Long(), t.storeSerde(CheckpointRequest.class)), GATE);
        top.addStateStore(store(RETRY_STORE, Serdes.Long(), t.storeSerde(CheckpointRequest.class)), GATE);
        // only the gate publishes final failures, after the retries
        top.addSink("checkpoint-failures-sink", t.checkpointFailures.name(),
                t.checkpointFailures.keySerde().serializer(), t.checkpointFailures.valueSerde().serializer(), GATE);
        // and tells the chain check whether a checkpoint's verdict is coming (a successor may wait for it)
        top.addSink("gate-chain-sink", t.chainInputs.name(), t.chainInputs.keySerde().serializer(),
                t.chainInputs.valueSerde().serializer(), GATE);

        // one fetch-and-verify processor per file type, each with its store of requests in flight
        addFetcher(top, t, ctx, poll, "has", t.hasDownloaded.name(), true, settings.maxAttempts());
        addFetcher(top, t, ctx, poll, "ledger", t.ledgersDownloaded.name(), false, settings.maxAttempts());
        addFetcher(top, t, ctx, poll, "transactions", t.transactionsDownloaded.name(), false, settings.maxAttempts());
        addFetcher(top, t, ctx, poll, "results", t.resultsDownloaded.name(), false, settings.maxAttempts());
        addFetcher(top, t, ctx, poll, "scp", t.scpDownloaded.name(), false, settings.maxAttempts());
        top.addSink("fetch-failures-sink", t.fileFailures.name(), t.fileFailures.keySerde().serializer(),
                t.fileFailures.valueSerde().serializer(), "fetch-has", "fetch-ledger", "fetch-transactions",
                "fetch-results", "fetch-scp");

        // buckets by hash, asked for by the HAS fetcher of the same task: fetched once, answered to every checkpoint
        // that names them (to the join, and to bucket-verified for consumers)
        top.addProcessor(FETCH_BUCKET, () -> new FetchBucketProcessor(ctx, VERIFIED_BUCKETS_STORE,
                PENDING_BUCKETS_STORE, List.of("bucket-verified-sink", ASSEMBLER), "bucket-failures-sink", poll),
                "fetch-has");
        top.addStateStore(store(VERIFIED_BUCKETS_STORE, Serdes.String(), t.storeSerde(BucketVerified.class)),
                FETCH_BUCKET);
        top.addStateStore(store(PENDING_BUCKETS_STORE, Serdes.String(), t.storeSerde(BucketRequest.class)),
                FETCH_BUCKET);
        top.addSink("bucket-verified-sink", t.bucketVerified.name(), t.bucketVerified.keySerde().serializer(),
                t.bucketVerified.valueSerde().serializer(), FETCH_BUCKET);
        top.addSink("bucket-failures-sink", t.fileFailures.name(), t.fileFailures.keySerde().serializer(),
                t.fileFailures.valueSerde().serializer(), FETCH_BUCKET);

        // the join: every part of a checkpoint, keyed by checkpoint, in whatever order it arrives (the five file
        // types and the buckets straight from their fetchers, failures through their topic)
        final String[] parts = {
            FETCHERS.get(0), FETCHERS.get(1), FETCHERS.get(2), FETCHERS.get(3), FETCHERS.get(4), FETCH_BUCKET,
            source(top, "file-failures-source", t.fileFailures)};
        top.addProcessor(ASSEMBLER, () -> new CheckpointAssembler(ASSEMBLY_STORE, INFLIGHT_STORE, "chain-inputs-sink",
                "assembly-failures-sink"), parts);
        top.addStateStore(store(ASSEMBLY_STORE, Serdes.Long(), t.storeSerde(CheckpointAssembly.class)), ASSEMBLER);
        top.connectProcessorAndStateStores(ASSEMBLER, INFLIGHT_STORE); // the request's predecessorRequested
        top.addSink("chain-inputs-sink", t.chainInputs.name(), t.chainInputs.keySerde().serializer(),
                t.chainInputs.valueSerde().serializer(), ASSEMBLER);
        top.addSink("assembly-failures-sink", t.attemptFailures.name(), t.attemptFailures.keySerde().serializer(),
                t.attemptFailures.valueSerde().serializer(), ASSEMBLER);

        addChainCheck(top, t);

        // a passed checkpoint back in its own task, where its files are: its ledger events, then itself
        top.addSource("chain-verdicts-source", t.chainVerdicts.keySerde().deserializer(),
                t.chainVerdicts.valueSerde().deserializer(), t.chainVerdicts.name());
        top.addProcessor(EMIT_LEDGERS, () -> new LedgerEmitter(ctx, STATUS_STORE, "checkpoints-verified-sink",
                "ledgers-verified-sink", "emit-failures-sink"), "chain-verdicts-source");
        // the gate's status: a checkpoint verified already is not emitted twice. Sharing the store also keeps the
        // emitter in the pipeline's sub-topology, so in the task (and on the worker) that stored the files
        top.connectProcessorAndStateStores(EMIT_LEDGERS, STATUS_STORE);
        top.addSink("checkpoints-verified-sink", t.checkpointsVerified.name(),
                t.checkpointsVerified.keySerde().serializer(), t.checkpointsVerified.valueSerde().serializer(),
                EMIT_LEDGERS);
        top.addSink("ledgers-verified-sink", t.ledgersVerified.name(), t.ledgersVerified.keySerde().serializer(),
                t.ledgersVerified.valueSerde().serializer(), EMIT_LEDGERS);
        top.addSink("emit-failures-sink", t.attemptFailures.name(), t.attemptFailures.keySerde().serializer(),
                t.attemptFailures.valueSerde().serializer(), EMIT_LEDGERS);
        return top;
    }

    /**
     * The chain check, in one task (its input has one key): passes a checkpoint once the copy of its predecessor it
     * links to was. Its own sub-topology (from {@code chain-inputs} to {@code chain-verdicts} and the attempt
     * failures).
     */
    static void addChainCheck(final Topology top, final Topics t) {
        top.addSource("chain-inputs-source", t.chainInputs.keySerde().deserializer(),
                t.chainInputs.valueSerde().deserializer(), t.chainInputs.name());
        top.addProcessor(CHAIN, () -> new ChainLinker(CHAIN_STORES, "chain-verdicts-sink", "chain-failures-sink",
                "chain-requests-sink"), "chain-inputs-source");
        top.addStateStore(store(CHAIN_STORES.lastHashes(), Serdes.Long(), Serdes.ByteArray()), CHAIN);
        top.addStateStore(store(CHAIN_STORES.held(), Serdes.Long(), t.storeSerde(CheckpointVerified.class)), CHAIN);
        top.addStateStore(store(CHAIN_STORES.anchored(), Serdes.Long(), t.storeSerde(CheckpointVerified.class)), CHAIN);
        top.addStateStore(store(CHAIN_STORES.settled(), Serdes.Long(), Serdes.String()), CHAIN);
        top.addStateStore(store(CHAIN_STORES.refused(), Serdes.Long(), Serdes.ByteArray()), CHAIN);
        top.addStateStore(store(CHAIN_STORES.disputed(), Serdes.Long(), Serdes.ByteArray()), CHAIN);
        top.addStateStore(store(CHAIN_STORES.takenBack(), Serdes.Long(), Serdes.String()), CHAIN);
        top.addSink("chain-verdicts-sink", t.chainVerdicts.name(), t.chainVerdicts.keySerde().serializer(),
                t.chainVerdicts.valueSerde().serializer(), CHAIN);
        top.addSink("chain-failures-sink", t.attemptFailures.name(), t.attemptFailures.keySerde().serializer(),
                t.attemptFailures.valueSerde().serializer(), CHAIN);
        top.addSink("chain-requests-sink", t.checkpointRequests.name(), t.checkpointRequests.keySerde().serializer(),
                t.checkpointRequests.valueSerde().serializer(), CHAIN);
    }

    private static void addFetcher(final Topology top, final Topics t, final PipelineContext ctx, final Duration poll,
            final String type, final String downloadedTopic, final boolean has, final int maxAttempts) {
        final String name = "fetch-" + type;
        final String store = "pending-" + type;
        final String sink = type + "-downloaded-sink";
        final CheckpointFileWork work = new CheckpointFileWork(new CheckpointFileWork.Names(sink, ASSEMBLER,
                FETCH_BUCKET, "fetch-failures-sink"));
        final FetchFileProcessor.Work w = switch (type) {
            case "has" -> work.has();
            case "ledger" -> work.ledger();
            case "transactions" -> work.transactions();
            case "results" -> work.results();
            default -> work.scp(maxAttempts);
        };
        top.addProcessor(name, () -> new FetchFileProcessor(ctx, store, w, poll), GATE);
        top.addStateStore(store(store, Serdes.Long(), t.storeSerde(CheckpointRequest.class)), name);
        top.addSink(sink, downloadedTopic, Serdes.Long().serializer(),
                downloadedSerializer(t, type), name);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static org.apache.kafka.common.serialization.Serializer downloadedSerializer(final Topics t,
            final String type) {
        return switch (type) {
            case "has" -> t.hasDownloaded.valueSerde().serializer();
            case "ledger" -> t.ledgersDownloaded.valueSerde().serializer();
            case "transactions" -> t.transactionsDownloaded.valueSerde().serializer();
            case "results" -> t.resultsDownloaded.valueSerde().serializer();
            default -> t.scpDownloaded.valueSerde().serializer();
        };
    }

    private static String source(final Topology top, final String name, final Topic<?, ?> topic) {
        top.addSource(name, topic.keySerde().deserializer(), topic.valueSerde().deserializer(), topic.name());
        return name;
    }

    private static <K, V> StoreBuilder<?> store(final String name, final org.apache.kafka.common.serialization.Serde<K>
            keys, final org.apache.kafka.common.serialization.Serde<V> values) {
        // cached: several updates of one key between commits (a checkpoint's assembly grows with each part) reach
        // RocksDB and the changelog once
        return Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(name), keys, values).withCachingEnabled();
    }
}
