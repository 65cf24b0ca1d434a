package io.historystreams.archive;

import java.util.Locale;

/** Opens an {@link ArchiveSource} for a root: {@code http(s)://} URLs over HTTP, {@code file:} URLs and plain paths as directories. */
public final class ArchiveSources {
    private ArchiveSources() {
    }

    /**
     * The name the events give the source {@code root}: a URL without its credentials (see {@link Credentials}), a
     * directory by its absolute path (a relative one means nothing to the events' consumers, nor to a worker started
     * in another directory; a trial's tail and ingest of one directory named it two ways in one topic).
     */
    public static String eventName(final String root) {
        return root.contains("://") || root.regionMatches(true, 0, "file:", 0, 5) ? Credentials.strip(root)
                : java.nio.file.Path.of(root).toAbsolutePath().normalize().toString();
    }

    /** The source for {@code rootOrUrl}; throws IllegalArgumentException for an unsupported scheme or a bad root. */
    public static ArchiveSource open(final String rootOrUrl, final SourceOptions options) {
        if (rootOrUrl == null || rootOrUrl.isBlank()) {
            throw new IllegalArgumentException("empty archive root");
        }
        final String root = rootOrUrl.strip();
        final String lower = root.toLowerCase(Locale.ROOT);
        final String noQuery = lower.replaceAll("[?#].*$", "").replaceAll("/+$", "");
        if (noQuery.endsWith("/" + ArchivePaths.WELL_KNOWN) || noQuery.endsWith("/.well-known")
                || noQuery.equals(ArchivePaths.WELL_KNOWN) || noQuery.equals(".well-known")) {
            // every file was looked for under it: each checkpoint "incomplete", with no hint
            throw new IllegalArgumentException("the archive root is the directory that holds .well-known/, not "
                    + "the root state file: " + HttpArchiveSource.redact(root));
        }
        if (lower.startsWith("http://") || lower.startsWith("https://")) {
            return new HttpArchiveSource(root, options == null ? SourceOptions.defaults() : options);
        }
        if (lower.startsWith("file:")) {
            return DirectoryArchiveSource.of(root);
        }
        final int colon = root.indexOf(':');
        final int slash = root.indexOf('/');
        if (colon > 1 && (slash < 0 || colon < slash) && root.substring(0, colon).matches("[A-Za-z][A-Za-z0-9+.-]*")) {
            throw new IllegalArgumentException("unsupported archive URL scheme " + ArchivePaths.quote(
                    root.substring(0, colon)) + " (use http://, https://, file:// or a directory path)");
        }
        return new DirectoryArchiveSource(java.nio.file.Path.of(root));
    }
}
