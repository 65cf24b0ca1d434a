package io.historystreams.service;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Configuration layering: defaults < properties file < environment < command line; secrets never printed. */
class ServiceConfigTest {
    @TempDir
    Path dir;

    @Test
    void shouldLayerDefaultsFileEnvironmentAndCommandLine() throws Exception {
        final Path file = dir.resolve("service.properties");
        Files.writeString(file, "partitions=3\nnum.stream.threads=4\napplication.id=from-file\nfetch.concurrency=5\n");
        final Map<String, String> env = Map.of("HISTORY_STREAMS_NUM_STREAM_THREADS", "6",
                "HISTORY_STREAMS_APPLICATION_ID", "from-env", "KAFKA_SASL_MECHANISM", "SCRAM-SHA-512",
                "KAFKA_BOOTSTRAP_SERVERS", "broker:9092", "UNRELATED", "x");
        final Map<String, String> cli = new HashMap<>();
        cli.put(ServiceConfig.APPLICATION_ID, "from-cli");
        cli.put(ServiceConfig.FETCH_CONCURRENCY, null); // not given on the command line
        final ServiceConfig c = ServiceConfig.load(file, env, cli);
        assertEquals("from-cli", c.get(ServiceConfig.APPLICATION_ID));
        assertEquals(6, c.getInt(ServiceConfig.STREAM_THREADS), "environment over file");
        assertEquals(3, c.partitions(), "file over default");
        assertEquals(5, c.getInt(ServiceConfig.FETCH_CONCURRENCY), "an absent option keeps the lower layer");
        assertEquals("127.0.0.1", c.get(ServiceConfig.HTTP_BIND), "default: loopback only");
        // every numeric setting the service reads has a default
        assertEquals(io.historystreams.topology.Topics.EMBEDDED_PARTITIONS, ServiceConfig.of(Map.of()).partitions(), "embedded default");
        assertEquals(8, ServiceConfig.of(Map.of()).fetchConcurrency(), "fetch.concurrency default");
        assertEquals(io.historystreams.topology.Topics.DEFAULT_PARTITIONS,
                ServiceConfig.of(Map.of(ServiceConfig.BOOTSTRAP_SERVERS, "broker:9092")).partitions(), "cluster default");
        assertEquals(4, ServiceConfig.of(Map.of(ServiceConfig.PARTITIONS, "4")).partitions(), "explicit");
        assertEquals(false, ServiceConfig.of(Map.of()).keepBucketFiles(false), "blob.keep=auto: no buckets kept without a sink");
        assertEquals(true, ServiceConfig.of(Map.of()).keepBucketFiles(true), "blob.keep=auto: buckets kept for a sink");
        assertEquals(true, ServiceConfig.of(Map.of(ServiceConfig.BLOB_KEEP, "all")).keepBucketFiles(false));
        assertThrows(IllegalArgumentException.class,
                () -> ServiceConfig.of(Map.of(ServiceConfig.BLOB_KEEP, "some")).keepBucketFiles(false));
        for (final String key : new String[] {ServiceConfig.STREAM_THREADS,
            ServiceConfig.HTTP_PORT, ServiceConfig.SHUTDOWN_TIMEOUT_SECONDS,
            ServiceConfig.COMMIT_INTERVAL_MS}) {
            assertTrue(ServiceConfig.of(Map.of()).getInt(key) >= -1, key);
        }
        assertEquals("broker:9092", c.get(ServiceConfig.BOOTSTRAP_SERVERS));
        assertFalse(c.embedded());
        assertEquals(Map.of("sasl.mechanism", "SCRAM-SHA-512"), c.kafkaClientSettings());
    }

    @Test
    void shouldStartEmbeddedWithDataDirDefaultsAndNeverPrintClientSecrets() throws Exception {
        final ServiceConfig c = ServiceConfig.load(null, Map.of("KAFKA_SASL_JAAS_CONFIG",
                "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"u\" password=\"s3cret\";"),
                Map.of(ServiceConfig.DATA_DIR, dir.toString()));
        assertTrue(c.embedded());
        assertEquals(dir.resolve("blobs"), c.blobDir());
        assertTrue(c.schemaRegistryUrl().startsWith("file:"), c.schemaRegistryUrl());
        assertFalse(c.toString().contains("s3cret"), c.toString());
        assertTrue(c.kafkaClientSettings().get("sasl.jaas.config").contains("s3cret"), "passed through untouched");
    }

    @Test
    void theLaunchersVariablesAreNeitherSettingsNorPrinted() throws Exception {
        final Map<String, String> env = Map.of(
                "HISTORY_STREAMS_EXTRA_JAVA_OPTS", "-Djavax.net.ssl.keyStorePassword=hunter2",
                "HISTORY_STREAMS_JAVA_OPTS", "-Xmx1g -Djavax.net.ssl.trustStorePassword=hunter3",
                "HISTORY_STREAMS_JAVA", "/opt/jdk-25/bin/java", "HISTORY_STREAMS_JIT", "full",
                "HISTORY_STREAMS_CDS", "off", "HISTORY_STREAMS_APPLICATION_ID", "from-env");
        final ServiceConfig c = ServiceConfig.load(null, env, Map.of());
        assertEquals("from-env", c.get(ServiceConfig.APPLICATION_ID), "other variables still apply");
        for (final String key : new String[] {"extra.java.opts", "java.opts", "java", "jit", "cds"}) {
            assertEquals(null, c.get(key), key);
        }
        assertFalse(c.toString().contains("hunter"), c.toString());
        assertFalse(c.toString().contains("jdk-25"), c.toString());
    }

    @Test
    void kafkasOwnScriptVariablesAreNotClientSettings() throws Exception {
        final ServiceConfig c = ServiceConfig.load(null, Map.of("KAFKA_OPTS", "-Dfoo=1", "KAFKA_HEAP_OPTS", "-Xmx1g",
                "KAFKA_SECURITY_PROTOCOL", "SASL_SSL"), Map.of());
        assertEquals(Map.of("security.protocol", "SASL_SSL"), c.kafkaClientSettings());
    }

    @Test
    void aSettingsFileThatCannotBeReadIsNamedWithWhatIsWrong() {
        final Path missing = dir.resolve("nonexistent.properties");
        final java.io.IOException e = assertThrows(java.io.IOException.class,
                () -> ServiceConfig.load(missing, Map.of(), Map.of()));
        assertEquals("settings file " + missing + " (--config) not found", e.getMessage());
        final java.io.IOException d = assertThrows(java.io.IOException.class,
                () -> ServiceConfig.load(dir, Map.of(), Map.of())); // a directory
        assertTrue(d.getMessage().startsWith("settings file " + dir + " (--config) cannot be read: "), d.getMessage());
    }

    @Test
    void aBusyEndpointPortSaysWhichPortAndHowToMoveIt() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1,
                java.net.InetAddress.getLoopbackAddress())) {
            final java.net.BindException e = assertThrows(java.net.BindException.class,
                    () -> HealthServer.start("127.0.0.1", taken.getLocalPort(), () -> true, () -> true, () -> "",
                            () -> "RUNNING"));
            assertTrue(e.getMessage().contains("127.0.0.1:" + taken.getLocalPort()), e.getMessage());
            assertTrue(e.getMessage().contains("--http-port"), e.getMessage());
        }
    }

    @Test
    void aMisspelledSettingIsNamedAsUnknown() throws Exception {
        final Map<String, String> cli = new HashMap<>();
        cli.put("num.stream.thread", "3"); // misspelled
        cli.put("no.such.setting", "1");
        cli.put(ServiceConfig.COMMIT_INTERVAL_MS, "400");
        cli.put("kafka.linger.ms", "5");
        cli.put("publish.fsync", "false");
        final ServiceConfig c = ServiceConfig.load(null, Map.of("HISTORY_STREAMS_BLOB_KEEP", "all"), cli);
        assertEquals(java.util.List.of("no.such.setting", "num.stream.thread"), c.unknownKeys());
        // the setting meant is named (a trial's misspelt -D was said unknown, and the right name left to be found)
        assertEquals("did you mean num.stream.threads (not num.stream.thread)? ",
                ServiceConfig.nearNames(c.unknownKeys()));
        assertEquals("is one misspelled? ", ServiceConfig.nearNames(java.util.List.of("no.such.setting")));
        assertEquals(java.util.List.of(), ServiceConfig.load(null, Map.of(), Map.of()).unknownKeys(),
                "the defaults are all known");
    }

    @Test
    void numbersARunCannotWorkWithAreRefusedAtStart() throws Exception {
        // 0 stream threads waited for ever; a negative shutdown timeout failed after all the work
        for (final String[] bad : new String[][] {{ServiceConfig.STREAM_THREADS, "0"},
                {ServiceConfig.SHUTDOWN_TIMEOUT_SECONDS, "-5"}, {ServiceConfig.FETCH_CONCURRENCY, "0"},
                {ServiceConfig.PARTITIONS, "0"}, {ServiceConfig.COMMIT_INTERVAL_MS, "-1"},
                // 0 attempts: a failing checkpoint never got a verdict; a negative backoff failed in the pipeline
                {ServiceConfig.CHECKPOINT_MAX_ATTEMPTS, "0"}, {ServiceConfig.CHECKPOINT_RETRY_BACKOFF_MS, "-1"},
                // refused only after the broker and the pipeline had started, and with the setting unnamed
                {ServiceConfig.FETCH_MAX_ATTEMPTS, "0"}, {ServiceConfig.CONNECT_TIMEOUT_SECONDS, "0"},
                {ServiceConfig.READ_TIMEOUT_SECONDS, "0"}, {ServiceConfig.BLOB_MAX_BYTES, "-1"},
                {ServiceConfig.REPLICATION_FACTOR, "0"}, {ServiceConfig.FETCH_DOWN_RECHECK_MS, "-1"}}) {
            final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ServiceConfig.load(null, Map.of(), Map.of(bad[0], bad[1])));
            assertTrue(e.getMessage().startsWith("setting " + bad[0] + " must be at least "), e.getMessage());
        }
        assertEquals(1, ServiceConfig.load(null, Map.of(), Map.of(ServiceConfig.STREAM_THREADS, "1"))
                .getInt(ServiceConfig.STREAM_THREADS));
        assertEquals(java.time.Duration.ofSeconds(30), ServiceConfig.load(null, Map.of(), Map.of()).retryPolicy()
                .downRecheck());
        assertEquals(java.time.Duration.ofMillis(500), ServiceConfig.load(null, Map.of(),
                Map.of(ServiceConfig.FETCH_DOWN_RECHECK_MS, "500")).retryPolicy().downRecheck());
        // used only at a start after a crash: a typo must not wait for that start to be found
        final IllegalArgumentException typo = assertThrows(IllegalArgumentException.class,
                () -> ServiceConfig.load(null, Map.of(), Map.of(ServiceConfig.HANGING_TRANSACTIONS, "bogus")));
        assertEquals("setting hanging.transactions must be complete, fail or abort, got bogus", typo.getMessage());
        assertEquals("complete", ServiceConfig.load(null, Map.of(), Map.of()).hangingTransactions());
        assertEquals("abort", ServiceConfig.load(null, Map.of(), Map.of(ServiceConfig.HANGING_TRANSACTIONS, " abort"))
                .hangingTransactions());
    }

    @Test
    void anEmptyDataDirAndABootstrapUnderKafkaAreRefused() throws Exception {
        // an empty data dir put the broker, the stores and the blobs in the working directory
        for (final Map<String, String> env : java.util.List.of(Map.of("HISTORY_STREAMS_DATA_DIR", ""),
                Map.of("HISTORY_STREAMS_DATA_DIR", " "))) {
            final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ServiceConfig.load(null, env, Map.of()));
            assertTrue(e.getMessage().startsWith("setting data.dir (--data-dir, HISTORY_STREAMS_DATA_DIR) is empty"),
                    e.getMessage());
        }
        // kafka.bootstrap.servers was overwritten by the embedded broker's address without a word
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ServiceConfig.load(null, Map.of(), Map.of("kafka.bootstrap.servers", "127.0.0.1:1")));
        assertTrue(e.getMessage().contains("use --bootstrap-servers"), e.getMessage());
    }

    @Test
    void valuesKafkaOrTheEndpointWouldRefuseLaterAreRefusedAtStart() throws Exception {
        for (final String[] bad : new String[][] {
                {ServiceConfig.HTTP_PORT, "70000", "setting http.port (--http-port) must be a port"},
                {ServiceConfig.HTTP_PORT, "-5", "setting http.port (--http-port) must be a port"},
                {ServiceConfig.TOPIC_PREFIX, "a/b", "setting topic.prefix may hold only letters"},
                {ServiceConfig.APPLICATION_ID, "", "setting application.id (--application-id) must be one or more"},
                {ServiceConfig.BLOB_KEEP, "bogus", "setting blob.keep must be all or auto, got bogus"},
                // found once the embedded broker had started, after Kafka's errors of its stop (a trial)
                {ServiceConfig.SCHEMA_REGISTRY_URL, "ftp://al:s3cret@x/", "setting schema.registry.url "
                        + "(--schema-registry-url) must be mock://scope, file:///dir, http:// or https://, got "
                        + "'ftp://***@x/'"},
                {ServiceConfig.EMBEDDED_BROKER_PORT, "0", "setting embedded.broker.port must be a port, 1 to 65535"}}) {
            final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ServiceConfig.load(null, Map.of(), Map.of(bad[0], bad[1])));
            assertTrue(e.getMessage().startsWith(bad[2]), e.getMessage());
        }
        assertEquals(-1, ServiceConfig.load(null, Map.of(), Map.of(ServiceConfig.HTTP_PORT, "-1"))
                .getInt(ServiceConfig.HTTP_PORT));
    }

    @Test
    void aMisspelledKafkaSettingIsNamed() throws Exception {
        // Kafka said it only at INFO, which the logging hides
        final Map<String, String> cli = new HashMap<>();
        cli.put("kafka.compresion.type", "zstd");
        cli.put("kafka.producer.lingr.ms", "5");
        cli.put("kafka.compression.type", "zstd");
        cli.put("kafka.main.consumer.fetch.max.wait.ms", "50");
        cli.put("kafka.session.timeout.ms", "6000");
        cli.put("kafka.poll.ms", "10");
        cli.put("kafka.topic.segment.bytes", "1048576");
        final ServiceConfig[] c = new ServiceConfig[1];
        final java.util.List<String> warned = io.historystreams.testing.Logs.during(ServiceConfig.class,
                () -> c[0] = ServiceConfig.load(null, Map.of("KAFKA_SASL_MECHANISM", "PLAIN"), cli)).stream()
                .map(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage).toList();
        assertEquals(java.util.List.of("kafka.compresion.type", "kafka.producer.lingr.ms"), c[0].unknownKafkaKeys());
        // the setting meant, where one is near (a trial: kafka.sesion.timeout.ms was "is one misspelled?")
        assertTrue(warned.contains("Kafka setting(s) [kafka.compresion.type, kafka.producer.lingr.ms] are not settings"
                + " of Kafka's clients or Streams, and Kafka ignores them: did you mean kafka.compression.type (not "
                + "kafka.compresion.type)?"), warned::toString);
    }

    @Test
    void theValuesOfUnknownSettingsAreNotPrinted() throws Exception {
        // a misspelled secret-bearing key holds the secret all the same; "starting with {...}" printed it in clear
        final Map<String, String> cli = new HashMap<>();
        cli.put("kafak.sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required "
                + "username=\"u\" password=\"SECRETPW1\";");
        cli.put("archive.credential", "https://user:SECRETPW2@example.com/archive");
        cli.put("publish.pasword", "SECRETPW3");
        cli.put("shutdown.timout.seconds", "20");
        cli.put("publish.retries", "4");
        cli.put(ServiceConfig.COMMIT_INTERVAL_MS, "400");
        final String printed = ServiceConfig.load(null, Map.of("HISTORY_STREAMS_ARCHIVE_CREDENTAILS",
                "https://u:SECRETPW4@example.org/"), cli).toString();
        assertFalse(printed.contains("SECRETPW"), printed);
        assertTrue(printed.contains("kafak.sasl.jaas.config=(unknown: not shown)"), printed);
        assertTrue(printed.contains("shutdown.timout.seconds=(unknown: not shown)"), printed);
        assertTrue(printed.contains("publish.retries=4") && printed.contains("commit.interval.ms=400"), printed);
        // every publish setting the tool reads is shown (a trial: publish.link and publish.root.wait.seconds read as
        // unknown in the start line, though they took effect)
        final Map<String, String> publish = new HashMap<>();
        io.historystreams.publish.ArchiveWriters.settingNames().forEach(k -> publish.put("publish." + k, "1"));
        publish.put("publish.root.wait.seconds", "1");
        publish.put("publish.give.up.seconds", "1");
        final String all = ServiceConfig.load(null, Map.of(), publish).toString();
        assertFalse(all.contains("unknown"), all);
        assertTrue(all.contains("publish.link=1") && all.contains("publish.root.wait.seconds=1"), all);
    }
}
