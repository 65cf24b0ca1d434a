package io.historystreams.publish;

import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.RelativePath;

import java.util.regex.Pattern;

/**
 * The one gate every archive-relative path passes before a writer touches a file system, a URL or a shell: only the
 * shapes of the archive layout are accepted, so a hostile name can neither escape the root nor reach a shell.
 */
public final class TargetPath {
    private static final int MAX_LENGTH = 256;
    /** {@code category/ww/xx/yy/category-<hex>.(xdr.gz|json)}, e.g. {@code ledger/00/00/3f/ledger-00003fff.xdr.gz}. */
    private static final Pattern LAYOUT = Pattern.compile(
            "([a-z]+(?:-[a-z]+)*)/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{2}/([a-z]+(?:-[a-z]+)*)-[0-9a-f]{8,64}\\.(?:xdr\\.gz|json)");

    private TargetPath() {
    }

    /**
     * Returns {@code path} unchanged when it is a layout path or {@link ArchivePaths#WELL_KNOWN}.
     *
     * @throws IllegalArgumentException naming what is wrong (absolute, "..", backslash, control character, shape)
     */
    public static String require(final String path) {
        final String problem = problem(path);
        if (problem != null) {
            throw new IllegalArgumentException("refused target path " + ArchivePaths.quote(path) + ": " + problem);
        }
        return path;
    }

    /** True when {@link #require} would accept {@code path}. */
    public static boolean isValid(final String path) {
        return problem(path) == null;
    }

    private static String problem(final String path) {
        // the same hygiene as for reading (no absolute path, "..", backslash, control or odd characters) ...
        final String unsafe = RelativePath.problem(path);
        if (unsafe != null) {
            return unsafe;
        }
        if (path.length() > MAX_LENGTH) {
            return "longer than " + MAX_LENGTH + " characters";
        }
        // ... and only the archive layout's shapes
        if (path.equals(ArchivePaths.WELL_KNOWN)) {
            return null;
        }
        final var m = LAYOUT.matcher(path);
        if (!m.matches()) {
            return "not an archive layout path (category/ww/xx/yy/category-<hex>.xdr.gz|json or "
                    + ArchivePaths.WELL_KNOWN + ")";
        }
        if (!m.group(1).equals(m.group(2))) {
            return "file name prefix \"" + m.group(2) + "\" does not match directory \"" + m.group(1) + "\"";
        }
        return null;
    }
}
