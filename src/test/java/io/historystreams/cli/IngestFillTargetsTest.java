package io.historystreams.cli;

import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.FileType;
import io.historystreams.testing.Cli;
import io.historystreams.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A mirror that lost files after they were published (a trial deleted a bucket and a results file from the mirror of a
 * cron job's {@code ingest --publish-to}; the next run said the target complete, its files still missing): {@code
 * --fill-targets} looks each file up and puts back those it lacks.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class IngestFillTargetsTest {
    @TempDir
    Path dir;

    @Test
    void filesDeletedFromAMirrorAfterTheyWerePublishedArePutBackWithFillTargets() throws Exception {
        final Path source = Fixtures.pubnetGenesis();
        final Path mirror = dir.resolve("mirror");
        assertEquals(ExitCode.OK, ingest(mirror).code());
        final String results = ArchivePaths.checkpointFile(FileType.RESULTS, 0x3f);
        final String bucket;
        try (var files = Files.walk(mirror.resolve("bucket"))) {
            bucket = mirror.relativize(files.filter(Files::isRegularFile).findFirst().orElseThrow()).toString();
        }
        Files.delete(mirror.resolve(results));
        Files.delete(mirror.resolve(bucket));

        // as documented: what was published is not looked for again
        final Cli.Ran again = ingest(mirror);
        assertEquals(ExitCode.OK, again.code(), again.out());
        assertFalse(Files.exists(mirror.resolve(results)));

        final Path report = dir.resolve("fill.json");
        final Cli.Ran filled = ingest(mirror, "--fill-targets", "--report", report.toString());
        assertEquals(ExitCode.OK, filled.code(), filled.out());
        for (final String p : List.of(results, bucket)) {
            assertArrayEquals(Files.readAllBytes(source.resolve(p)), Files.readAllBytes(mirror.resolve(p)), p);
        }
        final com.fasterxml.jackson.databind.JsonNode target = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(report.toFile()).get("targets").get(0);
        assertTrue(target.get("complete").asBoolean(), filled::out);
        // what was put back is said (the root state among the files put: rewritten as the last checkpoint's)
        assertTrue(target.get("filesWritten").asLong() >= 2, target::toString);
        assertTrue(target.get("filesSkipped").asLong() > 0, target::toString);
        assertTrue(filled.out().contains("note: " + mirror + ": " + target.get("filesWritten").asLong()
                + " file(s) put, " + target.get("filesSkipped").asLong() + " already there"), filled::out);

        // a mistake, said: nothing to fill
        assertEquals(ExitCode.COULD_NOT_RUN, Cli.run("ingest", "--archive", source.toString(), "--data-dir",
                dir.resolve("data").toString(), "--http-port", "-1", "--fill-targets").code());
    }

    private Cli.Ran ingest(final Path mirror, final String... more) {
        final List<String> args = new java.util.ArrayList<>(List.of("ingest", "--archive",
                Fixtures.pubnetGenesis().toString(), "--data-dir", dir.resolve("data").toString(), "--http-port", "-1",
                "--quiet", "--publish-to", mirror.toString()));
        args.addAll(List.of(more));
        return Cli.run(args.toArray(String[]::new));
    }
}
