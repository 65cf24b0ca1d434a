package io.historystreams.archive;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * An archive in a local directory (a mirror on disk or a mounted volume). Every path is checked to stay inside the
 * root, symbolic links included; files are streamed, never read whole.
 */
public final class DirectoryArchiveSource implements ArchiveSource {
    private static final int BUFFER = 64 * 1024;

    private final Path root;
    private final String name;

    /** A source over {@code root}, which must be an existing directory. */
    public DirectoryArchiveSource(final Path root) {
        final Path absolute = root.toAbsolutePath().normalize();
        if (!Files.isDirectory(absolute)) {
            throw new IllegalArgumentException("archive root is not a directory: " + absolute);
        }
        try {
            this.root = absolute.toRealPath();
        } catch (final IOException e) {
            throw new IllegalArgumentException("archive root cannot be resolved: " + absolute + ": "
                    + BodyStream.describe(e), e);
        }
        this.name = absolute.toString();
    }

    /** A source for a directory path or a {@code file://} URL. */
    public static DirectoryArchiveSource of(final String rootOrFileUrl) {
        if (rootOrFileUrl.regionMatches(true, 0, "file:", 0, 5)) {
            return new DirectoryArchiveSource(fileUrlPath(rootOrFileUrl));
        }
        return new DirectoryArchiveSource(Path.of(rootOrFileUrl));
    }

    /**
     * The path of a {@code file:} URL, read as leniently as curl does: {@code file:///p}, {@code file://localhost/p}
     * (RFC 8089), {@code file:/p} and a relative {@code file:p}; percent escapes decoded, and a space taken as it is.
     */
    public static Path fileUrlPath(final String url) {
        String rest = url.substring(5);
        if (rest.regionMatches(true, 0, "//localhost/", 0, 12)) {
            rest = rest.substring(11);
        } else if (rest.startsWith("///")) {
            rest = rest.substring(2);
        } else if (rest.startsWith("//")) {
            final int slash = rest.indexOf('/', 2);
            throw new IllegalArgumentException("a file: URL names a directory of this host (file:///path or "
                    + "file://localhost/path), not of " + ArchivePaths.quote(slash < 0 ? rest.substring(2)
                            : rest.substring(2, slash)) + ": " + url);
        }
        if (rest.indexOf('?') >= 0 || rest.indexOf('#') >= 0) {
            throw new IllegalArgumentException("a file: archive root takes no query or fragment");
        }
        if (rest.isEmpty()) {
            throw new IllegalArgumentException("a file: URL without a path: " + url);
        }
        final String decoded;
        try {
            decoded = java.net.URLDecoder.decode(rest.replace("+", "%2B"), java.nio.charset.StandardCharsets.UTF_8);
        } catch (final IllegalArgumentException e) {
            throw new IllegalArgumentException("a file: URL with a bad percent escape: " + url);
        }
        if (decoded.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("a file: URL with a NUL: " + ArchivePaths.quote(url));
        }
        return Path.of(decoded);
    }

    @Override
    public String name() {
        return name;
    }

    /** The resolved (real) root directory. */
    public Path root() {
        return root;
    }

    @Override
    public Body open(final String path) throws FetchException {
        RelativePath.require(name, path);
        final Path resolved = root.resolve(path).normalize();
        if (!resolved.startsWith(root)) {
            throw new FetchException.Refused(name, path, "refused path: resolves outside the archive root", null);
        }
        if (!Files.exists(resolved)) {
            throw new FetchException.NotPresent(name, path, "no such file");
        }
        final Path real;
        try {
            real = resolved.toRealPath();
        } catch (final NoSuchFileException e) {
            throw new FetchException.NotPresent(name, path, "no such file");
        } catch (final IOException e) {
            throw failure(path, e);
        }
        if (!real.startsWith(root)) {
            throw new FetchException.Refused(name, path,
                    "refused path: a symbolic link leads outside the archive root", null);
        }
        try {
            final BasicFileAttributes attrs = Files.readAttributes(real, BasicFileAttributes.class,
                    LinkOption.NOFOLLOW_LINKS);
            if (!attrs.isRegularFile()) {
                throw new FetchException.NotPresent(name, path, "not a regular file");
            }
            // NOFOLLOW_LINKS: the real path has no link left, so a link swapped in since then is not followed.
            final InputStream in = Files.newInputStream(real, LinkOption.NOFOLLOW_LINKS);
            final long size = attrs.size();
            // most archive files are a few KiB: no 64 KiB buffer for those (large reads bypass the buffer anyway)
            final int buffer = (int) Math.max(512, Math.min(BUFFER, size + 1));
            return new Body(new BodyStream(new BufferedInputStream(in, buffer), name, path, size, null), size);
        } catch (final FetchException e) {
            throw e;
        } catch (final IOException e) {
            throw failure(path, e);
        }
    }

    private FetchException failure(final String path, final IOException e) {
        if (e instanceof NoSuchFileException) {
            return new FetchException.NotPresent(name, path, "no such file");
        }
        if (e instanceof AccessDeniedException) {
            return new FetchException.Refused(name, path, "access denied", e);
        }
        return new FetchException.Transient(name, path, "cannot open: " + BodyStream.describe(e), null, e);
    }

    @Override
    public String toString() {
        return name;
    }
}
