package io.historystreams.archive;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.historystreams.testing.FaultyArchiveServer;
import io.historystreams.testing.Waits;
import io.historystreams.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class HttpArchiveSourceTest {
    private static final Duration TEN_S = Duration.ofSeconds(10);
    private Path root;
    private FaultyArchiveServer server;
    private HttpArchiveSource source;
    private String bucket;
    private byte[] bucketBytes;

    @BeforeEach
    void start() throws IOException {
        root = Fixtures.testnetSmall();
        server = FaultyArchiveServer.start(root);
        source = new HttpArchiveSource(server.url(), SourceOptions.defaults().withReadTimeout(Duration.ofSeconds(1)));
        bucket = TestBuckets.largest(root);
        bucketBytes = Files.readAllBytes(root.resolve(bucket));
    }

    @AfterEach
    void stop() {
        server.close();
        assertEquals(0, server.liveThreads(), "server threads left running");
    }

    private FetchException failure(final String path) {
        return assertThrows(FetchException.class, () -> DirectoryArchiveSourceTest.readAll(source, path));
    }

    @Test
    void servesBodyByteIdentically() throws IOException {
        try (ArchiveSource.Body body = source.open(bucket)) {
            assertEquals(bucketBytes.length, body.declaredLength());
            assertArrayEquals(bucketBytes, body.stream().readAllBytes());
        }
        assertTrue(server.lastRequestHeaders().get("user-agent").startsWith("history-streams/"),
                server.lastRequestHeaders().toString());
    }

    @Test
    void reusesKeepAliveConnections() throws IOException {
        final String has = ArchivePaths.WELL_KNOWN;
        final byte[] expected = Files.readAllBytes(root.resolve(has));
        for (int i = 0; i < 20; i++) {
            assertArrayEquals(expected, DirectoryArchiveSourceTest.readAll(source, has));
        }
        server.on(has).status(404);
        assertInstanceOf(FetchException.NotPresent.class, failure(has));
        assertArrayEquals(expected, DirectoryArchiveSourceTest.readAll(source, has));
        assertEquals(22, server.requests(has));
        assertTrue(server.connectionsAccepted() <= 2, "connections: " + server.connectionsAccepted());
    }

    @Test
    void notFoundAndGoneAreNotPresent() {
        assertInstanceOf(FetchException.NotPresent.class, failure("ledger/ff/ff/ff/ledger-ffffffff.xdr.gz"));
        server.on(bucket).status(410);
        assertInstanceOf(FetchException.NotPresent.class, failure(bucket));
    }

    @Test
    void serverErrorsAreTransientWithRetryAfter() {
        server.on(bucket).status(500).status(503, "Retry-After", "7").status(429, "Retry-After", "1")
                .status(408).status(502, "Retry-After", "soon");
        final FetchException.Transient e500 = assertInstanceOf(FetchException.Transient.class, failure(bucket));
        assertNull(e500.retryAfter());
        assertTrue(e500.getMessage().contains("HTTP 500"), e500.getMessage());
        assertTrue(e500.getMessage().contains(bucket), e500.getMessage());
        assertEquals(Duration.ofSeconds(7),
                assertInstanceOf(FetchException.Transient.class, failure(bucket)).retryAfter());
        assertEquals(Duration.ofSeconds(1),
                assertInstanceOf(FetchException.Transient.class, failure(bucket)).retryAfter());
        assertInstanceOf(FetchException.Transient.class, failure(bucket));
        assertNull(assertInstanceOf(FetchException.Transient.class, failure(bucket)).retryAfter());
        assertEquals(5, server.requests(bucket));
    }

    @Test
    void aHeadFailingWithA5xxIsAskedAgainWithAGetUnlessTheServerAskedForAWait() throws IOException {
        // the GET's answer stands; its body is not read
        server.on(bucket).status(502).times(1);
        assertEquals(bucketBytes.length, source.head(bucket).declaredLength());
        final String absent = "bucket/00/00/00/bucket-" + "0".repeat(64) + ".xdr.gz";
        server.on(absent).status(500).times(1);
        assertInstanceOf(FetchException.NotPresent.class, assertThrows(FetchException.class,
                () -> source.head(absent)));
        assertEquals(2, server.requests(absent), "a HEAD, then a GET");
        // the GET failing too: the HEAD's failure
        server.on(bucket).status(500).status(503).times(1);
        final FetchException.Transient both = assertInstanceOf(FetchException.Transient.class,
                assertThrows(FetchException.class, () -> source.head(bucket)));
        assertTrue(both.getMessage().contains("HTTP 500"), both.getMessage());
        // a Retry-After asks for a wait: no GET at once
        final int before = server.requests(bucket);
        server.on(bucket).status(503, "Retry-After", "1").times(1);
        assertEquals(Duration.ofSeconds(1), assertInstanceOf(FetchException.Transient.class,
                assertThrows(FetchException.class, () -> source.head(bucket))).retryAfter());
        assertEquals(before + 1, server.requests(bucket));
        assertEquals(2, server.bodiesRequested().get(bucket), "a GET after each HEAD that failed without a wait asked");
    }

    @Test
    void otherClientErrorsAreRefused() {
        server.on(bucket).status(401).status(400);
        assertInstanceOf(FetchException.Refused.class, failure(bucket));
        assertInstanceOf(FetchException.Refused.class, failure(bucket));
    }

    @Test
    void forbiddenIsAbsentAsS3SaysItForAMissingObjectExceptForTheRootState() {
        // S3 without s3:ListBucket answers 403 for a key that is not there: an absent SCP file is no failure then,
        // and a file not uploaded yet is tried again (it was a refusal, never retried)
        server.on(bucket).status(403);
        final FetchException e = assertInstanceOf(FetchException.NotPresent.class, failure(bucket));
        assertTrue(e.getMessage().contains("HTTP 403") && e.getMessage().contains("taken as absent"), e.getMessage());
        // a private archive read without its credentials answers 403 for its root state too: refused
        server.on(ArchivePaths.WELL_KNOWN).status(403);
        assertInstanceOf(FetchException.Refused.class, failure(ArchivePaths.WELL_KNOWN));
    }

    @Test
    void anAnswerAfterARedirectNamesWhereItCameFromAndWhetherTheCredentialsWentThere() throws IOException {
        try (FaultyArchiveServer other = FaultyArchiveServer.start(root)) {
            other.on(bucket).status(401);
            server.on(bucket).status(301, "Location", other.url() + bucket);
            final HttpArchiveSource withCredentials = new HttpArchiveSource(
                    "http://archivist:s3cret@127.0.0.1:" + server.port() + "/", SourceOptions.defaults());
            final FetchException e = assertInstanceOf(FetchException.Refused.class, assertThrows(FetchException.class,
                    () -> DirectoryArchiveSourceTest.readAll(withCredentials, bucket)));
            assertTrue(e.getMessage().contains("HTTP 401") && e.getMessage().contains(" at " + other.url() + bucket
                    + " (redirected; the archive URL's credentials are not sent to another origin)"), e.getMessage());
            assertFalse(other.lastRequestHeaders().containsKey("authorization"), other.lastRequestHeaders()::toString);
            assertFalse(e.getMessage().contains("s3cret"), e.getMessage());
        }
    }

    @Test
    void aHostNameWithAnUnderscoreOrAPasswordWithARawAtSignIsReadAsCurlReadsIt() throws IOException {
        // java.net.URI gives no host for either (a Docker Compose service name; an unescaped '@'), which was
        // "archive URL has no host"
        assertEquals("http://history_archive:8080/a/",
                new HttpArchiveSource("http://history_archive:8080/a", SourceOptions.defaults()).name());
        final HttpArchiveSource at = new HttpArchiveSource("http://u2:p@ss@127.0.0.1:" + server.port() + "/",
                SourceOptions.defaults());
        assertEquals("http://127.0.0.1:" + server.port() + "/", at.name());
        assertArrayEquals(bucketBytes, DirectoryArchiveSourceTest.readAll(at, bucket));
        assertEquals("Basic " + java.util.Base64.getEncoder().encodeToString("u2:p@ss".getBytes()),
                server.lastRequestHeaders().get("authorization"));
        final IllegalArgumentException badPort = assertThrows(IllegalArgumentException.class,
                () -> new HttpArchiveSource("http://history_archive:99999/", SourceOptions.defaults()));
        assertTrue(badPort.getMessage().contains("not a port number"), badPort.getMessage());
        // digits of other scripts are digits to Character.isDigit and Integer.parseInt, not to curl
        final IllegalArgumentException arabic = assertThrows(IllegalArgumentException.class,
                () -> new HttpArchiveSource("http://history_archive:\u0668\u0660/", SourceOptions.defaults()));
        assertTrue(arabic.getMessage().contains("not a port number"), arabic.getMessage());
    }

    @Test
    void headersSentAByteAtATimeEndWithinTheConnectAndReadTimeouts() throws Exception {
        // the read timeout is an idle timeout: a byte every 200 ms never trips it, and the status line and headers
        // used to hold the fetch for ever
        try (java.net.ServerSocket drip = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            final Thread t = new Thread(() -> {
                try (java.net.Socket s = drip.accept()) {
                    final java.io.OutputStream out = s.getOutputStream();
                    out.write("HTTP/1.1 200 OK\r\nX-Slow: ".getBytes());
                    while (true) {
                        out.write('a');
                        out.flush();
                        Thread.sleep(200);
                    }
                } catch (final Exception e) {
                    // the client hung up
                }
            });
            t.setDaemon(true);
            t.start();
            final HttpArchiveSource slow = new HttpArchiveSource("http://127.0.0.1:" + drip.getLocalPort() + "/",
                    SourceOptions.defaults().withConnectTimeout(Duration.ofSeconds(1))
                            .withReadTimeout(Duration.ofSeconds(1)));
            final long start = System.nanoTime();
            final FetchException e = assertInstanceOf(FetchException.Transient.class, assertThrows(FetchException.class,
                    () -> DirectoryArchiveSourceTest.readAll(slow, bucket)));
            final Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertTrue(e.getMessage().contains("no complete answer (status line and headers) within 2.0 s"),
                    e.getMessage());
            assertTrue(took.compareTo(Duration.ofSeconds(8)) < 0, "took " + took);
            t.join(5000);
            assertFalse(t.isAlive(), "the connection was left open");
        }
    }

    @Test
    void truncatedBodyIsCutShort() {
        server.on(bucket).truncate(1000);
        final FetchException e = assertInstanceOf(FetchException.Transient.class, failure(bucket));
        assertTrue(e.getMessage().contains("body cut short: got 1000 of " + bucketBytes.length + " bytes"),
                e.getMessage());
    }

    @Test
    void resetIsTransient() throws IOException {
        server.on(bucket).reset().reset(0);
        assertInstanceOf(FetchException.Transient.class, failure(bucket));
        assertInstanceOf(FetchException.Transient.class, failure(bucket));
        assertArrayEquals(bucketBytes, DirectoryArchiveSourceTest.readAll(source, bucket));
    }

    @Test
    void droppedConnectionIsTransient() {
        server.on(bucket).drop().times(3);
        assertInstanceOf(FetchException.Transient.class, failure(bucket));
    }

    @Test
    void hangHitsReadTimeoutFast() {
        server.on(bucket).hang();
        final long start = System.nanoTime();
        final FetchException e = assertInstanceOf(FetchException.Transient.class, failure(bucket));
        final Duration took = Duration.ofNanos(System.nanoTime() - start);
        assertTrue(took.compareTo(Duration.ofMillis(900)) >= 0, "returned before the timeout: " + took);
        assertTrue(took.compareTo(Duration.ofSeconds(5)) < 0, "took " + took);
        assertTrue(e.getMessage().toLowerCase().contains("timed out"), e.getMessage());
    }

    @Test
    void closeEndsTheRequestsWaitingForTheirAnswer() throws Exception {
        // a trial: a stop with a request to a server that answered nothing waited 10 s (the fetch pool's
        // termination), past shutdown.timeout.seconds: neither an interrupt nor the pool's shutdown ends that wait
        final HttpArchiveSource slow = new HttpArchiveSource(server.url(),
                SourceOptions.defaults().withReadTimeout(Duration.ofSeconds(60)));
        server.on(bucket).hang();
        final java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newSingleThreadExecutor();
        try {
            final java.util.concurrent.Future<?> answer = pool.submit(() -> DirectoryArchiveSourceTest.readAll(slow,
                    bucket));
            assertTrue(Waits.until(() -> server.requests(bucket) == 1, TEN_S), "asked");
            Thread.sleep(200);
            assertFalse(answer.isDone(), "waits for the server");
            // another source's close leaves it alone
            source.close();
            Thread.sleep(300);
            assertFalse(answer.isDone(), "another source's close");
            final long t0 = System.nanoTime();
            slow.close();
            final java.util.concurrent.ExecutionException e = assertThrows(
                    java.util.concurrent.ExecutionException.class, () -> answer.get(5, TimeUnit.SECONDS));
            assertInstanceOf(FetchException.Transient.class, e.getCause(), e::toString);
            assertTrue(System.nanoTime() - t0 < Duration.ofSeconds(2).toNanos(), "ended by the close");
            // the source stays usable
            assertArrayEquals(bucketBytes, DirectoryArchiveSourceTest.readAll(slow, bucket));
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void trickledBodyArrivesIntact() throws IOException {
        final String has = ArchivePaths.WELL_KNOWN;
        final byte[] expected = Files.readAllBytes(root.resolve(has));
        server.on(has).trickle(Math.max(10, expected.length * 4));
        assertArrayEquals(expected, DirectoryArchiveSourceTest.readAll(source, has));
    }

    @Test
    void followsHttpRedirectsOnly() throws IOException {
        final String has = ArchivePaths.WELL_KNOWN;
        server.on("moved/state.json").status(302, "Location", "/" + has);
        assertArrayEquals(Files.readAllBytes(root.resolve(has)),
                DirectoryArchiveSourceTest.readAll(source, "moved/state.json"));
        server.on(bucket).status(301, "Location", "file:///etc/passwd");
        final FetchException e = assertInstanceOf(FetchException.Refused.class, failure(bucket));
        assertTrue(e.getMessage().contains("non-http(s)"), e.getMessage());
    }

    @Test
    void hostilePathsRefusedWithoutARequest() {
        for (final String p : new String[] {"../etc/passwd", "/etc/passwd", "a\\b", "a\u0000b", "a?x=1", "a#b"}) {
            assertInstanceOf(FetchException.Refused.class, failure(p));
        }
        assertEquals(0, server.totalRequests());
    }

    @Test
    void nameHidesCredentialsAndQuery() throws IOException {
        final String url = "http://archivist:s3cret@127.0.0.1:" + server.port() + "/?token=hunter2";
        final HttpArchiveSource withSecrets = new HttpArchiveSource(url, SourceOptions.defaults());
        assertEquals("http://127.0.0.1:" + server.port() + "/", withSecrets.name());
        assertArrayEquals(bucketBytes, DirectoryArchiveSourceTest.readAll(withSecrets, bucket));
        assertTrue(server.lastRequestHeaders().get("authorization").startsWith("Basic "));
        server.on(bucket).status(503);
        final FetchException e = assertThrows(FetchException.class,
                () -> DirectoryArchiveSourceTest.readAll(withSecrets, bucket));
        assertFalse(e.getMessage().contains("s3cret") || e.getMessage().contains("hunter2"), e.getMessage());
        assertEquals("http://127.0.0.1:8080/a/", new HttpArchiveSource("http://u:p@127.0.0.1:8080/a?b=c",
                SourceOptions.defaults()).name());
    }

    @Test
    void connectionRefusedIsTransient() throws IOException {
        final int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        final HttpArchiveSource dead = new HttpArchiveSource("http://127.0.0.1:" + port + "/",
                SourceOptions.defaults().withConnectTimeout(Duration.ofSeconds(1)));
        assertInstanceOf(FetchException.Transient.class,
                assertThrows(FetchException.class, () -> dead.open(ArchivePaths.WELL_KNOWN)));
    }

    @Test
    void parsesRetryAfter() {
        final Instant now = Instant.parse("2025-01-01T00:00:00Z");
        assertEquals(Duration.ofSeconds(120), HttpArchiveSource.parseRetryAfter(" 120 ", now));
        assertEquals(Duration.ZERO, HttpArchiveSource.parseRetryAfter("0", now));
        final String date = DateTimeFormatter.RFC_1123_DATE_TIME.format(now.plusSeconds(90).atOffset(ZoneOffset.UTC));
        assertEquals(Duration.ofSeconds(90), HttpArchiveSource.parseRetryAfter(date, now));
        assertEquals(Duration.ZERO, HttpArchiveSource.parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", now));
        assertNull(HttpArchiveSource.parseRetryAfter("-5", now));
        assertNull(HttpArchiveSource.parseRetryAfter("soon", now));
        assertNull(HttpArchiveSource.parseRetryAfter(null, now));
    }

    @Test
    void rejectsNonHttpRoots() {
        assertThrows(IllegalArgumentException.class, () -> new HttpArchiveSource("ftp://x/", SourceOptions.defaults()));
        assertThrows(IllegalArgumentException.class, () -> new HttpArchiveSource("http:///x", SourceOptions.defaults()));
        assertInstanceOf(HttpArchiveSource.class, ArchiveSources.open(server.url(), SourceOptions.defaults()));
        assertInstanceOf(HttpArchiveSource.class, ArchiveSources.open("HTTPS://example.org/archive", null));
    }
}
