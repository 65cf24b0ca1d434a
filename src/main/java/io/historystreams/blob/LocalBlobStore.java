package io.historystreams.blob;

import io.historystreams.archive.ArchivePaths;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;


/**
 * A {@link BlobStore} in a local directory: {@code <root>/aa/<sha256>} (256 directories: a second level would make
 * nearly every blob of a store of thousands create its own directory, and a directory costs an inode like a file),
 * written to a temporary file and renamed,
 * so a crash never leaves a partial blob under a final name. References are validated as 64-hex before they become
 * paths, so nothing outside the root can be read or deleted.
 */
public final class LocalBlobStore implements BlobStore {
    private static final String TMP = ".tmp";
    private static final int TMP_DIRS = 8;
    /**
     * Temporaries are named by process and sequence: unique among the processes that share the directory, and
     * cheaper than a random UUID (SecureRandom mixes every draw through SHA-1: ~2 % of a fetch thread's CPU).
     */
    private static final long PID = ProcessHandle.current().pid();
    /** This host, in a temporary's name: 8 hex digits of a hash of its name (a blob store may be shared over NFS). */
    public static final String HOST_TAG = hostTag();
    private static final String TMP_PREFIX = HOST_TAG + "-" + PID + "-";
    /** A temporary: {@code <host>-<pid>-<seq>.part}, or {@code <pid>-<seq>.part} as earlier releases named them. */
    private static final java.util.regex.Pattern TEMPORARY = java.util.regex.Pattern.compile(
            "(?:([0-9a-f]{8})-)?([0-9]{1,19})-[0-9]{1,19}\\.part");
    /** How long a temporary must have been untouched to be taken as left behind by a process of another host. */
    public static final java.time.Duration STALE_AFTER = java.time.Duration.ofMinutes(10);
    private static final AtomicLong TMP_SEQ = new AtomicLong();
    private final Path root;
    private final AtomicLong size = new AtomicLong();

    public LocalBlobStore(final Path root) throws IOException {
        this.root = root.toAbsolutePath().normalize();
        for (int i = 0; i < TMP_DIRS; i++) {
            Files.createDirectories(this.root.resolve(TMP).resolve(Integer.toString(i)));
        }
        // leftovers of a crash; not the temporaries of the other processes that share this store now (deleting them
        // failed their fetches as "cannot store the verified file")
        final long now = System.currentTimeMillis();
        try (Stream<Path> s = Files.walk(this.root.resolve(TMP))) {
            s.filter(Files::isRegularFile).filter(p -> leftBehind(p, now)).forEach(p -> p.toFile().delete());
        }
        migrateTwoLevelLayout();
        try (Stream<Path> s = Files.walk(this.root)) {
            size.set(s.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum());
        }
    }

    /**
     * Whether a temporary was left behind: written by a process of this host that is gone, or untouched for
     * {@link #STALE_AFTER} (another host's, or not named as a temporary).
     */
    static boolean leftBehind(final Path p, final long now) {
        final java.util.regex.Matcher m = TEMPORARY.matcher(p.getFileName().toString());
        if (m.matches()) {
            final String host = m.group(1) == null ? HOST_TAG : m.group(1); // earlier names: this host's
            final long pid = Long.parseLong(m.group(2));
            if (goneProcessOfThisHost(host, pid)) {
                return true;
            }
            if (host.equals(HOST_TAG) && pid == PID) {
                return false;
            }
        }
        return stale(p.toFile().lastModified(), now);
    }

    /** Whether {@code pid} of {@code host} (a {@link #HOST_TAG}) is another process of this host that is gone. */
    public static boolean goneProcessOfThisHost(final String host, final long pid) {
        return host.equals(HOST_TAG) && pid != PID && ProcessHandle.of(pid).isEmpty();
    }

    /** Whether a temporary last modified at {@code lastModifiedMillis} is untouched for {@link #STALE_AFTER}. */
    public static boolean stale(final long lastModifiedMillis, final long now) {
        return lastModifiedMillis < now - STALE_AFTER.toMillis();
    }

    private static String hostTag() {
        String host;
        try {
            host = java.net.InetAddress.getLocalHost().getHostName();
        } catch (final IOException e) {
            host = "localhost";
        }
        return String.format("%08x", host.hashCode());
    }

    /** Moves blobs of the earlier {@code <root>/aa/bb/<sha256>} layout to {@code <root>/aa/<sha256>}. */
    private void migrateTwoLevelLayout() throws IOException {
        final List<Path> old;
        try (Stream<Path> s = Files.walk(root, 3)) {
            old = s.filter(p -> root.relativize(p).getNameCount() == 3 && Files.isRegularFile(p)
                    && ArchivePaths.isHash(p.getFileName().toString())).toList();
        }
        for (final Path p : old) {
            final Path target = pathOf(p.getFileName().toString());
            if (Files.exists(target)) {
                Files.delete(p);
            } else {
                Files.move(p, target, StandardCopyOption.ATOMIC_MOVE);
            }
            try {
                Files.deleteIfExists(p.getParent()); // only when empty
            } catch (final java.nio.file.DirectoryNotEmptyException e) {
                // more blobs to move from it
            }
        }
    }

    public Path root() {
        return root;
    }

    /**
     * Throws, naming the directory, when this user cannot write the store (its root or a temporary directory): the
     * first verified file would fail to be stored, after the work started.
     */
    public void checkWritable() throws IOException {
        final List<Path> dirs = new java.util.ArrayList<>(List.of(root));
        for (int i = 0; i < TMP_DIRS; i++) {
            dirs.add(root.resolve(TMP).resolve(Integer.toString(i)));
        }
        for (final Path d : dirs) {
            if (!Files.isWritable(d)) {
                throw new IOException(d + " cannot be written by this user");
            }
        }
    }

    private Path pathOf(final String ref) {
        ArchivePaths.requireHash(ref);
        return root.resolve(ref.substring(0, 2)).resolve(ref);
    }

    @Override
    public Writer create() throws IOException {
        // one temporary directory per writing thread (of 8): creating and renaming files in one directory makes
        // concurrent writers queue on its lock
        final Path tmp = root.resolve(TMP).resolve(Long.toString(Thread.currentThread().getId() % TMP_DIRS))
                .resolve(TMP_PREFIX + TMP_SEQ.incrementAndGet() + ".part");
        return new LocalWriter(tmp, Files.newOutputStream(tmp));
    }

    @Override
    public Optional<InputStream> open(final String ref) throws IOException {
        try {
            final Path p = pathOf(ref);
            final InputStream in = Files.newInputStream(p);
            try {
                // the modification time is the "last used" of eviction (least recently used first)
                Files.setLastModifiedTime(p, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis()));
            } catch (final IOException e) {
                // read-only store: eviction order falls back to the write time
            }
            return Optional.of(in);
        } catch (final NoSuchFileException e) {
            return Optional.empty();
        }
    }

    @Override
    public boolean contains(final String ref) {
        return Files.isRegularFile(pathOf(ref));
    }

    /** The file holding a blob (for zero-copy publishing from the same machine). */
    public Optional<Path> file(final String ref) {
        final Path p = pathOf(ref);
        return Files.isRegularFile(p) ? Optional.of(p) : Optional.empty();
    }

    @Override
    public boolean delete(final String ref) throws IOException {
        final Path p = pathOf(ref);
        final long len = Files.isRegularFile(p) ? Files.size(p) : 0;
        final boolean deleted = Files.deleteIfExists(p);
        if (deleted) {
            size.addAndGet(-len);
        }
        return deleted;
    }

    @Override
    public long sizeBytes() {
        return size.get();
    }

    private final class LocalWriter implements Writer {
        private final Path tmp;
        private final HashingOutputStream out;
        private boolean done;

        LocalWriter(final Path tmp, final OutputStream file) {
            this.tmp = tmp;
            this.out = new HashingOutputStream(new BufferedOutputStream(file, 64 << 10));
        }

        @Override
        public OutputStream stream() {
            return out;
        }

        @Override
        public long size() {
            return out.size();
        }

        @Override
        public String commit() throws IOException {
            out.close();
            done = true;
            final String ref = out.ref();
            final Path target = pathOf(ref);
            if (!Files.isDirectory(target.getParent())) {
                Files.createDirectories(target.getParent());
            }
            if (Files.exists(target)) {
                Files.deleteIfExists(tmp); // same content already stored
                return ref;
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (final FileAlreadyExistsException e) {
                Files.deleteIfExists(tmp);
                return ref;
            } catch (final AtomicMoveNotSupportedException e) {
                throw new IOException("blob store " + root + " cannot rename atomically", e);
            }
            size.addAndGet(out.size());
            return ref;
        }

        @Override
        public void close() {
            if (!done) {
                done = true;
                try {
                    out.close();
                    Files.deleteIfExists(tmp);
                } catch (final IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
    }
}
