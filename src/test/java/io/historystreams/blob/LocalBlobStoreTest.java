package io.historystreams.blob;

import io.historystreams.verify.Hash;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LocalBlobStoreTest {
    @TempDir
    Path dir;

    private static String put(final BlobStore store, final byte[] bytes) throws Exception {
        try (BlobStore.Writer w = store.create()) {
            w.stream().write(bytes);
            return w.commit();
        }
    }

    @Test
    void storesUnderItsSha256InOneLevelOfDirectories() throws Exception {
        final LocalBlobStore store = new LocalBlobStore(dir);
        final byte[] bytes = "a verified file".getBytes(StandardCharsets.UTF_8);
        final String ref = put(store, bytes);
        assertEquals(HexFormat.of().formatHex(Hash.sha256(bytes).bytes()), ref);
        assertEquals(dir.resolve(ref.substring(0, 2)).resolve(ref), store.file(ref).orElseThrow());
        assertEquals(ref, put(store, bytes), "the same content again: the same reference");
        try (InputStream in = store.open(ref).orElseThrow()) {
            assertArrayEquals(bytes, in.readAllBytes());
        }
        try (Stream<Path> s = Files.walk(dir.resolve(".tmp"))) {
            assertEquals(0, s.filter(Files::isRegularFile).count(), "no temporaries left");
        }
    }

    @Test
    void movesBlobsOfTheTwoLevelLayoutOnOpen() throws Exception {
        final byte[] a = "first".getBytes(StandardCharsets.UTF_8);
        final byte[] b = "second".getBytes(StandardCharsets.UTF_8);
        final List<String> refs = List.of(HexFormat.of().formatHex(Hash.sha256(a).bytes()),
                HexFormat.of().formatHex(Hash.sha256(b).bytes()));
        final List<byte[]> contents = List.of(a, b);
        for (int i = 0; i < 2; i++) {
            final String ref = refs.get(i);
            final Path old = dir.resolve(ref.substring(0, 2)).resolve(ref.substring(2, 4)).resolve(ref);
            Files.createDirectories(old.getParent());
            Files.write(old, contents.get(i));
        }
        final LocalBlobStore store = new LocalBlobStore(dir);
        for (int i = 0; i < 2; i++) {
            final String ref = refs.get(i);
            assertTrue(store.contains(ref), ref);
            assertEquals(dir.resolve(ref.substring(0, 2)).resolve(ref), store.file(ref).orElseThrow());
            assertFalse(Files.exists(dir.resolve(ref.substring(0, 2)).resolve(ref.substring(2, 4))),
                    "the emptied second-level directory is gone");
        }
        assertEquals(a.length + b.length, store.sizeBytes());
    }

    @Test
    void opensWithoutDeletingTheTemporariesOfProcessesThatShareTheStore() throws Exception {
        // a worker starting on a shared blob dir deleted every temporary: the running workers' fetches failed as
        // "cannot store the verified file"
        final Path blobs = dir.resolve("shared");
        new LocalBlobStore(blobs).close();
        final Path tmp = blobs.resolve(".tmp").resolve("0");
        final long dead;
        final Process p = new ProcessBuilder("true").start();
        p.waitFor();
        dead = p.pid();
        final long alive = ProcessHandle.current().parent().orElseThrow().pid();
        final String host = LocalBlobStore.HOST_TAG;
        final Path ofDead = Files.writeString(tmp.resolve(host + "-" + dead + "-1.part"), "x");
        final Path ofAlive = Files.writeString(tmp.resolve(host + "-" + alive + "-2.part"), "x");
        final Path ofDeadOldName = Files.writeString(tmp.resolve(dead + "-3.part"), "x");
        final Path otherHost = Files.writeString(tmp.resolve("0badf00d-" + dead + "-4.part"), "x");
        final Path otherHostOld = Files.writeString(tmp.resolve("0badf00d-" + dead + "-5.part"), "x");
        otherHostOld.toFile().setLastModified(System.currentTimeMillis()
                - LocalBlobStore.STALE_AFTER.toMillis() - 60_000);
        new LocalBlobStore(blobs).close();
        assertFalse(Files.exists(ofDead), "a gone process's");
        assertFalse(Files.exists(ofDeadOldName), "a gone process's, as earlier releases named them");
        assertTrue(Files.exists(ofAlive), "a running process's");
        assertTrue(Files.exists(otherHost), "another host's, recent");
        assertFalse(Files.exists(otherHostOld), "another host's, untouched for 10 minutes");
    }
}
