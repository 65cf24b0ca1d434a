package io.historystreams.archive;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.historystreams.testing.Fixtures;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DirectoryArchiveSourceTest {

    static byte[] readAll(final ArchiveSource source, final String path) throws IOException {
        try (ArchiveSource.Body body = source.open(path); InputStream in = body.stream()) {
            return in.readAllBytes();
        }
    }

    @Test
    void readsFixtureFileByteIdentically() throws IOException {
        final Path root = Fixtures.testnetSmall();
        final String path = TestBuckets.largest(root);
        final DirectoryArchiveSource source = new DirectoryArchiveSource(root);
        final byte[] expected = Files.readAllBytes(root.resolve(path));
        try (ArchiveSource.Body body = source.open(path)) {
            assertEquals(expected.length, body.declaredLength());
            assertArrayEquals(expected, body.stream().readAllBytes());
        }
    }

    @Test
    void fileUrlRootAndFactory() throws IOException {
        final Path root = Fixtures.testnetSmall();
        final ArchiveSource viaUrl = ArchiveSources.open(root.toUri().toString(), SourceOptions.defaults());
        assertInstanceOf(DirectoryArchiveSource.class, viaUrl);
        final ArchiveSource viaPath = ArchiveSources.open(root.toString(), null);
        assertInstanceOf(DirectoryArchiveSource.class, viaPath);
        final byte[] expected = Files.readAllBytes(root.resolve(ArchivePaths.WELL_KNOWN));
        assertArrayEquals(expected, readAll(viaUrl, ArchivePaths.WELL_KNOWN));
        assertArrayEquals(expected, readAll(viaPath, ArchivePaths.WELL_KNOWN));
        assertThrows(IllegalArgumentException.class, () -> ArchiveSources.open("ftp://example.org/a", null));
        assertThrows(IllegalArgumentException.class, () -> ArchiveSources.open(root.resolve("nope").toString(), null));
    }

    @Test
    void fileUrlsAreReadAsCurlReadsThem(@TempDir final Path tmp) throws IOException {
        final Path spaced = Files.createDirectories(tmp.resolve("with space"));
        final String real = spaced.toRealPath().toString();
        // RFC 8089's localhost, a space as typed, an escaped one, file:/p (each was a JDK error: "URI has an
        // authority component", "Illegal character in path")
        for (final String url : new String[] {"file://localhost" + real, "file://" + real, "FILE://" + real,
                "file://" + real.replace(" ", "%20"), "file:" + real}) {
            assertEquals(spaced.toRealPath(), ((DirectoryArchiveSource) ArchiveSources.open(url, null)).root(), url);
        }
        final IllegalArgumentException otherHost = assertThrows(IllegalArgumentException.class,
                () -> ArchiveSources.open("file://mirror.example" + real, null));
        assertTrue(otherHost.getMessage().contains("names a directory of this host"), otherHost.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ArchiveSources.open("file://" + real + "?x=1", null));
    }

    @Test
    void aRootNamingTheRootStateFileIsRefusedWithTheReason() {
        // every file was looked for under it, every checkpoint "incomplete" without a hint
        for (final String root : new String[] {"http://127.0.0.1:1/a/.well-known/stellar-history.json",
                "https://u:p@h/.well-known/stellar-history.json?sig=x", Fixtures.testnetSmall() + "/.well-known/",
                Fixtures.testnetSmall() + "/.well-known/stellar-history.json"}) {
            final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ArchiveSources.open(root, null));
            assertTrue(e.getMessage().startsWith("the archive root is the directory that holds .well-known/"),
                    e.getMessage());
            assertFalse(e.getMessage().contains("u:p") || e.getMessage().contains("sig="), e.getMessage());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"../etc/passwd", "/etc/passwd", "bucket/../../etc/passwd", "bucket\\x", "a\u0000b",
            "history/\n/x", "a//b", "./history", "bucket/%2e%2e/x", "", "x?y", "b\u00e9"})
    void hostilePathsRefused(final String path) {
        final DirectoryArchiveSource source = new DirectoryArchiveSource(Fixtures.testnetSmall());
        final FetchException e = assertThrows(FetchException.class, () -> source.open(path));
        assertInstanceOf(FetchException.Refused.class, e, e.getMessage());
        assertTrue(e.getMessage().contains("refused path"), e.getMessage());
    }

    @Test
    void symlinkEscapesRefused(@TempDir final Path tmp) throws IOException {
        final Path root = Files.createDirectories(tmp.resolve("archive"));
        final Path outside = Files.createDirectories(tmp.resolve("outside"));
        final Path secret = Files.writeString(outside.resolve("secret.txt"), "secret", StandardCharsets.UTF_8);
        Files.createDirectories(root.resolve("history"));
        Files.writeString(root.resolve("history/inside.json"), "{}", StandardCharsets.UTF_8);
        Files.createSymbolicLink(root.resolve("history/leak.json"), secret);
        Files.createSymbolicLink(root.resolve("bucket"), outside);
        Files.createSymbolicLink(root.resolve("history/alias.json"), root.resolve("history/inside.json"));

        final DirectoryArchiveSource source = new DirectoryArchiveSource(root);
        assertInstanceOf(FetchException.Refused.class,
                assertThrows(FetchException.class, () -> source.open("history/leak.json")));
        assertInstanceOf(FetchException.Refused.class,
                assertThrows(FetchException.class, () -> source.open("bucket/secret.txt")));
        // A link that stays inside the root is fine.
        assertEquals("{}", new String(readAll(source, "history/alias.json"), StandardCharsets.UTF_8));
    }

    @Test
    void missingFileIsNotPresent(@TempDir final Path tmp) throws IOException {
        final DirectoryArchiveSource source = new DirectoryArchiveSource(Fixtures.testnetSmall());
        final FetchException e = assertThrows(FetchException.class,
                () -> source.open("ledger/ff/ff/ff/ledger-ffffffff.xdr.gz"));
        assertInstanceOf(FetchException.NotPresent.class, e);
        assertEquals("ledger/ff/ff/ff/ledger-ffffffff.xdr.gz", e.path());
        Files.createDirectories(tmp.resolve("history"));
        final DirectoryArchiveSource empty = new DirectoryArchiveSource(tmp);
        assertInstanceOf(FetchException.NotPresent.class, assertThrows(FetchException.class,
                () -> empty.open("history")));
    }
}
