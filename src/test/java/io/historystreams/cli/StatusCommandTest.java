package io.historystreams.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.historystreams.archive.ArchivePaths;
import io.historystreams.testing.Cli;
import io.historystreams.testing.FaultyArchiveServer;
import io.historystreams.testing.Fixtures;
import io.historystreams.testing.ForgedArchive;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code status}: each source's root state, whether its checkpoint's state file is there, and whether they agree. */
class StatusCommandTest {
    @TempDir
    Path tmp;

    @Test
    void eachSourceSaysWhatItsRootStateNamesAndWhetherItsStateFileIsThere() throws Exception {
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.testnetSmall())) {
            final Cli.Ran r = Cli.run("status", "--archive", Fixtures.testnetSmall().toString(), "--archive",
                    server.url());
            assertEquals(ExitCode.OK, r.code(), r.out());
            assertTrue(r.out().contains(server.url() + ": current ledger 10047 (checkpoint 0x273f), network \"Test SDF "
                    + "Network ; September 2015\", server \"stellar-core 22.4.1"), r.out());
            assertTrue(r.out().contains("state file version 1, 14 buckets named; its state file is there"), r.out());
            assertEquals(0, server.bodiesRequested().getOrDefault("/" + ArchivePaths.has(0x273f), 0),
                    "the state file is looked up, not read");

            // the root state gone from the server: said, exit 1
            server.on("/" + ArchivePaths.WELL_KNOWN).status(404).forever();
            final Cli.Ran gone = Cli.run("status", "--archive", server.url());
            assertEquals(ExitCode.VERIFICATION_FAILED, gone.code(), gone.out());
            assertTrue(gone.out().contains(server.url() + ": cannot read its root state: MISSING_FILE"), gone.out());
        }
    }

    /** testnet-small with its root state one checkpoint behind (its state file of 0x26ff as the root). */
    private Path lagging() throws Exception {
        final Path lag = tmp.resolve("lagging");
        copyTree(Fixtures.testnetSmall(), lag);
        Files.copy(lag.resolve(ArchivePaths.has(0x26ff)), lag.resolve(ArchivePaths.WELL_KNOWN),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        return lag;
    }

    private static void copyTree(final Path from, final Path to) throws Exception {
        try (var paths = Files.walk(from)) {
            for (final Path p : (Iterable<Path>) paths::iterator) {
                final Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.createLink(t, p);
                }
            }
        }
    }

    @Test
    void theReportSaysWhatWasPrintedForAScript() throws Exception {
        // a trial's alerting read status's lines with grep: --report, as verify and scan
        Files.createDirectories(tmp.resolve("none"));
        final Path lagging = lagging();
        final Path report = tmp.resolve("reports/status.json");
        final Cli.Ran apart = Cli.run("status", "--archive", Fixtures.testnetSmall().toString(), "--archive",
                tmp.resolve("none").toString(), "--archive", lagging.toString(), "--report", report.toString());
        assertEquals(ExitCode.VERIFICATION_FAILED, apart.code(), apart.out());
        final JsonNode rep = new ObjectMapper().readTree(report.toFile());
        assertEquals("status", rep.get("command").asText());
        assertEquals(3, rep.get("sources").size());
        final JsonNode roots = rep.get("roots");
        assertEquals(3, roots.size(), rep::toString);
        assertTrue(roots.get(0).get("read").asBoolean());
        assertEquals(10047, roots.get(0).get("currentLedger").asLong());
        assertEquals("0x273f", roots.get(0).get("hex").asText());
        assertEquals("Test SDF Network ; September 2015", roots.get(0).get("network").asText());
        assertEquals("PRESENT", roots.get(0).get("stateFile").asText());
        assertEquals(14, roots.get(0).get("buckets").asInt());
        assertEquals(tmp.resolve("none").toString(), roots.get(1).get("source").asText());
        assertFalse(roots.get(1).get("read").asBoolean());
        assertEquals("MISSING_FILE", roots.get(1).get("reason").asText());
        assertEquals(9983, roots.get(2).get("currentLedger").asLong());
        final JsonNode summary = rep.get("summary");
        assertEquals(2, summary.get("sourcesRead").asInt());
        assertTrue(summary.get("oneArchive").isNull(), "not known: a source was not read");
        // the source not read is said once, as such, not as one whose files are checked as they come (a trial)
        assertFalse(apart.out().contains("its files are checked as they come"), apart.out());
        assertEquals(lagging.toString(), summary.get("behind").get(0).asText());
        assertEquals(1, summary.get("checkpointsApart").asInt());
        assertEquals(1, summary.get("exitCode").asInt());
        assertTrue(rep.get("notes").get(0).asText().startsWith("the sources' roots are 1 checkpoint(s) apart"),
                rep::toString);

        // a root ahead of its files: its state file MISSING
        final Path copy = tmp.resolve("copy");
        ForgedArchive.copyOfPubnetGenesis(copy);
        Files.delete(copy.resolve(ArchivePaths.has(0x7f)));
        assertEquals(ExitCode.VERIFICATION_FAILED, Cli.run("status", "--archive", copy.toString(), "--report",
                report.toString()).code());
        final JsonNode ahead = new ObjectMapper().readTree(report.toFile());
        assertTrue(ahead.get("summary").get("checkpointsApart").isNull(), "one source: " + ahead);
        assertFalse(ahead.get("summary").has("error"), ahead::toString);
        assertEquals("MISSING", ahead.get("roots").get(0).get("stateFile").asText(), ahead::toString);
        assertTrue(ahead.get("roots").get(0).get("network").isNull(), ahead::toString);

        // no source answering: exit 3, and the report says so (not the last run's)
        final int refused;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            refused = s.getLocalPort();
        }
        assertEquals(ExitCode.ARCHIVE_UNREACHABLE, Cli.run("status", "--archive", "http://127.0.0.1:" + refused
                + "/", "--report", report.toString()).code());
        final JsonNode down = new ObjectMapper().readTree(report.toFile());
        assertEquals(3, down.get("summary").get("exitCode").asInt(), down::toString);
        assertTrue(down.get("summary").get("oneArchive").isNull(), down::toString);
        assertTrue(down.get("summary").get("checkpointsApart").isNull(), down::toString);
        assertEquals("no source answered its root state", down.get("summary").get("error").asText(), down::toString);
        assertTrue(down.get("roots").get(0).get("detail").asText().contains("after 6 attempts"), down::toString);
        assertEquals("FETCH_FAILED", down.get("roots").get(0).get("reason").asText(), down::toString);

        // a report that cannot be written is refused before the archive is asked
        final Cli.Ran dir = Cli.run("status", "--archive", copy.toString(), "--report", tmp.toString());
        assertEquals(ExitCode.COULD_NOT_RUN, dir.code(), dir.out());
        assertTrue(dir.out().contains("cannot write the report"), dir.out());
    }

    @Test
    void failuresThatComeAtOnceAreTriedAgain() throws Exception {
        // a trial: one refused connection or 5xx failed status (exit 3), though "after every retry" was documented
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.testnetSmall())) {
            server.on("/" + ArchivePaths.WELL_KNOWN).status(500).times(2);
            server.on("/" + ArchivePaths.has(0x273f)).status(503).times(1);
            final Cli.Ran r = Cli.run("status", "--archive", server.url());
            assertEquals(ExitCode.OK, r.code(), r.out());
            assertTrue(r.out().contains("its state file is there"), r.out());
            assertEquals(3, server.requests("/" + ArchivePaths.WELL_KNOWN));
        }
    }

    @Test
    void theSourcesAreAskedAtOnce() throws Exception {
        // a trial: each source's retries waited for the one before (two dead sources, 8 s); each server holds its
        // root state until both were asked, or 20 s
        try (FaultyArchiveServer a = FaultyArchiveServer.start(Fixtures.testnetSmall());
                FaultyArchiveServer b = FaultyArchiveServer.start(Fixtures.testnetSmall())) {
            a.hold(ArchivePaths.WELL_KNOWN);
            b.hold(ArchivePaths.WELL_KNOWN);
            final java.util.concurrent.atomic.AtomicBoolean together = new java.util.concurrent.atomic.AtomicBoolean();
            final Thread releaser = new Thread(() -> {
                final long end = System.nanoTime() + java.time.Duration.ofSeconds(20).toNanos();
                while (System.nanoTime() < end && !together.get()) {
                    together.set(a.requests(ArchivePaths.WELL_KNOWN) > 0 && b.requests(ArchivePaths.WELL_KNOWN) > 0);
                    Thread.onSpinWait();
                }
                a.release();
                b.release();
            });
            releaser.start();
            final Cli.Ran r = Cli.run("status", "--archive", a.url(), "--archive", b.url(), "--read-timeout", "60");
            releaser.join();
            assertTrue(together.get(), "both asked before either answered");
            assertEquals(ExitCode.OK, r.code(), r.out());
            // said in their order
            assertTrue(r.out().indexOf(a.url() + ": current ledger") < r.out().indexOf(b.url() + ": current ledger"),
                    r.out());
        }
    }

    @Test
    void aHangingMirrorIsAskedOnce() throws Exception {
        // a trial: status waited out every retry's read timeout on a mirror that hangs (3 minutes)
        try (FaultyArchiveServer hangs = FaultyArchiveServer.start(Fixtures.testnetSmall())) {
            hangs.onPrefix("").hang().forever();
            final Cli.Ran r = Cli.run("status", "--archive", Fixtures.testnetSmall().toString(), "--archive",
                    hangs.url(), "--read-timeout", "1");
            assertEquals(ExitCode.VERIFICATION_FAILED, r.code(), r.out());
            assertTrue(r.out().contains(hangs.url() + ": cannot read its root state: FETCH_FAILED"), r.out());
            assertTrue(r.out().contains("after 1 attempt"), r.out());
        }
    }

    @Test
    void aRootAheadOfTheFilesAndSourcesOfTwoArchivesAreSaid() throws Exception {
        final Path copy = tmp.resolve("copy");
        ForgedArchive.copyOfPubnetGenesis(copy);
        Files.delete(copy.resolve(ArchivePaths.has(0x7f)));
        final Cli.Ran ahead = Cli.run("status", "--archive", copy.toString());
        assertEquals(ExitCode.VERIFICATION_FAILED, ahead.code(), ahead.out());
        assertTrue(ahead.out().contains("current ledger 127 (checkpoint 0x7f), no network named (a version-1 state "
                + "file)"), ahead.out());
        assertTrue(ahead.out().contains("its state file " + ArchivePaths.has(0x7f) + " is MISSING (the root is ahead "
                + "of the files)"), ahead.out());

        // a passphrase given that such a root cannot check is said (a trial: nothing said)
        final Cli.Ran named = Cli.run("status", "--archive", Fixtures.pubnetGenesis().toString(),
                "--network-passphrase", "Test SDF Network ; September 2015");
        assertTrue(named.out().contains("no network named (a version-1 state file, so --network-passphrase is not "
                + "checked against it)"), named.out());

        // how far apart two roots are is said also when a third source cannot be read (a trial)
        Files.createDirectories(tmp.resolve("none"));
        final Path lagging = lagging();
        final Cli.Ran apart = Cli.run("status", "--archive", Fixtures.testnetSmall().toString(), "--archive",
                tmp.resolve("none").toString(), "--archive", lagging.toString());
        assertEquals(ExitCode.VERIFICATION_FAILED, apart.code(), apart.out());
        assertTrue(apart.out().contains(tmp.resolve("none") + ": cannot read its root state: MISSING_FILE "
                + ArchivePaths.WELL_KNOWN), apart.out());
        assertTrue(apart.out().contains("note: the sources' roots are 1 checkpoint(s) apart (ledgers 9983..10047): "
                + "behind the others: " + lagging), apart.out());

        // no source answering at all: an outage, exit 3 (a trial: 1, as a damaged archive)
        final int refused;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            refused = s.getLocalPort();
        }
        final Cli.Ran down = Cli.run("status", "--archive", "http://127.0.0.1:" + refused + "/");
        assertEquals(ExitCode.ARCHIVE_UNREACHABLE, down.code(), down.out());

        // a mirror that starts after the other's root: nothing to compare them by, said, and not a clean status (a
        // trial: a pubnet archive passed as a lagging mirror of a testnet mirror)
        final Path late = tmp.resolve("late");
        Files.createDirectories(late.resolve(ArchivePaths.has(0x273f)).getParent());
        Files.copy(Fixtures.testnetSmall().resolve(ArchivePaths.has(0x273f)), late.resolve(ArchivePaths.has(0x273f)));
        Files.createDirectories(late.resolve(ArchivePaths.WELL_KNOWN).getParent());
        Files.copy(Fixtures.testnetSmall().resolve(ArchivePaths.WELL_KNOWN), late.resolve(ArchivePaths.WELL_KNOWN));
        final Cli.Ran uncompared = Cli.run("status", "--archive", late.toString(), "--archive",
                Fixtures.pubnetGenesis().toString());
        assertEquals(ExitCode.VERIFICATION_FAILED, uncompared.code(), uncompared.out());
        assertTrue(uncompared.out().contains("could not be compared as mirrors of one archive: the state file "
                + ArchivePaths.has(0x7f) + " (of the lower root) could not be read from " + late), uncompared.out());

        final Cli.Ran two = Cli.run("status", "--archive", Fixtures.testnetSmall().toString(), "--archive",
                Fixtures.pubnetGenesis().toString());
        assertEquals(ExitCode.VERIFICATION_FAILED, two.code(), two.out());
        assertTrue(two.out().contains("warning: the sources are not mirrors of one archive"), two.out());
    }
}
