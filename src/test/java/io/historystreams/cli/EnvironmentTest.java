package io.historystreams.cli;

import io.historystreams.testing.Fixtures;
import io.historystreams.testing.JavaMain;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The commands in environments unlike the developer's, each in a JVM of its own: locales whose number formats differ
 * from English (the JVM takes its default locale from {@code LANG}, or these properties, at start-up), a temporary
 * directory RocksDB's native library cannot be loaded from.
 */
class EnvironmentTest {
    @TempDir
    Path tmp;

    /** Runs the command in a JVM of its own with {@code jvmOptions}; returns its exit code and output. */
    private Run main(final List<String> jvmOptions, final String... args) throws Exception {
        return main(List.of(), jvmOptions, args);
    }

    /** As {@link #main(List, String...)}, the JVM started by {@code prefix} (a shell setting a limit first). */
    private Run main(final List<String> prefix, final List<String> jvmOptions, final String... args)
            throws Exception {
        final Path out = Files.createTempFile(tmp, "out", ".txt");
        final List<String> cmd = new java.util.ArrayList<>(prefix);
        cmd.addAll(JavaMain.java());
        cmd.add("-Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.historystreams");
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        final Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "did not finish: " + String.join(" ", args));
        return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
    }

    record Run(int exit, String output) {
    }

    @Test
    void aDataDirWrittenUnderOneLocaleIsReadUnderAnother() throws Exception {
        // Kafka names log segments with the default locale's digits: a data dir made under an Arabic locale and
        // opened under another had its partitions renamed "-stray" and emptied, and under a Turkish locale the
        // embedded broker did not start at all ("No enum constant ...GroupType.CLASSİC")
        final String data = tmp.resolve("data").toString();
        final Run ingest = main(List.of("-Duser.language=tr", "-Duser.country=TR"), "ingest", "--archive",
                Fixtures.pubnetGenesis().toString(), "--data-dir", data, "--http-port", "-1", "--quiet");
        assertEquals(ExitCode.OK, ingest.exit(), ingest.output());
        final Run replay = main(List.of("-Duser.language=ar", "-Duser.country=EG"), "replay", "--from", "1", "--to",
                "127", "--data-dir", data, "--http-port", "-1");
        assertEquals(ExitCode.OK, replay.exit(), replay.output());
        assertTrue(replay.output().contains("replayed 2 of 2 checkpoints"), replay.output());
        try (var names = Files.walk(tmp.resolve("data"))) {
            final List<String> odd = names.map(f -> f.getFileName().toString())
                    .filter(n -> n.endsWith("-stray") || !n.chars().allMatch(c -> c < 128)).toList();
            assertEquals(List.of(), odd, "partitions set aside or named in other digits");
        }
    }

    private String verifyUnder(final String... localeProperties) throws Exception {
        final Path out = tmp.resolve("out-" + String.join("-", localeProperties).replaceAll("[^A-Za-z]", "") + ".txt");
        final List<String> cmd = new java.util.ArrayList<>(JavaMain.java());
        cmd.addAll(List.of(localeProperties));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(), "verify", "--archive",
                Fixtures.testnetP24Hot().toString(), "--quiet"));
        final Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "verify did not finish");
        final String text = Files.readString(out, StandardCharsets.UTF_8);
        // checkpoint 0x3f of this fixture is incomplete: one failure line, then the summary
        assertEquals(ExitCode.VERIFICATION_FAILED, p.exitValue(), text);
        return text;
    }

    @Test
    void numbersAreAsciiAndDecimalPointsDotsUnderAnyLocale() throws Exception {
        final String english = verifyUnder("-Duser.language=en", "-Duser.country=US");
        assertTrue(english.contains("checkpoint 63 (0x3f) INCOMPLETE: "), english);
        for (final String[] locale : List.of(
                new String[] {"-Duser.language=ar", "-Duser.country=EG"},
                new String[] {"-Duser.language=th", "-Duser.country=TH", "-Duser.variant=TH"},
                new String[] {"-Duser.language=de", "-Duser.country=DE"})) {
            final String text = verifyUnder(locale);
            assertTrue(text.contains("checkpoint 63 (0x3f) INCOMPLETE: "), String.join(" ", locale) + ": " + text);
            assertTrue(text.matches("(?s).*\\n2 checkpoints: 1 verified, 1 incomplete, 0 failed; .* MB in "
                    + "[0-9]+\\.[0-9]{2} s\\n"), String.join(" ", locale) + ": " + text);
            assertTrue(text.chars().allMatch(c -> c < 128), String.join(" ", locale) + ": not ASCII: " + text);
        }
    }

    @Test
    void aNativeLibraryThatCannotBeLoadedStopsTheStartWithTheReason() throws Exception {
        // RocksDB's library is copied to the data dir and loaded from there, else RocksDB extracts it to
        // java.io.tmpdir: under a noexec /tmp the stream threads waited for it for ever (its loader stayed
        // "loading"); a data dir whose "native" is a file and a missing temp directory fail both ways, testably
        final Path data = Files.createDirectories(tmp.resolve("data"));
        Files.writeString(data.resolve("native"), "not a directory");
        final Run ingest = main(List.of("-Djava.io.tmpdir=" + tmp.resolve("no-such-dir")), "ingest", "--archive",
                Fixtures.pubnetGenesis().toString(), "--data-dir", data.toString(), "--http-port", "-1", "--quiet");
        assertEquals(ExitCode.COULD_NOT_RUN, ingest.exit(), ingest.output());
        assertTrue(ingest.output().contains("error: cannot load RocksDB's native library, which the pipeline's state "
                + "stores need, from a copy in the data dir (" + data.resolve("native") + ": "
                + "java.io.IOException: " + data.resolve("native") + " is not a directory), nor extracted to "),
                ingest.output());
        assertTrue(ingest.output().contains("), nor extracted to " + tmp.resolve("no-such-dir")
                + " (java.io.tmpdir) ("), ingest.output());
        assertTrue(ingest.output().contains("); is that directory missing, full or mounted noexec? Set "
                + "ROCKSDB_SHAREDLIB_DIR"), ingest.output());
    }

    @Test
    void aCopyThatCannotBeMadeFallsBackToTheTempDirWithAWarning() throws Exception {
        // a data dir mounted noexec, or one whose "native" cannot be a directory: the libraries' own way still works
        final Path jtmp = Files.createDirectories(tmp.resolve("jtmp"));
        final Path data = Files.createDirectories(tmp.resolve("data"));
        Files.writeString(data.resolve("native"), "not a directory");
        final Run ingest = main(List.of("-Djava.io.tmpdir=" + jtmp), "ingest", "--archive",
                Fixtures.pubnetGenesis().toString(), "--data-dir", data.toString(), "--http-port", "-1", "--quiet");
        assertEquals(ExitCode.OK, ingest.exit(), ingest.output());
        assertTrue(ingest.output().contains("WARN  [main] i.h.service.HistoryStreamsService - RocksDB's native library "
                + "is loaded from a temp file in " + jtmp + " (java.io.tmpdir), not from a copy in the data dir ("
                + data.resolve("native") + ": java.io.IOException: " + data.resolve("native") + " is not a directory)"),
                ingest.output());
        assertTrue(ingest.output().contains("WARN  [main] i.h.service.HistoryStreamsService - lz4-java's native "
                + "library is not loaded from a copy in the data dir (java.io.IOException: " + data.resolve("native")
                + " is not a directory): lz4-java extracts it to a temp file in " + jtmp + " itself"), ingest.output());
        assertTrue(ingest.output().contains("a process killed (kill -9) leaves that temp file (15 MB) behind"),
                ingest.output());
    }

    @Test
    void aKilledServiceLeavesNoNativeLibraryInTheTempDirAndARestartReusesItsCopy() throws Exception {
        // RocksDB extracted its 15 MB library to a new temp file at every start, deleted only at a normal exit, and
        // lz4-java its 150 KB one: every kill -9 (the OOM killer, a container stop that timed out) left both in
        // /tmp, 2 GB in a day here
        final Path jtmp = Files.createDirectories(tmp.resolve("jtmp"));
        final Path data = tmp.resolve("data");
        final Path out = tmp.resolve("killed.txt");
        // a relative data dir, as the default ./data is (System.load refused the copies' relative paths: a trial
        // found them written at every start and never loaded)
        final List<String> cmd = new java.util.ArrayList<>(JavaMain.java());
        cmd.addAll(List.of("-Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.historystreams", "-Djava.io.tmpdir=" + jtmp,
                "-cp", System.getProperty("java.class.path"), Main.class.getName(), "ingest", "--archive",
                Fixtures.pubnetGenesis().toString(), "--data-dir", "data", "--http-port", "-1"));
        final Process p = new ProcessBuilder(cmd).directory(tmp.toFile()).redirectErrorStream(true)
                .redirectOutput(out.toFile()).start();
        try {
            // the library is loaded before the stream threads start
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (!Files.readString(out).contains("streams CREATED -> REBALANCING") && p.isAlive()
                    && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(p.isAlive(), "finished before it could be killed: " + Files.readString(out));
        } finally {
            p.destroyForcibly().waitFor();
        }
        assertEquals(List.of(), files(jtmp), "left in java.io.tmpdir by the killed process");
        final List<Path> copies = files(data.resolve("native"));
        assertEquals(List.of("liblz4-java.so", "librocksdbjnijni-linux64.so"),
                copies.stream().map(f -> f.getFileName().toString()).toList(), copies.toString());
        final List<Object> keys = fileKeys(copies);
        final Run again = main(List.of("-Djava.io.tmpdir=" + jtmp), "ingest", "--archive",
                Fixtures.pubnetGenesis().toString(), "--data-dir", data.toString(), "--http-port", "-1", "--quiet");
        assertEquals(ExitCode.OK, again.exit(), again.output());
        assertFalse(Files.readString(out).contains("WARN"), Files.readString(out));
        // the kill can fall while the first rebalance creates the internal topics: a partition directory whose
        // topic id was not yet written is then renamed "-stray" at the restart, with a WARN of Kafka's own (a CI run
        // met it). Kafka writes that id before any record, so nothing was in it, and it is no warning of ours
        assertEquals(List.of(), again.output().lines().filter(l -> l.contains("WARN"))
                .filter(l -> !STRAY_LOG.matcher(l).find()).toList(), again.output());
        assertTrue(again.output().contains("2 checkpoints: 2 verified"), again.output());
        assertEquals(copies, files(data.resolve("native")));
        assertEquals(keys, fileKeys(copies), "the restart reuses the copies");
        assertEquals(List.of(), files(jtmp));
    }

    @Test
    void restartsKeepAtMostOneOldRocksDbInfoLogPerStore() throws Exception {
        // each start rolled every store's LOG to a LOG.old.<time>, and RocksDB keeps 1,000 of them: a trial's data dir
        // gained about 55 files a run
        final Path data = tmp.resolve("data");
        for (int i = 0; i < 3; i++) {
            final Run r = main(List.of(), "ingest", "--archive", Fixtures.pubnetGenesis().toString(), "--data-dir",
                    data.toString(), "--http-port", "-1", "--quiet");
            assertEquals(ExitCode.OK, r.exit(), r.output());
        }
        final java.util.Map<Path, Long> old = new java.util.TreeMap<>();
        try (var files = Files.walk(data.resolve("state"))) {
            files.filter(f -> f.getFileName().toString().startsWith("LOG.old"))
                    .forEach(f -> old.merge(f.getParent(), 1L, Long::sum));
        }
        try (var stores = Files.walk(data.resolve("state"))) {
            assertTrue(stores.anyMatch(f -> f.getFileName().toString().equals("LOG")), "RocksDB stores were opened");
        }
        assertTrue(old.values().stream().allMatch(n -> n <= 1), old.toString());
    }

    /** Kafka's log manager renaming a partition directory its metadata does not know. */
    private static final java.util.regex.Pattern STRAY_LOG = java.util.regex.Pattern.compile(
            "WARN  \\[log-recovery-[^]]*] o\\.a\\.k\\.s\\.internals\\.log\\.LogManager - Log in \\S+ marked stray "
                    + "and renamed to \\S+-stray$");

    /** The regular files under {@code dir}, sorted by name. */
    private static List<Path> files(final Path dir) throws java.io.IOException {
        try (var files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile)
                    .sorted(java.util.Comparator.comparing(f -> f.getFileName().toString())).toList();
        }
    }

    private static List<Object> fileKeys(final List<Path> files) throws java.io.IOException {
        final List<Object> keys = new java.util.ArrayList<>();
        for (final Path f : files) {
            keys.add(Files.readAttributes(f, java.nio.file.attribute.BasicFileAttributes.class).fileKey());
        }
        return keys;
    }

    /** {@code verify} of {@code archive} with its standard output on {@code /dev/full}: its exit code and stderr. */
    private Run verifyToAFullDisk(final Path archive) throws Exception {
        final Path err = tmp.resolve("err.txt");
        final List<String> cmd = new java.util.ArrayList<>(JavaMain.java());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(), "verify", "--archive",
                archive.toString()));
        final Process p = new ProcessBuilder(cmd).redirectOutput(new java.io.File("/dev/full")).redirectError(err.toFile()).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "verify did not finish");
        return new Run(p.exitValue(), Files.readString(err, StandardCharsets.UTF_8));
    }

    @Test
    void outputThatCannotBeWrittenIsAnError() throws Exception {
        // verify >/dev/full exited 0 with every line of its verdict lost: System.out swallows write errors
        final Run verified = verifyToAFullDisk(Fixtures.pubnetGenesis());
        assertEquals(ExitCode.COULD_NOT_RUN, verified.exit(), verified.output());
        assertTrue(verified.output().contains("error: the output could not be written (standard output is closed, or "
                + "its disk is full)\n"), verified.output());
        // a failed verdict keeps its code in the message
        final Run failed = verifyToAFullDisk(Fixtures.testnetP24Hot());
        assertEquals(ExitCode.COULD_NOT_RUN, failed.exit(), failed.output());
        assertTrue(failed.output().contains("full); the command's own exit code was 1"), failed.output());
    }

    @Test
    void aLowOpenFileLimitIsSaid() throws Exception {
        // under 256 the broker failed with "Too many open files" at the end of a long message, under 128 with only
        // "Failed to construct kafka producer"; 900 is enough for this archive, and still said
        final Run ingest = main(List.of("bash", "-c", "ulimit -n 900 && exec \"$0\" \"$@\""), List.of(), "ingest",
                "--archive", Fixtures.pubnetGenesis().toString(), "--data-dir", tmp.resolve("data").toString(),
                "--http-port", "-1", "--quiet");
        assertEquals(ExitCode.OK, ingest.exit(), ingest.output());
        assertTrue(ingest.output().contains("WARN  [main] i.h.service.HistoryStreamsService - the open-file limit is "
                + "900 (ulimit -n): the embedded broker and the state stores use about 400"), ingest.output());
        // log times say their offset from UTC (logs of hosts in other time zones compare)
        assertTrue(java.util.regex.Pattern.compile("(?m)^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3}"
                + "(Z|[+-]\\d\\d:\\d\\d) WARN  \\[main\\]").matcher(ingest.output()).find(), ingest.output());
    }
}
