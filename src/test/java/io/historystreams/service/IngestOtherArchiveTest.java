package io.historystreams.service;

import io.historystreams.testing.Cli;
import io.historystreams.testing.FaultyArchiveServer;
import io.historystreams.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A pipeline holds one archive's history: an {@code ingest} of another archive (another network, another generation
 * of testnet) on it is refused before anything is requested or published. Before, a checkpoint verified earlier was
 * answered from the pipeline's store as this archive's: a trial's pubnet ingest on a testnet data dir said "2 verified"
 * and gave a new mirror 33 testnet checkpoints and a testnet root state.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class IngestOtherArchiveTest extends WithEmbeddedBroker {
    private static final String APP = "otherarchive";

    @TempDir
    Path dir;

    private Cli.Ran ingest(final String... more) {
        return command("ingest", more);
    }

    private Cli.Ran command(final String name, final String... more) {
        final List<String> a = new ArrayList<>(List.of(name, "--bootstrap-servers", broker.bootstrapServers(),
                "--application-id", APP, "-D", "topic.prefix=" + APP + ".", "--data-dir",
                dir.resolve("data").toString(), "--http-port", "-1", "--schema-registry-url", "mock://" + APP));
        if (!name.equals("tail")) {
            a.add("--quiet");
        }
        a.addAll(List.of(more));
        return Cli.run(a.toArray(String[]::new));
    }

    @Test
    void anotherArchiveIsRefusedBeforeAnythingIsRequestedOrPublished() throws Exception {
        final Path testnet = Fixtures.testnetSmall();
        final Cli.Ran first = ingest("--archive", testnet.toString(), "--to", "191");
        assertEquals(0, first.code(), first.out());

        // pubnet from genesis (its state files name no network): checkpoint 63's bucket list hash differs
        final Path mirror = dir.resolve("mirror");
        final Cli.Ran pubnet = ingest("--archive", Fixtures.pubnetGenesis().toString(), "--publish-to",
                mirror.toString());
        assertEquals(2, pubnet.code(), pubnet.out());
        assertTrue(pubnet.out().contains("error: this data dir verified checkpoint 63 (0x3f) from " + testnet
                + ", whose bucket list hash was "), pubnet.out());
        assertTrue(pubnet.out().contains("for it (history/00/00/00/history-0000003f.json): another network, or "
                + "another generation of testnet (reset since); a data dir (and topic prefix) holds one archive's "
                + "history: give this archive another --data-dir"), pubnet.out());
        assertFalse(pubnet.out().contains("verified;"), "no summary: nothing was requested");
        assertFalse(Files.exists(mirror.resolve(".well-known")), "nothing published");
        assertFalse(Files.exists(mirror.resolve("history")), "nothing published");

        // the network given differs from the one of the pipeline's verdicts: said as such
        final Cli.Ran named = ingest("--archive", Fixtures.pubnetGenesis().toString(), "--network-passphrase",
                "Public Global Stellar Network ; September 2015");
        assertEquals(2, named.code(), named.out());
        assertTrue(named.out().contains("error: this data dir verified checkpoint 63 (0x3f) of the network \"Test "
                + "SDF Network ; September 2015\" (from " + testnet + "), and the archive given is of the network "
                + "\"Public Global Stellar Network ; September 2015\""), named.out());

        // testnet after its next reset: the same network, another generation
        final Cli.Ran reset = ingest("--archive", Fixtures.testnetP24Hot().toString());
        assertEquals(2, reset.code(), reset.out());
        assertTrue(reset.out().contains("error: this data dir verified checkpoint 63 (0x3f)"), reset.out());
        // and a tail of it, at its start
        final Cli.Ran tail = command("tail", "--archive", Fixtures.testnetP24Hot().toString(), "--publish-to",
                mirror.toString());
        assertEquals(2, tail.code(), tail.out());
        assertTrue(tail.out().contains("error: this data dir verified checkpoint 63 (0x3f)"), tail.out());
        assertFalse(Files.exists(mirror.resolve(".well-known")), "nothing published");

        // the same archive from another source (a mirror of it): compared equal, not refused; the checkpoints it
        // did not serve are said (exit 1), as before
        try (FaultyArchiveServer server = FaultyArchiveServer.start(testnet)) {
            final Path report = dir.resolve("same.json");
            final Cli.Ran same = ingest("--archive", server.url(), "--to", "255", "--report", report.toString());
            assertEquals(1, same.code(), same.out());
            final com.fasterxml.jackson.databind.JsonNode summary = new com.fasterxml.jackson.databind.ObjectMapper()
                    .readTree(report.toFile()).get("summary");
            assertEquals(3, summary.get("verifiedFromAnotherArchive").asInt(), summary::toString);
            assertFalse(summary.get("allVerified").asBoolean(), summary::toString);
            assertTrue(same.out().contains("4 checkpoints: 4 verified"), same.out());
            assertTrue(same.out().contains("warning: 3 of the verified checkpoints (0x3f..0xbf) were verified earlier "
                    + "in this pipeline from " + testnet), same.out());
            assertFalse(same.out().contains("error:"), same.out());
            // in the report's warnings too (a trial: only the count said so)
            final com.fasterxml.jackson.databind.JsonNode warnings = new com.fasterxml.jackson.databind.ObjectMapper()
                    .readTree(report.toFile()).get("warnings");
            assertTrue(warnings.toString().contains("3 of the verified checkpoints (0x3f..0xbf) were verified earlier"),
                    warnings::toString);
            // this archive under another URL, the earlier one given too: verified, exit 0 (as the warning says)
            final Cli.Ran both = ingest("--archive", server.url(), "--archive", testnet.toString(), "--to", "255");
            assertEquals(0, both.code(), both.out());
            assertFalse(both.out().contains("were verified earlier"), both.out());
        }
    }
}
