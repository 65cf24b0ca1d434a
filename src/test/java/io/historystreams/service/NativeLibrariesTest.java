package io.historystreams.service;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.CRC32;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The copies of native libraries under the data dir (RocksDB's here): made once, named by their jar entry, reused
 * while intact, made again when damaged; copies of other versions and half-written copies of dead processes removed.
 * (That they are loaded, and a killed process leaves nothing in {@code java.io.tmpdir}, is {@code EnvironmentTest}'s,
 * in JVMs of their own: a JVM loads a library once.)
 */
class NativeLibrariesTest {
    @TempDir
    Path tmp;

    /** RocksDB's library copied under {@code nativeDir}, as {@link NativeLibraries#loadRocksDb} copies it. */
    private static Path copy(final Path nativeDir) throws Exception {
        return NativeLibraries.copy(nativeDir, "rocksdb", org.rocksdb.util.Environment.getJniLibraryFileName("rocksdb"),
                NativeLibraries.rocksDbFileName(), org.rocksdb.RocksDB.class);
    }

    private static byte[] jarEntry() throws Exception {
        final String resource = org.rocksdb.util.Environment.getJniLibraryFileName("rocksdb");
        try (InputStream in = org.rocksdb.RocksDB.class.getClassLoader().getResourceAsStream(resource)) {
            assertNotNull(in, resource);
            return in.readAllBytes();
        }
    }

    @Test
    void theCopyIsMadeOnceNamedByItsJarEntryAndReusedWhileIntact() throws Exception {
        final byte[] library = jarEntry();
        final CRC32 crc = new CRC32();
        crc.update(library);
        final Path nativeDir = tmp.resolve("native");
        final Path lib = copy(nativeDir);
        assertEquals(nativeDir.resolve(String.format("rocksdb-%08x-%d", crc.getValue(), library.length))
                .resolve(NativeLibraries.rocksDbFileName()), lib);
        assertArrayEquals(library, Files.readAllBytes(lib));
        final Object made = Files.readAttributes(lib, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
        assertEquals(lib, copy(nativeDir));
        assertEquals(made, Files.readAttributes(lib, java.nio.file.attribute.BasicFileAttributes.class).fileKey(),
                "an intact copy is reused, not written again");
    }

    @Test
    void aDamagedCopyIsMadeAgain() throws Exception {
        final Path nativeDir = tmp.resolve("native");
        final Path lib = copy(nativeDir);
        final byte[] bytes = Files.readAllBytes(lib);
        bytes[bytes.length / 2] ^= 1;
        Files.write(lib, bytes);
        assertEquals(lib, copy(nativeDir));
        assertArrayEquals(jarEntry(), Files.readAllBytes(lib));
        // and one cut short (a disk that filled up under an older build)
        Files.write(lib, java.util.Arrays.copyOf(bytes, 4096));
        assertEquals(lib, copy(nativeDir));
        assertArrayEquals(jarEntry(), Files.readAllBytes(lib));
    }

    @Test
    void copiesOfOtherVersionsAndDeadWritersTempFilesAreRemoved() throws Exception {
        final Path nativeDir = tmp.resolve("native");
        final Path lib = copy(nativeDir);
        final Path other = Files.createDirectories(nativeDir.resolve("rocksdb-0badc0de-14000000"));
        Files.write(other.resolve(NativeLibraries.rocksDbFileName()), new byte[] {1, 2, 3});
        // a pid above Linux's largest (2^22) is no process; this JVM's own temp file is left alone
        final Path dead = lib.resolveSibling(lib.getFileName() + ".99999999.tmp");
        final Path live = lib.resolveSibling(lib.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
        Files.write(dead, new byte[] {1});
        Files.write(live, new byte[] {1});
        final Path unrelated = Files.createDirectories(nativeDir.resolve("something-else"));
        assertEquals(lib, copy(nativeDir));
        assertTrue(Files.notExists(other), "another version's copy is removed");
        assertTrue(Files.notExists(dead), "a dead writer's temp file is removed");
        assertTrue(Files.exists(live), "a live writer's temp file stays");
        assertTrue(Files.exists(unrelated), "what the loader did not make stays");
        try (var names = Files.list(lib.getParent())) {
            assertEquals(List.of(lib.getFileName().toString(), live.getFileName().toString()),
                    names.map(p -> p.getFileName().toString()).sorted().toList());
        }
        assertNotEquals(0, Files.size(lib));
    }
}
