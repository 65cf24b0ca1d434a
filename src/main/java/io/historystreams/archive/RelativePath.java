package io.historystreams.archive;

/**
 * Path hygiene shared by every source and target: an archive-relative path may only use the characters of the layout
 * and may never climb out of the root, whatever the source does with it afterwards.
 */
public final class RelativePath {
    private static final int MAX_LENGTH = 1024;

    private RelativePath() {
    }

    /** Returns {@code path} unchanged, or throws Refused naming what is wrong with it. */
    static String require(final String source, final String path) throws FetchException.Refused {
        final String problem = problem(path);
        if (problem != null) {
            throw new FetchException.Refused(source, ArchivePaths.quote(path), "refused path: " + problem, null);
        }
        return path;
    }

    /** What is wrong with {@code path}, or null when it is a clean archive-relative path. */
    public static String problem(final String path) {
        if (path == null || path.isEmpty()) {
            return "empty path";
        }
        if (path.length() > MAX_LENGTH) {
            return "longer than " + MAX_LENGTH + " characters";
        }
        if (path.charAt(0) == '/') {
            return "absolute path";
        }
        if (path.contains("..")) {
            return "contains \"..\"";
        }
        for (int i = 0; i < path.length(); i++) {
            final char c = path.charAt(i);
            if (c == '\\') {
                return "contains a backslash";
            }
            if (c == 0) {
                return "contains NUL";
            }
            if (c < 0x20 || c == 0x7f) {
                return "contains a control character";
            }
            if (!allowed(c)) {
                return "contains " + (c < 0x80 ? "'" + c + "'" : "non-ASCII characters")
                        + " (only letters, digits and . _ - ~ / are allowed)";
            }
        }
        for (final String segment : path.split("/", -1)) {
            if (segment.isEmpty()) {
                return "empty path segment";
            }
            if (segment.equals(".")) {
                return "\".\" path segment";
            }
        }
        return null;
    }

    /** The URL-unreserved characters plus '/': a path made of these needs no encoding anywhere. */
    private static boolean allowed(final char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || c == '.' || c == '_' || c == '-' || c == '~' || c == '/';
    }
}
