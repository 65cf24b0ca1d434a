package io.historystreams.kafka;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A single-node, in-process Apache Kafka broker (KRaft combined broker+controller) whose data lives under a
 * caller-supplied directory and survives restarts; it is the service's default when no bootstrap servers are given
 * and the broker every integration test uses. Not for production: one node, replication factor 1, loopback only.
 */
public final class EmbeddedKafkaBroker implements AutoCloseable {

    /**
     * Pseudo-override (not a Kafka config, removed before the broker sees it): a fixed client listener port.
     * A fixed port that is busy makes {@link #start} fail instead of falling back to another port.
     */
    public static final String BROKER_PORT = "embedded.broker.port";

    /** Pseudo-override (not a Kafka config): a fixed controller listener port. Busy means fail. */
    public static final String CONTROLLER_PORT = "embedded.controller.port";

    /** Sub-directory of the caller's data directory that holds everything the broker writes. */
    public static final String KAFKA_SUBDIR = "kafka";

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafkaBroker.class);

    private static final String HOST = "127.0.0.1";
    private static final int NODE_ID = 1;
    private static final String BROKER_LISTENER = "PLAINTEXT";
    private static final String CONTROLLER_LISTENER = "CONTROLLER";
    private static final String STATE_FILE = "embedded-broker.properties";
    private static final String LOCK_FILE = "embedded-broker.lock";
    private static final String LOG_SUBDIR = "logs";
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);

    private final Path kafkaDir;
    private final Path logDir;
    private final Map<String, String> overrides;
    private final int brokerPort;
    private final int controllerPort;
    private final String clusterId;
    /** Whether this start found storage formatted before (a restart: a crash may have left transactions open). */
    private volatile boolean restarted;

    private final FileChannel lockChannel;

    private KafkaRaftServer server;
    private boolean closed;

    private EmbeddedKafkaBroker(final Path kafkaDir, final Map<String, String> overrides, final int brokerPort,
            final int controllerPort, final String clusterId, final FileChannel lockChannel) {
        this.lockChannel = lockChannel;
        this.kafkaDir = kafkaDir;
        this.logDir = kafkaDir.resolve(LOG_SUBDIR);
        this.overrides = overrides;
        this.brokerPort = brokerPort;
        this.controllerPort = controllerPort;
        this.clusterId = clusterId;
    }

    /**
     * Starts a broker whose data lives under {@code dataDir/kafka}, formatting the storage on first use only, and
     * returns once the broker answers admin requests.
     *
     * <p>Ports: on first use two free loopback ports are chosen (or those given by {@link #BROKER_PORT} /
     * {@link #CONTROLLER_PORT}) and remembered in {@code dataDir/kafka/embedded-broker.properties}; later starts
     * on the same directory reuse them, so clients that cached the address reconnect. If a remembered port is now
     * taken by another process, a new free one is chosen (with a WARN) and remembered; an explicitly configured
     * port that is busy fails the start.
     *
     * @param dataDir   directory the broker's data lives under (created if missing)
     * @param overrides broker config overrides (win over the defaults), plus the pseudo-keys above
     * @return the running broker
     * @throws EmbeddedKafkaException if the storage cannot be prepared or the broker does not come up in time
     */
    public static EmbeddedKafkaBroker start(final Path dataDir, final Map<String, String> overrides) {
        final Path kafkaDir = dataDir.toAbsolutePath().normalize().resolve(KAFKA_SUBDIR);
        final Map<String, String> brokerOverrides = new LinkedHashMap<>(overrides == null ? Map.of() : overrides);
        final Integer fixedBrokerPort = parsePort(brokerOverrides.remove(BROKER_PORT), BROKER_PORT);
        final Integer fixedControllerPort = parsePort(brokerOverrides.remove(CONTROLLER_PORT), CONTROLLER_PORT);
        try {
            Files.createDirectories(kafkaDir.resolve(LOG_SUBDIR));
        } catch (final IOException e) {
            throw new EmbeddedKafkaException("cannot create the embedded broker's data directory " + kafkaDir + " ("
                    + Causes.describe(e) + ")", e);
        }
        final FileChannel lockChannel = lockDataDir(kafkaDir);
        try {
            final Path logDir = kafkaDir.resolve(LOG_SUBDIR);
            for (int attempt = 1; ; attempt++) {
                final Properties state = readState(kafkaDir);
                final String existingClusterId = readClusterId(logDir);
                final int brokerPort = choosePort("broker", fixedBrokerPort, state.getProperty("broker.port"), -1);
                final int controllerPort = choosePort("controller", fixedControllerPort,
                        state.getProperty("controller.port"), brokerPort);
                final String clusterId = existingClusterId != null ? existingClusterId : Uuid.randomUuid().toString();
                final EmbeddedKafkaBroker broker = new EmbeddedKafkaBroker(kafkaDir, Map.copyOf(brokerOverrides),
                        brokerPort, controllerPort, clusterId, lockChannel);
                final Path configFile = broker.writeConfigFile();
                if (existingClusterId == null) {
                    broker.format(configFile);
                }
                broker.restarted = existingClusterId != null;
                try {
                    broker.startServer();
                } catch (final EmbeddedKafkaException e) {
                    // a port found free a moment ago was taken by someone else before Kafka bound it: choose again
                    final boolean portsChosenHere = fixedBrokerPort == null && fixedControllerPort == null;
                    if (portsChosenHere && attempt < 3 && isBindFailure(e)) {
                        LOG.warn("Embedded Kafka broker could not bind port {} or {}; retrying with other ports",
                                brokerPort, controllerPort);
                        deleteState(kafkaDir);
                        continue;
                    }
                    throw e;
                }
                final Properties newState = new Properties();
                newState.setProperty("broker.port", Integer.toString(brokerPort));
                newState.setProperty("controller.port", Integer.toString(controllerPort));
                newState.setProperty("cluster.id", clusterId);
                writeState(kafkaDir, newState);
                return broker;
            }
        } catch (final RuntimeException e) {
            closeQuietly(lockChannel);
            throw e;
        }
    }

    /** Starts a broker under {@code dataDir} with no overrides; see {@link #start(Path, Map)}. */
    public static EmbeddedKafkaBroker start(final Path dataDir) {
        return start(dataDir, Map.of());
    }

    /** The {@code bootstrap.servers} value for clients, e.g. {@code 127.0.0.1:40123}; stable across restarts. */
    public String bootstrapServers() {
        return HOST + ":" + brokerPort;
    }

    /** The client listener port. */
    public int brokerPort() {
        return brokerPort;
    }

    /** The KRaft controller listener port (internal; clients never need it). */
    public int controllerPort() {
        return controllerPort;
    }

    /** Whether this start found the storage formatted by an earlier one (its data dir was used before). */
    public boolean restarted() {
        return restarted;
    }

    /** The cluster id written when the storage was formatted; unchanged by restarts. */
    public String clusterId() {
        return clusterId;
    }

    /** The directory holding the broker's state file and its log directory ({@code <dataDir>/kafka}). */
    public Path kafkaDir() {
        return kafkaDir;
    }

    /** True between a successful start/restart and the next stop/close. */
    public synchronized boolean isRunning() {
        return server != null;
    }

    /**
     * Stops the broker cleanly (controlled shutdown, logs flushed), keeping its data; a no-op when already stopped.
     * Bounded: gives up waiting after 30 s and logs an error.
     */
    public synchronized void stop() {
        final KafkaRaftServer running = server;
        if (running == null) {
            return;
        }
        server = null;
        final long t0 = System.nanoTime();
        final CompletableFuture<Void> shutdown = CompletableFuture.runAsync(() -> {
            running.shutdown();
            running.awaitShutdown();
        }, runnable -> {
            final Thread t = new Thread(runnable, "embedded-kafka-shutdown");
            t.setDaemon(true);
            t.start();
        });
        try {
            shutdown.get(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            LOG.info("Embedded Kafka broker {} stopped in {} ms", bootstrapServers(), elapsedMs(t0));
        } catch (final TimeoutException e) {
            LOG.error("Embedded Kafka broker {} did not stop within {} s; leaving its shutdown thread behind",
                    bootstrapServers(), STOP_TIMEOUT.toSeconds());
        } catch (final InterruptedException e) {
            Thread.currentThread().interrupt();
            LOG.warn("Interrupted while stopping the embedded Kafka broker {}", bootstrapServers());
        } catch (final ExecutionException e) {
            LOG.warn("Error while stopping the embedded Kafka broker {}", bootstrapServers(), e.getCause());
        }
    }

    /**
     * Stops the broker if it runs and starts it again on the same data, ports and cluster id; returns once it
     * answers admin requests. Clients keep working across it (they reconnect to the same address).
     *
     * @throws EmbeddedKafkaException if the broker does not come back, or it was closed
     */
    public synchronized void restart() {
        if (closed) {
            throw new IllegalStateException("embedded Kafka broker at " + bootstrapServers() + " is closed");
        }
        stop();
        startServer();
    }

    /** Stops the broker (see {@link #stop()}) and marks it closed; idempotent. The data stays on disk. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            stop();
        } finally {
            closeQuietly(lockChannel);
        }
    }

    private synchronized void startServer() {
        if (closed) {
            throw new IllegalStateException("embedded Kafka broker at " + bootstrapServers() + " is closed");
        }
        if (server != null) {
            return;
        }
        final long t0 = System.nanoTime();
        final KafkaRaftServer created;
        try {
            created = new KafkaRaftServer(new KafkaConfig(brokerConfig(), false), Time.SYSTEM);
        } catch (final RuntimeException e) {
            throw new EmbeddedKafkaException("cannot create the embedded Kafka broker on " + logDir + ": "
                    + e.getMessage(), e);
        }
        try {
            created.startup();
        } catch (final RuntimeException e) {
            shutdownQuietly(created);
            throw new EmbeddedKafkaException("embedded Kafka broker failed to start on " + bootstrapServers()
                    + " (data " + logDir + "): " + rootMessage(e), e);
        }
        server = created;
        try {
            awaitReady();
        } catch (final RuntimeException e) {
            stop();
            throw e;
        }
        LOG.info("Embedded Kafka broker up at {} (cluster {}, data {}) in {} ms", bootstrapServers(), clusterId,
                logDir, elapsedMs(t0));
    }

    private Map<String, Object> brokerConfig() {
        final Map<String, Object> p = new HashMap<>();
        p.put("process.roles", "broker,controller");
        p.put("node.id", Integer.toString(NODE_ID));
        p.put("controller.quorum.voters", NODE_ID + "@" + HOST + ":" + controllerPort);
        p.put("listeners", BROKER_LISTENER + "://" + HOST + ":" + brokerPort + ","
                + CONTROLLER_LISTENER + "://" + HOST + ":" + controllerPort);
        p.put("advertised.listeners", BROKER_LISTENER + "://" + HOST + ":" + brokerPort);
        p.put("listener.security.protocol.map", BROKER_LISTENER + ":PLAINTEXT," + CONTROLLER_LISTENER + ":PLAINTEXT");
        p.put("controller.listener.names", CONTROLLER_LISTENER);
        p.put("inter.broker.listener.name", BROKER_LISTENER);
        p.put("log.dirs", logDir.toString());
        p.put("metadata.log.dir", logDir.toString());
        // a single node: every internal topic has one replica
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "5");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("transaction.state.log.num.partitions", "5");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        p.put("share.coordinator.state.topic.num.partitions", "1");
        p.put("default.replication.factor", "1");
        p.put("min.insync.replicas", "1");
        p.put("num.partitions", "1");
        // fast and small
        p.put("group.initial.rebalance.delay.ms", "0");
        // topics are created explicitly with their partitions and configs; a consumer asking for a missing topic
        // must not create it with broker defaults (that would break co-partitioning)
        p.put("auto.create.topics.enable", "false");
        p.put("log.cleaner.dedupe.buffer.size", Integer.toString(2 * 1024 * 1024));
        p.put("log.cleaner.threads", "1");
        p.put("num.network.threads", "2");
        p.put("num.io.threads", "4");
        p.put("num.recovery.threads.per.data.dir", "1");
        p.put("controlled.shutdown.enable", "true");
        // The data dir holds an archive's verified history: its events (ledgers-verified above all) and the groups'
        // committed offsets are kept until the data dir is deleted, not for Kafka's default 7 days (after which a
        // replay of ledger events found nothing, and an idle Streams application or publish target started over).
        p.put("log.retention.ms", "-1");
        p.put("offsets.retention.minutes", Integer.toString(Integer.MAX_VALUE));
        p.putAll(overrides);
        return p;
    }

    /** Writes the effective broker config to {@code <kafkaDir>/server.properties} (informational, and for format). */
    private Path writeConfigFile() {
        final Path configFile = kafkaDir.resolve("server.properties");
        final Properties props = new Properties();
        brokerConfig().forEach((k, v) -> props.setProperty(k, String.valueOf(v)));
        try (OutputStream out = Files.newOutputStream(configFile)) {
            props.store(out, "effective config of the embedded Kafka broker (written at each start; informational)");
        } catch (final IOException e) {
            throw new EmbeddedKafkaException("cannot write " + configFile, e);
        }
        return configFile;
    }

    /** Formats the storage: the same code path as {@code kafka-storage.sh format}, fed the broker's own config. */
    private void format(final Path configFile) {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final int rc;
        try (PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8)) {
            rc = StorageTool.execute(new String[] {"format", "--config", configFile.toString(),
                "--cluster-id", clusterId}, ps);
        } catch (final Exception e) {
            throw new EmbeddedKafkaException("cannot format Kafka storage in " + logDir + ": " + e.getMessage()
                    + describeOutput(out), e);
        }
        if (rc != 0) {
            throw new EmbeddedKafkaException("cannot format Kafka storage in " + logDir + ": exit code " + rc
                    + describeOutput(out));
        }
        LOG.info("Formatted embedded Kafka storage in {} (cluster {})", logDir, clusterId);
    }

    private static String describeOutput(final ByteArrayOutputStream out) {
        final String text = out.toString(StandardCharsets.UTF_8).trim();
        return text.isEmpty() ? "" : " (" + text + ")";
    }

    private void awaitReady() {
        final long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        final Map<String, Object> conf = Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
                AdminClientConfig.CLIENT_ID_CONFIG, "embedded-broker-readiness",
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000",
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "10000",
                AdminClientConfig.RETRY_BACKOFF_MS_CONFIG, "100");
        Exception last = null;
        try (Admin admin = Admin.create(conf)) {
            while (System.nanoTime() < deadline) {
                try {
                    final DescribeClusterResult r = admin.describeCluster(new DescribeClusterOptions().timeoutMs(5000));
                    final Collection<Node> nodes = r.nodes().get(10, TimeUnit.SECONDS);
                    final String id = r.clusterId().get(10, TimeUnit.SECONDS);
                    if (!nodes.isEmpty() && clusterId.equals(id)) {
                        return;
                    }
                    last = new IllegalStateException("cluster " + id + " reports nodes " + nodes);
                } catch (final ExecutionException | TimeoutException e) {
                    last = e;
                }
                Thread.sleep(100);
            }
        } catch (final InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EmbeddedKafkaException("interrupted while waiting for the embedded Kafka broker", e);
        }
        throw new EmbeddedKafkaException("embedded Kafka broker at " + bootstrapServers() + " not ready within "
                + READY_TIMEOUT.toSeconds() + " s" + (last == null ? "" : ": " + rootMessage(last)), last);
    }

    private static void shutdownQuietly(final KafkaRaftServer s) {
        try {
            s.shutdown();
            s.awaitShutdown();
        } catch (final RuntimeException e) {
            LOG.debug("error shutting down a broker that failed to start", e);
        }
    }

    private static int choosePort(final String what, final Integer fixed, final String remembered,
            final int avoid) {
        if (fixed != null) {
            if (fixed != 0) {
                if (!isFree(fixed)) {
                    throw new EmbeddedKafkaException("embedded Kafka " + what + " port " + fixed
                            + " (configured) is already in use on " + HOST);
                }
                return fixed;
            }
        } else if (remembered != null) {
            final int port = parsePort(remembered, what + ".port in " + STATE_FILE);
            if (port != avoid && isFree(port)) {
                return port;
            }
            final int fresh = freePort(avoid);
            LOG.warn("Embedded Kafka {} port {} remembered from the last run is in use; using {} instead",
                    what, port, fresh);
            return fresh;
        }
        return freePort(avoid);
    }

    private static boolean isFree(final int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(InetAddress.getByName(HOST), port));
            return true;
        } catch (final IOException e) {
            return false;
        }
    }

    private static int freePort(final int avoid) {
        for (int i = 0; i < 10; i++) {
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress(true);
                s.bind(new InetSocketAddress(InetAddress.getByName(HOST), 0));
                final int port = s.getLocalPort();
                if (port != avoid) {
                    return port;
                }
            } catch (final IOException e) {
                throw new EmbeddedKafkaException("cannot find a free port on " + HOST, e);
            }
        }
        throw new EmbeddedKafkaException("cannot find a free port on " + HOST);
    }

    private static Integer parsePort(final String value, final String key) {
        if (value == null || value.isBlank()) {
            return null;
        }
        try {
            final int port = Integer.parseInt(value.trim());
            if (port < 0 || port > 65_535) {
                throw new NumberFormatException("out of range");
            }
            return port;
        } catch (final NumberFormatException e) {
            throw new EmbeddedKafkaException(key + " must be a port number 0-65535, got '" + value + "'", e);
        }
    }

    private static FileChannel lockDataDir(final Path kafkaDir) {
        final Path lockFile = kafkaDir.resolve(LOCK_FILE);
        FileChannel channel = null;
        try {
            channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            final FileLock lock = channel.tryLock();
            if (lock == null) {
                throw new EmbeddedKafkaException("the embedded Kafka data directory " + kafkaDir
                        + " is in use by another process (lock " + lockFile + " is held)");
            }
            return channel;
        } catch (final OverlappingFileLockException e) {
            closeQuietly(channel);
            throw new EmbeddedKafkaException("the embedded Kafka data directory " + kafkaDir
                    + " is already in use by another embedded broker in this JVM", e);
        } catch (final IOException e) {
            closeQuietly(channel);
            throw new EmbeddedKafkaException("cannot lock the embedded Kafka data directory via " + lockFile + " ("
                    + Causes.describe(e) + ")", e);
        } catch (final RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    private static void closeQuietly(final FileChannel channel) {
        if (channel == null) {
            return;
        }
        try {
            channel.close();
        } catch (final IOException e) {
            LOG.debug("cannot close {}", channel, e);
        }
    }

    private static String readClusterId(final Path logDir) {
        final Path meta = logDir.resolve("meta.properties");
        if (!Files.exists(meta)) {
            return null;
        }
        final Properties p = new Properties();
        try (InputStream in = Files.newInputStream(meta)) {
            p.load(in);
        } catch (final IOException e) {
            throw new EmbeddedKafkaException("cannot read " + meta, e);
        }
        final String id = p.getProperty("cluster.id");
        if (id == null || id.isBlank()) {
            throw new EmbeddedKafkaException(meta + " has no cluster.id; the directory is damaged (delete "
                    + logDir + " to start an empty broker)");
        }
        return id;
    }

    private static Properties readState(final Path kafkaDir) {
        final Properties p = new Properties();
        final Path file = kafkaDir.resolve(STATE_FILE);
        if (Files.exists(file)) {
            try (InputStream in = Files.newInputStream(file)) {
                p.load(in);
            } catch (final IOException e) {
                LOG.warn("Cannot read {}; choosing new ports", file, e);
            }
        }
        return p;
    }

    private static void deleteState(final Path kafkaDir) {
        try {
            Files.deleteIfExists(kafkaDir.resolve(STATE_FILE));
        } catch (final IOException e) {
            throw new EmbeddedKafkaException("cannot delete " + kafkaDir.resolve(STATE_FILE), e);
        }
    }

    private static boolean isBindFailure(final Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof BindException) {
                return true;
            }
        }
        return false;
    }

    private static void writeState(final Path kafkaDir, final Properties state) {
        final Path file = kafkaDir.resolve(STATE_FILE);
        final Path tmp = kafkaDir.resolve(STATE_FILE + ".tmp");
        try {
            try (OutputStream out = Files.newOutputStream(tmp)) {
                state.store(out, "embedded Kafka broker state: ports are reused on restart");
            }
            try {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (final AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (final IOException e) {
            throw new EmbeddedKafkaException("cannot write " + file, e);
        }
    }

    private static String rootMessage(final Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t == e ? String.valueOf(e.getMessage()) : e.getMessage() + " (cause: " + t + ")";
    }

    private static long elapsedMs(final long t0) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    }
}
