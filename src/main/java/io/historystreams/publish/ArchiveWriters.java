package io.historystreams.publish;

import io.historystreams.archive.DirectoryArchiveSource;
import io.historystreams.archive.RetryPolicy;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Opens a target archive from a {@code --publish-to} spec, wrapped in a {@link RetryingArchiveWriter}.
 * <ul>
 * <li>a directory path or {@code file://} URL: {@link LocalArchiveWriter} (stale temporaries are cleaned on open);
 * options {@code fsync=true|false} and {@code link=true|false} (hard links to the verified blobs, or copies).</li>
 * <li>{@code http://} or {@code https://} URL (userinfo = basic auth): {@link HttpArchiveWriter}; options
 * {@code atomicMove=true|false}, {@code timeout=<seconds>}, {@code connectTimeout=<seconds>}.</li>
 * <li>{@code cmd:put=<template>;mkdir=<template>;get=...;exists=...;rename=...;timeout=<seconds>}:
 * {@link CommandArchiveWriter}. A {@code ;} separates settings only when a known key and {@code =} follow it, so
 * templates may contain {@code ;} themselves. The same keys may be given as options instead (target {@code cmd:}),
 * e.g. {@code --publish-to 'cmd:put=cp {0} /srv/a/{1};mkdir=mkdir -p /srv/a/{0};get=cp /srv/a/{0} {1};exists=test -e
 * /srv/a/{0}'}; put, get and exists are required.</li>
 * </ul>
 * Options for every kind: {@code retries} (attempts, default 6; 1 disables retrying), {@code retryDelayMs}
 * (default 200), {@code retryMaxDelayMs} (default 30000). Unknown options are refused.
 */
public final class ArchiveWriters {
    /**
     * rw-r--r-- (the umask applies) where the default file system has POSIX permissions, else nothing: the mode of the
     * files a target gets, which a web server running as another user must be able to read.
     */
    static final java.nio.file.attribute.FileAttribute<?>[] READABLE = java.nio.file.FileSystems.getDefault()
            .supportedFileAttributeViews().contains("posix")
            ? new java.nio.file.attribute.FileAttribute<?>[] {java.nio.file.attribute.PosixFilePermissions
                    .asFileAttribute(java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"))}
            : new java.nio.file.attribute.FileAttribute<?>[0];

    private static final Set<String> COMMAND_KEYS = Set.of("put", "mkdir", "get", "exists", "rename", "timeout",
            "name");
    private static final Set<String> RETRY_KEYS = Set.of("retries", "retryDelayMs", "retryMaxDelayMs");
    private static final Pattern CMD_SPLIT = Pattern.compile(";(?=(?:put|mkdir|get|exists|rename|timeout|name)=)");

    private ArchiveWriters() {
    }

    /** What kind of writer a target spec opens. */
    enum Kind { LOCAL, HTTP, COMMAND }

    /** The settings that apply to every target ({@code publish.*} without the prefix) and their option names. */
    private static final Map<String, String> SETTING_OPTIONS = Map.of("retries", "retries", "retry.delay.ms",
            "retryDelayMs", "retry.max.delay.ms", "retryMaxDelayMs", "fsync", "fsync", "timeout.seconds", "timeout", "link",
            "link");

    /** The names of the publish settings the writers take (without the {@code publish.} prefix), sorted. */
    /**
     * The name {@code target}'s writer gives itself, for messages about a target not opened yet: a {@code cmd:}
     * target's label (never its templates, which can carry secrets), a URL without credentials, a path as given.
     */
    public static String displayName(final String target) {
        try {
            return switch (kind(target)) {
                case COMMAND -> {
                    final Map<String, String> s = parseCommandSpec(target.substring(4));
                    final String put = s.get("put");
                    yield put == null ? "cmd:(no put template)" : "cmd:" + (s.get("name") != null ? s.get("name")
                            : CommandArchiveWriter.defaultLabel(new CommandArchiveWriter.Templates(put, s.get("mkdir"),
                                    s.get("get"), s.get("exists"), s.get("rename"))));
                }
                case HTTP -> CommandArchiveWriter.redact(target);
                case LOCAL -> target;
            };
        } catch (final IllegalArgumentException e) {
            return target.regionMatches(true, 0, "cmd:", 0, 4) ? "cmd:(…)" : CommandArchiveWriter.redact(target);
        }
    }

    public static java.util.SortedSet<String> settingNames() {
        return new java.util.TreeSet<>(SETTING_OPTIONS.keySet());
    }

    /**
     * Turns the publish settings ({@code retries}, {@code retry.delay.ms}, {@code retry.max.delay.ms}: every target;
     * {@code fsync}: directory targets; {@code timeout.seconds}: WebDAV and command targets) into the options of
     * {@code target}; a setting that does not apply to its kind is left out, an unknown one is refused.
     */
    public static Map<String, String> options(final String target, final Map<String, String> settings) {
        final Kind kind = kind(target);
        final Map<String, String> out = new HashMap<>();
        settings.forEach((k, v) -> {
            final String option = SETTING_OPTIONS.get(k);
            if (option == null) {
                throw new IllegalArgumentException("unknown publish setting publish." + k + " (known: publish."
                        + String.join(", publish.", new java.util.TreeSet<>(SETTING_OPTIONS.keySet())) + ")");
            }
            final boolean applies = switch (option) {
                case "fsync", "link" -> kind == Kind.LOCAL;
                // a command target's own ;timeout= wins over the setting for every target
                case "timeout" -> kind == Kind.HTTP
                        || kind == Kind.COMMAND && !parseCommandSpec(target.substring(4)).containsKey("timeout");
                default -> true;
            };
            if (applies && v != null && !v.isBlank()) {
                out.put(option, v.trim());
            }
        });
        return out;
    }

    static Kind kind(final String target) {
        final String lower = target.toLowerCase(Locale.ROOT);
        if (lower.startsWith("cmd:")) {
            return Kind.COMMAND;
        }
        if (lower.startsWith("http://") || lower.startsWith("https://")) {
            return Kind.HTTP;
        }
        return Kind.LOCAL;
    }

    /**
     * What {@code target} writes to, so that two spellings of one target compare equal: a directory by its absolute
     * normalized path, symlinks resolved when it exists (also as a {@code file:} URL), an http(s) URL without credentials and with a lower-case scheme
     * and host and a final {@code /}, a command target as it is.
     */
    public static String identity(final String target) {
        final String lower = target.toLowerCase(Locale.ROOT);
        try {
            return switch (kind(target)) {
                case COMMAND -> target;
                case HTTP -> {
                    final URI u = new URI(target);
                    final String path = u.getRawPath() == null || u.getRawPath().isEmpty() ? "/" : u.getRawPath();
                    yield u.getScheme().toLowerCase(Locale.ROOT) + "://"
                            + io.historystreams.archive.Urls.hostAndPort(u).toLowerCase(Locale.ROOT)
                            + (path.endsWith("/") ? path : path + "/");
                }
                case LOCAL -> {
                    final Path p = (lower.startsWith("file:") ? DirectoryArchiveSource.fileUrlPath(target)
                            : Path.of(target)).toAbsolutePath().normalize();
                    yield (java.nio.file.Files.exists(p) ? p.toRealPath() : p).toString(); // a symlink to it too
                }
            };
        } catch (final URISyntaxException | java.io.IOException | RuntimeException e) {
            return target; // refused with its reason when it is opened
        }
    }

    public static ArchiveWriter open(final String target) throws PublishException {
        return open(target, Map.of());
    }

    /** Opens {@code target}; see the class comment for the syntax and the options. */
    public static ArchiveWriter open(final String target, final Map<String, String> options) throws PublishException {
        if (target == null || target.isBlank()) {
            throw new IllegalArgumentException("empty publish target");
        }
        final Map<String, String> opts = new HashMap<>(options == null ? Map.of() : options);
        final RetryPolicy policy = retryPolicy(opts);
        final ArchiveWriter writer;
        final Kind kind = kind(target);
        final String lower = target.toLowerCase(Locale.ROOT);
        if (kind == Kind.COMMAND) {
            final Map<String, String> settings = parseCommandSpec(target.substring(4));
            for (final String k : COMMAND_KEYS) {
                if (opts.containsKey(k)) {
                    settings.put(k, opts.remove(k));
                }
            }
            requireNoOthers(opts, target);
            writer = command(settings);
        } else if (kind == Kind.HTTP) {
            final boolean atomicMove = bool(opts.remove("atomicMove"), "atomicMove", true);
            final Duration timeout = seconds(opts.remove("timeout"), "timeout", HttpArchiveWriter.DEFAULT_REQUEST_TIMEOUT);
            final Duration connect = seconds(opts.remove("connectTimeout"), "connectTimeout",
                    HttpArchiveWriter.DEFAULT_CONNECT_TIMEOUT);
            requireNoOthers(opts, target);
            final URI uri;
            try {
                uri = new URI(target);
            } catch (URISyntaxException e) {
                throw new IllegalArgumentException("malformed URL (at index " + e.getIndex() + ")");
            }
            writer = new HttpArchiveWriter(uri, atomicMove, connect, timeout);
        } else if (lower.startsWith("file:")) {
            final boolean fsync = bool(opts.remove("fsync"), "fsync", true);
            final boolean link = bool(opts.remove("link"), "link", true);
            requireNoOthers(opts, target);
            final LocalArchiveWriter local = new LocalArchiveWriter(DirectoryArchiveSource.fileUrlPath(target), fsync,
                    link);
            local.cleanStaleTemporaries();
            writer = local;
        } else if (lower.matches("[a-z][a-z0-9+.-]*://.*")) {
            throw new IllegalArgumentException("unsupported publish target scheme in " + target.substring(0,
                    target.indexOf(':')) + "://...; use a directory, file://, http(s):// or cmd:put=...;get=...;exists=...");
        } else {
            final boolean fsync = bool(opts.remove("fsync"), "fsync", true);
            final boolean link = bool(opts.remove("link"), "link", true);
            requireNoOthers(opts, target);
            final LocalArchiveWriter local = new LocalArchiveWriter(Path.of(target), fsync, link);
            local.cleanStaleTemporaries();
            writer = local;
        }
        return new RetryingArchiveWriter(writer, policy);
    }

    /** A {@code ;} followed at once by a word and {@code =}: a setting, when the word is a known key. */
    private static final Pattern GLUED = Pattern.compile(";([A-Za-z][A-Za-z.]*)=");

    /** The names of {@code names} {@link #closeTo} {@code word}, sorted: the ones a misspelt name may have meant. */
    public static java.util.List<String> closeNames(final String word, final java.util.Collection<String> names) {
        return names.stream().filter(n -> closeTo(word, n)).sorted().toList();
    }

    /** Within two edits (insert, delete, replace, or swap of neighbours) of {@code key}. */
    public static boolean closeTo(final String word, final String key) {
        final int[][] d = new int[word.length() + 1][key.length() + 1];
        for (int i = 0; i <= word.length(); i++) {
            for (int j = 0; j <= key.length(); j++) {
                if (i == 0 || j == 0) {
                    d[i][j] = i + j;
                    continue;
                }
                final int same = word.charAt(i - 1) == key.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + same);
                if (i > 1 && j > 1 && word.charAt(i - 1) == key.charAt(j - 2) && word.charAt(i - 2) == key.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[word.length()][key.length()] <= 2;
    }

    /** Parses {@code put=...;mkdir=...} into its settings (unknown keys refused). */
    static Map<String, String> parseCommandSpec(final String spec) {
        final Map<String, String> out = new LinkedHashMap<>();
        if (spec.isBlank()) {
            return out;
        }
        for (final String part : CMD_SPLIT.split(spec)) {
            final int eq = part.indexOf('=');
            final String key = eq < 0 ? part : part.substring(0, eq);
            if (eq < 0 || !COMMAND_KEYS.contains(key)) {
                throw new IllegalArgumentException("cmd: target settings must start with one of " + COMMAND_KEYS
                        + "=; got " + CommandArchiveWriter.redact(part.length() > 40 ? part.substring(0, 40) + "..." : part));
            }
            final java.util.regex.Matcher glued = GLUED.matcher(part.substring(eq + 1));
            while (glued.find()) {
                // ';timout=30' is not split off (only known keys are), and became part of the template before it:
                // 'exists=test -e x;timout=30' always exits 0, and every file was skipped as present
                final String word = glued.group(1);
                if (COMMAND_KEYS.stream().anyMatch(k -> closeTo(word.toLowerCase(Locale.ROOT), k))) {
                    throw new IllegalArgumentException("cmd: target: \";" + word + "=\" in the " + key + " template "
                            + "looks like a misspelled setting (known: " + COMMAND_KEYS + "); if it belongs to the "
                            + "command, write \"; " + word + "=\" with a space");
                }
            }
            if (out.put(key, part.substring(eq + 1)) != null) {
                throw new IllegalArgumentException("cmd: target sets " + key + " twice");
            }
        }
        return out;
    }

    private static ArchiveWriter command(final Map<String, String> s) {
        if (s.get("put") == null) {
            throw new IllegalArgumentException("a cmd: target needs a put template, e.g. cmd:put=cp {0} /srv/a/{1}");
        }
        // without get, nothing tells where the target's root state stands (found out after every file was put);
        // without exists, a get that fails for any reason reads as "absent": files rewritten, the root moved back
        if (s.get("get") == null || s.get("exists") == null) {
            throw new IllegalArgumentException("a cmd: target needs get and exists templates as well as put: get "
                    + "reads its root state ({0} remote path, {1} local file, e.g. get=cp /srv/a/{0} {1}), exists tells "
                    + "a file absent (exit 1) from a command that failed (other codes), e.g. exists=test -e /srv/a/{0}; "
                    + "missing: " + (s.get("get") == null ? "get" + (s.get("exists") == null ? ", exists" : "")
                    : "exists"));
        }
        final var templates = new CommandArchiveWriter.Templates(s.get("put"), s.get("mkdir"), s.get("get"),
                s.get("exists"), s.get("rename"));
        return new CommandArchiveWriter(templates, seconds(s.get("timeout"), "timeout",
                CommandArchiveWriter.DEFAULT_TIMEOUT), s.get("name"));
    }

    private static RetryPolicy retryPolicy(final Map<String, String> opts) {
        final RetryPolicy d = RetryPolicy.defaults();
        final int attempts = integer(opts.remove("retries"), "retries", d.maxAttempts());
        final long base = integer(opts.remove("retryDelayMs"), "retryDelayMs", (int) d.baseDelay().toMillis());
        final long max = integer(opts.remove("retryMaxDelayMs"), "retryMaxDelayMs", (int) d.maxDelay().toMillis());
        return new RetryPolicy(attempts, Duration.ofMillis(base), Duration.ofMillis(Math.max(base, max)),
                d.maxRetryAfter());
    }

    private static void requireNoOthers(final Map<String, String> opts, final String target) {
        if (!opts.isEmpty()) {
            throw new IllegalArgumentException("unknown publish option(s) " + opts.keySet() + " for this target kind"
                    + " (retry options: " + RETRY_KEYS + ")");
        }
    }

    private static boolean bool(final String v, final String key, final boolean dflt) {
        if (v == null) {
            return dflt;
        }
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "true", "yes", "1" -> true;
            case "false", "no", "0" -> false;
            default -> throw new IllegalArgumentException(key + " must be true or false: " + v);
        };
    }

    private static int integer(final String v, final String key, final int dflt) {
        if (v == null) {
            return dflt;
        }
        try {
            final int n = Integer.parseInt(v.trim());
            if (n < 0) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a non-negative integer: " + v);
        }
    }

    private static Duration seconds(final String v, final String key, final Duration dflt) {
        if (v == null) {
            return dflt;
        }
        final int n = integer(v, key, 0);
        if (n == 0) {
            throw new IllegalArgumentException(key + " must be at least 1 second");
        }
        return Duration.ofSeconds(n);
    }
}
