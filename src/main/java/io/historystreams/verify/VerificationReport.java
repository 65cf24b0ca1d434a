package io.historystreams.verify;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Writes a JSON report while a run goes on, one checkpoint at a time (memory does not grow with the range):
 * {@code {"archive": [...], "checkpoints": [{checkpoint, status, link, files: [...], failures: [...]}], "summary": {...}}}.
 * A file that verified after failover lists the sources that served it bad bytes first in {@code blamed}.
 */
public final class VerificationReport implements AutoCloseable {
    private final JsonGenerator json;
    private final Path target;
    private boolean finished;

    private VerificationReport(final Path target, final JsonGenerator json) {
        this.target = target;
        this.json = json;
    }

    /**
     * Opens the temporary file of a report at {@code target} ({@code <target>.partial}, renamed when the report is
     * finished), creating its directory. Fails with a message that names the report and the reason (a file system
     * error's own message is only the path).
     */
    public static OutputStream openPartial(final Path target) throws IOException {
        if (target.toString().isBlank()) {
            // (an empty path is the working directory: "cannot write the report : it is a directory", a trial)
            throw new IOException("cannot write the report: no path given (--report with an empty value)");
        }
        final Path abs = target.toAbsolutePath();
        try {
            if (abs.getParent() != null) {
                Files.createDirectories(abs.getParent());
            }
            if (Files.isDirectory(abs)) {
                throw new IOException("it is a directory");
            }
            // the finished report is renamed into place: a device, a pipe or a link there was replaced by a regular
            // file (as root, --report /dev/full replaced the machine's /dev/full), and a reader of the pipe got nothing
            if (Files.exists(abs, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                    && !Files.isRegularFile(abs, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                throw new IOException("it is not a regular file (a device, a pipe or a link), which the report would "
                        + "replace; give the path of a file");
            }
            final Path partial = partialOf(abs);
            partial.toFile().deleteOnExit(); // a run stopped by a signal leaves no temporary behind
            return new Named(Files.newOutputStream(partial), target);
        } catch (final IOException e) {
            throw cannotWrite(target, e);
        }
    }

    /**
     * A report's stream whose write errors name the report: a full disk said only "No space left on device", which
     * reads as the data dir's.
     */
    private static final class Named extends java.io.FilterOutputStream {
        private final Path target;

        Named(final OutputStream out, final Path target) {
            super(out);
            this.target = target;
        }

        /** A write to the file. */
        @FunctionalInterface
        private interface Write {
            void run() throws IOException;
        }

        private void named(final Write write) throws IOException {
            try {
                write.run();
            } catch (final IOException e) {
                throw cannotWrite(target, e);
            }
        }

        @Override
        public void write(final int b) throws IOException {
            named(() -> out.write(b));
        }

        @Override
        public void write(final byte[] b, final int off, final int len) throws IOException {
            named(() -> out.write(b, off, len));
        }

        @Override
        public void flush() throws IOException {
            named(out::flush);
        }

        @Override
        public void close() throws IOException {
            named(out::close);
        }
    }

    /** Checks, before any work, that a report can be written at {@code target} (and leaves nothing there). */
    public static void checkWritable(final Path target) throws IOException {
        openPartial(target).close();
        Files.deleteIfExists(partialOf(target.toAbsolutePath()));
    }

    /** Moves the finished temporary file of the report at {@code target} into place, atomically. */
    public static void moveIntoPlace(final Path target) throws IOException {
        final Path abs = target.toAbsolutePath();
        try {
            Files.move(partialOf(abs), abs, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (final IOException e) {
            throw new IOException("cannot move the report into place at " + target + ": " + why(e), e);
        }
    }

    private static IOException cannotWrite(final Path target, final IOException e) {
        return new IOException("cannot write the report " + target + ": " + why(e), e);
    }

    /** A file system error's reason in words (its own message is often the path alone). */
    private static String why(final IOException e) {
        return io.historystreams.kafka.Causes.describe(e);
    }

    /**
     * The temporary file of the report at {@code abs}: this process's own ({@code <name>.<pid>.partial}), so two runs
     * given one report path (cron runs that overlap) never write into the same file; the last to finish wins whole.
     */
    private static Path partialOf(final Path abs) {
        return abs.resolveSibling(abs.getFileName() + "." + ProcessHandle.current().pid() + ".partial");
    }

    /** The time now as reports write it: UTC, ISO-8601, to the millisecond. */
    public static String now() {
        return java.time.Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MILLIS).toString();
    }

    /**
     * Starts a report at {@code target} (written to a temporary file and renamed when finished).
     *
     * @param warnings the warnings printed before the work (about the range or the archive's root state)
     */
    public static VerificationReport start(final Path target, final String command, final List<String> sources,
            final long from, final long to, final List<String> warnings) throws IOException {
        final OutputStream out = openPartial(target);
        final JsonGenerator g = new JsonFactory().createGenerator(out, JsonEncoding.UTF8).useDefaultPrettyPrinter();
        writeHead(g, command, now(), sources, from, to, warnings);
        return new VerificationReport(target.toAbsolutePath(), g);
    }

    /**
     * The start of a report of {@code verify} or {@code scan}: the object opened, {@code command}, {@code startedAt},
     * {@code sources}, {@code fromLedger}/{@code toLedger}, the warnings and notes printed before the work, and the
     * {@code checkpoints} array opened.
     */
    public static void writeHead(final JsonGenerator g, final String command, final String startedAt,
            final List<String> sources, final long from, final long to, final List<String> printed)
            throws IOException {
        writeStart(g, command, startedAt, sources);
        g.writeNumberField("fromLedger", from);
        g.writeNumberField("toLedger", to);
        writeWarnings(g, printed);
        g.writeArrayFieldStart("checkpoints");
    }

    /** The report object opened, with {@code command}, {@code startedAt} and {@code sources}. */
    public static void writeStart(final JsonGenerator g, final String command, final String startedAt,
            final List<String> sources) throws IOException {
        g.writeStartObject();
        g.writeStringField("command", command);
        g.writeStringField("startedAt", startedAt);
        g.writeArrayFieldStart("sources");
        for (final String s : sources) {
            g.writeString(s);
        }
        g.writeEndArray();
    }

    /**
     * The report of a command that had nothing to do ({@code --from} past the archive's current ledger, with no
     * {@code --to}): no checkpoint, all verified, {@code note} in its notes, so that a report left by an earlier run
     * is not read as this one's.
     */
    public static void writeNothingToDo(final Path target, final String command, final List<String> sources,
            final long from, final long current, final String note, final Map<String, Object> summary)
            throws IOException {
        // the command's own summary, its counts at 0 (a trial's script read scan's allPresent, absent from verify's)
        try (OutputStream out = openPartial(target);
                JsonGenerator g = new JsonFactory().createGenerator(out, JsonEncoding.UTF8).useDefaultPrettyPrinter()) {
            writeHead(g, command, now(), sources, from, current, List.of(NOTE + note));
            g.writeEndArray();
            g.writeObjectFieldStart("summary");
            g.writeNumberField("checkpoints", 0);
            for (final Map.Entry<String, Object> e : summary.entrySet()) {
                if (e.getValue() instanceof List<?> list) {
                    g.writeArrayFieldStart(e.getKey());
                    for (final Object o : list) {
                        g.writeString(String.valueOf(o));
                    }
                    g.writeEndArray();
                } else if (e.getValue() instanceof Boolean b) {
                    g.writeBooleanField(e.getKey(), b);
                } else {
                    g.writeNumberField(e.getKey(), ((Number) e.getValue()).longValue());
                }
            }
            g.writeNumberField("elapsedMillis", 0);
            g.writeStringField("finishedAt", now());
            g.writeEndObject();
            g.writeEndObject();
        }
        moveIntoPlace(target);
    }

    /**
     * The report of a command that could not start because no source of the archive answered (exit 3): no checkpoint,
     * {@code allKey} false and the {@code error}, so that a report left by an earlier run is not read as this one's
     * (a trial: a watcher of the report file read the last run's success).
     */
    public static void writeUnreachable(final Path target, final String command, final List<String> sources,
            final String error, final String allKey, final long startedMillis) throws IOException {
        try (OutputStream out = openPartial(target);
                JsonGenerator g = new JsonFactory().createGenerator(out, JsonEncoding.UTF8).useDefaultPrettyPrinter()) {
            // when the run began: the retries that found no source answering took their time (a trial)
            writeStart(g, command, java.time.Instant.ofEpochMilli(startedMillis).toString(), sources);
            g.writeArrayFieldStart("checkpoints");
            g.writeEndArray();
            g.writeObjectFieldStart("summary");
            g.writeNumberField("checkpoints", 0);
            g.writeBooleanField(allKey, false);
            g.writeStringField("error", error);
            g.writeNumberField("exitCode", 3);
            g.writeNumberField("elapsedMillis", Math.max(0, System.currentTimeMillis() - startedMillis));
            g.writeStringField("finishedAt", now());
            g.writeEndObject();
            g.writeEndObject();
        }
        moveIntoPlace(target);
    }

    /**
     * The report's {@code warnings} and {@code notes} arrays: the lines of {@code printed} that are warnings, and
     * those that are notes, without their "warning: " or "note: " (a root state that could not be read leaves the
     * network passphrase unchecked: a report read alone said only allVerified; a range with no --from that starts at
     * the archive's start said so only on the terminal).
     */
    public static void writeWarnings(final JsonGenerator g, final List<String> printed) throws IOException {
        for (final String prefix : List.of(WARNING, NOTE)) {
            g.writeArrayFieldStart(prefix.equals(WARNING) ? "warnings" : "notes");
            for (final String line : printed) {
                if (line.startsWith(prefix)) {
                    g.writeString(line.substring(prefix.length()));
                }
            }
            g.writeEndArray();
        }
    }

    private static final String WARNING = "warning: ";
    private static final String NOTE = "note: ";

    public synchronized void checkpoint(final CheckpointOutcome o) throws IOException {
        json.writeStartObject();
        json.writeNumberField("checkpoint", o.checkpoint());
        json.writeStringField("hex", String.format("0x%x", o.checkpoint()));
        json.writeStringField("status", o.status().name());
        json.writeStringField("chainLink", o.link().name());
        json.writeObjectFieldStart("counts");
        json.writeNumberField("headers", o.facts().headers());
        json.writeNumberField("transactionSets", o.facts().transactionSets());
        json.writeNumberField("resultSets", o.facts().resultSets());
        json.writeNumberField("buckets", o.facts().buckets());
        json.writeNumberField("scpEntries", o.facts().scpEntries());
        json.writeEndObject();
        json.writeArrayFieldStart("files");
        for (final FileOutcome f : o.files()) {
            json.writeStartObject();
            json.writeStringField("type", f.type().name());
            json.writeStringField("path", f.path());
            json.writeStringField("status", f.status().name());
            if (f.source() != null) {
                json.writeStringField("source", f.source());
            }
            if (f.status() == FileOutcome.Status.VERIFIED) {
                json.writeNumberField("bytes", f.bytes());
                json.writeNumberField("attempts", f.attempts());
            }
            if (!f.blamed().isEmpty()) {
                json.writeArrayFieldStart("blamed");
                for (final String b : f.blamed()) {
                    json.writeString(b);
                }
                json.writeEndArray();
            }
            if (f.failure() != null) {
                json.writeStringField("reason", f.failure().reason().name());
            }
            json.writeEndObject();
        }
        json.writeEndArray();
        json.writeArrayFieldStart("failures");
        for (final VerificationException e : o.failures()) {
            failure(json, e);
        }
        json.writeEndArray();
        json.writeEndObject();
    }

    private static void failure(final JsonGenerator g, final VerificationException e) throws IOException {
        g.writeStartObject();
        g.writeStringField("reason", e.reason().name());
        if (e.file() != null) {
            g.writeStringField("file", e.file());
        }
        if (e.source() != null) {
            g.writeStringField("source", e.source());
        }
        g.writeStringField("detail", e.detail());
        g.writeBooleanField("retryable", e.reason().retryable());
        g.writeEndObject();
    }

    /**
     * Closes the checkpoint list, writes the summary and moves the report to its final name.
     *
     * @param notes    the notes printed after the work, without their "note: " (where the archive starts, for a
     *                 range that begins below it), in the summary's {@code notes}
     * @param warnings the warnings printed after the work, without their "warning: " (a source that served bad
     *                 copies), in the summary's {@code warnings} (the report's own were written before the work: a
     *                 trial's script found the bad copies only in {@code ingest}'s report)
     */
    public synchronized void finish(final ArchiveVerifier.Summary s, final long elapsedMillis, final String error,
            final List<String> notes, final List<String> warnings) throws IOException {
        json.writeEndArray();
        json.writeObjectFieldStart("summary");
        json.writeNumberField("checkpoints", s.checkpoints());
        json.writeNumberField("verified", s.verified());
        json.writeNumberField("incomplete", s.incomplete());
        json.writeNumberField("failed", s.failed());
        json.writeNumberField("ledgerHeaders", s.headers());
        json.writeNumberField("transactionSets", s.transactionSets());
        json.writeNumberField("resultSets", s.resultSets());
        json.writeNumberField("distinctBucketsVerified", s.buckets());
        json.writeNumberField("distinctBucketsFailed", s.bucketsFailed());
        json.writeNumberField("distinctBucketsMissing", s.bucketsMissing());
        json.writeNumberField("bytes", s.bytes());
        json.writeNumberField("elapsedMillis", elapsedMillis);
        json.writeStringField("finishedAt", now());
        json.writeBooleanField("allVerified", s.allVerified() && error == null);
        if (error != null) {
            json.writeStringField("error", error);
        }
        json.writeArrayFieldStart("notes");
        for (final String note : notes) {
            json.writeString(note);
        }
        json.writeEndArray();
        json.writeArrayFieldStart("warnings");
        for (final String warning : warnings) {
            json.writeString(warning);
        }
        json.writeEndArray();
        json.writeEndObject();
        json.writeEndObject();
        json.close();
        moveIntoPlace(target);
        finished = true;
    }

    /** Abandons a report not finished (its temporary file is deleted at exit); quietly, as it may be why. */
    @Override
    public void close() {
        if (!finished) {
            try {
                json.close();
            } catch (final IOException e) {
                // the write that failed was said; the report stays unfinished
            }
        }
    }
}
