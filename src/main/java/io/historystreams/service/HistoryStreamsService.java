package io.historystreams.service;

import io.historystreams.blob.LocalBlobStore;
import io.historystreams.events.serde.AvroSerde;
import io.historystreams.events.serde.SchemaRegistry;
import io.historystreams.kafka.Causes;
import io.historystreams.kafka.EmbeddedKafkaBroker;
import io.historystreams.kafka.TopicAdmin;
import io.historystreams.kafka.TopicSpec;
import io.historystreams.topology.DeadLetterHandlers;
import io.historystreams.topology.HistoryTopology;
import io.historystreams.topology.PipelineContext;
import io.historystreams.topology.Topic;
import io.historystreams.topology.Topics;
import io.historystreams.verify.VerificationLimits;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The running service: an embedded single-node broker when no cluster is configured, the topics (created
 * idempotently), the Kafka Streams pipeline with exactly-once processing, and the operations endpoint. Several
 * instances with the same {@code application.id} share the partitions.
 */
public final class HistoryStreamsService implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(HistoryStreamsService.class);

    private final ServiceConfig config;
    private final EmbeddedKafkaBroker broker;
    private final String bootstrapServers;
    private final Topics topics;
    private final PipelineContext context;
    private final ServiceMetrics metrics;
    private final KafkaStreams streams;
    private final HealthServer health;
    private final AtomicReference<Throwable> fatal = new AtomicReference<>();
    private volatile KafkaStreams.State state = KafkaStreams.State.CREATED;
    private volatile boolean closed;
    private BlobEvictor evictor;
    private final Thread shutdownHook = new Thread(() -> {
        close();
        awaitCommand();
    }, "history-streams-shutdown");
    /** Counted down by the command once its last words are out (see {@link #holdShutdown}); null: nothing to wait for. */
    private volatile java.util.concurrent.CountDownLatch commandDone;

    private final List<AutoCloseable> closeFirst = new ArrayList<>();

    private HistoryStreamsService(final ServiceConfig config, final EmbeddedKafkaBroker broker,
            final String bootstrapServers, final Topics topics, final PipelineContext context,
            final ServiceMetrics metrics, final KafkaStreams streams, final HealthServer health) {
        this.config = config;
        this.broker = broker;
        this.bootstrapServers = bootstrapServers;
        this.topics = topics;
        this.context = context;
        this.metrics = metrics;
        this.streams = streams;
        this.health = health;
    }

    /** Starts everything and returns once the pipeline is started (not necessarily RUNNING yet). */
    public static HistoryStreamsService start(final ServiceConfig config) throws IOException {
        return start(config, true);
    }

    /**
     * @param publishing whether this process publishes what it verifies: with {@code blob.keep=auto} (the default)
     *                   the blob store keeps bucket files only then
     */
    public static HistoryStreamsService start(final ServiceConfig config, final boolean publishing)
            throws IOException {
        return start(config, publishing, true);
    }

    /**
     * As {@link #start(ServiceConfig, boolean)}; without {@code pipeline}, for a command that only reads the topics
     * and publishes ({@code replay}): the broker (if embedded), the topics, the blob store and the endpoint, but no
     * Kafka Streams. (A replay that ran the pipeline joined the workers' group, or under another application id
     * processed every request again and wrote every verified event twice.)
     */
    public static HistoryStreamsService start(final ServiceConfig config, final boolean publishing,
            final boolean pipeline) throws IOException {
        LOG.info("starting with {}", config);
        final java.util.concurrent.CompletableFuture<NativeLibraries.Outcome> rocksDb = pipeline
                ? preloadRocksDb(config.dataDir()) : java.util.concurrent.CompletableFuture.completedFuture(null);
        // a command that runs no pipeline and publishes nothing, on a cluster (replay), keeps nothing on disk: a trial's
        // replay left a ./data (blob store, native libraries) in the directory it was run from
        final boolean onDisk = pipeline || publishing || config.embedded();
        if (onDisk) {
            try {
                Files.createDirectories(config.dataDir());
            } catch (final java.nio.file.FileAlreadyExistsException e) {
                throw new IOException("cannot make the data dir " + config.dataDir() + " (--data-dir): " + e.getFile()
                        + " is a file, not a directory", e);
            }
        }
        // before anything compresses (150 KB, ~1 ms); RocksDB's (15 MB) is loading on a thread of its own
        final String lz4 = onDisk ? NativeLibraries.loadLz4(config.dataDir())
                : NativeLibraries.loadLz4WithoutDataDir();
        if (lz4 != null) {
            LOG.warn("lz4-java's native library is not loaded from a copy {} ({}): lz4-java extracts it to a temp "
                    + "file in {} itself, which a process killed (kill -9) leaves behind (150 KB)",
                    onDisk ? "in the data dir" : "of this user's", lz4, System.getProperty("java.io.tmpdir"));
        }
        io.historystreams.archive.Credentials.registerAll(config.get(ServiceConfig.ARCHIVE_CREDENTIALS));
        EmbeddedKafkaBroker broker = null;
        PipelineContext ctx = null;
        KafkaStreams streams = null;
        HealthServer health = null;
        try {
            final String bootstrap;
            if (config.embedded()) {
                warnOfALowOpenFileLimit();
                final long t0 = System.nanoTime();
                broker = EmbeddedKafkaBroker.start(config.dataDir(), config.embeddedBrokerPorts());
                bootstrap = broker.bootstrapServers();
                LOG.info("embedded Kafka broker at {} (data in {}) started in {} ms", bootstrap,
                        broker.kafkaDir(), (System.nanoTime() - t0) / 1_000_000);
            } else {
                bootstrap = config.get(ServiceConfig.BOOTSTRAP_SERVERS);
            }
            final Topics topics = topics(config);
            final ServiceMetrics metrics = new ServiceMetrics();
            LocalBlobStore blobStore = null;
            if (onDisk) {
                try {
                    blobStore = new LocalBlobStore(config.blobDir());
                    blobStore.checkWritable();
                } catch (final IOException e) {
                    throw new IOException("cannot open the blob store " + config.blobDir() + " (blob.dir): "
                            + Causes.describe(e), e);
                }
            }
            if (pipeline) {
                // Kafka Streams says only that the directory "doesn't exist and couldn't be created" when it exists
                // and this user cannot write it
                final java.nio.file.Path state = config.dataDir().resolve("state");
                try {
                    Files.createDirectories(state);
                } catch (final IOException e) {
                    throw new IOException("cannot make the state stores' directory " + state + ": "
                            + Causes.describe(e), e);
                }
                if (!Files.isWritable(state)) {
                    throw new IOException("the state stores' directory " + state + " cannot be written by this user");
                }
            }
            ctx = new PipelineContext(blobStore,
                    config.fetchConcurrency(), config.sourceOptions(), config.retryPolicy(),
                    VerificationLimits.defaults(), metrics);
            ctx.setKeepBucketFiles(config.keepBucketFiles(publishing));
            ctx.setOutcomes(new PipelineContext.Outcomes() {
                @Override
                public void verified(final long checkpoint) {
                    metrics.checkpointVerified(checkpoint);
                }

                @Override
                public void failed(final long checkpoint) {
                    metrics.checkpointFailed(checkpoint);
                }
            });
            final Topology topology = pipeline ? HistoryTopology.build(topics, config.topologySettings(), ctx) : null;
            if (topology != null) {
                // one line at INFO; the whole description (also in topology-docs/) at DEBUG
                final var description = topology.describe();
                LOG.info("topology: {} sub-topologies, {} nodes (described in topology-docs/, and at DEBUG)",
                        description.subtopologies().size(), description.subtopologies().stream()
                                .mapToLong(st -> st.nodes().size()).sum());
                LOG.debug("topology:\n{}", description);
            }
            final Map<String, Object> admin = clientProps(config, bootstrap);
            final int rf;
            final Admin a = Admin.create(admin);
            boolean reached = false;
            try {
                // the group and transaction coordinators' topics are created on first use; ask for them now, while
                // the pipeline topics are created, instead of when the stream threads first need them
                a.describeConsumerGroups(List.of(config.get(ServiceConfig.APPLICATION_ID)));
                a.describeTransactions(List.of(config.get(ServiceConfig.APPLICATION_ID) + "-warm-up"));
                rf = replicationFactor(config, a);
                if (topology != null) {
                    // before anything is created for a pairing that is refused
                    PipelineGroups.check(a, config.get(ServiceConfig.APPLICATION_ID), topics.checkpointRequests.name());
                }
                final List<TopicSpec> specs = specs(topics, config.partitions(), rf);
                // their partition counts are a concern of the pipeline's, not of a replay's or a client's; and of one
                // that asked for a count: a worker joining with the default found the topics another worker made
                TopicAdmin.ensureTopics(a, specs, TopicAdmin.DEFAULT_TIMEOUT,
                        topology != null && config.partitionsGiven());
                final List<TopicSpec> all = new ArrayList<>(specs);
                if (topology != null) {
                    // the state stores' changelogs with them (Kafka Streams would create them during its first
                    // rebalance and poll every 100 ms until each is ready), as many partitions as the pipeline
                    // topics have
                    final List<TopicSpec> changelogs = changelogSpecs(topology,
                            config.get(ServiceConfig.APPLICATION_ID),
                            partitionsOf(a, topics.checkpointRequests.name(), config.partitions()), rf);
                    TopicAdmin.ensureTopics(a, changelogs);
                    all.addAll(changelogs);
                }
                awaitLeaders(a, all, Duration.ofSeconds(30));
                if (broker == null || config.schemaRegistryGiven()) {
                    // on a cluster other processes wrote the topics, maybe with another registry; on the embedded
                    // broker a registry given may not be the one its topics were written with (a trial's tail with
                    // another one ran until its first checkpoint met a stored entry it could not read)
                    RegistryCheck.check(admin, topics, io.historystreams.archive.Credentials.strip(
                            config.schemaRegistryUrl()), Duration.ofSeconds(10));
                }
                if (broker != null && broker.restarted()) {
                    endHangingTransactions(a, config, bootstrap);
                }
                reached = true;
            } finally {
                // a cluster that did not answer: the warm-up requests above are still pending, and a plain close
                // waited for them (the error came 60 s after start, saying "within 30 s")
                a.close(reached ? Duration.ofSeconds(30) : Duration.ZERO);
            }
            if (topology != null) {
                final Properties props = streamsProps(config, bootstrap, rf);
                DeadLetterHandlers.configure(props, topics);
                streams = new KafkaStreams(topology, props);
            }
            final HistoryStreamsService[] self = new HistoryStreamsService[1];
            final int port = config.getInt(ServiceConfig.HTTP_PORT);
            if (port >= 0) {
                final SchemaRegistry served = schemasToServe(config, topics.registry());
                health = HealthServer.start(config.get(ServiceConfig.HTTP_BIND), port,
                        () -> self[0] != null && self[0].live(), () -> self[0] != null && self[0].ready(),
                        metrics::scrape, () -> self[0] == null ? "STARTING" : self[0].state.name(), served);
                LOG.info("health and metrics at {}/health/ready and {}/metrics{}", health.url(), health.url(),
                        served == null ? "" : ", the events' schemas at " + health.url() + "/schemas/ids/<id>");
            }
            final HistoryStreamsService service = new HistoryStreamsService(config, broker, bootstrap, topics, ctx,
                    metrics, streams, health);
            self[0] = service;
            if (streams == null) {
                service.state = KafkaStreams.State.RUNNING; // nothing to wait for: ready once the topics are
                Runtime.getRuntime().addShutdownHook(service.shutdownHook);
                return service;
            }
            streams.setStateListener((now, before) -> {
                service.state = now;
                LOG.info("streams {} -> {}", before, now);
            });
            final java.util.concurrent.atomic.AtomicInteger replaced = new java.util.concurrent.atomic.AtomicInteger();
            streams.setUncaughtExceptionHandler(e -> {
                // a transient Kafka error (broker gone, request timed out) that escaped the client's own retries:
                // the thread is replaced (its tasks resume from the last committed transaction), a bounded number
                // of times, instead of taking the whole service down
                if (retriable(e) && replaced.incrementAndGet() <= MAX_THREAD_REPLACEMENTS) {
                    LOG.warn("stream thread failed on a retriable error; replacing it ({} of at most {}): {}",
                            replaced.get(), MAX_THREAD_REPLACEMENTS, e.toString());
                    return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
                }
                LOG.error("stream thread failed; shutting the client down", e);
                service.fatal.compareAndSet(null, e);
                return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
            });
            new KafkaStreamsMetrics(streams).bindTo(metrics.registry());
            // what is still to do: the consumer lag shows none, since the gate takes requests into its stores at once
            final KafkaStreams running = streams;
            io.micrometer.core.instrument.Gauge.builder("history_checkpoints_in_progress",
                            () -> checkpointsInProgress(running))
                    .description("Checkpoints admitted and not verified or failed yet, in this process's tasks "
                            + "(retries waiting included); NaN while the tasks move")
                    .register(metrics.registry());
            awaitRocksDb(rocksDb);
            streams.start();
            // SIGTERM closes the pipeline, the endpoint and the broker within the shutdown timeout
            Runtime.getRuntime().addShutdownHook(service.shutdownHook);
            return service;
        } catch (final RuntimeException | IOException e) {
            if (streams != null) {
                streams.close(Duration.ofSeconds(10));
            }
            if (health != null) {
                health.close();
            }
            if (ctx != null) {
                ctx.close();
            }
            if (broker != null) {
                broker.close();
            }
            throw e;
        }
    }

    /**
     * The registry whose schemas the operations endpoint serves by id, or null: only one with no server of its own
     * (the default directory, or {@code mock://}). A registry server is the consumers' to use; its lookups by id,
     * made with this service's credentials, could return other applications' schemas, and the endpoint asks no
     * credentials of its own.
     */
    static SchemaRegistry schemasToServe(final ServiceConfig config, final SchemaRegistry registry) {
        final String url = config.schemaRegistryUrl();
        return url.startsWith("file:") || url.startsWith("mock:") ? registry : null;
    }

    /** How long hanging transactions whose outcome is not known are looked at again before the start stops. */
    static final Duration UNKNOWN_OUTCOME_WAIT = Duration.ofSeconds(30);

    /** Stream threads replaced after retriable errors before the service gives up (a broker that never returns). */
    static final int MAX_THREAD_REPLACEMENTS = 20;

    /**
     * Transactions a crash left open for good on the embedded broker ({@link io.historystreams.kafka.HangingTransactions}):
     * with them the pipeline would never finish restoring, and every command wait for ever. By default
     * ({@code hanging.transactions=complete}) those whose coordinator's decision is known are ended as it decided
     * (the end marker it failed to write is written), which loses and repeats nothing; any other stops the start
     * with what was found and the way out. {@code fail} stops for any; {@code abort} aborts them all and goes on.
     */
    private static void endHangingTransactions(final Admin a, final ServiceConfig config, final String bootstrap)
            throws IOException {
        final String policy = config.hangingTransactions();
        List<io.historystreams.kafka.HangingTransactions.Hanging> hanging;
        try {
            hanging = io.historystreams.kafka.HangingTransactions.find(a);
            // a coordinator that is still loading its transactions after the restart knows no producer yet: what it
            // decided shows a few seconds later (a trial's start stopped on "no coordinator knows the producer", and
            // the next run, 6 s later, found every one committed)
            final long deadline = System.nanoTime() + UNKNOWN_OUTCOME_WAIT.toNanos();
            while (policy.equals("complete") && !io.historystreams.kafka.HangingTransactions.allKnown(hanging)
                    && System.nanoTime() < deadline) {
                Thread.sleep(1000);
                hanging = io.historystreams.kafka.HangingTransactions.find(a);
            }
        } catch (final Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            LOG.warn("the check for transactions a crash left open did not complete ({}): if the pipeline does not "
                    + "start, stop it and run again", e.toString());
            return;
        }
        if (hanging.isEmpty()) {
            return;
        }
        final String what = hanging.size() + " partition(s) of the embedded broker hold a transaction that a crash "
                + "left open for good (its end marker was never written): " + hanging.stream().limit(10)
                .map(Object::toString).collect(java.util.stream.Collectors.joining(", "))
                + (hanging.size() > 10 ? ", ..." : "");
        if (policy.equals("abort")
                || (policy.equals("complete") && io.historystreams.kafka.HangingTransactions.allKnown(hanging))) {
            LOG.warn("{}; {} ({}={})", what, policy.equals("abort") ? "aborting them"
                    : "ending them as their coordinator did", ServiceConfig.HANGING_TRANSACTIONS, policy);
            try {
                if (policy.equals("abort")) {
                    io.historystreams.kafka.HangingTransactions.abort(a, hanging);
                } else {
                    io.historystreams.kafka.HangingTransactions.complete(a, bootstrap, hanging);
                }
            } catch (final Exception e) {
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                }
                throw new IOException("cannot end the transactions left open: " + e, e);
            }
            return;
        }
        throw new IOException(what + ". Readers of those partitions would wait for ever (the pipeline would not "
                + "start)" + (policy.equals("complete") ? ", and how their coordinator ended them is not known" : "")
                + ". Run again with -D " + ServiceConfig.HANGING_TRANSACTIONS + "=abort to end them: the "
                + "checkpoints in flight at the crash are then verified again, and their events may appear twice "
                + "to read_committed consumers");
    }

    /** True when a Kafka error that is transient by nature is the cause (broker restart, timeouts, fencing). */
    static boolean retriable(final Throwable e) {
        return Causes.find(e, org.apache.kafka.common.errors.RetriableException.class,
                org.apache.kafka.common.errors.TimeoutException.class,
                org.apache.kafka.common.errors.DisconnectException.class,
                org.apache.kafka.streams.errors.TaskMigratedException.class,
                org.apache.kafka.common.errors.ProducerFencedException.class,
                org.apache.kafka.common.errors.InvalidProducerEpochException.class) != null
                || commitTimedOut(e);
    }

    /**
     * A transaction commit that timed out (a broker outage of minutes) leaves the thread's producer refusing every
     * send until the commit is retried, which Kafka Streams does not do: the next flush failed with "Cannot attempt
     * operation `send` because the previous call to `commitTransaction` timed out and must be retried", and a trial's
     * worker stopped while its peers recovered. A new thread (a new producer, fencing the old one) recovers.
     */
    static boolean commitTimedOut(final Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof IllegalStateException && c.getMessage() != null
                    && c.getMessage().contains("timed out and must be retried")) {
                return true;
            }
        }
        return false;
    }

    /**
     * Waits until every partition of new topics has a leader, so the first records written to them are not
     * refused (NOT_LEADER_OR_FOLLOWER) and retried at length by the producers.
     */
    private static void awaitLeaders(final Admin admin, final List<TopicSpec> specs, final Duration timeout) {
        final List<String> names = specs.stream().map(TopicSpec::name).toList();
        final long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            try {
                final boolean ready = admin.describeTopics(names).allTopicNames().get(10, TimeUnit.SECONDS).values()
                        .stream().allMatch(d -> d.partitions().stream().allMatch(p -> p.leader() != null
                                && !p.leader().isEmpty()));
                if (ready) {
                    return;
                }
            } catch (final Exception e) {
                LOG.debug("topic leaders not known yet: {}", e.toString());
            }
            try {
                Thread.sleep(100);
            } catch (final InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        LOG.warn("some topic partitions still have no leader after {}", timeout);
    }

    /** The replication factor of new topics: {@code replication.factor}, or min(3, brokers). */
    public static int replicationFactor(final ServiceConfig config, final Admin admin) {
        return replicationFactor(config, admin, 30_000);
    }

    /** As {@link #replicationFactor(ServiceConfig, Admin)}, waiting {@code timeoutMs} at most for the cluster. */
    static int replicationFactor(final ServiceConfig config, final Admin admin, final int timeoutMs) {
        final String configured = config.get(ServiceConfig.REPLICATION_FACTOR);
        if (configured != null && !configured.isBlank()) {
            return Integer.parseInt(configured.trim());
        }
        try {
            final int brokers = admin.describeCluster(new org.apache.kafka.clients.admin.DescribeClusterOptions()
                    .timeoutMs(timeoutMs)).nodes().get(timeoutMs, TimeUnit.MILLISECONDS).size();
            return Math.max(1, Math.min(3, brokers));
        } catch (final java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
            throw RemotePipeline.unreachable(config.get(ServiceConfig.BOOTSTRAP_SERVERS), timeoutMs, e);
        } catch (final InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while reaching the Kafka cluster", e);
        }
    }

    /** The topics with their partitions, replication and configs (compaction where records are state). */
    public static List<TopicSpec> specs(final Topics topics, final int partitions, final int rf) {
        final List<TopicSpec> out = new ArrayList<>();
        for (final Topic<?, ?> t : topics.all()) {
            final int p = t == topics.tailState ? 1 : partitions;
            out.add(new TopicSpec(t.name(), p, (short) rf, t.configs()));
        }
        return out;
    }

    /**
     * The changelog topics Kafka Streams uses for the topology's state stores ({@code <application.id>-<store>-changelog},
     * compacted), with {@code partitions} partitions (the source topics' count: Streams refuses a changelog with
     * another count).
     */
    static List<TopicSpec> changelogSpecs(final Topology topology, final String applicationId, final int partitions,
            final int rf) {
        final java.util.SortedSet<String> stores = new java.util.TreeSet<>();
        for (final org.apache.kafka.streams.TopologyDescription.Subtopology st : topology.describe().subtopologies()) {
            for (final org.apache.kafka.streams.TopologyDescription.Node n : st.nodes()) {
                if (n instanceof org.apache.kafka.streams.TopologyDescription.Processor proc) {
                    stores.addAll(proc.stores());
                }
            }
        }
        final List<TopicSpec> out = new ArrayList<>();
        for (final String store : stores) {
            out.add(new TopicSpec(applicationId + "-" + store + "-changelog", partitions, (short) rf,
                    Map.of("cleanup.policy", "compact", "max.message.bytes",
                            Integer.toString(Topics.MAX_MESSAGE_BYTES))));
        }
        return out;
    }

    /** Partitions of an existing topic (topics created by an earlier run keep theirs), or {@code fallback}. */
    public static int partitionsOf(final Admin admin, final String topic, final int fallback) {
        try {
            return admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS).get(topic)
                    .partitions().size();
        } catch (final Exception e) {
            LOG.debug("cannot describe {}: {}", topic, e.toString());
            return fallback;
        }
    }

    /** The open-file limit below which the embedded broker is warned of (it used ~370 for testnet-small). */
    static final long OPEN_FILES_WANTED = 1024;

    /**
     * Says so when the open-file limit ({@code ulimit -n}) is below {@link #OPEN_FILES_WANTED}: the broker's segments
     * and RocksDB's files ran out under 256, failing with "Too many open files" at the end of a long message, or
     * only "Failed to construct kafka producer" under 128.
     */
    private static void warnOfALowOpenFileLimit() {
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.UnixOperatingSystemMXBean os
                && os.getMaxFileDescriptorCount() < OPEN_FILES_WANTED) {
            LOG.warn("the open-file limit is {} (ulimit -n): the embedded broker and the state stores use about 400 "
                    + "for a small archive, more as the data grows; raise it to {} or more (a run that fails with "
                    + "\"Too many open files\" or a fatal broker fault ran out)", os.getMaxFileDescriptorCount(),
                    OPEN_FILES_WANTED);
        }
    }

    /**
     * Loads RocksDB's native library ({@link NativeLibraries}: from a copy under the data dir, made at the first
     * start, ~150 ms) on a daemon thread while the broker starts, instead of when the stream threads open their first
     * state store after the rebalance.
     */
    private static java.util.concurrent.CompletableFuture<NativeLibraries.Outcome> preloadRocksDb(
            final java.nio.file.Path dataDir) {
        // the common pool's threads are daemons: a start that fails before the wait leaves nothing running
        return java.util.concurrent.CompletableFuture.supplyAsync(() -> NativeLibraries.loadRocksDb(dataDir));
    }

    /**
     * Waits for the library before the stream threads start (it is loaded by then, unless the machine is very busy).
     * A library that cannot be loaded stops the start with the reason: left to the stream threads, a failure to map
     * it (a {@code /tmp} mounted {@code noexec}) left RocksDB's loader marked "loading", and every stream thread
     * waited for it for ever, with no error.
     */
    private static void awaitRocksDb(final java.util.concurrent.CompletableFuture<NativeLibraries.Outcome> loading)
            throws IOException {
        try {
            final NativeLibraries.Outcome outcome = loading.get(120, TimeUnit.SECONDS);
            if (outcome != null && outcome.copyFailure() != null) {
                LOG.warn("RocksDB's native library is loaded from a temp file in {}, not from a copy in the data dir "
                        + "({}: {}); a process killed (kill -9) leaves that temp file (15 MB) behind", rocksDbDir(),
                        outcome.copy(), outcome.copyFailure());
            }
        } catch (final java.util.concurrent.ExecutionException e) {
            final String copy = e.getCause() instanceof NativeLibraries.NotLoaded n && n.copyFailure != null
                    ? "from a copy in the data dir (" + n.copy + ": " + n.copyFailure + "), nor " : "";
            final String why = e.getCause() instanceof NativeLibraries.NotLoaded ? e.getCause().getMessage()
                    : String.valueOf(e.getCause());
            throw new IOException("cannot load RocksDB's native library, which the pipeline's state stores need, "
                    + copy + "extracted to " + rocksDbDir() + " (" + why + "); is that "
                    + "directory missing, full or mounted noexec? Set ROCKSDB_SHAREDLIB_DIR (or -Djava.io.tmpdir, "
                    + "through HISTORY_STREAMS_EXTRA_JAVA_OPTS) to a directory it can be loaded from", e.getCause());
        } catch (final java.util.concurrent.TimeoutException e) {
            throw new IOException("RocksDB's native library is still loading after 120 s (from " + rocksDbDir()
                    + "); see ROCKSDB_SHAREDLIB_DIR", e);
        } catch (final InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while loading RocksDB's native library", e);
        }
    }

    private static String rocksDbDir() {
        final String dir = System.getenv("ROCKSDB_SHAREDLIB_DIR");
        return dir != null && !dir.isEmpty() ? dir + " (ROCKSDB_SHAREDLIB_DIR)"
                : System.getProperty("java.io.tmpdir") + " (java.io.tmpdir)";
    }

    /** The pipeline's topics as {@code config} names them (topic prefix) and serializes them (schema registry). */
    public static Topics topics(final ServiceConfig config) {
        return new Topics(config.get(ServiceConfig.TOPIC_PREFIX), SchemaRegistry.forUrl(config.schemaRegistryUrl()));
    }

    /** Settings every client of this service uses: bootstrap servers plus the pass-through Kafka settings. */
    public static Map<String, Object> clientProps(final ServiceConfig config, final String bootstrap) {
        final Map<String, Object> m = new HashMap<>(config.kafkaClientSettings());
        m.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        if (config.embedded()) {
            m.putIfAbsent(CommonClientConfigs.RETRY_BACKOFF_MS_CONFIG, Topics.EMBEDDED_RETRY_BACKOFF_MS);
            // for every consumer that joins a group (the stream threads', the publish runners'): see the constant
            EMBEDDED_GROUP_TIMEOUTS.forEach(m::putIfAbsent);
        }
        return m;
    }

    static Properties streamsProps(final ServiceConfig config, final String bootstrap, final int rf) {
        final Properties p = new Properties();
        p.putAll(clientProps(config, bootstrap));
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, config.get(ServiceConfig.APPLICATION_ID));
        // the dead-letter handlers are created by Kafka from class names and find the registry through this
        p.put(ServiceConfig.SCHEMA_REGISTRY_URL, config.schemaRegistryUrl());
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, config.getInt(ServiceConfig.STREAM_THREADS));
        p.put(StreamsConfig.STATE_DIR_CONFIG, config.dataDir().resolve("state").toString());
        p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, rf);
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, config.getInt(ServiceConfig.COMMIT_INTERVAL_MS));
        p.put(StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG), Topics.MAX_MESSAGE_BYTES + 65536);
        clientDefault(p, StreamsConfig.PRODUCER_PREFIX, ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
        p.put(StreamsConfig.producerPrefix(ProducerConfig.ACKS_CONFIG), "all");
        // a verified checkpoint writes 64 ledger events (~1.2 KB each, 12 MB for testnet-small's 157 checkpoints),
        // which Kafka's 16 KiB default split into many small produce requests that each commit's flush waited for
        // (ingest 4.37 -> 3.64 s, see bench/README.md)
        clientDefault(p, StreamsConfig.PRODUCER_PREFIX, ProducerConfig.BATCH_SIZE_CONFIG, Topics.PRODUCER_BATCH_BYTES);
        // restoring a task's stores ends with a fetch that returns nothing new (an empty changelog, or one read to its
        // end): the broker holds such a fetch for fetch.max.wait.ms (500 ms by default), and the state updater
        // restores tasks in rounds, so a fresh start waited ~1 s before the first record was processed
        clientDefault(p, StreamsConfig.RESTORE_CONSUMER_PREFIX, ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG,
                Topics.FOLLOW_FETCH_MAX_WAIT_MS);
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG),
                Topics.MAX_MESSAGE_BYTES + 65536);
        p.put(StreamsConfig.topicPrefix("max.message.bytes"), Integer.toString(Topics.MAX_MESSAGE_BYTES));
        p.putIfAbsent(StreamsConfig.ROCKSDB_CONFIG_SETTER_CLASS_CONFIG, RocksDbLogs.class.getName());
        return p;
    }

    /**
     * Group session settings of the consumers that join groups on the embedded broker: one process per data dir (the
     * broker's lock), so the members in a group at start are a killed process's, and the first rebalance waits for
     * their sessions to expire before it assigns anything: 45 s (Kafka's default) in REBALANCING after a kill -9, 10 s
     * with these. Heartbeats come from the consumers' own threads, not the processing loop. {@code kafka.*} wins.
     */
    public static final Map<String, Object> EMBEDDED_GROUP_TIMEOUTS = Map.of(
            ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000, ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 2_000);

    /**
     * Sets a default for one kind of the pipeline's clients ({@code prefix}: Kafka Streams' {@code producer.},
     * {@code restore.consumer.}, ...) unless the operator chose a value, for every client ({@code kafka.<key>}) or for
     * that kind ({@code kafka.<prefix><key>}).
     */
    private static void clientDefault(final Properties p, final String prefix, final String key, final Object value) {
        if (!p.containsKey(key) && !p.containsKey(prefix + key)) {
            p.put(prefix + key, value);
        }
    }

    public boolean live() {
        return fatal.get() == null && state != KafkaStreams.State.ERROR && state != KafkaStreams.State.PENDING_ERROR
                && state != KafkaStreams.State.NOT_RUNNING;
    }

    public boolean ready() {
        return state == KafkaStreams.State.RUNNING;
    }

    public KafkaStreams.State state() {
        return state;
    }

    /** The error that stopped the pipeline, or null. */
    public Throwable fatalError() {
        return fatal.get();
    }

    /**
     * Why the pipeline stopped, for an operator: Kafka Streams wraps the cause in exceptions whose own text gives
     * advice that does not apply here ("set the deserialization exception handler appropriately"); a record written
     * with another schema registry is said as such. Null while the pipeline runs.
     */
    public String fatalReason() {
        final Throwable e = fatal.get();
        if (e == null) {
            return null;
        }
        final Throwable mismatch = Causes.find(e, AvroSerde.RegistryMismatchException.class);
        if (mismatch != null) {
            return "a record was written with another schema registry (" + mismatch.getMessage() + "): "
                    + AvroSerde.RegistryMismatchException.ADVICE;
        }
        final Throwable store = Causes.find(e, io.historystreams.blob.BlobStoreFailure.class);
        if (store != null) {
            return store.getMessage() + " (blob store " + config.blobDir()
                    + "): is its disk full, or not writable by this user? Nothing verified is lost, and no source is "
                    + "blamed: the same command run again, once the store can be written, does the checkpoints that "
                    + "were in flight";
        }
        final Throwable root = Causes.root(e);
        return root == e ? e.toString() : e + " (cause: " + root + ")";
    }

    /**
     * Checkpoints the gates of this process's tasks have admitted and no verdict ended yet (in flight, or waiting for
     * a retry), or NaN when the stores cannot be read now (a rebalance).
     */
    static double checkpointsInProgress(final KafkaStreams streams) {
        if (streams.state() != KafkaStreams.State.RUNNING) {
            return Double.NaN;
        }
        try {
            final java.util.Set<Long> open = new java.util.HashSet<>();
            for (final String name : List.of(HistoryTopology.INFLIGHT_STORE, HistoryTopology.RETRY_STORE)) {
                final org.apache.kafka.streams.state.ReadOnlyKeyValueStore<Long, Object> store = streams.store(
                        org.apache.kafka.streams.StoreQueryParameters.fromNameAndType(name,
                                org.apache.kafka.streams.state.QueryableStoreTypes.keyValueStore()));
                try (org.apache.kafka.streams.state.KeyValueIterator<Long, Object> it = store.all()) {
                    it.forEachRemaining(kv -> open.add(kv.key));
                }
            }
            return open.size();
        } catch (final org.apache.kafka.streams.errors.InvalidStateStoreException e) {
            return Double.NaN;
        }
    }

    /** Active tasks on this instance (how the partitions are split between instances). */
    public int activeTaskCount() {
        return streams == null ? 0 : streams.metadataForLocalThreads().stream().mapToInt(t -> t.activeTasks().size())
                .sum();
    }

    public String bootstrapServers() {
        return bootstrapServers;
    }

    public Topics topics() {
        return topics;
    }

    public ServiceConfig config() {
        return config;
    }

    public PipelineContext context() {
        return context;
    }

    public ServiceMetrics metrics() {
        return metrics;
    }

    public HealthServer health() {
        return health;
    }

    /** Client settings for producers and consumers the commands create next to the pipeline. */
    public Map<String, Object> clientProps() {
        return clientProps(config, bootstrapServers);
    }

    /** Waits until the pipeline is RUNNING (or failed). */
    public boolean awaitRunning(final Duration timeout) throws InterruptedException {
        final long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (state == KafkaStreams.State.RUNNING) {
                return true;
            }
            if (!live()) {
                return false;
            }
            Thread.sleep(50);
        }
        return false;
    }

    /**
     * Starts keeping the blob store under {@code blob.max.bytes} (when set, and the store is local): blobs are
     * evicted once their checkpoints are verified and published to every one of {@code targets} (target names as
     * in {@code CheckpointPublished.target}; none: verified is enough). Called once the targets are known.
     */
    public synchronized void startBlobEviction(final java.util.Set<String> targets) {
        final long max = config.blobMaxBytes();
        if (max <= 0 || evictor != null || closed) {
            return;
        }
        if (!(context.blobs() instanceof LocalBlobStore local)) {
            LOG.warn("blob.max.bytes is set but the blob store is not local; not evicting");
            return;
        }
        evictor = new BlobEvictor(local, max, clientProps(), topics, targets);
        evictor.start();
        LOG.info("blob store limited to {} bytes (evicting blobs of checkpoints verified and published to {})", max,
                targets.isEmpty() ? "no target" : targets.size() + " target(s)");
    }

    /**
     * Has {@code c} closed at the start of {@link #close()}, before the pipeline and the broker (in the reverse order
     * of registration): clients of the service's broker, such as the publish runners, leave their groups while it still
     * runs, also when a SIGTERM closes the service under the command. Otherwise their members stayed in the groups for a
     * session timeout, and the next run on the data dir waited that long (45 s) before publishing.
     */
    public void closeFirst(final AutoCloseable c) {
        synchronized (closeFirst) {
            closeFirst.add(0, c);
        }
    }

    /** True once {@link #close()} started (for example on SIGTERM). */
    public boolean closing() {
        return closed;
    }

    /**
     * Makes a signal's shutdown wait, once the service is closed, until the returned handle is closed (10 s at most):
     * the command then says what was decided before the signal (its summary and report). Without it the JVM halted as
     * soon as the service was closed, and the command's last words were lost.
     */
    public AutoCloseable holdShutdown() {
        final java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
        commandDone = done;
        return done::countDown;
    }

    private void awaitCommand() {
        final java.util.concurrent.CountDownLatch done = commandDone;
        if (done != null) {
            try {
                if (!done.await(10, java.util.concurrent.TimeUnit.SECONDS)) {
                    LOG.warn("the command did not finish within 10 s of the shutdown");
                }
            } catch (final InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Stops the pipeline, the endpoint and the embedded broker, within the configured shutdown timeout. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (Thread.currentThread() != shutdownHook) {
            try {
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            } catch (final IllegalStateException e) {
                // the JVM is already shutting down
            }
        }
        final Duration timeout = Duration.ofSeconds(config.getInt(ServiceConfig.SHUTDOWN_TIMEOUT_SECONDS));
        final long t0 = System.nanoTime();
        final List<AutoCloseable> first;
        synchronized (closeFirst) {
            first = List.copyOf(closeFirst);
        }
        for (final AutoCloseable c : first) {
            try {
                c.close();
            } catch (final Exception e) {
                LOG.warn("closing {} failed: {}", c, e.toString());
            }
        }
        // leave the consumer group: Streams' members otherwise stay in it until their session times out, and the
        // next run of this application (or the rest of the group) waits that long in its first rebalance; a close
        // during that rebalance waited for it too (30 s when a range needed no work)
        if (streams != null && !streams.close(org.apache.kafka.streams.CloseOptions.timeout(timeout)
                .withGroupMembershipOperation(
                        org.apache.kafka.streams.CloseOptions.GroupMembershipOperation.LEAVE_GROUP))) {
            LOG.warn("streams did not close within {}", timeout);
        }
        if (evictor != null) {
            evictor.close();
        }
        if (health != null) {
            health.close();
        }
        context.close();
        if (broker != null) {
            broker.close();
        }
        LOG.info("stopped in {} ms", (System.nanoTime() - t0) / 1_000_000);
    }
}
