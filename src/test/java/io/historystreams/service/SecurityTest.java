package io.historystreams.service;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.Credentials;
import io.historystreams.archive.FetchObserver;
import io.historystreams.archive.FileType;
import io.historystreams.archive.HistoryArchive;
import io.historystreams.archive.RetryPolicy;
import io.historystreams.archive.SourceOptions;
import io.historystreams.blob.LocalBlobStore;
import io.historystreams.events.serde.SchemaRegistry;
import io.historystreams.kafka.EmbeddedKafkaBroker;
import io.historystreams.publish.CheckpointPublisher;
import io.historystreams.publish.LocalArchiveWriter;
import io.historystreams.publish.PublishRunner;
import io.historystreams.testing.FaultyArchiveServer;
import io.historystreams.testing.Fixtures;
import io.historystreams.verify.FailureReason;
import io.historystreams.verify.VerificationException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import java.io.File;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Security properties: paths from an archive never escape a root (the reading and publishing layers have their own
 * tests: DirectoryArchiveSourceTest, TargetPathTest; the blob store here), TLS verified by default, the endpoint on
 * loopback, Kafka client settings passed through untouched and never printed, archive credentials never stored or
 * printed.
 */
class SecurityTest {
    @TempDir
    Path dir;

    @Test
    void blobStoreRefusesReferencesThatAreNotHashes() throws Exception {
        final LocalBlobStore store = new LocalBlobStore(dir.resolve("blobs"));
        Files.writeString(dir.resolve("secret.txt"), "secret");
        for (final String ref : List.of("../secret.txt", "../../secret.txt", "/etc/passwd", "..", "",
                "aa/../../secret.txt", "A".repeat(64), "0".repeat(63) + "/", "0".repeat(64) + "/../x")) {
            assertThrows(IllegalArgumentException.class, () -> store.open(ref), ref);
            assertThrows(IllegalArgumentException.class, () -> store.delete(ref), ref);
            assertThrows(IllegalArgumentException.class, () -> store.contains(ref), ref);
        }
        assertTrue(Files.exists(dir.resolve("secret.txt")));
        assertTrue(store.open("0".repeat(64)).isEmpty());
    }

    @Test
    @Timeout(60)
    void selfSignedTlsArchiveIsRefusedNamingTls() throws Exception {
        final Path ks = dir.resolve("self-signed.p12");
        final Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool")
                .toString(), "-genkeypair", "-keyalg", "RSA", "-keysize", "2048", "-alias", "archive", "-keystore",
                ks.toString(), "-storetype", "PKCS12", "-storepass", "changeit", "-keypass", "changeit", "-dname",
                "CN=127.0.0.1", "-ext", "SAN=ip:127.0.0.1", "-validity", "2").redirectErrorStream(true).start();
        assertTrue(keytool.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, keytool.exitValue(), new String(keytool.getInputStream().readAllBytes()));
        final KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(ks)) {
            store.load(in, "changeit".toCharArray());
        }
        final KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(store, "changeit".toCharArray());
        final SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(kmf.getKeyManagers(), null, null);
        final HttpsServer server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 8);
        server.setHttpsConfigurator(new HttpsConfigurator(tls));
        final byte[] has = Files.readAllBytes(Fixtures.testnetSmall().resolve(ArchivePaths.WELL_KNOWN));
        server.createContext("/", ex -> {
            ex.sendResponseHeaders(200, has.length);
            ex.getResponseBody().write(has);
            ex.close();
        });
        server.start();
        try (HistoryArchive ha = HistoryArchive.open(List.of("https://127.0.0.1:" + server.getAddress().getPort()
                + "/"), SourceOptions.defaults(), RetryPolicy.defaults().withMaxAttempts(2), FetchObserver.NONE)) {
            final VerificationException e = assertThrows(VerificationException.class,
                    () -> ha.fetch(ArchivePaths.WELL_KNOWN, in -> in.readAllBytes()));
            assertTrue(e.reason() == FailureReason.FETCH_REFUSED || e.reason() == FailureReason.FETCH_FAILED,
                    e.toString());
            assertTrue(e.getMessage().contains("TLS"), e.getMessage());
            FaultCatalogueTest.TABLE.add("https archive with a self-signed certificate | 1 | " + e.reason()
                    + " (TLS named) | 0 | 0");
        } finally {
            server.stop(0);
        }
    }

    @Test
    void healthEndpointBindsToLoopbackByDefault() throws Exception {
        final ServiceConfig c = ServiceConfig.of(Map.of());
        assertEquals("127.0.0.1", c.get(ServiceConfig.HTTP_BIND));
        try (HealthServer h = HealthServer.start(c.get(ServiceConfig.HTTP_BIND), 0, () -> true, () -> true,
                () -> "", () -> "RUNNING")) {
            assertTrue(h.url().startsWith("http://127.0.0.1:"), h.url());
            assertTrue(InetAddress.getByName(h.url().replaceAll("http://([^:]+):.*", "$1")).isLoopbackAddress());
        }
    }

    @Test
    void aClientThatNeverFinishesItsRequestNeitherBlocksTheProbesNorHoldsItsConnection() throws Exception {
        // one socket sending half a request held the endpoint's only handler thread: every probe timed out. In a JVM
        // of its own: the JDK's server reads its request time limit once per JVM, at its first server (in this one,
        // another test's may have come first)
        final Process jvm = new ProcessBuilder(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-cp", System.getProperty("java.class.path"), HealthServerMain.class.getName())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            final String url = new java.io.BufferedReader(new java.io.InputStreamReader(jvm.getInputStream()))
                    .readLine();
            assertTrue(url != null && url.startsWith("http://127.0.0.1:"), String.valueOf(url));
            try (java.net.Socket stalled = new java.net.Socket("127.0.0.1", java.net.URI.create(url).getPort())) {
                stalled.getOutputStream().write("GET /health/live HTTP/1.1\r\nHost: x\r\n".getBytes());
                stalled.getOutputStream().flush();
                Thread.sleep(300);
                final java.net.http.HttpClient client = java.net.http.HttpClient.newBuilder()
                        .connectTimeout(java.time.Duration.ofSeconds(2)).build();
                final java.net.http.HttpResponse<String> probe = client.send(java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create(url + "/health/live")).timeout(java.time.Duration.ofSeconds(3)).build(),
                        java.net.http.HttpResponse.BodyHandlers.ofString());
                assertEquals(200, probe.statusCode());
                // and the stalled connection is closed after the request time limit
                stalled.setSoTimeout((int) (HealthServer.MAX_REQUEST_SECONDS + 15) * 1000);
                final long start = System.nanoTime();
                assertEquals(-1, stalled.getInputStream().read(), "the server answered a request it never got whole");
                final long waited = (System.nanoTime() - start) / 1_000_000_000L;
                assertTrue(waited <= HealthServer.MAX_REQUEST_SECONDS + 12, "closed after " + waited + " s");
            }
        } finally {
            jvm.destroyForcibly().waitFor();
        }
    }

    @Test
    void theEndpointServesSchemasOnlyFromARegistryWithoutAServerOfItsOwn() {
        final SchemaRegistry registry = SchemaRegistry.forUrl("mock://security-test");
        // the default (a directory under the data dir) and the in-process mock: served
        assertSame(registry, HistoryStreamsService.schemasToServe(ServiceConfig.of(Map.of()), registry));
        assertSame(registry, HistoryStreamsService.schemasToServe(ServiceConfig.of(Map.of(
                ServiceConfig.SCHEMA_REGISTRY_URL, "mock://security-test")), registry));
        // a registry server, whose lookups by id are made with the service's credentials: never relayed
        for (final String url : List.of("http://registry:8081", "https://u:p@registry/")) {
            assertNull(HistoryStreamsService.schemasToServe(ServiceConfig.of(Map.of(
                    ServiceConfig.SCHEMA_REGISTRY_URL, url)), registry), url);
        }
    }

    @Test
    void kafkaClientSettingsPassThroughUntouchedAndAreNeverPrinted() throws Exception {
        final ServiceConfig c = ServiceConfig.of(Map.of("kafka.security.protocol", "SASL_SSL",
                "kafka.sasl.mechanism", "PLAIN", "kafka.sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" "
                        + "password=\"kafka-pa55\";", ServiceConfig.ARCHIVE_CREDENTIALS, "https://a:b-pa55@h/"));
        final Map<String, Object> client = HistoryStreamsService.clientProps(c, "broker:9092");
        assertEquals("SASL_SSL", client.get("security.protocol"));
        assertEquals("PLAIN", client.get("sasl.mechanism"));
        assertEquals("broker:9092", client.get(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG));
        final Properties streams = HistoryStreamsService.streamsProps(c, "broker:9092", 1);
        assertEquals("SASL_SSL", streams.get("security.protocol"));
        assertEquals(client.get("sasl.jaas.config"), streams.get("sasl.jaas.config"));
        // Kafka Streams hands un-prefixed client settings to its producers, consumers and admin
        final StreamsConfig sc = new StreamsConfig(streams);
        assertEquals("SASL_SSL", sc.getMainConsumerConfigs("g", "c", 0).get("security.protocol"));
        assertEquals("SASL_SSL", sc.getProducerConfigs("p").get("security.protocol"));
        assertEquals("SASL_SSL", sc.getAdminConfigs("a").get("security.protocol"));
        // the publish runners get the same settings
        try (io.historystreams.topology.PipelineContext ctx = new io.historystreams.topology.PipelineContext(
                new LocalBlobStore(dir.resolve("b")), 1, SourceOptions.defaults(), RetryPolicy.defaults(),
                io.historystreams.verify.VerificationLimits.defaults(), FetchObserver.NONE)) {
            final PublishRunner r = new PublishRunner("app", client, "target", new CheckpointPublisher(
                    new LocalArchiveWriter(dir.resolve("t")), ctx), new io.historystreams.topology.Topics("x.",
                    io.historystreams.events.serde.SchemaRegistry.forUrl("mock://x")),
                    PublishRunner.Settings.defaults());
            checkRunner(r, client);
        }
        assertFalse(c.toString().contains("pa55"), c.toString());
    }

    @Test
    void producerCompressionIsLz4UnlessTheOperatorChoseOne() {
        final String key = StreamsConfig.producerPrefix("compression.type");
        final StreamsConfig dflt = new StreamsConfig(
                HistoryStreamsService.streamsProps(ServiceConfig.of(Map.of()), "broker:9092", 1));
        assertEquals("lz4", dflt.getProducerConfigs("p").get("compression.type"));
        for (final String setting : new String[] {"kafka.compression.type", "kafka." + key}) {
            final Properties p = HistoryStreamsService.streamsProps(ServiceConfig.of(Map.of(setting, "zstd")),
                    "broker:9092", 1);
            assertEquals("zstd", new StreamsConfig(p).getProducerConfigs("p").get("compression.type"), setting);
        }
    }

    @Test
    void restoreConsumerWaitsBrieflyForFetchesUnlessTheOperatorChose() {
        final StreamsConfig dflt = new StreamsConfig(
                HistoryStreamsService.streamsProps(ServiceConfig.of(Map.of()), "broker:9092", 1));
        assertEquals(50, dflt.getRestoreConsumerConfigs("c").get("fetch.max.wait.ms"));
        // the stream threads' own consumers keep Kafka's default
        assertEquals(null, dflt.getMainConsumerConfigs("g", "c", 0).get("fetch.max.wait.ms"));
        for (final String setting : new String[] {"kafka.fetch.max.wait.ms", "kafka.restore.consumer.fetch.max.wait.ms"}) {
            final Properties p = HistoryStreamsService.streamsProps(ServiceConfig.of(Map.of(setting, "300")),
                    "broker:9092", 1);
            assertEquals("300", String.valueOf(new StreamsConfig(p).getRestoreConsumerConfigs("c")
                    .get("fetch.max.wait.ms")), setting);
        }
    }

    @Test
    void clientsRetryAfter10msWithTheEmbeddedBrokerOnlyUnlessTheOperatorChose() {
        // embedded (no bootstrap servers): every client the pipeline makes, and the followers
        final ServiceConfig embedded = ServiceConfig.of(Map.of());
        assertEquals(10, HistoryStreamsService.clientProps(embedded, "127.0.0.1:1").get("retry.backoff.ms"));
        final StreamsConfig e = new StreamsConfig(HistoryStreamsService.streamsProps(embedded, "127.0.0.1:1", 1));
        assertEquals("10", String.valueOf(e.getProducerConfigs("p").get("retry.backoff.ms")));
        assertEquals("10", String.valueOf(e.getMainConsumerConfigs("g", "c", 0).get("retry.backoff.ms")));
        assertEquals("10", String.valueOf(e.getRestoreConsumerConfigs("c").get("retry.backoff.ms")));
        assertEquals("10", String.valueOf(e.getAdminConfigs("a").get("retry.backoff.ms")));
        // the operator's value wins
        final ServiceConfig chosen = ServiceConfig.of(Map.of("kafka.retry.backoff.ms", "250"));
        assertEquals("250", HistoryStreamsService.clientProps(chosen, "127.0.0.1:1").get("retry.backoff.ms"));
        // on a cluster Kafka's default stays
        final ServiceConfig cluster = ServiceConfig.of(Map.of(ServiceConfig.BOOTSTRAP_SERVERS, "broker:9092"));
        assertFalse(HistoryStreamsService.clientProps(cluster, "broker:9092").containsKey("retry.backoff.ms"));
        assertFalse(new StreamsConfig(HistoryStreamsService.streamsProps(cluster, "broker:9092", 1))
                .getProducerConfigs("p").containsKey("retry.backoff.ms"));
    }

    @Test
    void pipelineProducersBatch64KiBUnlessTheOperatorChose() {
        final StreamsConfig dflt = new StreamsConfig(
                HistoryStreamsService.streamsProps(ServiceConfig.of(Map.of()), "broker:9092", 1));
        assertEquals(65536, dflt.getProducerConfigs("c").get("batch.size"));
        for (final String setting : new String[] {"kafka.batch.size", "kafka.producer.batch.size"}) {
            final Properties p = HistoryStreamsService.streamsProps(ServiceConfig.of(Map.of(setting, "8192")),
                    "broker:9092", 1);
            assertEquals("8192", String.valueOf(new StreamsConfig(p).getProducerConfigs("c").get("batch.size")),
                    setting);
        }
    }

    private static void checkRunner(final PublishRunner r, final Map<String, Object> client) {
        for (final Map<String, Object> m : List.of(r.consumerProps(), r.producerProps())) {
            assertEquals("SASL_SSL", m.get("security.protocol"));
            assertEquals(client.get("sasl.jaas.config"), m.get("sasl.jaas.config"));
            assertEquals("broker:9092", m.get("bootstrap.servers"));
        }
    }

    /**
     * An archive URL with credentials: the fetchers use them (Authorization reaches the server), but they appear in
     * no output (stdout/stderr of the process, logs included), no report and no Kafka record.
     */
    @Test
    @Timeout(180)
    void archiveCredentialsNeverAppearInOutputReportsOrEvents() throws Exception {
        final String app = "secrets";
        final String secret = "s3cret-pa55";
        final Path data = dir.resolve(app);
        final Path report = dir.resolve("report.json");
        final Path target = dir.resolve("target");
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(dir.resolve("broker"), Map.of());
                FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.testnetSmall())) {
            server.on(ArchivePaths.checkpointFile(FileType.RESULTS, 0xbf)).status(404).forever();
            final String url = server.url().replace("http://", "http://alice:" + secret + "@");
            final List<String> cmd = io.historystreams.testing.JavaMain.command("256m",
                    "ingest", "--archive", url, "--from", "1", "--to", "255",
                    "--bootstrap-servers", broker.bootstrapServers(), "--application-id", app, "-D",
                    "topic.prefix=" + app + ".", "--data-dir", data.toString(), "--http-port", "-1",
                    "--report", report.toString(), "--publish-to", target.toString(), "-D",
                    "checkpoint.max.attempts=2", "-D", "checkpoint.retry.backoff.ms=200", "--timeout", "120");
            final File log = dir.resolve("ingest.log").toFile();
            final Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log).start();
            assertTrue(p.waitFor(150, TimeUnit.SECONDS), "ingest finished");
            final String output = Files.readString(log.toPath());
            assertEquals(1, p.exitValue(), output);
            assertTrue(server.lastRequestHeaders().toString().toLowerCase().contains("authorization"),
                    "the credentials reached the archive: " + server.lastRequestHeaders());
            assertFalse(output.contains(secret), "no secret in stdout/stderr/logs");
            assertFalse(output.contains("alice"), "no user name in stdout/stderr/logs");
            final String r = Files.readString(report);
            assertTrue(r.contains("MISSING_FILE") && r.contains(server.url()), r);
            assertFalse(r.contains(secret) || r.contains("alice"), "no secret in the report");
            final byte[] needle = secret.getBytes(StandardCharsets.UTF_8);
            int records = 0;
            try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                    broker.bootstrapServers()))) {
                for (final String topic : admin.listTopics().names().get(30, TimeUnit.SECONDS)) {
                    if (!topic.startsWith(app)) {
                        continue;
                    }
                    for (final ConsumerRecord<byte[], byte[]> rec : TopicReader.readAll(broker.bootstrapServers(),
                            topic, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
                        records++;
                        assertFalse(contains(rec.value(), needle) || contains(rec.value(),
                                "alice".getBytes(StandardCharsets.UTF_8)), "no secret in a record of " + topic);
                    }
                }
            }
            assertTrue(records > 100, "records were checked: " + records);
            try (var files = Files.walk(data)) {
                for (final Path f : files.filter(Files::isRegularFile).filter(f -> f.toString().endsWith(".log")
                        || f.toString().contains("schema-registry")).toList()) {
                    assertFalse(contains(Files.readAllBytes(f), needle), "no secret in " + f);
                }
            }
            FaultCatalogueTest.TABLE.add("archive URL with user:pass@ | 1 | credentials used, absent from "
                    + "output/logs, report and " + records + " Kafka records | 0 | 0");
        }
    }

    private static boolean contains(final byte[] hay, final byte[] needle) {
        if (hay == null) {
            return false;
        }
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    @Test
    void credentialsAreStrippedAndResolvedInProcess() {
        final String name = Credentials.strip("https://bob:pw%40x@archive.example.org:8443/root?sig=abc");
        assertEquals("https://archive.example.org:8443/root/", name);
        assertEquals("https://bob:pw%40x@archive.example.org:8443/root?sig=abc", Credentials.resolve(name));
        assertEquals("/some/dir", Credentials.strip("/some/dir"));
        assertEquals("https://plain.example.org/", Credentials.strip("https://plain.example.org/"));
        // what ingest --client warns of: credentials a URL carries, not a missing trailing slash (every URL without
        // one was warned of), an empty query or an empty user info
        assertTrue(Credentials.carried("https://bob:pw@archive.example.org/root"));
        assertTrue(Credentials.carried("https://archive.example.org/root?sig=abc"));
        assertTrue(Credentials.carried("HTTPS://bob@archive.example.org/root/"));
        for (final String plain : new String[] {"https://archive.example.org/root", "http://127.0.0.1:47310/root?",
                "http://@127.0.0.1:47310/root", "https://archive.example.org/root#frag", "/some/dir", "relative"}) {
            assertFalse(Credentials.carried(plain), plain);
        }
        assertEquals(Duration.ofSeconds(3), ServiceConfig.of(Map.of(ServiceConfig.READ_TIMEOUT_SECONDS, "3"))
                .sourceOptions().readTimeout());
    }
}
