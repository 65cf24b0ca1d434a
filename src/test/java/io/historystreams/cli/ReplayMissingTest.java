package io.historystreams.cli;

import io.historystreams.archive.Checkpoint;
import io.historystreams.testing.Cli;
import io.historystreams.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.LongStream;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a replay did not find is said as runs, and the first 20 of them: a range typed with extra digits listed 15.6
 * million checkpoints on one line of 170 MB (5.4 GB of memory at --to 4294967295). And the other checks a script
 * meets before any work.
 */
class ReplayMissingTest {
    @TempDir
    Path tmp;

    @Test
    void theCheckpointsNotFoundAreSaidAsRuns() {
        assertEquals("", ReplayCommand.missing(Checkpoint.range(1, 700), Set.copyOf(Checkpoint.range(1, 700))));
        // found: 0x7f and 0x13f; missing 0x3f, 0xbf..0xff, 0x17f..0x2bf
        assertEquals("9 (0x3f, 0xbf..0xff, 0x17f..0x2bf)",
                ReplayCommand.missing(Checkpoint.range(1, 700), Set.of(0x7fL, 0x13fL)));
        // every other checkpoint of a long range: 20 runs said, the rest counted
        final Set<Long> everyOther = LongStream.range(0, 100).map(i -> 64 * (2 * i + 1) + 63).boxed()
                .collect(Collectors.toSet());
        final String said = ReplayCommand.missing(Checkpoint.range(1, 64 * 200), everyOther);
        assertTrue(said.startsWith("101 (0x3f, 0xbf, 0x13f, "), said); // 201 checkpoints, 100 found
        assertTrue(said.endsWith(", 0x9bf, ... 81 more runs)"), said);
        final long start = System.nanoTime();
        final String huge = ReplayCommand.missing(Checkpoint.range(1, 4294967295L), Set.of());
        assertEquals("67108864 (0x3f..0xffffffff)", huge);
        assertTrue(System.nanoTime() - start < 60_000_000_000L);
    }

    @Test
    void aNegativeTimeoutAndADataDirThatIsAFileAreRefusedWithTheReason() throws Exception {
        final String archive = Fixtures.pubnetGenesis().toString();
        final Cli.Ran timeout = Cli.run("ingest", "--archive", archive, "--timeout", "-1", "--http-port", "-1",
                "--data-dir", tmp.resolve("d").toString());
        assertEquals(ExitCode.COULD_NOT_RUN, timeout.code(), timeout.out());
        assertTrue(timeout.out().contains("--timeout must be 0 (wait) or more seconds, not -1"), timeout.out());

        final Path file = Files.writeString(tmp.resolve("a-file"), "x");
        final Cli.Ran data = Cli.run("ingest", "--archive", archive, "--http-port", "-1", "--quiet", "--data-dir",
                file.toString());
        assertEquals(ExitCode.COULD_NOT_RUN, data.code(), data.out());
        assertTrue(data.out().contains("cannot make the data dir " + file + " (--data-dir): " + file
                + " is a file, not a directory"), data.out());
    }

    @Test
    void aDataDirWithNoTopicsIsRefusedInsteadOfStartingAFreshBroker() {
        // a mistyped --data-dir made a new broker and said "not verified in the topics", exit 1
        final Path typo = tmp.resolve("dtaa");
        final Cli.Ran r = Cli.run("replay", "--from", "1", "--to", "127", "--http-port", "-1", "--data-dir",
                typo.toString());
        assertEquals(ExitCode.COULD_NOT_RUN, r.code(), r.out());
        assertTrue(r.out().contains("error: " + typo + " holds no topics to replay"), r.out());
        assertFalse(Files.exists(typo), "nothing made under the mistyped data dir");
    }

    @Test
    void onAClusterADirectoryRegistryThatDoesNotExistIsRefusedInsteadOfMade() {
        // a fresh registry knows none of the ids the events were written with; nothing is made, no cluster asked
        final Path data = tmp.resolve("elsewhere");
        final Cli.Ran r = Cli.run("replay", "--from", "1", "--to", "127", "--http-port", "-1", "--bootstrap-servers",
                "127.0.0.1:1", "--data-dir", data.toString());
        assertEquals(ExitCode.COULD_NOT_RUN, r.code(), r.out());
        assertTrue(r.out().contains("error: the schema registry " + data.resolve("schema-registry").toUri()
                + " does not exist: on a cluster, replay reads the events with the registry they were written with"),
                r.out());
        assertFalse(Files.exists(data), "nothing made under the data dir");
    }
}
