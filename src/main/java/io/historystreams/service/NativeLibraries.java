package io.historystreams.service;

import org.rocksdb.RocksDB;
import org.rocksdb.util.Environment;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.JarURLConnection;
import java.net.URL;
import java.net.URLConnection;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Locale;
import java.util.zip.CRC32;

/**
 * The native libraries of RocksDB (15 MB; the state stores) and lz4-java (150 KB; Kafka's lz4 compression), kept
 * under the data dir and loaded from there.
 *
 * <p>Left to themselves, both libraries extract their native code from their jar to a new temp file in
 * {@code java.io.tmpdir} at every start and delete it when the JVM exits normally. A process killed ({@code kill -9},
 * the OOM killer, a container stop that timed out) left its copies behind: 142 of RocksDB's, 2 GB, in one day's
 * {@code /tmp} of a machine whose services were killed and restarted. Here each library is copied once to
 * {@code <data-dir>/native/<name>-<crc>-<size>/} (the jar entry's CRC-32 and size name the copy, so another version
 * gets its own), checked against that CRC at every start, and loaded from there: a kill leaves nothing, and a restart
 * reuses the copies. Copies of other versions are removed. When a copy cannot be made or loaded (a data dir mounted
 * {@code noexec}), the library's own way is taken; for RocksDB also when {@code ROCKSDB_SHAREDLIB_DIR} is set.
 */
final class NativeLibraries {
    /**
     * What {@link #loadRocksDb} did: {@code copyFailure} says why the library was not loaded from {@code copy} (a path
     * under the data dir, or the data dir's {@code native} directory when no copy was made); both null when it was, or
     * when no copy was tried.
     */
    record Outcome(Path copy, String copyFailure) {
    }

    private static boolean rocksDbLoaded;

    private NativeLibraries() {
    }

    /**
     * Loads RocksDB's library, from a copy under {@code dataDir} if it can, else in RocksDB's own way; throws
     * {@link NotLoaded} when neither works. Once loaded, a JVM keeps it: later calls do nothing.
     */
    static Outcome loadRocksDb(final Path dataDir) {
        synchronized (ROCKSDB_LOCK) {
            // System.load takes absolute paths only, and the default data dir is ./data
            return loadRocksDbOnce(dataDir.toAbsolutePath());
        }
    }

    /** One lock per library: lz4-java's small copy is loaded on the main thread while RocksDB's is written. */
    private static final Object ROCKSDB_LOCK = new Object();
    private static final Object LZ4_LOCK = new Object();

    private static Outcome loadRocksDbOnce(final Path dataDir) {
        if (rocksDbLoaded) {
            return new Outcome(null, null);
        }
        final Path nativeDir = dataDir.resolve("native");
        // what a failure is about: the directory, then the copy once made (null when none is made: not in a jar)
        Path tried = nativeDir;
        String failure = null;
        // RocksDB takes an empty value as not set (systemd's "Environment=ROCKSDB_SHAREDLIB_DIR="), and so does this
        final String sharedLibDir = System.getenv("ROCKSDB_SHAREDLIB_DIR");
        if (sharedLibDir == null || sharedLibDir.isEmpty()) {
            try {
                final Path lib = copy(nativeDir, "rocksdb", Environment.getJniLibraryFileName("rocksdb"),
                        rocksDbFileName(), RocksDB.class);
                tried = lib;
                if (lib != null) {
                    // RocksDB's loader for given directories looks for rocksDbFileName(); when no directory has it,
                    // it throws and resets its state, so its own way can still be tried
                    RocksDB.loadLibrary(List.of(lib.getParent().toString()));
                    rocksDbLoaded = true;
                    return new Outcome(lib, null);
                }
            } catch (final IOException | UnsatisfiedLinkError e) {
                failure = e.toString();
            }
        }
        try {
            RocksDB.loadLibrary();
        } catch (final RuntimeException | Error e) {
            throw new NotLoaded(tried, failure, e);
        }
        rocksDbLoaded = true;
        return new Outcome(tried, failure);
    }

    /** Neither the copy nor RocksDB's own way loaded the library. */
    static final class NotLoaded extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final transient Path copy;
        final String copyFailure;

        NotLoaded(final Path copy, final String copyFailure, final Throwable cause) {
            super(cause.toString(), cause);
            this.copy = copy;
            this.copyFailure = copyFailure;
        }
    }

    /**
     * The file name RocksDB's loader for given directories ({@code RocksDB.loadLibrary(List)}) looks for: it asks
     * for the library "rocksdbjni" where its own extraction asks for "rocksdb", so the name has "jni" twice
     * ({@code librocksdbjnijni-linux64.so}). Computed as that loader computes it.
     */
    static String rocksDbFileName() {
        return Environment.getJniLibraryFileName("rocksdbjni");
    }

    /**
     * As {@link #loadLz4(Path)} for a process without a data dir ({@code ingest --client}): the copy is kept in a
     * directory of this user's own in the temp dir ({@code history-streams-<uid>}, owner-only), reused by every such
     * run, where lz4-java would extract a temp file that a killed process leaves behind.
     */
    static String loadLz4WithoutDataDir() {
        final Path dir = Path.of(System.getProperty("java.io.tmpdir"), "history-streams-" + Math.max(0,
                currentUid()));
        try {
            privateDirectory(dir);
        } catch (final IOException | RuntimeException e) {
            return e.toString();
        }
        return loadLz4(dir);
    }

    /**
     * Loads lz4-java's library from a copy under {@code dataDir}, before Kafka's first lz4 batch would have lz4-java
     * extract it to a temp file; returns why not, or null when it did, when lz4-java had loaded it already, or when no
     * copy is made here (another system, lz4-java's library not in a jar of this class loader). lz4-java
     * tries only {@code java.library.path} before extracting, which a running JVM cannot extend: the copy is loaded
     * here, into the class loader lz4-java's classes share, and lz4-java is told that its library is loaded (its
     * private flag). Where that cannot be done, lz4-java extracts it as before.
     */
    static String loadLz4(final Path dataDir) {
        synchronized (LZ4_LOCK) {
            return loadLz4Once(dataDir.toAbsolutePath());
        }
    }

    private static String loadLz4Once(final Path dataDir) {
        try {
            final Class<?> nativeClass = Class.forName("net.jpountz.util.Native");
            if ((Boolean) nativeClass.getMethod("isLoaded").invoke(null)) {
                return null;
            }
            final String os = System.getProperty("os.name", "");
            final String system = os.contains("Linux") ? "linux/%s/liblz4-java.so"
                    : os.contains("Mac") ? "darwin/%s/liblz4-java.dylib" : null;
            if (system == null || nativeClass.getClassLoader() != NativeLibraries.class.getClassLoader()) {
                return null; // lz4-java's own way
            }
            final String resource = "net/jpountz/util/" + String.format(Locale.ROOT, system,
                    System.getProperty("os.arch"));
            final Path copy = copy(dataDir.resolve("native"), "lz4", resource,
                    resource.substring(resource.lastIndexOf('/') + 1), nativeClass);
            if (copy == null) {
                return null; // not in a jar: lz4-java's own way
            }
            final var loaded = nativeClass.getDeclaredField("loaded");
            loaded.setAccessible(true);
            synchronized (nativeClass) { // lz4-java's load() and isLoaded() are static synchronized
                System.load(copy.toString());
                loaded.setBoolean(null, true);
            }
            return null;
        } catch (final ReflectiveOperationException | RuntimeException | IOException | UnsatisfiedLinkError e) {
            return e.toString();
        }
    }

    /**
     * Makes sure {@code nativeDir/<prefix>-<crc>-<size>/<fileName>} holds the class path's {@code resource} (found
     * through {@code owner}'s class loader), intact; returns its path (null when the resource is not a jar entry, as
     * in an IDE's class path).
     *
     * <p>What is loaded runs as this process, so a copy is taken only from directories no one else can write: both
     * directories are made owner-only, and a copy is refused (the caller then falls back) when a directory or the file
     * is a link, belongs to another user, or may be written by others. The CRC-32 guards against damage (a disk
     * error, a file cut short), not against someone who could write there.
     */
    static Path copy(final Path nativeDir, final String prefix, final String resource, final String fileName,
            final Class<?> owner) throws IOException {
        final URL url = owner.getClassLoader().getResource(resource);
        if (url == null) {
            return null;
        }
        final URLConnection connection = url.openConnection();
        if (!(connection instanceof JarURLConnection jar)) {
            return null;
        }
        final var entry = jar.getJarEntry();
        final long crc = entry.getCrc();
        final long size = entry.getSize();
        if (crc < 0 || size < 0) {
            return null;
        }
        final String name = String.format(Locale.ROOT, "%s-%08x-%d", prefix, crc, size);
        final Path dir = nativeDir.resolve(name);
        final Path lib = dir.resolve(fileName);
        privateDirectory(nativeDir);
        removeOthers(nativeDir, prefix + "-", name);
        privateDirectory(dir);
        if (!(Files.isRegularFile(lib, LinkOption.NOFOLLOW_LINKS) && Files.size(lib) == size && crc(lib) == crc)) {
            write(url, dir, lib, crc, size);
        }
        checkPrivate(lib);
        return lib;
    }

    /** Makes {@code dir} (owner-only when new), and refuses it when it is not private to this user. */
    private static void privateDirectory(final Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            Files.createDirectories(dir.getParent());
            try {
                Files.createDirectory(dir, OWNER_ONLY);
            } catch (final UnsupportedOperationException e) { // not a POSIX file system
                Files.createDirectory(dir);
            } catch (final java.nio.file.FileAlreadyExistsException e) {
                // made by a process started at the same time
            }
        }
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException(dir + " is not a directory");
        }
        checkPrivate(dir);
    }

    private static final java.nio.file.attribute.FileAttribute<?> OWNER_ONLY =
            java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                    java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
    private static final java.nio.file.attribute.FileAttribute<?> OWNER_READ_WRITE =
            java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                    java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));

    /**
     * Refuses {@code path} when it is a link, belongs to another user, or may be written by its group or others
     * (on a POSIX file system; elsewhere nothing is checked).
     */
    private static void checkPrivate(final Path path) throws IOException {
        if (Files.isSymbolicLink(path)) {
            throw new IOException(path + " is a symbolic link: a native library is loaded only from this user's own "
                    + "files");
        }
        final java.nio.file.attribute.PosixFileAttributes attrs;
        try {
            attrs = Files.readAttributes(path, java.nio.file.attribute.PosixFileAttributes.class,
                    LinkOption.NOFOLLOW_LINKS);
        } catch (final UnsupportedOperationException e) {
            return;
        }
        final var perms = attrs.permissions();
        if (perms.contains(java.nio.file.attribute.PosixFilePermission.GROUP_WRITE)
                || perms.contains(java.nio.file.attribute.PosixFilePermission.OTHERS_WRITE)) {
            throw new IOException(path + " may be written by others ("
                    + java.nio.file.attribute.PosixFilePermissions.toString(perms) + "): a native library is loaded "
                    + "only from files no one else can change");
        }
        final Object uid = Files.getAttribute(path, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        final long me = currentUid();
        if (me >= 0 && uid instanceof Integer u && u != me) {
            throw new IOException(path + " belongs to another user (uid " + u + "): a native library is loaded only "
                    + "from this user's own files");
        }
    }

    /** This process's user id, or -1 when it cannot be told. */
    private static long currentUid() {
        try {
            return new com.sun.security.auth.module.UnixSystem().getUid();
        } catch (final LinkageError | RuntimeException e) {
            return -1;
        }
    }

    /**
     * Writes the library to {@code lib} through a temp file, so that the name only ever holds a whole copy; the
     * temp file is removed whatever fails.
     */
    private static void write(final URL url, final Path dir, final Path lib, final long crc, final long size)
            throws IOException {
        final Path temp = dir.resolve(lib.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
        boolean moved = false;
        try {
            // a process killed mid-copy whose pid this one has again (a container's JVM is pid 1 at every start)
            Files.deleteIfExists(temp);
            final CRC32 written = new CRC32();
            try {
                Files.createFile(temp, OWNER_READ_WRITE);
            } catch (final UnsupportedOperationException e) { // not a POSIX file system
                Files.createFile(temp);
            }
            try (InputStream in = url.openStream();
                    OutputStream out = Files.newOutputStream(temp, java.nio.file.StandardOpenOption.WRITE)) {
                final byte[] buffer = new byte[1 << 16];
                for (int n; (n = in.read(buffer)) > 0; ) {
                    written.update(buffer, 0, n);
                    out.write(buffer, 0, n);
                }
            }
            if (written.getValue() != crc || Files.size(temp) != size) {
                throw new IOException("the copy of " + url + " does not match its jar entry");
            }
            Files.move(temp, lib, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            moved = true;
        } finally {
            if (!moved) {
                Files.deleteIfExists(temp);
            }
        }
    }

    /**
     * Removes copies of other versions ({@code prefix*} but not {@code keep}; a link of such a name is removed, never
     * followed), and copies left half written by a process that is gone. Best effort: what cannot be removed stays.
     */
    private static void removeOthers(final Path nativeDir, final String prefix, final String keep) {
        try (var dirs = Files.list(nativeDir)) {
            for (final Path d : dirs.toList()) {
                final String n = d.getFileName().toString();
                if (!n.startsWith(prefix)) {
                    continue;
                }
                if (!Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)) {
                    if (!n.equals(keep)) {
                        Files.deleteIfExists(d); // a link or a file: itself, not what it names
                    }
                    continue;
                }
                try (var files = Files.list(d)) {
                    for (final Path f : files.toList()) {
                        if (!n.equals(keep) || deadWriter(f.getFileName().toString())) {
                            Files.deleteIfExists(f);
                        }
                    }
                }
                if (!n.equals(keep)) {
                    Files.deleteIfExists(d);
                }
            }
        } catch (final IOException | java.io.UncheckedIOException e) {
            // left for the next start
        }
    }

    /** Whether {@code name} is a temp copy ({@code <lib>.<pid>.tmp}) whose writer is no longer running. */
    private static boolean deadWriter(final String name) {
        if (!name.endsWith(".tmp")) {
            return false;
        }
        final String[] parts = name.split("\\.");
        try {
            return ProcessHandle.of(Long.parseLong(parts[parts.length - 2])).isEmpty();
        } catch (final NumberFormatException e) {
            return false;
        }
    }

    private static long crc(final Path file) throws IOException {
        final CRC32 crc = new CRC32();
        try (InputStream in = Files.newInputStream(file)) {
            final byte[] buffer = new byte[1 << 16];
            for (int n; (n = in.read(buffer)) > 0; ) {
                crc.update(buffer, 0, n);
            }
        }
        return crc.getValue();
    }
}
