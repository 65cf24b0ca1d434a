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
import static org.junit.jupiter.api.Assertions.assertThrows;
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

    @Test
    void aLinkNamedLikeAnotherVersionIsRemovedNotFollowed() throws Exception {
        // the old clean-up listed and emptied it: the files of whatever directory it named were deleted
        final Path victim = Files.createDirectories(tmp.resolve("victim"));
        Files.writeString(victim.resolve("precious.txt"), "keep me");
        final Path nativeDir = Files.createDirectories(tmp.resolve("native"));
        final Path link = Files.createSymbolicLink(nativeDir.resolve("rocksdb-00000000-1"), victim);
        copy(nativeDir);
        assertTrue(Files.notExists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS), "the link is removed");
        assertEquals("keep me", Files.readString(victim.resolve("precious.txt")));
    }

    @Test
    void aCopyThatCannotBeMovedIntoPlaceLeavesNoTempFile() throws Exception {
        // a directory where the library goes: each start left its 15 MB temp copy beside it
        final Path nativeDir = tmp.resolve("native");
        final Path lib = copy(nativeDir);
        Files.delete(lib);
        Files.createDirectories(lib.resolve("sub"));
        assertThrows(java.io.IOException.class, () -> copy(nativeDir));
        try (var names = Files.list(lib.getParent())) {
            assertEquals(List.of(lib.getFileName().toString()),
                    names.map(p -> p.getFileName().toString()).toList());
        }
    }

    @Test
    void copiesAreOwnerOnlyAndOnesOthersCanWriteAreRefused() throws Exception {
        final Path nativeDir = tmp.resolve("native");
        final Path lib = copy(nativeDir);
        assertEquals("rwx------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(nativeDir)));
        assertEquals("rwx------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(lib.getParent())));
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(lib)));
        // what is loaded runs as this process: a copy others may have changed is not loaded (a CRC-32 is easily
        // forged), whichever of the three they may write
        for (final Path p : List.of(nativeDir, lib.getParent(), lib)) {
            final var before = Files.getPosixFilePermissions(p);
            final var writable = new java.util.HashSet<>(before);
            writable.add(java.nio.file.attribute.PosixFilePermission.GROUP_WRITE);
            Files.setPosixFilePermissions(p, writable);
            final java.io.IOException e = assertThrows(java.io.IOException.class, () -> copy(nativeDir));
            assertEquals(p + " may be written by others (" + java.nio.file.attribute.PosixFilePermissions.toString(
                    writable) + "): a native library is loaded only from files no one else can change",
                    e.getMessage());
            Files.setPosixFilePermissions(p, before);
        }
        assertEquals(lib, copy(nativeDir));
    }
}
