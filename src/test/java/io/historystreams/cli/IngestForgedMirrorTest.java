package io.historystreams.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.FileType;
import io.historystreams.testing.Cli;
import io.historystreams.testing.Fixtures;
import io.historystreams.testing.ForgedArchive;
import io.historystreams.testing.XdrFiles;
import io.historystreams.verify.Hash;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code ingest} from two mirrors, the first serving a forged segment (a trial's case): it exited 0 with a chain that
 * did not link, the forged mirror's later checkpoints verified against the forged copy of one the pipeline then took
 * from the honest mirror, and {@code verify} of the published mirror failed.
 */
class IngestForgedMirrorTest {
    @TempDir
    Path tmp;

    @Test
    void theChainVerifiedFromTwoMirrorsIsTheHonestOne() throws Exception {
        final Path forged = tmp.resolve("forged");
        final byte[] elsewhere = new byte[32];
        Arrays.fill(elsewhere, (byte) 0x11);
        // checkpoints 0xff..0x1ff re-chained from a first header (ledger 192) that does not link to ledger 191
        ForgedArchive.ledgersAndTransactionsOf(Fixtures.testnetSmall(), forged, 0x1ff).linkTo(192, Hash.of(elsewhere))
                .write().copyTheRestFrom(Fixtures.testnetSmall());
        final Path honest = Fixtures.testnetSmall();
        final Path report = tmp.resolve("report.json");
        final Path mirror = tmp.resolve("mirror");
        final Cli.Ran ingest = Cli.run("ingest", "--archive", forged.toString(), "--archive", honest.toString(),
                "--from", "1", "--to", "511", "--data-dir", tmp.resolve("data").toString(), "--http-port", "-1",
                "--quiet", "--report", report.toString(), "--publish-to", mirror.toString(),
                "-D", "checkpoint.retry.backoff.ms=100");
        assertEquals(ExitCode.OK, ingest.code(), ingest.out());
        final JsonNode r = new ObjectMapper().readTree(report.toFile());
        assertTrue(r.get("summary").get("allVerified").asBoolean(), r::toPrettyString);
        // the published ledger files of the forged segment are the honest mirror's
        for (long cp = 0xff; cp <= 0x1ff; cp += 64) {
            final String path = ArchivePaths.checkpointFile(FileType.LEDGER, cp);
            final List<byte[]> published = XdrFiles.records(Files.readAllBytes(mirror.resolve(path)));
            final List<byte[]> expected = XdrFiles.records(Files.readAllBytes(honest.resolve(path)));
            assertEquals(expected.size(), published.size(), path);
            for (int i = 0; i < expected.size(); i++) {
                assertArrayEquals(expected.get(i), published.get(i), path + " header " + i);
            }
        }
        // and the published mirror is a chain that verify accepts
        final Cli.Ran verify = Cli.run("verify", "--archive", mirror.toString(), "--quiet");
        assertEquals(ExitCode.OK, verify.code(), verify.out());
        assertTrue(verify.out().startsWith("8 checkpoints: 8 verified"), verify.out());
    }
}
