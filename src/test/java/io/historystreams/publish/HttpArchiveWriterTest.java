package io.historystreams.publish;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.RetryPolicy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The HTTP writer against a real nginx WebDAV server, directly and through a fault-injecting loopback proxy. */
class HttpArchiveWriterTest {
    private static final String HAS_3F = ArchivePaths.has(0x3f);
    private static final RetryPolicy FAST = new RetryPolicy(5, Duration.ofMillis(1), Duration.ofMillis(10),
            Duration.ofMillis(10));

    private static Path base;
    private static NginxDav nginx;
    private static FaultProxy proxy;
    private static Path root;

    @BeforeAll
    static void startServers() throws Exception {
        base = Files.createTempDirectory("http-writer-test");
        nginx = NginxDav.start(base.resolve("dav-root"));
        proxy = new FaultProxy(nginx.uri());
    }

    @AfterAll
    static void stopServers() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
        if (nginx != null) {
            nginx.close();
        }
        deleteTree(base);
    }

    @BeforeEach
    void freshArchive() throws Exception {
        // each test publishes into its own directory below the DAV root
        root = Files.createDirectories(nginx.root.resolve("t" + System.nanoTime()));
        proxy.reset();
    }

    @AfterEach
    void noTemporariesLeft() throws Exception {
        try (Stream<Path> s = Files.walk(root)) {
            assertEquals(List.of(), s.map(Path::toString).filter(p -> p.contains(".tmp-")).toList());
        }
    }

    private URI direct() {
        return nginx.uri().resolve("/" + root.getFileName() + "/");
    }

    @Test
    void aHostThatDoesNotResolveIsNamed() throws Exception {
        // the JDK's client says only "java.net.ConnectException", with no host and no reason
        try (HttpArchiveWriter w = new HttpArchiveWriter(java.net.URI.create("http://no-such-host.invalid/mirror/"),
                true, Duration.ofSeconds(5), Duration.ofSeconds(5))) {
            final PublishException e = org.junit.jupiter.api.Assertions.assertThrows(PublishException.class,
                    () -> w.exists("history/00/00/00/history-0000003f.json"));
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("cannot resolve host "
                    + "no-such-host.invalid"), e.getMessage());
        }
    }

    @Test
    void aHostNameJavasClientCannotReachIsRefusedAtOnceAndARawAtInAPasswordIsNot() throws Exception {
        // every request failed as "unsupported URI", retried until publish.give.up.seconds
        final IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(
                IllegalArgumentException.class, () -> new HttpArchiveWriter(java.net.URI.create(
                        "http://dav_host:8080/x/"), true, Duration.ofSeconds(5), Duration.ofSeconds(5)));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("cannot reach a host name that is not a "
                + "valid DNS name (dav_host: an underscore?)"), e.getMessage());
        try (HttpArchiveWriter w = new HttpArchiveWriter(java.net.URI.create("http://u:p@ss@127.0.0.1:1/x/"), true,
                Duration.ofSeconds(5), Duration.ofSeconds(5))) {
            org.junit.jupiter.api.Assertions.assertEquals("http://127.0.0.1:1/x/", w.name());
        }
    }

    @Test
    void publishesFixtureCheckpointsToNginxByteIdentical() throws Exception {
        final FixtureSet set = new FixtureSet();
        try (HttpArchiveWriter w = new HttpArchiveWriter(direct())) {
            assertEquals(direct().toString(), w.name());
            assertTrue(w.readRootState().isEmpty());
            assertFalse(w.exists(HAS_3F));
            set.publish(w);
            assertTrue(w.exists(HAS_3F));
            for (final String p : set.paths) {
                assertTrue(w.exists(p), p);
            }
            assertFalse(w.exists(ArchivePaths.has(0xbf)));
            assertArrayEquals(set.rootState(), w.readRootState().orElseThrow());
        }
        set.assertPublished(root);
    }

    @Test
    void rootStateRoundTripAndPlainPut() throws Exception {
        final URI target = URI.create(direct().toString().replaceAll("/$", "")); // no trailing slash: still a directory
        try (HttpArchiveWriter w = new HttpArchiveWriter(target, false, Duration.ofSeconds(5), Duration.ofSeconds(30))) {
            w.putRootState("{\"currentLedger\": 63}".getBytes(StandardCharsets.UTF_8));
            assertEquals("{\"currentLedger\": 63}", new String(w.readRootState().orElseThrow(), StandardCharsets.UTF_8));
            w.putRootState("{\"currentLedger\": 127}".getBytes(StandardCharsets.UTF_8));
            assertEquals("{\"currentLedger\": 127}", new String(w.readRootState().orElseThrow(), StandardCharsets.UTF_8));
            w.put(HAS_3F, Files.writeString(base.resolve("plain"), "plain put"));
            assertTrue(w.exists(HAS_3F));
        }
        assertEquals("plain put", Files.readString(root.resolve(HAS_3F)));
    }

    @Test
    void serviceUnavailableIsRetriedUntilPublished() throws Exception {
        final FixtureSet set = new FixtureSet();
        proxy.failPuts.set(3);
        final URI viaProxy = proxy.uri().resolve("/" + root.getFileName() + "/");
        final HttpArchiveWriter bare = new HttpArchiveWriter(viaProxy);
        final PublishException once = assertThrows(PublishException.class,
                () -> bare.put(HAS_3F, set.source.resolve(HAS_3F)));
        assertTrue(once.retryable());
        assertTrue(once.getMessage().contains("HTTP 503"), once.getMessage());
        assertEquals(Duration.ofSeconds(0), once.retryAfter());
        assertFalse(Files.exists(root.resolve(HAS_3F)));

        try (ArchiveWriter w = new RetryingArchiveWriter(bare, FAST)) {
            set.publish(w);
        }
        set.assertPublished(root);
        assertEquals(0, proxy.failPuts.get());
        assertEquals(set.paths.size() + 1 + 3, proxy.puts.get(), "every file once, plus the 3 refused PUTs");
    }

    @Test
    void forbiddenIsNotRetried() throws Exception {
        proxy.forbid = true;
        final URI viaProxy = proxy.uri().resolve("/" + root.getFileName() + "/");
        try (ArchiveWriter w = new RetryingArchiveWriter(new HttpArchiveWriter(viaProxy), FAST)) {
            final PublishException e = assertThrows(PublishException.class,
                    () -> w.put(HAS_3F, Files.writeString(base.resolve("f"), "x")));
            assertFalse(e.retryable());
            assertTrue(e.getMessage().contains("HTTP 403"), e.getMessage());
        }
        assertEquals(1, proxy.puts.get(), "a 403 is not retried");
        assertFalse(Files.exists(root.resolve(HAS_3F)));
    }

    @Test
    void connectionRefusedIsRetryableAndBounded() throws Exception {
        final int closedPort;
        try (var s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        try (ArchiveWriter w = new RetryingArchiveWriter(new HttpArchiveWriter(
                URI.create("http://127.0.0.1:" + closedPort + "/"), true, Duration.ofSeconds(2), Duration.ofSeconds(5)),
                new RetryPolicy(2, Duration.ofMillis(1), Duration.ofMillis(2), Duration.ofMillis(2)))) {
            final PublishException e = assertThrows(PublishException.class, () -> w.exists(HAS_3F));
            assertTrue(e.retryable());
            assertTrue(e.getMessage().contains("after 2 attempts"), e.getMessage());
        }
    }

    @Test
    void basicAuthFromUserInfoIsSentButNeverPrinted() throws Exception {
        final URI viaProxy = URI.create("http://publisher:s3cr%40t@127.0.0.1:" + proxy.port() + "/"
                + root.getFileName() + "/");
        try (ArchiveWriter w = ArchiveWriters.open(viaProxy.toString(), Map.of("retries", "1"))) {
            assertFalse(w.name().contains("s3cr") || w.name().contains("publisher"), w.name());
            w.put(HAS_3F, Files.writeString(base.resolve("auth"), "authenticated"));
            proxy.forbid = true;
            final PublishException e = assertThrows(PublishException.class,
                    () -> w.put(ArchivePaths.has(0x7f), base.resolve("auth")));
            assertFalse(e.getMessage().contains("s3cr") || e.getMessage().contains("publisher"), e.getMessage());
        }
        final String expected = "Basic " + java.util.Base64.getEncoder()
                .encodeToString("publisher:s3cr@t".getBytes(StandardCharsets.UTF_8));
        assertFalse(proxy.authorizations.isEmpty());
        assertTrue(proxy.authorizations.stream().allMatch(expected::equals), proxy.authorizations.toString());
        assertEquals("authenticated", Files.readString(root.resolve(HAS_3F)));
    }

    @Test
    void hostilePathsNeverReachTheServer() throws Exception {
        final URI viaProxy = proxy.uri().resolve("/" + root.getFileName() + "/");
        try (HttpArchiveWriter w = new HttpArchiveWriter(viaProxy)) {
            final Path src = Files.writeString(base.resolve("h"), "x");
            for (final String p : new String[] {"../../etc/passwd", "/etc/passwd", "history/00/00/3f/%2e%2e/x.json",
                    "history/00/00/3f/history-0000003f.json?x=1", "history/00/00/3f/history-0000003f.json#x"}) {
                assertThrows(IllegalArgumentException.class, () -> w.put(p, src), p);
                assertThrows(IllegalArgumentException.class, () -> w.exists(p), p);
            }
        }
        assertEquals(0, proxy.requests.get());
    }

    @Test
    void aServerThatCannotStartFailsTheTestInsteadOfSkippingIt() {
        // nginx.conf cannot hold a root with a space: the script refuses, and NginxDav turns that into a failure
        final var e = assertThrows(org.opentest4j.AssertionFailedError.class,
                () -> NginxDav.start(base.resolve("bad root")));
        assertTrue(e.getMessage().contains("could not start the nginx WebDAV test server"), e.getMessage());
    }

    private static void deleteTree(final Path p) throws IOException {
        if (p == null || !Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (final Path f : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(f);
            }
        }
    }

    /** A loopback reverse proxy in front of nginx that can refuse PUTs with 503 (Retry-After: 0) or 403. */
    static final class FaultProxy implements AutoCloseable {
        final AtomicInteger failPuts = new AtomicInteger();
        final AtomicInteger puts = new AtomicInteger();
        final AtomicInteger requests = new AtomicInteger();
        final List<String> authorizations = new CopyOnWriteArrayList<>();
        volatile boolean forbid;
        private final URI upstream;
        private final HttpServer server;
        private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

        FaultProxy(final URI upstream) throws IOException {
            this.upstream = upstream;
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            server.createContext("/", this::handle);
            server.start();
        }

        void reset() {
            failPuts.set(0);
            puts.set(0);
            requests.set(0);
            authorizations.clear();
            forbid = false;
        }

        int port() {
            return server.getAddress().getPort();
        }

        URI uri() {
            return URI.create("http://127.0.0.1:" + port() + "/");
        }

        private void handle(final HttpExchange ex) throws IOException {
            try (ex) {
                requests.incrementAndGet();
                final String auth = ex.getRequestHeaders().getFirst("Authorization");
                if (auth != null) {
                    authorizations.add(auth);
                }
                final byte[] body = ex.getRequestBody().readAllBytes();
                final String method = ex.getRequestMethod();
                if (method.equals("PUT")) {
                    puts.incrementAndGet();
                    if (forbid) {
                        reply(ex, 403, "forbidden by test proxy");
                        return;
                    }
                    if (failPuts.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                        ex.getResponseHeaders().add("Retry-After", "0");
                        reply(ex, 503, "unavailable (test proxy)");
                        return;
                    }
                }
                final HttpRequest.Builder b = HttpRequest.newBuilder(upstream.resolve(ex.getRequestURI().getRawPath()))
                        .method(method, body.length == 0 ? HttpRequest.BodyPublishers.noBody()
                                : HttpRequest.BodyPublishers.ofByteArray(body));
                for (final String h : List.of("Destination", "Overwrite", "Content-Type")) {
                    final String v = ex.getRequestHeaders().getFirst(h);
                    if (v != null) {
                        b.header(h, v);
                    }
                }
                final HttpResponse<byte[]> r;
                try {
                    r = client.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    reply(ex, 502, "interrupted");
                    return;
                }
                final byte[] out = r.body();
                final boolean noBody = method.equals("HEAD") || out.length == 0 || r.statusCode() == 204;
                if (method.equals("HEAD")) {
                    r.headers().firstValue("Content-Length")
                            .ifPresent(v -> ex.getResponseHeaders().add("Content-Length", v));
                }
                ex.sendResponseHeaders(r.statusCode(), noBody ? -1 : out.length);
                if (!noBody) {
                    ex.getResponseBody().write(out);
                }
            }
        }

        private static void reply(final HttpExchange ex, final int code, final String text) throws IOException {
            final byte[] b = text.getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(code, b.length);
            ex.getResponseBody().write(b);
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }
}
