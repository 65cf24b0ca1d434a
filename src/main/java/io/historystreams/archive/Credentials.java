package io.historystreams.archive;

import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Keeps archive credentials out of everything that is stored or printed. An archive URL may carry secrets (HTTP
 * Basic {@code user:pass@}, a signed query string); what goes into Kafka events, reports and logs is the
 * credential-free name of the root ({@link #strip}), and the fetchers of this process find the full URL again through
 * an in-process map keyed by that name ({@link #resolve}), filled from the command's {@code --archive} URLs (and the
 * {@code archive.credentials} setting for workers that have no {@code --archive}). The map is never written anywhere.
 */
public final class Credentials {
    private static final Map<String, String> FULL = new ConcurrentHashMap<>();

    private Credentials() {
    }

    /**
     * The credential-free name of an archive root, remembering the full URL under it when it had credentials.
     * Directories and {@code file:} URLs are returned unchanged.
     */
    public static String strip(final String root) {
        if (root == null) {
            return null;
        }
        final String r = root.strip();
        if (!isHttp(r)) {
            return r;
        }
        final String name;
        try {
            name = new HttpArchiveSource(r, SourceOptions.defaults()).name();
        } catch (final IllegalArgumentException e) {
            return HttpArchiveSource.redact(r);
        }
        if (!name.equals(r)) {
            FULL.put(name, r);
        }
        return name;
    }

    /**
     * True when {@code root} is an http(s) URL with credentials (user info, or a query such as a token): what
     * {@link #strip} removes, apart from the trailing slash it adds.
     */
    public static boolean carried(final String root) {
        final String r = root == null ? null : root.strip();
        if (r == null || !isHttp(r)) {
            return false;
        }
        try {
            // an empty user info or query ("http://@host/", "…/archive?") carries nothing
            final java.net.URI u = new java.net.URI(r);
            return u.getRawUserInfo() != null && !u.getRawUserInfo().isEmpty()
                    || u.getRawQuery() != null && !u.getRawQuery().isEmpty();
        } catch (final java.net.URISyntaxException e) {
            return !HttpArchiveSource.redact(r).equals(r);
        }
    }

    private static boolean isHttp(final String root) {
        final String lower = root.toLowerCase(Locale.ROOT);
        return lower.startsWith("http://") || lower.startsWith("https://");
    }

    /** The URL to fetch from for a stored name: the full URL with its credentials when this process knows it. */
    public static String resolve(final String name) {
        if (name == null) {
            return null;
        }
        final String full = FULL.get(name);
        if (full != null) {
            return full;
        }
        final String lower = name.toLowerCase(Locale.ROOT);
        if (lower.startsWith("http://") || lower.startsWith("https://")) {
            // the same root written without the trailing slash
            final String withSlash = FULL.get(name.endsWith("/") ? name : name + "/");
            if (withSlash != null) {
                return withSlash;
            }
        }
        return name;
    }

    /** Registers comma-separated archive URLs with credentials (the {@code archive.credentials} setting). */
    public static void registerAll(final String commaSeparated) {
        if (commaSeparated == null || commaSeparated.isBlank()) {
            return;
        }
        for (final String u : commaSeparated.split(",")) {
            if (!u.isBlank()) {
                strip(u);
            }
        }
    }
}
