package io.historystreams.archive;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.historystreams.testing.FaultyArchiveServer;
import io.historystreams.testing.Fixtures;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The test server itself: overlays, HEAD, scripts by prefix and regex, and a clean shutdown with hung clients. */
@Timeout(30)
class FaultyArchiveServerTest {

    @Test
    void overlaysPrefixRulesAndCounters() throws Exception {
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.testnetSmall())) {
            final HttpArchiveSource source = new HttpArchiveSource(server.url(), SourceOptions.defaults());
            server.overlay("extra/file.txt", "hello".getBytes(StandardCharsets.UTF_8));
            assertArrayEquals("hello".getBytes(StandardCharsets.UTF_8),
                    DirectoryArchiveSourceTest.readAll(source, "extra/file.txt"));
            server.onPrefix("history/").status(500).times(2);
            server.onRegex("ledger/.*\\.xdr\\.gz").body(new byte[] {1, 2, 3});
            final String has = "history/00/00/00/history-0000003f.json";
            final String ledger = "ledger/00/00/00/ledger-0000003f.xdr.gz";
            for (int i = 0; i < 2; i++) {
                try {
                    DirectoryArchiveSourceTest.readAll(source, has);
                } catch (final FetchException.Transient expected) {
                    continue;
                }
                throw new AssertionError("no 500");
            }
            assertArrayEquals(Files.readAllBytes(Fixtures.testnetSmall().resolve(has)),
                    DirectoryArchiveSourceTest.readAll(source, has));
            assertArrayEquals(new byte[] {1, 2, 3}, DirectoryArchiveSourceTest.readAll(source, ledger));
            assertEquals(3, server.requests(has));
            assertEquals(3, server.faultsServed());
        }
    }

    @Test
    void headAndRawKeepAlive() throws Exception {
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.testnetSmall());
                Socket s = new Socket("127.0.0.1", server.port())) {
            final long size = Files.size(Fixtures.testnetSmall().resolve(ArchivePaths.WELL_KNOWN));
            final OutputStream out = s.getOutputStream();
            out.write(("HEAD /" + ArchivePaths.WELL_KNOWN + " HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            final InputStream in = s.getInputStream();
            final String all = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
            assertTrue(all.startsWith("HTTP/1.1 200 OK\r\n"), all);
            assertTrue(all.contains("Content-Length: " + size + "\r\n"), all);
            assertTrue(all.contains("HTTP/1.1 404 Not Found\r\n"), all);
            assertTrue(all.contains("Connection: close"), all);
            assertEquals(1, server.connectionsAccepted());
        }
    }

    @Test
    void closeStopsEveryThreadEvenWithHungClients() throws Exception {
        final FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.testnetSmall());
        server.onPrefix("").hang().forever();
        final HttpArchiveSource source = new HttpArchiveSource(server.url(),
                SourceOptions.defaults().withReadTimeout(Duration.ofSeconds(20)));
        final Thread[] clients = new Thread[3];
        for (int i = 0; i < clients.length; i++) {
            clients[i] = new Thread(() -> {
                try {
                    DirectoryArchiveSourceTest.readAll(source, ArchivePaths.WELL_KNOWN);
                } catch (final Exception expected) {
                    // the server goes away
                }
            });
            clients[i].start();
        }
        while (server.totalRequests() < clients.length) {
            Thread.sleep(5);
        }
        assertEquals(1 + clients.length, server.liveThreads());
        final long start = System.nanoTime();
        server.close();
        assertEquals(0, server.liveThreads());
        assertEquals(0, server.openConnections());
        for (final Thread t : clients) {
            t.join(5_000);
            assertTrue(!t.isAlive(), "client still blocked after server close");
        }
        assertTrue(System.nanoTime() - start < Duration.ofSeconds(5).toNanos());
    }
}
