package io.historystreams.publish;

import io.historystreams.archive.ArchivePaths;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * Publishes through shell command templates, compatible with stellar-core's {@code [HISTORY]} section.
 * <ul>
 * <li>{@code put}: {@code {0}} = local file, {@code {1}} = archive-relative remote path, e.g.
 * {@code cp {0} /srv/archive/{1}} or {@code aws s3 cp {0} s3://bucket/prefix/{1}}. Required.</li>
 * <li>{@code mkdir}: {@code {0}} = archive-relative remote directory, e.g. {@code mkdir -p /srv/archive/{0}}.
 * Optional; run once per directory before the first put into it.</li>
 * <li>{@code rename}: {@code {0}} = remote temporary, {@code {1}} = remote final path, e.g.
 * {@code mv /srv/archive/{0} /srv/archive/{1}}. When set, put uploads to {@code <path>.tmp-<random>} first and
 * renames; when absent, put uploads directly to the final name, which is atomic only where the target is
 * (S3-style object stores publish an object whole or not at all; a plain {@code cp} is not).</li>
 * <li>{@code get}: {@code {0}} = remote path, {@code {1}} = local file, e.g. {@code cp /srv/archive/{0} {1}}.
 * Used by {@link #readRootState()} and, when there is no {@code exists} template, by {@link #exists}.</li>
 * <li>{@code exists}: {@code {0}} = remote path; exit 0 = present, exit 1 = absent, anything else = error, e.g.
 * {@code test -f /srv/archive/{0}}. Optional.</li>
 * </ul>
 * Placeholders are replaced by single-quoted shell words, so they must appear unquoted in the template (as in
 * stellar-core's examples); each command runs as {@code sh -c <command>} with a timeout and is killed when it expires.
 * Without {@code exists}, {@code exists} runs {@code get} into a temporary file and reads a failure as "absent";
 * without either, {@code exists} answers false (everything is uploaded again, which is safe for write-once files) and
 * {@link #readRootState()} refuses.
 */
public final class CommandArchiveWriter implements ArchiveWriter {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(5);
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{([0-9])\\}");
    private static final Pattern USERINFO = Pattern.compile("(://)[^/@\\s]+@");
    private static final Pattern LABEL = Pattern.compile("[A-Za-z0-9._-]{1,64}");
    private static final int STDERR_TAIL = 2000;
    private static final long MAX_ROOT_STATE = 16L << 20;

    /** The command templates; null means "not configured". */
    public record Templates(String put, String mkdir, String get, String exists, String rename) {
        public Templates {
            Objects.requireNonNull(put, "a put template is required");
            check("put", put, 2);
            check("mkdir", mkdir, 1);
            check("get", get, 2);
            check("exists", exists, 1);
            check("rename", rename, 2);
        }
    }

    private final Templates templates;
    private final Duration timeout;
    private final String label;
    private final Set<String> madeDirectories = ConcurrentHashMap.newKeySet();

    public CommandArchiveWriter(final Templates templates) {
        this(templates, DEFAULT_TIMEOUT);
    }

    public CommandArchiveWriter(final Templates templates, final Duration timeout) {
        this(templates, timeout, null);
    }

    /**
     * @param label the target's name after {@code cmd:} (letters, digits, {@code . _ -}); null: {@link
     *              #defaultLabel}. Templates carry secrets (keys in variables, tokens in URLs), so a name never
     *              shows them: it is what logs, metrics, events and the consumer group say
     */
    public CommandArchiveWriter(final Templates templates, final Duration timeout, final String label) {
        this.templates = Objects.requireNonNull(templates, "templates");
        if (label != null && !LABEL.matcher(label).matches()) {
            throw new IllegalArgumentException("a cmd: target's name must be 1 to 64 letters, digits, '.', '_' or "
                    + "'-': " + ArchivePaths.quote(label));
        }
        this.label = label != null ? label : defaultLabel(templates);
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("command timeout must be positive: " + timeout);
        }
        this.timeout = timeout;
    }

    @Override
    public String name() {
        return "cmd:" + label;
    }

    /**
     * The program the put template runs (its first word that is not a variable assignment, without its directory),
     * then {@code #} and 8 hex digits of the SHA-256 of the templates: {@code aws#3f2a9b1c}. Two targets with other
     * templates get other names; nothing of a template's arguments or variables shows.
     */
    static String defaultLabel(final Templates t) {
        String program = "cmd";
        for (final String word : t.put().trim().split("\\s+")) {
            if (!word.matches("[A-Za-z_][A-Za-z0-9_]*=.*")) {
                final String base = word.substring(word.lastIndexOf('/') + 1).replaceAll("[^A-Za-z0-9._-]", "");
                if (!base.isEmpty()) {
                    program = base.length() > 32 ? base.substring(0, 32) : base;
                }
                break;
            }
        }
        final String all = String.join("\n", t.put(), String.valueOf(t.mkdir()), String.valueOf(t.get()),
                String.valueOf(t.exists()), String.valueOf(t.rename()));
        return program + "#" + io.historystreams.verify.Hash.sha256(all.getBytes(StandardCharsets.UTF_8)).hex()
                .substring(0, 8);
    }

    @Override
    public boolean exists(final String path) throws PublishException {
        TargetPath.require(path);
        if (templates.exists() != null) {
            final int code = run("exists", templates.exists(), path, path, null, true);
            if (code == 0) {
                return true;
            }
            if (code == 1) {
                return false;
            }
            throw new PublishException(describe("exists", path) + " exited with " + code
                    + " (expected 0 = present or 1 = absent)", true, null);
        }
        if (templates.get() != null) {
            final Path tmp = localTemporary();
            try {
                return run("get", templates.get(), path, path, tmp.toString(), true) == 0;
            } finally {
                deleteQuietly(tmp);
            }
        }
        return false;
    }

    @Override
    public void put(final String path, final Path localFile) throws PublishException {
        TargetPath.require(path);
        if (!Files.isRegularFile(localFile)) {
            throw new PublishException(name() + ": cannot publish " + path + ": no such local file " + localFile,
                    false, null);
        }
        final String dir = path.substring(0, path.lastIndexOf('/'));
        if (templates.mkdir() != null && !madeDirectories.contains(dir)) {
            run("mkdir", templates.mkdir(), path, dir, null, false);
            madeDirectories.add(dir);
        }
        if (templates.rename() == null) {
            run("put", templates.put(), path, localFile.toString(), path, false);
            return;
        }
        final String tmp = path + ".tmp-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
        run("put", templates.put(), path, localFile.toString(), tmp, false);
        run("rename", templates.rename(), path, tmp, path, false);
    }

    @Override
    public Optional<byte[]> readSmall(final String path) throws PublishException {
        TargetPath.require(path);
        if (templates.get() == null) {
            throw new PublishException(name() + ": cannot read " + path + ": no get template configured", false,
                    null);
        }
        if (templates.exists() != null && !exists(path)) {
            return Optional.empty();
        }
        final Path tmp = localTemporary();
        try {
            final int code = run("get", templates.get(), path, path, tmp.toString(), templates.exists() == null);
            if (code != 0) {
                return Optional.empty(); // only reachable without an exists template: a failing get means absent
            }
            if (Files.size(tmp) > MAX_ROOT_STATE) {
                throw new PublishException(name() + ": " + path + " is larger than " + MAX_ROOT_STATE + " bytes",
                        false, null);
            }
            return Optional.of(Files.readAllBytes(tmp));
        } catch (IOException e) {
            throw new PublishException(name() + ": cannot read the downloaded " + path + ": " + e, false, e);
        } finally {
            deleteQuietly(tmp);
        }
    }

    @Override
    public void putRootState(final byte[] json) throws PublishException {
        final Path tmp = localTemporary();
        try {
            try {
                Files.write(tmp, json);
            } catch (IOException e) {
                throw new PublishException(name() + ": cannot stage " + ArchivePaths.WELL_KNOWN + ": " + e, false, e);
            }
            // its put's own failure as it is: a put that failed once was taken as one retrying cannot fix, and the
            // target was given up (a trial: a flaky put, 1 in 4, ended every run after a few checkpoints)
            put(ArchivePaths.WELL_KNOWN, tmp);
        } finally {
            deleteQuietly(tmp);
        }
    }

    /** Quotes {@code s} as one POSIX shell word: {@code 'it'\''s'}. */
    public static String shellQuote(final String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    /** Substitutes {@code {0}}, {@code {1}} with shell-quoted arguments. */
    static String expand(final String template, final String arg0, final String arg1) {
        final var m = PLACEHOLDER.matcher(template);
        final StringBuilder out = new StringBuilder();
        while (m.find()) {
            final String value = switch (m.group(1)) {
                case "0" -> arg0;
                case "1" -> arg1;
                default -> null;
            };
            if (value == null) {
                throw new IllegalArgumentException("template uses {" + m.group(1) + "} which has no value: "
                        + redact(template));
            }
            m.appendReplacement(out, java.util.regex.Matcher.quoteReplacement(shellQuote(value)));
        }
        m.appendTail(out);
        return out.toString();
    }

    /**
     * Runs one command; returns its exit code when {@code tolerateFailure}, otherwise throws on a non-zero exit.
     * Timeouts and start failures always throw.
     */
    private int run(final String what, final String template, final String path, final String arg0,
            final String arg1, final boolean tolerateFailure) throws PublishException {
        final String command = expand(template, arg0, arg1);
        Path stderr = null;
        Process p = null;
        try {
            stderr = Files.createTempFile("history-streams-cmd-", ".stderr");
            final ProcessBuilder pb = new ProcessBuilder("sh", "-c", command)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(stderr.toFile());
            if (closed) {
                throw new PublishException(describe(what, path) + " not run: the writer is closed", false, null);
            }
            p = pb.start();
            running.add(p);
            if (closed) {
                // closed while it started: close did not see it (a test's command was left running)
                kill(p);
            }
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                kill(p);
                throw new PublishException(describe(what, path) + " timed out after " + timeout
                        + " and was killed", true, null);
            }
            final int code = p.exitValue();
            if (code != 0 && !tolerateFailure) {
                throw new PublishException(describe(what, path) + " failed with exit code " + code
                        + stderrTail(stderr), true, null);
            }
            return code;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            if (p != null) {
                kill(p);
            }
            throw new PublishException(describe(what, path) + " interrupted", false, e);
        } catch (IOException e) {
            if (e instanceof PublishException pe) {
                throw pe;
            }
            throw new PublishException(describe(what, path) + " could not run: " + e, false, e);
        } finally {
            if (p != null) {
                running.remove(p);
            }
            if (stderr != null) {
                deleteQuietly(stderr);
            }
        }
    }

    /** Commands running now (a put of each file in flight). */
    private final java.util.Set<Process> running = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /**
     * Kills the commands still running: the threads that wait for them are abandoned at exit, and the commands were
     * left behind (a hanging {@code put} of each file in flight, re-parented to init).
     */
    /** Set by {@link #close}: no command starts after it, and one starting meanwhile is killed. */
    private volatile boolean closed;

    @Override
    public void close() {
        closed = true;
        for (final Process p : List.copyOf(running)) {
            kill(p);
        }
    }

    private static void kill(final Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        try {
            p.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private String describe(final String what, final String path) {
        // path has passed TargetPath.require: layout characters only, bounded length
        // not the template: it can carry secrets (see name())
        return "command '" + what + "' of " + name() + " for " + path;
    }

    private static String stderrTail(final Path stderr) {
        try (RandomAccessFile f = new RandomAccessFile(stderr.toFile(), "r")) {
            final long len = f.length();
            if (len == 0) {
                return "";
            }
            final int n = (int) Math.min(len, STDERR_TAIL);
            final byte[] buf = new byte[n];
            f.seek(len - n);
            f.readFully(buf);
            final String s = new String(buf, StandardCharsets.UTF_8).strip();
            return "; stderr" + (len > n ? " (last " + n + " bytes)" : "") + ": " + redact(s);
        } catch (IOException e) {
            return "";
        }
    }

    /** Hides URL userinfo ({@code scheme://user:secret@host}) in templates and messages. */
    static String redact(final String s) {
        return s == null ? null : USERINFO.matcher(s).replaceAll("$1***@");
    }

    private static Path localTemporary() throws PublishException {
        try {
            // readable by others (the umask applies): a put template that copies modes (cp) made the root 0600
            return Files.createTempFile("history-streams-", ".tmp", ArchiveWriters.READABLE);
        } catch (IOException e) {
            throw new PublishException("cannot create a local temporary file: " + e, false, e);
        }
    }

    private static void deleteQuietly(final Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // a stray file in the temp directory is harmless
        }
    }

    /** Refuses a template whose placeholders are missing, out of range, or inside shell quotes. */
    private static void check(final String name, final String template, final int arity) {
        if (template == null) {
            return;
        }
        if (template.isBlank()) {
            throw new IllegalArgumentException(name + " template is empty");
        }
        char quote = 0;
        for (int i = 0; i < template.length(); i++) {
            final char c = template.charAt(i);
            if (quote == 0 && c == '\\') {
                i++;
            } else if (quote == 0 && (c == '\'' || c == '"')) {
                quote = c;
            } else if (quote != 0 && c == quote) {
                quote = 0;
            } else if (quote == '"' && c == '\\') {
                i++;
            } else if (c == '{' && i + 2 < template.length() && Character.isDigit(template.charAt(i + 1))
                    && template.charAt(i + 2) == '}') {
                final int index = template.charAt(i + 1) - '0';
                if (index >= arity) {
                    throw new IllegalArgumentException(name + " template uses {" + index + "}, but only {0}"
                            + (arity > 1 ? " and {1} exist" : " exists") + ": " + redact(template));
                }
                if (quote != 0) {
                    throw new IllegalArgumentException(name + " template has {" + index + "} inside quotes; write it "
                            + "unquoted (values are shell-quoted automatically): " + redact(template));
                }
            }
        }
        if (!template.contains("{0}")) {
            throw new IllegalArgumentException(name + " template does not use {0}: " + redact(template));
        }
        if (arity > 1 && !template.contains("{1}")) {
            throw new IllegalArgumentException(name + " template does not use {1}: " + redact(template));
        }
    }
}
