package io.historystreams.publish;

import io.historystreams.archive.ArchivePaths;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Writes into a local directory (the default for {@code --publish-to <dir>}): each file goes to a unique hidden
 * temporary ({@code .<name>.<host>-<pid>-<random>.tmp}) in its final directory, is optionally fsynced, then
 * atomically renamed.
 * Every write stays below the root, whatever the path or a symlink inside the root says.
 */
public final class LocalArchiveWriter implements ArchiveWriter {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(LocalArchiveWriter.class);
    /**
     * Temporaries this writer creates ({@code .<archive file name>.<random hex>.tmp}); never a valid archive name, and
     * nothing else matches: other hidden {@code .tmp} files in the target (an operator's) are not this writer's.
     */
    private static final Pattern TEMPORARY = Pattern.compile("\\.((history|ledger|transactions|results|scp)"
            + "-[0-9a-f]{8}\\.(json|xdr\\.gz)|bucket-[0-9a-f]{64}\\.xdr\\.gz|stellar-history\\.json)\\."
            + "(?:([0-9a-f]{8})-([0-9]{1,19})-)?[0-9a-f]{1,16}\\.tmp");
    /** This host, in a temporary's name: 8 hex digits of a hash of its name. */
    static final String HOST_TAG = io.historystreams.blob.LocalBlobStore.HOST_TAG;
    private static final long PID = ProcessHandle.current().pid();
    /** How long a temporary must have been untouched to be taken as left behind by an interrupted publish. */
    static final java.time.Duration STALE_AFTER = io.historystreams.blob.LocalBlobStore.STALE_AFTER;
    /** The directories of the archive layout, where this writer's temporaries can be. */
    private static final List<String> LAYOUT = List.of(".well-known", "history", "ledger", "transactions", "results",
            "scp", "bucket");
    private static final long MAX_ROOT_STATE = 16L << 20;

    private final Path root;
    private final boolean fsync;
    /**
     * The directory this writer created, the highest of those missing when it began ({@link #root} or an ancestor of
     * it), absolute; null when root was there. Left empty, it is removed at {@link #close}, down to root.
     */
    private final Path created;
    /** Root as given, absolute: the directories from it up to {@link #created} are removed at {@link #close}. */
    private final Path given;
    /** Whether publishing by hard link is still worth trying (false after the file system refused one). */
    private volatile boolean linking;

    /** A writer below {@code root} (created when missing) that fsyncs files and directories. */
    public LocalArchiveWriter(final Path root) throws PublishException {
        this(root, true);
    }

    public LocalArchiveWriter(final Path root, final boolean fsync) throws PublishException {
        this(root, fsync, true);
    }

    /**
     * With {@code link} false, every file is copied, never hard-linked to the verified blob: the mirror shares no
     * inode with the data dir, so a tool that writes a mirror's file in place cannot change the verified copy (a trial
     * truncated a mirror's file, and repairing it then needed the source archive: the blob was truncated too).
     */
    public LocalArchiveWriter(final Path root, final boolean fsync, final boolean link) throws PublishException {
        this.linking = link;
        try {
            this.given = root.toAbsolutePath().normalize();
            Path top = null;
            for (Path p = given; p != null && !Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS);
                    p = p.getParent()) {
                top = p;
            }
            this.created = top;
            Files.createDirectories(root);
            this.root = root.toRealPath();
        } catch (final java.nio.file.FileAlreadyExistsException e) {
            // said as "FileAlreadyExistsException: <path>" before
            throw new PublishException("cannot use " + root + " as a target archive: " + e.getFile() + " is a file, "
                    + "not a directory", false, e);
        } catch (IOException e) {
            throw new PublishException("cannot use " + root + " as a target archive: " + e, false, e);
        }
        this.fsync = fsync;
    }

    @Override
    public String name() {
        return root.toString();
    }

    /**
     * Removes the target's directory when this writer created it and nothing was written to it, with the parents it
     * created for it (a trial's run with nothing to publish left an empty directory behind, which looked like a target
     * begun; a nested one left its parents).
     */
    @Override
    public void close() {
        for (Path p = given; created != null && p != null && p.startsWith(created); p = p.getParent()) {
            try {
                Files.deleteIfExists(p);
            } catch (final IOException e) {
                return; // not empty (published to, here or by another writer of it), or not ours to remove: kept
            }
        }
    }

    /** The resolved (real) root directory. */
    public Path root() {
        return root;
    }

    @Override
    public boolean exists(final String path) throws PublishException {
        final Path target = resolve(path);
        return Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS);
    }

    @Override
    public void put(final String path, final Path localFile) throws PublishException {
        final Path target = resolve(path);
        if (link(path, localFile, target)) {
            return;
        }
        final Path tmp = createTemporary(path, target);
        try {
            try (FileChannel in = FileChannel.open(localFile, StandardOpenOption.READ);
                 FileChannel out = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                final long size = in.size();
                long done = 0;
                while (done < size) {
                    final long n = in.transferTo(done, size - done, out);
                    if (n <= 0) {
                        break;
                    }
                    done += n;
                }
                if (done != size || out.size() != size) {
                    throw new IOException("copied " + done + " of " + size + " bytes (source changed while copying?)");
                }
                if (fsync) {
                    out.force(true);
                }
            }
            commit(path, tmp, target);
        } catch (NoSuchFileException e) {
            deleteQuietly(tmp);
            throw new PublishException(name() + ": cannot publish " + path + ": no such file " + e.getFile(), false, e);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new PublishException(name() + ": cannot publish " + path + " from " + localFile + ": " + e, false, e);
        }
    }

    /**
     * Publishes {@code localFile} as a hard link when it is on the same file system (the verified blob itself: no
     * copy, and no new inode, which is what file creation mostly costs): a link under a temporary name, renamed into
     * place, so the final name appears complete or not at all. Archive files are immutable and blobs are never
     * rewritten in place, so sharing the inode is safe; evicting the blob removes only its own name. Returns false
     * (and leaves nothing behind) when the file system cannot link them, and the caller copies instead.
     */
    private boolean link(final String path, final Path localFile, final Path target) throws PublishException {
        if (!linking) {
            return false;
        }
        final Path tmp = temporaryName(target);
        try {
            targetDirectory(path, target);
            Files.createLink(tmp, localFile);
        } catch (final NoSuchFileException e) {
            if (e.getFile() != null && Path.of(e.getFile()).equals(localFile)) {
                throw new PublishException(name() + ": cannot publish " + path + ": no such file " + e.getFile(), false,
                        e);
            }
            return false;
        } catch (final PublishException e) {
            throw e;
        } catch (final IOException | UnsupportedOperationException | SecurityException e) {
            // another file system (EXDEV), links not supported, or too many links: copy instead, from now on
            linking = false;
            deleteQuietly(tmp);
            return false;
        }
        try {
            if (fsync) {
                try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                    out.force(true);
                }
            }
            commit(path, tmp, target);
            return true;
        } catch (final IOException e) {
            deleteQuietly(tmp);
            throw new PublishException(name() + ": cannot publish " + path + " from " + localFile + ": " + e, false, e);
        }
    }

    @Override
    public Optional<byte[]> readSmall(final String path) throws PublishException {
        final Path target = resolve(path);
        try {
            if (!Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS)) {
                return Optional.empty();
            }
            if (Files.size(target) > MAX_ROOT_STATE) {
                throw new PublishException(name() + ": " + path + " is larger than " + MAX_ROOT_STATE + " bytes",
                        false, null);
            }
            return Optional.of(Files.readAllBytes(target));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new PublishException(name() + ": cannot read " + path + ": " + e, false, e);
        }
    }

    @Override
    public void putRootState(final byte[] json) throws PublishException {
        final String path = ArchivePaths.WELL_KNOWN;
        final Path target = resolve(path);
        final Path tmp = createTemporary(path, target);
        try {
            try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                final ByteBuffer b = ByteBuffer.wrap(json);
                while (b.hasRemaining()) {
                    out.write(b);
                }
                if (fsync) {
                    out.force(true);
                }
            }
            commit(path, tmp, target);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new PublishException(name() + ": cannot publish " + path + ": " + e, false, e);
        }
    }

    /**
     * Deletes the temporaries a crashed writer left behind ({@code .<name>.<host>-<pid>-<random>.tmp}, see
     * {@link #leftBehind}); returns how many. Those of writers publishing to the same directory now are kept.
     */
    public int cleanStaleTemporaries() throws PublishException {
        final int[] count = {0};
        // not those of another process publishing to this directory now (workers sharing a mirror)
        final long now = System.currentTimeMillis();
        try {
            for (final String dir : LAYOUT) {
                final Path top = root.resolve(dir);
                if (!Files.isDirectory(top, LinkOption.NOFOLLOW_LINKS)) {
                    continue;
                }
                Files.walkFileTree(top, new SimpleFileVisitor<>() {
                    @Override
                    public FileVisitResult visitFile(final Path file, final BasicFileAttributes attrs)
                            throws IOException {
                        final java.util.regex.Matcher name = TEMPORARY.matcher(file.getFileName().toString());
                        if (attrs.isRegularFile() && name.matches()
                                && leftBehind(name, attrs.lastModifiedTime().toMillis(), now)) {
                            Files.deleteIfExists(file);
                            count[0]++;
                        }
                        return FileVisitResult.CONTINUE;
                    }
                });
            }
        } catch (IOException e) {
            throw new PublishException(name() + ": cannot clean stale temporaries: " + e, false, e);
        }
        if (count[0] > 0) {
            LOG.info("{}: deleted {} temporary file(s) an interrupted publish left behind", name(), count[0]);
        }
        return count[0];
    }

    /** The absolute file for {@code path}, refused unless it lies below the root, also through symlinks. */
    Path resolve(final String path) throws PublishException {
        TargetPath.require(path);
        final Path target = root.resolve(path).normalize();
        if (!target.startsWith(root) || target.equals(root)) {
            throw refused(path, "resolves outside the target root");
        }
        // The deepest existing ancestor, with every symlink followed, must still be inside the root.
        Path existing = target.getParent();
        while (existing != null && !Files.exists(existing, LinkOption.NOFOLLOW_LINKS)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            throw refused(path, "no existing ancestor");
        }
        if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
            // not a symlink leading out (the deepest existing ancestor is then above the root): the directory is gone.
            // Not made again here: an unmounted disk's mount point would be filled on the wrong disk (a trial: said
            // as a symlink leading outside the root)
            throw new PublishException(name() + ": the target directory does not exist any more (removed, replaced "
                    + "or unmounted?): publishing goes on once it is there again (create or mount it)", true, null);
        }
        final Path real;
        try {
            real = existing.toRealPath();
        } catch (IOException e) {
            throw refused(path, "cannot resolve " + existing + ": " + e);
        }
        if (!real.startsWith(root)) {
            throw refused(path, existing + " leads outside the target root (a symlink: this writer follows none, "
                    + "so a directory of the archive cannot be a link to another disk)");
        }
        return target;
    }

    /** The directory of {@code target}, created when missing, and confined to the root once it exists. */
    private void targetDirectory(final String path, final Path target) throws IOException {
        final Path dir = target.getParent();
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir);
        }
        // Re-check now that the directories exist: a symlink may have been swapped in meanwhile.
        if (!dir.toRealPath().startsWith(root)) {
            throw refused(path, dir + " leads outside the target root (symlink)");
        }
    }

    /** A fresh temporary name beside {@code target} ({@code .<name>.<host>-<pid>-<random>.tmp}). */
    private static Path temporaryName(final Path target) {
        return target.resolveSibling("." + target.getFileName() + "." + HOST_TAG + "-" + PID + "-"
                + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
    }


    /**
     * Whether a temporary ({@link #TEMPORARY}) was left behind: written by a process of this host that is gone (a
     * crash: deleted at once), or untouched for {@link #STALE_AFTER} (another host's, or named without the process).
     * A temporary of a process that runs, here or elsewhere (workers sharing a mirror), is being written.
     */
    static boolean leftBehind(final java.util.regex.Matcher name, final long lastModifiedMillis, final long now) {
        if (name.group(4) != null && io.historystreams.blob.LocalBlobStore.goneProcessOfThisHost(name.group(4),
                Long.parseLong(name.group(5)))) {
            return true;
        }
        return io.historystreams.blob.LocalBlobStore.stale(lastModifiedMillis, now);
    }

    private Path createTemporary(final String path, final Path target) throws PublishException {
        try {
            targetDirectory(path, target);
            for (int i = 0; ; i++) {
                final Path tmp = temporaryName(target);
                try {
                    Files.createFile(tmp, ArchiveWriters.READABLE);
                    return tmp;
                } catch (java.nio.file.FileAlreadyExistsException e) {
                    if (i > 10) {
                        throw e;
                    }
                } catch (UnsupportedOperationException e) {
                    return Files.createFile(tmp);
                }
            }
        } catch (PublishException e) {
            throw e;
        } catch (IOException e) {
            throw new PublishException(name() + ": cannot create a temporary file for " + path + ": " + e, false, e);
        }
    }

    private void commit(final String path, final Path tmp, final Path target) throws IOException {
        if (Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException("a directory is in the way of " + path);
        }
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        // rename(2) onto a name that is already a link to the same file (another process published the same blob
        // there a moment before) does nothing and succeeds: the temporary name would stay
        deleteQuietly(tmp);
        if (fsync) {
            try (FileChannel dir = FileChannel.open(target.getParent(), StandardOpenOption.READ)) {
                dir.force(true);
            }
        }
    }

    private PublishException refused(final String path, final String why) {
        return new PublishException(name() + ": refused target path " + ArchivePaths.quote(path) + ": " + why, false,
                null);
    }

    private static void deleteQuietly(final Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort: a leftover temporary is ignored by exists() and removed by cleanStaleTemporaries()
        }
    }
}
