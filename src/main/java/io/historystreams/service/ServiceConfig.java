package io.historystreams.service;

import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;

/**
 * The service's settings, layered: built-in defaults &lt; a properties file &lt; environment ({@code HISTORY_STREAMS_*}
 * for our settings, {@code KAFKA_*} for Kafka client settings) &lt; the command line. Keys starting with
 * {@code kafka.} are passed to every Kafka client untouched (security settings included); they are never logged.
 */
public final class ServiceConfig {
    public static final String BOOTSTRAP_SERVERS = "bootstrap.servers";
    public static final String DATA_DIR = "data.dir";
    public static final String APPLICATION_ID = "application.id";
    public static final String TOPIC_PREFIX = "topic.prefix";
    public static final String PARTITIONS = "partitions";
    public static final String REPLICATION_FACTOR = "replication.factor";
    public static final String STREAM_THREADS = "num.stream.threads";
    public static final String FETCH_CONCURRENCY = "fetch.concurrency";
    public static final String SCHEMA_REGISTRY_URL = "schema.registry.url";
    public static final String HTTP_BIND = "http.bind";
    public static final String HTTP_PORT = "http.port";
    public static final String SHUTDOWN_TIMEOUT_SECONDS = "shutdown.timeout.seconds";
    public static final String BLOB_DIR = "blob.dir";
    public static final String BLOB_MAX_BYTES = "blob.max.bytes";
    /** {@code all} or {@code auto} (default: bucket files are kept only when this process publishes). */
    public static final String BLOB_KEEP = "blob.keep";
    public static final String CHECKPOINT_MAX_ATTEMPTS = "checkpoint.max.attempts";
    public static final String CHECKPOINT_RETRY_BACKOFF_MS = "checkpoint.retry.backoff.ms";
    public static final String FETCH_MAX_ATTEMPTS = "fetch.max.attempts";
    public static final String FETCH_RETRY_BASE_MS = "fetch.retry.base.ms";
    public static final String FETCH_DOWN_RECHECK_MS = "fetch.down.recheck.ms";
    public static final String CONNECT_TIMEOUT_SECONDS = "connect.timeout.seconds";
    public static final String READ_TIMEOUT_SECONDS = "read.timeout.seconds";
    public static final String ARCHIVE_CREDENTIALS = "archive.credentials";
    public static final String COMMIT_INTERVAL_MS = "commit.interval.ms";
    /**
     * The embedded broker's client and controller ports (default: free ones, chosen at the data dir's first start and
     * kept for it; see EmbeddedKafkaBroker). docs/embedded-broker.md named them, but the service did not pass them on.
     */
    public static final String EMBEDDED_BROKER_PORT = io.historystreams.kafka.EmbeddedKafkaBroker.BROKER_PORT;
    public static final String EMBEDDED_CONTROLLER_PORT = io.historystreams.kafka.EmbeddedKafkaBroker.CONTROLLER_PORT;
    /**
     * What to do with transactions a crash left open for good on the embedded broker's partitions ({@code fail}:
     * stop and say so; {@code abort}: end them and go on, see the README).
     */
    public static final String HANGING_TRANSACTIONS = "hanging.transactions";
    public static final String KAFKA_PREFIX = "kafka.";
    /** Settings of every publish target ({@code publish.fsync}, {@code publish.retries}, ...): see ArchiveWriters. */
    public static final String PUBLISH_PREFIX = "publish.";
    /** How long a bounded job waits for a target failing without a checkpoint published (see Publishing). */
    public static final String PUBLISH_GIVE_UP_SECONDS = PUBLISH_PREFIX + "give.up.seconds";
    /** How long a service's root state waits for a checkpoint the target lacks (see Publishing). */
    public static final String PUBLISH_ROOT_WAIT_SECONDS = PUBLISH_PREFIX + "root.wait.seconds";

    private static final Map<String, String> DEFAULTS = Map.ofEntries(
            Map.entry(DATA_DIR, "./data"),
            Map.entry(APPLICATION_ID, "history-streams"),
            Map.entry(TOPIC_PREFIX, "history."),
            Map.entry(STREAM_THREADS, "2"),
            Map.entry(HTTP_BIND, "127.0.0.1"),
            Map.entry(HTTP_PORT, "8080"),
            Map.entry(SHUTDOWN_TIMEOUT_SECONDS, "30"),
            Map.entry(COMMIT_INTERVAL_MS, "100"));

    private final Map<String, String> values;

    private ServiceConfig(final Map<String, String> values) {
        this.values = values;
    }

    /**
     * The launcher's own variables (bin/history-streams): which java, its options, the JIT mode, the class-data
     * archive. They are not service settings, and their values (JVM options may carry a key store's password) must
     * not be printed with the settings.
     */
    static final Set<String> LAUNCHER_VARIABLES = Set.of("HISTORY_STREAMS_JAVA", "HISTORY_STREAMS_JAVA_OPTS",
            "HISTORY_STREAMS_EXTRA_JAVA_OPTS", "HISTORY_STREAMS_JIT", "HISTORY_STREAMS_CDS");

    /**
     * Variables of Kafka's own scripts (kafka-run-class.sh and friends), often set in an operator's shell: the JVM's
     * options of Kafka's tools, never client settings (KAFKA_OPTS became a client setting "opts").
     */
    static final Set<String> KAFKA_SCRIPT_VARIABLES = Set.of("KAFKA_OPTS", "KAFKA_HEAP_OPTS",
            "KAFKA_JVM_PERFORMANCE_OPTS", "KAFKA_JMX_OPTS", "KAFKA_LOG4J_OPTS", "KAFKA_GC_LOG_OPTS", "KAFKA_DEBUG",
            "KAFKA_HOME", "KAFKA_LOG_DIR", "KAFKA_CLUSTER_ID", "KAFKA_VERSION");

    /**
     * Layers the sources. {@code file} may be null; {@code env} is usually {@code System.getenv()};
     * {@code commandLine} holds the settings given as options (null values are ignored).
     */
    public static ServiceConfig load(final Path file, final Map<String, String> env,
            final Map<String, String> commandLine) throws IOException {
        final Map<String, String> v = new TreeMap<>(DEFAULTS);
        if (file != null) {
            final Properties p = new Properties();
            try (Reader r = Files.newBufferedReader(file)) {
                p.load(r);
            } catch (final java.nio.file.NoSuchFileException e) {
                throw new IOException("settings file " + file + " (--config) not found", e);
            } catch (final java.nio.file.AccessDeniedException e) {
                throw new IOException("settings file " + file + " (--config) cannot be read: permission denied", e);
            } catch (final IOException | IllegalArgumentException e) {
                throw new IOException("settings file " + file + " (--config) cannot be read: " + e.getMessage(), e);
            }
            p.stringPropertyNames().forEach(k -> v.put(k, p.getProperty(k).trim()));
        }
        env.forEach((k, val) -> {
            if (LAUNCHER_VARIABLES.contains(k) || KAFKA_SCRIPT_VARIABLES.contains(k)) {
                return; // the JVM's settings, read by bin/history-streams: never a service setting, never printed
            }
            if (k.startsWith("HISTORY_STREAMS_")) {
                v.put(envKey(k.substring("HISTORY_STREAMS_".length())), val);
            } else if (k.startsWith("KAFKA_")) {
                final String key = envKey(k.substring("KAFKA_".length()));
                v.put(key.equals(BOOTSTRAP_SERVERS) ? key : KAFKA_PREFIX + key, val);
            }
        });
        commandLine.forEach((k, val) -> {
            if (val != null) {
                v.put(k, val);
            }
        });
        final ServiceConfig c = new ServiceConfig(v);
        c.checkRanges();
        final List<String> unknown = c.unknownKeys();
        if (!unknown.isEmpty()) {
            LoggerFactory.getLogger(ServiceConfig.class).warn("unknown setting(s) {} ignored: {}(the settings are in "
                    + "the README's Configuration; Kafka client settings take kafka.)", unknown, nearNames(unknown));
        }
        final List<String> unknownKafka = c.unknownKafkaKeys();
        if (!unknownKafka.isEmpty()) {
            // Kafka says so only at INFO ("supplied but are not used"), which the logging hides
            LoggerFactory.getLogger(ServiceConfig.class).warn("Kafka setting(s) {} are not settings of Kafka's "
                    + "clients or Streams, and Kafka ignores them: {}", unknownKafka,
                    nearNames(unknownKafka, kafkaNames().stream().map(n -> KAFKA_PREFIX + n).toList()).strip());
        }
        return c;
    }

    /** The setting names this service reads: the public String constants above, except the prefixes. */
    private static final Set<String> KNOWN = java.util.Arrays.stream(ServiceConfig.class.getFields())
            .filter(f -> java.lang.reflect.Modifier.isStatic(f.getModifiers()) && f.getType() == String.class)
            .map(f -> {
                try {
                    return (String) f.get(null);
                } catch (final IllegalAccessException e) {
                    throw new IllegalStateException(e);
                }
            }).collect(java.util.stream.Collectors.toUnmodifiableSet());

    /**
     * "did you mean X (not Y)? " for each of {@code unknown} within two edits of a known setting, or "is one
     * misspelled? " (a trial's {@code fetch.max.atempts} was said unknown, the setting meant left to be found).
     */
    static String nearNames(final List<String> unknown) {
        return nearNames(unknown, KNOWN);
    }

    /** As {@link #nearNames(List)}, among {@code known}. */
    static String nearNames(final List<String> unknown, final java.util.Collection<String> known) {
        final StringBuilder out = new StringBuilder();
        for (final String u : unknown) {
            final List<String> near = io.historystreams.publish.ArchiveWriters.closeNames(u,
                    known.stream().filter(k -> !k.endsWith(".")).toList());
            if (!near.isEmpty()) {
                out.append("did you mean ").append(String.join(" or ", near)).append(" (not ").append(u)
                        .append(")? ");
            }
        }
        return out.length() == 0 ? "is one misspelled? " : out.toString();
    }

    /** Settings no part of the service reads (a misspelling is silently ignored otherwise), sorted. */
    List<String> unknownKeys() {
        return values.keySet().stream().filter(k -> !KNOWN.contains(k) && !k.startsWith(KAFKA_PREFIX)
                && !k.startsWith(PUBLISH_PREFIX)).sorted().toList();
    }

    /** The settings of Kafka's clients and Streams. */
    private static java.util.Set<String> kafkaNames() {
        final java.util.Set<String> known = new java.util.HashSet<>();
        known.addAll(org.apache.kafka.streams.StreamsConfig.configDef().names());
        known.addAll(org.apache.kafka.clients.producer.ProducerConfig.configNames());
        known.addAll(org.apache.kafka.clients.consumer.ConsumerConfig.configNames());
        known.addAll(org.apache.kafka.clients.admin.AdminClientConfig.configNames());
        return known;
    }

    /** Prefixes Kafka Streams takes before a client's setting ({@code topic.} settings are the broker's to judge). */
    private static final List<String> KAFKA_CLIENT_PREFIXES = List.of("producer.", "consumer.", "main.consumer.",
            "restore.consumer.", "global.consumer.", "admin.");

    /** {@code kafka.*} keys that no Kafka client or Streams knows (a typo such as {@code kafka.compresion.type}). */
    List<String> unknownKafkaKeys() {
        final java.util.Set<String> known = kafkaNames();
        final List<String> out = new ArrayList<>();
        for (final String k : values.keySet()) {
            if (!k.startsWith(KAFKA_PREFIX)) {
                continue;
            }
            String name = k.substring(KAFKA_PREFIX.length());
            if (name.startsWith("topic.")) {
                continue; // topic settings: the broker's to judge
            }
            for (final String prefix : KAFKA_CLIENT_PREFIXES) {
                if (name.startsWith(prefix)) {
                    name = name.substring(prefix.length());
                    break;
                }
            }
            if (!known.contains(name)) {
                out.add(k);
            }
        }
        java.util.Collections.sort(out);
        return out;
    }

    public static ServiceConfig of(final Map<String, String> values) {
        final Map<String, String> v = new TreeMap<>(DEFAULTS);
        v.putAll(values);
        return new ServiceConfig(v);
    }

    /** {@code SASL_MECHANISM} -> {@code sasl.mechanism}. */
    static String envKey(final String name) {
        return name.toLowerCase(Locale.ROOT).replace('_', '.');
    }

    public String get(final String key) {
        return values.get(key);
    }

    public String get(final String key, final String fallback) {
        return values.getOrDefault(key, fallback);
    }

    public int getInt(final String key) {
        final String s = values.get(key);
        try {
            return Integer.parseInt(s.trim());
        } catch (final RuntimeException e) {
            throw new IllegalArgumentException("setting " + key + " must be a whole number, got " + s);
        }
    }

    public long getLong(final String key, final long fallback) {
        final String s = values.get(key);
        if (s == null || s.isBlank()) {
            return fallback;
        }
        try {
            return Long.parseLong(s.trim());
        } catch (final RuntimeException e) {
            throw new IllegalArgumentException("setting " + key + " must be a whole number, got " + s);
        }
    }

    /**
     * The archive client's per-file retry policy ({@code fetch.max.attempts}, {@code fetch.retry.base.ms},
     * {@code fetch.down.recheck.ms}).
     */
    public io.historystreams.archive.RetryPolicy retryPolicy() {
        final io.historystreams.archive.RetryPolicy d = io.historystreams.archive.RetryPolicy.defaults();
        final long base = getLong(FETCH_RETRY_BASE_MS, d.baseDelay().toMillis());
        final java.time.Duration baseDelay = java.time.Duration.ofMillis(Math.max(0, base));
        return new io.historystreams.archive.RetryPolicy((int) getLong(FETCH_MAX_ATTEMPTS, d.maxAttempts()),
                baseDelay, baseDelay.compareTo(d.maxDelay()) > 0 ? baseDelay : d.maxDelay(), d.maxRetryAfter(),
                d.contentRetries(),
                java.time.Duration.ofMillis(getLong(FETCH_DOWN_RECHECK_MS, d.downRecheck().toMillis())));
    }

    /** Transport timeouts of archive sources ({@code connect.timeout.seconds}, {@code read.timeout.seconds}). */
    public io.historystreams.archive.SourceOptions sourceOptions() {
        final io.historystreams.archive.SourceOptions d = io.historystreams.archive.SourceOptions.defaults();
        return new io.historystreams.archive.SourceOptions(
                java.time.Duration.ofSeconds(getLong(CONNECT_TIMEOUT_SECONDS, d.connectTimeout().toSeconds())),
                java.time.Duration.ofSeconds(getLong(READ_TIMEOUT_SECONDS, d.readTimeout().toSeconds())));
    }

    /** The pipeline's checkpoint-level retries ({@code checkpoint.max.attempts}, {@code checkpoint.retry.backoff.ms}). */
    public io.historystreams.topology.HistoryTopology.Settings topologySettings() {
        final io.historystreams.topology.HistoryTopology.Settings d =
                io.historystreams.topology.HistoryTopology.Settings.defaults();
        return d.withRetries((int) getLong(CHECKPOINT_MAX_ATTEMPTS, d.maxAttempts()),
                java.time.Duration.ofMillis(getLong(CHECKPOINT_RETRY_BACKOFF_MS, d.retryBackoff().toMillis())));
    }

    /** The blob store's size limit in bytes ({@code blob.max.bytes}); 0 or unset = unlimited. */
    public long blobMaxBytes() {
        return getLong(BLOB_MAX_BYTES, 0);
    }

    /**
     * Whether verified bucket files are kept in the blob store: always with {@code blob.keep=all}; with
     * {@code auto} (the default) when {@code publishing}. Every other file is always kept.
     */
    public boolean keepBucketFiles(final boolean publishing) {
        final String v = values.getOrDefault(BLOB_KEEP, "auto").trim();
        return switch (v) {
            case "all" -> true;
            case "auto" -> publishing;
            default -> throw new IllegalArgumentException("setting " + BLOB_KEEP + " must be all or auto, got " + v);
        };
    }

    /**
     * Files fetched at once ({@code fetch.concurrency}); 8 when not set (the commands that name the archives set it
     * from where they are: cores + 1 for this host, 8 for remote ones).
     */
    public int fetchConcurrency() {
        final String s = values.get(FETCH_CONCURRENCY);
        return s == null || s.isBlank() ? 8 : Math.max(1, getInt(FETCH_CONCURRENCY));
    }

    /**
     * Whether {@code schema.registry.url} was given, not the data dir's default: with the embedded broker, one that is
     * not the registry the data dir's topics were written with must be refused before any work.
     */
    public boolean schemaRegistryGiven() {
        return given(SCHEMA_REGISTRY_URL);
    }

    /** Whether {@code partitions} was given (config file, environment or command line), not the default. */
    public boolean partitionsGiven() {
        return given(PARTITIONS);
    }

    /** Whether {@code key} has a value that is not blank. */
    private boolean given(final String key) {
        final String v = values.get(key);
        return v != null && !v.isBlank();
    }

    /**
     * Partitions of the pipeline topics: {@code partitions} when set; otherwise
     * {@link io.historystreams.topology.Topics#DEFAULT_PARTITIONS} on a Kafka cluster (room for several instances)
     * and {@link io.historystreams.topology.Topics#EMBEDDED_PARTITIONS} on the embedded single-node broker, where one process does all the work with
     * its stream threads and every partition costs broker files, tasks and state stores at start-up.
     */
    public int partitions() {
        final String s = values.get(PARTITIONS);
        if (s != null && !s.isBlank()) {
            final int p = getInt(PARTITIONS);
            if (p < 1) {
                throw new IllegalArgumentException("setting " + PARTITIONS + " must be at least 1, got " + p);
            }
            return p;
        }
        return embedded() ? io.historystreams.topology.Topics.EMBEDDED_PARTITIONS
                : io.historystreams.topology.Topics.DEFAULT_PARTITIONS;
    }

    /**
     * Refuses numbers a run cannot work with, at start rather than when first used (0 stream threads waited for
     * ever; a negative shutdown timeout failed after the work).
     */
    void checkRanges() {
        final String dataDir = values.get(DATA_DIR);
        if (dataDir == null || dataDir.isBlank()) {
            // an empty --data-dir or HISTORY_STREAMS_DATA_DIR= put the broker, stores and blobs in the working directory
            throw new IllegalArgumentException("setting " + DATA_DIR + " (--data-dir, HISTORY_STREAMS_DATA_DIR) is "
                    + "empty: give a directory (the default is ./data)");
        }
        final String kafkaBootstrap = values.get(KAFKA_PREFIX + BOOTSTRAP_SERVERS);
        if (kafkaBootstrap != null) {
            // it was overwritten by the embedded broker's address without a word
            throw new IllegalArgumentException("setting " + KAFKA_PREFIX + BOOTSTRAP_SERVERS + " is not how a cluster "
                    + "is given: use --bootstrap-servers (or " + BOOTSTRAP_SERVERS + ", KAFKA_BOOTSTRAP_SERVERS)");
        }
        // found at start, not after the broker and the pipeline started (and made a data dir) as before
        atLeast(FETCH_MAX_ATTEMPTS, 1);
        atLeast(FETCH_DOWN_RECHECK_MS, 0);
        atLeast(CONNECT_TIMEOUT_SECONDS, 1);
        atLeast(READ_TIMEOUT_SECONDS, 1);
        atLeast(BLOB_MAX_BYTES, 0);
        atLeast(REPLICATION_FACTOR, 1);
        keepBucketFiles(false);
        final String port = values.get(HTTP_PORT);
        final long portNumber = getLong(HTTP_PORT, -1);
        if (port != null && !port.isBlank() && (portNumber < -1 || portNumber > 65_535)) {
            throw new IllegalArgumentException("setting " + HTTP_PORT + " (--http-port) must be a port, 0 (any free "
                    + "one) or -1 (off), got " + port.trim());
        }
        final String registry = values.get(SCHEMA_REGISTRY_URL);
        if (registry != null && !registry.isBlank() && !registry.trim().toLowerCase(Locale.ROOT)
                .matches("(mock://|file://|https?://).*")) {
            // it was found once the embedded broker had started, after Kafka's own errors of its stop
            throw new IllegalArgumentException("setting " + SCHEMA_REGISTRY_URL + " (--schema-registry-url) must be "
                    + "mock://scope, file:///dir, http:// or https://, got '"
                    + registry.trim().replaceFirst("//[^/@]*@", "//***@") + "'");
        }
        for (final String key : List.of(EMBEDDED_BROKER_PORT, EMBEDDED_CONTROLLER_PORT)) {
            final String v = values.get(key);
            final long n = getLong(key, 0);
            if (v != null && !v.isBlank() && (n < 1 || n > 65_535)) {
                throw new IllegalArgumentException("setting " + key + " must be a port, 1 to 65535, got " + v.trim());
            }
        }
        final String app = values.get(APPLICATION_ID);
        if (app != null && !app.matches("[A-Za-z0-9._-]+")) {
            // Kafka Streams names topics and groups after it: "" failed as "Failed to construct kafka consumer"
            throw new IllegalArgumentException("setting " + APPLICATION_ID + " (--application-id) must be one or more "
                    + "letters, digits, '.', '_' and '-', got \"" + app + "\"");
        }
        final String prefix = values.getOrDefault(TOPIC_PREFIX, "");
        if (!prefix.matches("[A-Za-z0-9._-]*")) {
            throw new IllegalArgumentException("setting " + TOPIC_PREFIX + " may hold only letters, digits, '.', '_' "
                    + "and '-' (Kafka's topic names), got " + prefix);
        }
        atLeast(CHECKPOINT_MAX_ATTEMPTS, 1); // 0: a failing checkpoint never got a verdict
        atLeast(CHECKPOINT_RETRY_BACKOFF_MS, 0); // negative: the retry failed inside the pipeline
        atLeast(STREAM_THREADS, 1);
        atLeast(SHUTDOWN_TIMEOUT_SECONDS, 0);
        atLeast(COMMIT_INTERVAL_MS, 0);
        atLeast(FETCH_CONCURRENCY, 1);
        partitions();
        hangingTransactions();
    }

    /** {@code hanging.transactions}: complete (the default), fail or abort; checked at every start, used after a crash. */
    public String hangingTransactions() {
        final String v = get(HANGING_TRANSACTIONS, "complete").trim();
        if (!List.of("complete", "fail", "abort").contains(v)) {
            throw new IllegalArgumentException("setting " + HANGING_TRANSACTIONS + " must be complete, fail or abort, "
                    + "got " + v);
        }
        return v;
    }

    private void atLeast(final String key, final long min) {
        final String s = values.get(key);
        if (s != null && !s.isBlank() && getLong(key, min) < min) {
            throw new IllegalArgumentException("setting " + key + " must be at least " + min + ", got " + s.trim());
        }
    }

    /** True when no cluster is configured: the service starts its own embedded broker. */
    public boolean embedded() {
        final String b = values.get(BOOTSTRAP_SERVERS);
        return b == null || b.isBlank();
    }

    /** The embedded broker's port settings given, as {@code EmbeddedKafkaBroker.start} takes them. */
    public Map<String, String> embeddedBrokerPorts() {
        final Map<String, String> ports = new TreeMap<>();
        for (final String key : List.of(EMBEDDED_BROKER_PORT, EMBEDDED_CONTROLLER_PORT)) {
            final String v = values.get(key);
            if (v != null && !v.isBlank()) {
                ports.put(key, v.trim());
            }
        }
        return ports;
    }

    public Path dataDir() {
        return Path.of(values.get(DATA_DIR));
    }

    /** The configured registry, or by default one kept under the data directory (shared by runs on this host). */
    public String schemaRegistryUrl() {
        final String u = values.get(SCHEMA_REGISTRY_URL);
        return u == null || u.isBlank() ? dataDir().resolve("schema-registry").toAbsolutePath().normalize().toUri().toString() : u;
    }

    /**
     * Whether the registry is a directory that does not exist: a process that reads what others wrote (a client, a
     * replay on a cluster) would make it afresh, knowing none of the ids their events were written with.
     */
    public boolean directoryRegistryMissing() {
        final String registry = schemaRegistryUrl();
        return registry.startsWith("file:") && !Files.isDirectory(Path.of(java.net.URI.create(registry)));
    }

    public Path blobDir() {
        final String b = values.get(BLOB_DIR);
        return b == null || b.isBlank() ? dataDir().resolve("blobs") : Path.of(b);
    }

    /** The settings whose key starts with {@code prefix}, prefix removed (e.g. {@code publish.}). */
    public Map<String, String> withPrefix(final String prefix) {
        final Map<String, String> out = new TreeMap<>();
        values.forEach((k, v) -> {
            if (k.startsWith(prefix)) {
                out.put(k.substring(prefix.length()), v);
            }
        });
        return out;
    }

    /** The Kafka client settings passed through ({@code kafka.*} without the prefix). */
    public Map<String, String> kafkaClientSettings() {
        return withPrefix(KAFKA_PREFIX);
    }

    /** This configuration with {@code key} set to {@code value}, unless {@code key} or any of {@code alsoSetBy} is set. */
    public ServiceConfig withDefault(final String key, final String value, final String... alsoSetBy) {
        if (values.get(key) != null || java.util.Arrays.stream(alsoSetBy).anyMatch(k -> values.get(k) != null)) {
            return this;
        }
        return with(key, value);
    }

    public ServiceConfig with(final String key, final String value) {
        final Map<String, String> v = new TreeMap<>(values);
        v.put(key, value);
        return new ServiceConfig(v);
    }

    /**
     * The settings for a log line: Kafka client settings (which may hold secrets) are left out, and so are the values
     * of unknown settings (a misspelled {@code kafak.sasl.jaas.config} or {@code archive.credential} holds what the
     * spelled one would: they were printed in clear).
     */
    @Override
    public String toString() {
        final Map<String, String> shown = new TreeMap<>();
        values.forEach((k, v) -> {
            if (k.equals(ARCHIVE_CREDENTIALS)) {
                shown.put(k, "***");
            } else if (k.startsWith(KAFKA_PREFIX)) {
                return;
            } else if (!KNOWN.contains(k) && !PUBLISH_SHOWN.contains(k)) {
                shown.put(k, "(unknown: not shown)");
            } else {
                shown.put(k, k.contains("url") ? v.replaceAll("//[^/@]*@", "//***@") : v);
            }
        });
        return shown + " (+" + kafkaClientSettings().size() + " Kafka client settings not shown)";
    }

    /** The target writers' settings ({@code publish.fsync}, ...), shown in the log line as the known ones are. */
    private static final Set<String> PUBLISH_SHOWN = io.historystreams.publish.ArchiveWriters.settingNames().stream()
            .map(k -> PUBLISH_PREFIX + k).collect(java.util.stream.Collectors.toUnmodifiableSet());
}
