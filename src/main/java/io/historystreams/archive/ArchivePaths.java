package io.historystreams.archive;

import java.util.regex.Pattern;

/**
 * The archive layout: where each file of a checkpoint and each bucket lives, relative to the archive root.
 * A bucket hash only becomes a path after {@link #requireHash} accepted it, so a hostile HAS cannot name
 * {@code ../../x}.
 */
public final class ArchivePaths {
    public static final String WELL_KNOWN = ".well-known/stellar-history.json";
    private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");
    public static final String ZERO_HASH = "0".repeat(64);

    private ArchivePaths() {
    }

    /** Path of a per-checkpoint file (HAS, ledger, transactions, results, scp). */
    public static String checkpointFile(final FileType type, final long checkpoint) {
        if (type == FileType.BUCKET) {
            throw new IllegalArgumentException("buckets are addressed by hash, not checkpoint");
        }
        Checkpoint.requireCheckpoint(checkpoint);
        final String hex = Checkpoint.hex(checkpoint);
        return type.category() + "/" + hex.substring(0, 2) + "/" + hex.substring(2, 4) + "/" + hex.substring(4, 6)
                + "/" + type.category() + "-" + hex + "." + type.extension();
    }

    public static String has(final long checkpoint) {
        return checkpointFile(FileType.HAS, checkpoint);
    }

    /** Path of a bucket file; the hash must be 64 lowercase hex characters. */
    public static String bucket(final String hash) {
        requireHash(hash);
        return "bucket/" + hash.substring(0, 2) + "/" + hash.substring(2, 4) + "/" + hash.substring(4, 6)
                + "/bucket-" + hash + ".xdr.gz";
    }

    public static boolean isHash(final String s) {
        return s != null && HEX64.matcher(s).matches();
    }

    /** Refuses anything that is not exactly 64 lowercase hex characters (the only form that may become a path). */
    public static String requireHash(final String s) {
        if (!isHash(s)) {
            throw new IllegalArgumentException("not a 64-character lowercase hex hash: " + quote(s));
        }
        return s;
    }

    /**
     * A possibly hostile string made safe for a terminal or a log line: C0 and C1 control characters (escape
     * sequences, CR and LF that would start a forged log line) and DEL as {@code \\uXXXX}; null stays null.
     */
    public static String printable(final String s) {
        if (s == null) {
            return null;
        }
        int i = 0;
        while (i < s.length() && !control(s.charAt(i))) {
            i++;
        }
        if (i == s.length()) {
            return s; // the usual case: nothing to escape
        }
        final StringBuilder b = new StringBuilder(s.length() + 16).append(s, 0, i);
        for (; i < s.length(); i++) {
            final char c = s.charAt(i);
            if (control(c)) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    private static boolean control(final char c) {
        return c < 0x20 || c >= 0x7f && c <= 0x9f || c == 0x2028 || c == 0x2029;
    }

    /** Quotes a possibly hostile string for an error message: bounded length, control characters escaped. */
    public static String quote(final String s) {
        if (s == null) {
            return "null";
        }
        final StringBuilder b = new StringBuilder("\"");
        final int n = Math.min(s.length(), 80);
        for (int i = 0; i < n; i++) {
            final char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        if (s.length() > n) {
            b.append("...(").append(s.length()).append(" chars)");
        }
        return b.append('"').toString();
    }
}
