package io.historystreams.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.FileType;
import io.historystreams.testing.XdrFiles;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.StreamSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * One in-process run of {@code history-streams verify ...}: exit code, captured stdout/stderr and the parsed JSON
 * report, with helpers to look into the report. Test-side gzip/record tools to build corrupted files.
 */
final class VerifyRun {
    static final String TESTNET = "Test SDF Network ; September 2015";
    static final String PUBNET = "Public Global Stellar Network ; September 2015";
    static final ObjectMapper JSON = new ObjectMapper();

    final int exit;
    final String out;
    final String err;
    final JsonNode report;

    private VerifyRun(final int exit, final String out, final String err, final JsonNode report) {
        this.exit = exit;
        this.out = out;
        this.err = err;
        this.report = report;
    }

    /** Runs {@code verify --quiet --report <dir>/report.json args...}; the report is null if none was written. */
    static VerifyRun verify(final Path dir, final String... args) throws IOException {
        final Path reportFile = Files.createTempFile(dir, "report-", ".json");
        Files.delete(reportFile);
        final List<String> all = new ArrayList<>(List.of("verify", "--quiet", "--report", reportFile.toString()));
        all.addAll(Arrays.asList(args));
        final StringWriter o = new StringWriter();
        final StringWriter e = new StringWriter();
        final int code;
        try (PrintWriter ow = new PrintWriter(o, true); PrintWriter ew = new PrintWriter(e, true)) {
            code = Main.run(ow, ew, all.toArray(String[]::new));
        }
        final JsonNode rep = Files.exists(reportFile) ? JSON.readTree(reportFile.toFile()) : null;
        return new VerifyRun(code, o.toString(), e.toString(), rep);
    }

    /** Runs the command line as given (no report, not quiet). */
    static VerifyRun raw(final String... args) {
        final StringWriter o = new StringWriter();
        final StringWriter e = new StringWriter();
        final int code;
        try (PrintWriter ow = new PrintWriter(o, true); PrintWriter ew = new PrintWriter(e, true)) {
            code = Main.run(ow, ew, args);
        }
        return new VerifyRun(code, o.toString(), e.toString(), null);
    }

    /** A description for assertion messages. */
    String describe() {
        return "exit " + exit + "\n--- stdout\n" + out + "\n--- stderr\n" + err;
    }

    void assertExit(final int expected) {
        assertEquals(expected, exit, this::describe);
    }

    JsonNode report() {
        assertNotNull(report, () -> "no report written; " + describe());
        return report;
    }

    JsonNode summary() {
        return report().get("summary");
    }

    List<JsonNode> checkpoints() {
        return StreamSupport.stream(report().get("checkpoints").spliterator(), false).toList();
    }

    List<Long> checkpointNumbers() {
        return checkpoints().stream().map(c -> c.get("checkpoint").asLong()).toList();
    }

    JsonNode checkpoint(final long cp) {
        for (final JsonNode c : report().get("checkpoints")) {
            if (c.get("checkpoint").asLong() == cp) {
                return c;
            }
        }
        return fail("checkpoint " + cp + " not in the report; " + describe());
    }

    static List<JsonNode> failures(final JsonNode checkpoint) {
        return StreamSupport.stream(checkpoint.get("failures").spliterator(), false).toList();
    }

    static List<String> failureReasons(final JsonNode checkpoint) {
        return failures(checkpoint).stream().map(f -> f.get("reason").asText()).toList();
    }

    static JsonNode file(final JsonNode checkpoint, final String path) {
        for (final JsonNode f : checkpoint.get("files")) {
            if (f.get("path").asText().equals(path)) {
                return f;
            }
        }
        return fail("file " + path + " not in checkpoint " + checkpoint.get("hex").asText() + ": " + checkpoint);
    }

    static String path(final FileType type, final long cp) {
        return ArchivePaths.checkpointFile(type, cp);
    }

    // ---- test-side file tools (shared with the engine tests)

    static byte[] gunzip(final byte[] gz) {
        return XdrFiles.gunzip(gz);
    }

    static byte[] gzip(final byte[] raw) {
        return XdrFiles.gzip(raw);
    }

    /** The XDR records (without their marks) of an {@code .xdr.gz} file. */
    static List<byte[]> records(final byte[] gz) {
        return XdrFiles.records(gz);
    }

    /** Records framed with marks and gzipped, as stellar-core writes them. */
    static byte[] gzipRecords(final List<byte[]> records) {
        return XdrFiles.gzipRecords(records);
    }
}
