package io.historystreams.cli;

import io.historystreams.archive.FetchObserver;
import io.historystreams.archive.HistoryArchive;
import io.historystreams.testing.Cli;
import io.historystreams.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ArchiveOptionsTest {
    @TempDir
    Path dir;

    @Command(name = "probe")
    static final class Probe {
        @Mixin
        ArchiveOptions archive;
    }

    private static ArchiveOptions options(final String... args) {
        final Probe p = new Probe();
        new CommandLine(p).parseArgs(args);
        return p.archive;
    }

    @Test
    void anArchiveGivenWithoutItsPasswordGetsItFromTheArchiveCredentialsSetting() throws Exception {
        // the password was only taken from the command line, where ps shows it to every user of the host
        try (io.historystreams.testing.FaultyArchiveServer server = io.historystreams.testing.FaultyArchiveServer
                .start(Fixtures.testnetSmall())) {
            final ArchiveOptions o = options("--archive", server.url());
            final io.historystreams.service.ServiceConfig config = io.historystreams.service.ServiceConfig.of(Map.of(
                    io.historystreams.service.ServiceConfig.ARCHIVE_CREDENTIALS,
                    server.url().replace("http://", "http://carol:pa55word@")));
            try (HistoryArchive ha = o.open(FetchObserver.NONE, config)) {
                assertEquals(10047, o.resolve(ha, null, null).last());
            }
            assertEquals("Basic " + java.util.Base64.getEncoder().encodeToString("carol:pa55word".getBytes()),
                    server.lastRequestHeaders().get("authorization"));
            assertEquals(List.of(server.url()), o.requestSources(), "what is stored names no credentials");
        }
    }

    @Test
    void archivesOnThisHostAreCpuBoundAndRemoteOnesLatencyBound() {
        assertTrue(ArchiveOptions.onThisHost("../shared/fixtures/archives/testnet-small"));
        assertTrue(ArchiveOptions.onThisHost("file:///srv/archive"));
        assertTrue(ArchiveOptions.onThisHost("http://127.0.0.1:8080/"));
        assertTrue(ArchiveOptions.onThisHost("http://localhost/archive/"));
        assertTrue(ArchiveOptions.onThisHost("https://[::1]:8443/"));
        assertFalse(ArchiveOptions.onThisHost("https://history.stellar.org/prd/core-live/core_live_001/"));
        assertFalse(ArchiveOptions.onThisHost("http://128.0.0.1/"));
        assertFalse(ArchiveOptions.onThisHost("http://localhost.example.com/"));
        final int cores = Runtime.getRuntime().availableProcessors();
        assertEquals(cores + 1, ArchiveOptions.defaultConcurrency(List.of("/a", "http://127.0.0.1:1/")));
        assertEquals(8, ArchiveOptions.defaultConcurrency(List.of("/a", "https://history.stellar.org/x/")));
    }

    @Test
    void theConcurrencyOptionWinsOverTheSettingsFileAsTheOtherOptionsDo() {
        final Probe p = new Probe();
        final CommandLine.ParseResult parsed = new CommandLine(p).parseArgs("--archive", "/srv/a", "--concurrency", "1");
        final io.historystreams.service.ServiceConfig fromFile = io.historystreams.service.ServiceConfig.of(
                java.util.Map.of(io.historystreams.service.ServiceConfig.FETCH_CONCURRENCY, "5"));
        assertEquals(1, p.archive.applyTo(fromFile, parsed).fetchConcurrency());
        // not given: the settings file's value stays, and with none, the default for where the archive is
        final Probe q = new Probe();
        final CommandLine.ParseResult none = new CommandLine(q).parseArgs("--archive", "/srv/a");
        assertEquals(5, q.archive.applyTo(fromFile, none).fetchConcurrency());
    }

    @Test
    void ingestReadsTheRootStateWithTheSettingsTimeoutsNotOnlyTheOptions() throws Exception {
        // a root state that never comes: -D read.timeout.seconds / fetch.max.attempts bound the wait (they were
        // ignored there: the options' defaults, 6 x 30 s, held ingest and tail)
        try (io.historystreams.testing.FaultyArchiveServer s = io.historystreams.testing.FaultyArchiveServer.start(
                Fixtures.testnetSmall())) {
            s.on(io.historystreams.archive.ArchivePaths.WELL_KNOWN).hang().forever();
            final java.io.StringWriter said = new java.io.StringWriter();
            final long start = System.nanoTime();
            try (java.io.PrintWriter w = new java.io.PrintWriter(said, true)) {
                assertEquals(ExitCode.ARCHIVE_UNREACHABLE, Main.run(w, w, "ingest", "--archive", s.url(), "--data-dir",
                        dir.resolve("data").toString(), "--http-port", "-1", "-D", "read.timeout.seconds=1", "-D",
                        "fetch.max.attempts=1", "--report", dir.resolve("unreachable.json").toString()));
            }
            final com.fasterxml.jackson.databind.JsonNode summary = new com.fasterxml.jackson.databind.ObjectMapper()
                    .readTree(dir.resolve("unreachable.json").toFile()).get("summary");
            assertFalse(summary.get("allVerified").asBoolean(), summary::toString);
            assertEquals(3, summary.get("exitCode").asInt(), summary::toString);
            final long seconds = java.util.concurrent.TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);
            assertTrue(seconds < 15, "took " + seconds + " s: " + said);
            assertTrue(said.toString().contains("cannot read the archive's root state") && said.toString()
                    .contains("after 1 attempt"), said.toString());
        }
    }

    @Test
    void aTimeoutPastThreeCenturiesWaitsInsteadOfGivingUpAtOnce() throws Exception {
        // --timeout 9999999999 overflowed into a deadline already past: "0 verified, 2 given up" in 2 s
        final java.io.StringWriter said = new java.io.StringWriter();
        try (java.io.PrintWriter w = new java.io.PrintWriter(said, true)) {
            assertEquals(ExitCode.OK, Main.run(w, w, "ingest", "--archive",
                    io.historystreams.testing.Fixtures.pubnetGenesis().toString(), "--data-dir",
                    dir.resolve("data").toString(), "--http-port", "-1", "--quiet", "--timeout", "9999999999"),
                    said::toString);
        }
        assertTrue(said.toString().contains("2 checkpoints: 2 verified, 0 failed, 0 given up"), said.toString());
    }

    @Test
    void sourcesOfTwoArchivesAreRefusedAndMirrorsOfOneAreNot() throws Exception {
        // pubnet's first ledgers (their state files name no network) and testnet as two sources of one archive:
        // each served what the other lacked, and ingest reported 4 of 4 verified from the wrong network
        final java.io.StringWriter said = new java.io.StringWriter();
        try (java.io.PrintWriter w = new java.io.PrintWriter(said, true)) {
            assertEquals(ExitCode.COULD_NOT_RUN, Main.run(w, w, "verify", "--archive",
                    Fixtures.pubnetGenesis().toString(), "--archive", Fixtures.testnetSmall().toString(), "--to",
                    "255", "--quiet"));
        }
        assertTrue(said.toString().contains("the sources are not mirrors of one archive: their state files "
                + "history/00/00/00/history-0000007f.json differ"), said.toString());
        // the same archive over HTTP and from its directory: mirrors
        try (io.historystreams.testing.FaultyArchiveServer s = io.historystreams.testing.FaultyArchiveServer.start(
                Fixtures.testnetSmall())) {
            final java.io.StringWriter ok = new java.io.StringWriter();
            try (java.io.PrintWriter w = new java.io.PrintWriter(ok, true)) {
                assertEquals(ExitCode.OK, Main.run(w, w, "verify", "--archive", s.url(), "--archive",
                        Fixtures.testnetSmall().toString(), "--to", "127", "--quiet"), ok::toString);
            }
        }
    }

    @Test
    void aHugeRangeIsRefusedWhenTheRootStateCannotTellIfItIsATypo() throws Exception {
        // the guard against --to typos reads the root state: without one, 67 million checkpoints were each reported
        final java.io.StringWriter said = new java.io.StringWriter();
        try (java.io.PrintWriter w = new java.io.PrintWriter(said, true)) {
            assertEquals(ExitCode.COULD_NOT_RUN, Main.run(w, w, "verify", "--archive",
                    java.nio.file.Files.createDirectories(dir.resolve("no-root")).toString(), "--to", "4294967295"));
        }
        assertTrue(said.toString().contains("the archive's root state cannot be read, so --to 4294967295 cannot be "
                + "checked against the archive, and the range is more than 100000 checkpoints"), said.toString());
    }

    @Test
    void nothingOfTheToolGoesIntoASourceArchive() throws Exception {
        // a data dir or a target inside the archive read (or the archive itself as a target) was written into it
        final java.nio.file.Path source = java.nio.file.Files.createDirectories(dir.resolve("archive"));
        for (final String[] extra : new String[][] {
                {"--data-dir", source.resolve("data").toString()},
                {"--data-dir", dir.resolve("d1").toString(), "--publish-to", source.toString()},
                {"--data-dir", dir.resolve("d2").toString(), "--publish-to", source.resolve("mirror").toString()},
                {"--data-dir", dir.resolve("d3").toString(), "-D", "blob.dir=" + source.resolve("blobs")}}) {
            final java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("ingest", "--archive",
                    source.toString(), "--to", "127", "--http-port", "-1", "--quiet"));
            args.addAll(java.util.List.of(extra));
            final java.io.StringWriter said = new java.io.StringWriter();
            try (java.io.PrintWriter w = new java.io.PrintWriter(said, true)) {
                assertEquals(ExitCode.COULD_NOT_RUN, Main.run(w, w, args.toArray(String[]::new)), said::toString);
            }
            assertTrue(said.toString().contains("the source archive " + source.toRealPath()
                    + ": nothing of this tool is written into an archive it reads"), said.toString());
            try (java.util.stream.Stream<java.nio.file.Path> in = java.nio.file.Files.list(source)) {
                assertEquals(0, in.count(), "nothing written into the archive by " + java.util.List.of(extra));
            }
        }
    }

    @Test
    void aMisspeltOptionIsRefusedNamingTheOneMeantAndWhereTheHelpIs() {
        // a trial: "--form 100" was "Unknown options" and forty lines of usage, with no word of --from
        final java.io.StringWriter said = new java.io.StringWriter();
        try (java.io.PrintWriter w = new java.io.PrintWriter(said, true)) {
            assertEquals(ExitCode.COULD_NOT_RUN, Main.run(w, w, "scan", "--archive", dir.toString(), "--form",
                    "100"));
        }
        assertEquals("error: Unknown options: '--form', '100'\nDid you mean --from (not --form)?\n"
                + "See 'history-streams scan --help'.\n", said.toString().replace(System.lineSeparator(), "\n"));
        // a misspelt required option: said missing, and the misspelling named too
        final java.io.StringWriter missing = new java.io.StringWriter();
        try (java.io.PrintWriter w = new java.io.PrintWriter(missing, true)) {
            assertEquals(ExitCode.COULD_NOT_RUN, Main.run(w, w, "verify", "--archiv", dir.toString()));
        }
        assertTrue(missing.toString().contains("Did you mean --archive (not --archiv)?"), missing.toString());
    }

    @Test
    void aConcurrencyBelowOneIsRefusedWithItsName() {
        for (final String n : new String[] {"0", "-3"}) {
            final java.io.StringWriter said = new java.io.StringWriter();
            try (java.io.PrintWriter w = new java.io.PrintWriter(said, true)) {
                assertEquals(ExitCode.COULD_NOT_RUN, Main.run(w, w, "verify", "--archive",
                        io.historystreams.testing.Fixtures.pubnetGenesis().toString(), "--concurrency", n));
            }
            assertTrue(said.toString().startsWith("error: --concurrency must be at least 1, not " + n), said.toString());
        }
        for (final String option : new String[] {"--max-attempts", "--connect-timeout", "--read-timeout"}) {
            final java.io.StringWriter said = new java.io.StringWriter();
            try (java.io.PrintWriter w = new java.io.PrintWriter(said, true)) {
                assertEquals(ExitCode.COULD_NOT_RUN, Main.run(w, w, "verify", "--archive",
                        io.historystreams.testing.Fixtures.pubnetGenesis().toString(), option, "0"));
            }
            assertTrue(said.toString().startsWith("error: " + option + " must be at least 1, not 0"), said.toString());
        }
        assertEquals(ExitCode.OK, Main.run("verify", "--archive",
                io.historystreams.testing.Fixtures.pubnetGenesis().toString(), "--quiet", "--max-attempts", "2"));
        // an empty passphrase was taken as a network's name
        final java.io.StringWriter empty = new java.io.StringWriter();
        try (java.io.PrintWriter w = new java.io.PrintWriter(empty, true)) {
            assertEquals(ExitCode.COULD_NOT_RUN, Main.run(w, w, "verify", "--archive",
                    io.historystreams.testing.Fixtures.pubnetGenesis().toString(), "--network-passphrase", ""));
        }
        assertTrue(empty.toString().startsWith("error: --network-passphrase is empty"), empty.toString());
    }

    @Test
    void anArchiveThatCannotBeReachedCannotRunEvenWithARangeGiven() throws Exception {
        final int refused;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            refused = s.getLocalPort(); // closed below: connections are refused
        }
        final ArchiveOptions o = options("--archive", "http://127.0.0.1:" + refused + "/", "--max-attempts", "1",
                "--network-passphrase", "Test SDF Network ; September 2015");
        try (HistoryArchive ha = o.open(FetchObserver.NONE)) {
            final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> o.resolve(ha, 1L, 127L));
            assertTrue(e.getMessage().startsWith("cannot reach the archive: "), e.getMessage());
            // ingest --client: the workers fetch, and may reach what this process cannot
            assertEquals(new ArchiveOptions.Range(1, 127, "Test SDF Network ; September 2015"),
                    o.resolve(ha, 1L, 127L, false));
        }
    }

    @Test
    void aMirrorNotRunningListedLastIsNamedInAWarning() throws Exception {
        // it was left out of the mirror check in silence (a trial); listed first, it was named
        final int refused;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            refused = s.getLocalPort(); // closed below: connections are refused
        }
        final String down = "http://127.0.0.1:" + refused + "/";
        final ArchiveOptions o = options("--archive", io.historystreams.testing.Fixtures.testnetSmall().toString(),
                "--archive", down, "--max-attempts", "1");
        try (HistoryArchive ha = o.open(FetchObserver.NONE)) {
            final ArchiveOptions.Range r = o.resolve(ha, 1L, 127L);
            assertTrue(r.warnings().contains("warning: " + down + " failed to answer just now, so it is not checked to "
                    + "be a mirror of the other sources; its files are checked as they come"), r.warnings()::toString);
        }
    }

    @Test
    @org.junit.jupiter.api.Timeout(60)
    void aMirrorThatHangsCostsTheStartOneReadTimeoutAndIsNamed() throws Exception {
        // a trial: a first mirror that hangs held the start for three read timeouts in a row (the root state, the
        // root checkpoint's state file, the mirror check), with nothing said of it
        withAMirrorThatHangs(true, 1, (r, hangs) -> {
            assertEquals(1, hangs.totalRequests(), "the root state only: " + hangs.requestLog());
            assertTrue(r.warnings().contains("warning: " + hangs.url() + " failed to answer just now, so it is not "
                    + "checked to be a mirror of the other sources; its files are checked as they come"),
                    r.warnings()::toString);
        });
    }

    @Test
    @org.junit.jupiter.api.Timeout(60)
    void aFirstMirrorThatHangsHoldsTheStartForTheMirrorCheckAloneNotForAReadTimeout() throws Exception {
        // the root state was read from it first, and the start waited out the read timeout (a trial: 31.7 s with the
        // default 30 s); the others are asked after the mirror check's wait, and it is taken as down
        final long start = System.nanoTime();
        withAMirrorThatHangs(true, 40, (r, hangs) -> {
            final long seconds = java.util.concurrent.TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);
            assertTrue(seconds < 20, seconds + " s");
            assertEquals(1, hangs.totalRequests(), "the root state only: " + hangs.requestLog());
            // in the words of a mirror that does not answer the check in time (a trial: "failed to answer just now")
            assertTrue(r.warnings().contains("warning: " + hangs.url() + " did not answer within 5 s, so it is not "
                    + "checked to be a mirror of the other sources; its files are checked as they come"),
                    r.warnings()::toString);
        }, ha -> assertEquals(List.of(ha.sourceNames().get(0)), ha.sourcesDown()));
    }

    @Test
    @org.junit.jupiter.api.Timeout(60)
    void aMirrorThatHangsListedLastHoldsTheStartForTheMirrorCheckAlone() throws Exception {
        // never needed for the root state, it held every start for a read timeout, in silence
        withAMirrorThatHangs(false, 20, (r, hangs) -> assertTrue(r.warnings().contains("warning: " + hangs.url()
                + " did not answer within " + ArchiveOptions.AGREE_WAIT.toSeconds() + " s, so it is not checked to be "
                + "a mirror of the other sources; its files are checked as they come"), r.warnings()::toString),
                // listed after one that answered: not taken as down (it is read only when the others fail)
                ha -> assertEquals(List.of(), ha.sourcesDown()));
    }

    @Test
    @org.junit.jupiter.api.Timeout(60)
    void theMirrorCheckTakesAsDownAFirstMirrorThatDoesNotAnswerWhileAnotherDoes() throws Exception {
        // tail checks the mirrors before its first poll, which then waited 5 s more on a first mirror that hung
        // (trial 83: 10 s at the start)
        withAFirstMirrorThatHangs(40, (ha, hangs) -> {
            final List<String> warnings = ArchiveOptions.sourcesAgree(ha).warnings();
            assertEquals(1, warnings.size(), warnings::toString);
            assertEquals(List.of(ha.sourceNames().get(0)), ha.sourcesDown());
        });
    }

    @Test
    @org.junit.jupiter.api.Timeout(60)
    void theRootCheckpointsStateFileIsReadFirstFromTheSourceThatServedTheRootState() throws Exception {
        // tail's polls read the root state, then its checkpoint's state file: each from a first mirror that hangs, a
        // read timeout each (a trial's tail asked for its first checkpoint 73 s after it started)
        withAFirstMirrorThatHangs(20, (ha, hangs) -> {
            assertTrue(io.historystreams.verify.HasVerifier.rootCheckpoint(ha, ha.sourceNames().get(1), 10047)
                    .present());
            assertEquals(0, hangs.totalRequests(), hangs.requestLog()::toString);
        });
    }

    /** Opens testnet-small behind a first mirror that accepts and never answers, read timeout {@code readTimeout} s. */
    private static void withAFirstMirrorThatHangs(final int readTimeout, final HangingCheck check) throws Exception {
        try (io.historystreams.testing.FaultyArchiveServer hangs = io.historystreams.testing.FaultyArchiveServer
                .start(Fixtures.testnetSmall())) {
            hangs.onPrefix("").hang().forever();
            final ArchiveOptions o = options("--archive", hangs.url(), "--archive", Fixtures.testnetSmall().toString(),
                    "--read-timeout", Integer.toString(readTimeout));
            try (HistoryArchive ha = o.open(FetchObserver.NONE)) {
                check.accept(ha, hangs);
            }
        }
    }

    @FunctionalInterface
    private interface HangingCheck {
        void accept(HistoryArchive ha, io.historystreams.testing.FaultyArchiveServer hangs) throws Exception;
    }

    /**
     * Resolves testnet-small's range with a mirror that accepts and never answers listed {@code first} or last, with
     * a read timeout of {@code readTimeout} seconds, and hands the range and the mirror to {@code check}.
     */
    private static void withAMirrorThatHangs(final boolean first, final int readTimeout,
            final java.util.function.BiConsumer<ArchiveOptions.Range, io.historystreams.testing.FaultyArchiveServer>
                    check) throws Exception {
        withAMirrorThatHangs(first, readTimeout, check, ha -> { });
    }

    /** As above, then hands the archive to {@code after}. */
    private static void withAMirrorThatHangs(final boolean first, final int readTimeout,
            final java.util.function.BiConsumer<ArchiveOptions.Range, io.historystreams.testing.FaultyArchiveServer>
                    check, final java.util.function.Consumer<HistoryArchive> after) throws Exception {
        try (io.historystreams.testing.FaultyArchiveServer hangs = io.historystreams.testing.FaultyArchiveServer
                .start(Fixtures.testnetSmall())) {
            hangs.onPrefix("").hang().forever();
            final String honest = Fixtures.testnetSmall().toString();
            final ArchiveOptions o = options("--archive", first ? hangs.url() : honest, "--archive",
                    first ? honest : hangs.url(), "--read-timeout", Integer.toString(readTimeout));
            try (HistoryArchive ha = o.open(FetchObserver.NONE)) {
                final ArchiveOptions.Range r = o.resolve(ha, null, null);
                assertEquals(10047, r.last());
                check.accept(r, hangs);
                after.accept(ha);
            }
        }
    }

    @Test
    void aFromPastTheCurrentLedgerWithNoToIsNothingToDoAndSaysWhereTheEndCameFrom() throws Exception {
        // "empty range 10048..10047" did not say that 10047 was the archive's current ledger; then a cron job that
        // verifies from where it stopped was exit 2 until the archive moved on
        final ArchiveOptions o = options("--archive", Fixtures.testnetSmall().toString());
        try (HistoryArchive ha = o.open(FetchObserver.NONE)) {
            final ArchiveOptions.NothingToDo e = assertThrows(ArchiveOptions.NothingToDo.class,
                    () -> o.resolve(ha, 10048L, null));
            assertEquals("nothing to do: --from 10048 is past the archive's current ledger 10047 (checkpoint 0x273f, "
                    + "its last); nothing was fetched", e.getMessage());
            assertEquals(10047, e.current());
            // a --to given below --from is a mistake, not nothing to do
            assertEquals("empty range 200..100", assertThrows(IllegalArgumentException.class,
                    () -> o.resolve(ha, 200L, 100L)).getMessage());
        }
    }

    @Test
    void aFromPastARootStateAheadOfItsFilesIsNothingToDoToo() throws Exception {
        // a trial: the root uploaded before its state file refused the cron job's --from past it, exit 2 ("no
        // checkpoint from 20031 up to it has its state file")
        final java.nio.file.Path copy = java.nio.file.Files.createTempDirectory("ahead");
        try {
            io.historystreams.testing.ForgedArchive.copyOfPubnetGenesis(copy);
            java.nio.file.Files.delete(copy.resolve(io.historystreams.archive.ArchivePaths.has(0x7f)));
            final ArchiveOptions o = options("--archive", copy.toString());
            try (HistoryArchive ha = o.open(FetchObserver.NONE)) {
                assertEquals(127, assertThrows(ArchiveOptions.NothingToDo.class, () -> o.resolve(ha, 200L, null))
                        .current());
            }
        } finally {
            try (var paths = java.nio.file.Files.walk(copy)) {
                paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    void withoutToTheRangeEndsAtTheRootOfTheSourceFurthestOn() throws Exception {
        // a trial: a lagging first mirror ended every range without --to where it stood ("nothing to do" for a cron
        // job's --from past it) while the second source had more
        final Path lagging = dir.resolve("lagging");
        io.historystreams.testing.ForgedArchive.copyOfPubnetGenesis(lagging);
        java.nio.file.Files.copy(lagging.resolve(io.historystreams.archive.ArchivePaths.has(0x3f)),
                lagging.resolve(io.historystreams.archive.ArchivePaths.WELL_KNOWN),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        final ArchiveOptions o = options("--archive", lagging.toString(), "--archive",
                Fixtures.pubnetGenesis().toString());
        try (HistoryArchive ha = o.open(FetchObserver.NONE)) {
            final String second = ha.sourceNames().get(1);
            final ArchiveOptions.Range r = o.resolve(ha, null, null);
            assertEquals(127, r.last());
            assertEquals(127, r.current());
            assertEquals(List.of("note: the range ends at ledger 127, the current ledger of " + second + "'s root "
                    + "state; " + ha.sourceNames().get(0) + "'s is at ledger 63 (a file it lacks is read from the other "
                    + "sources)"), r.warnings());
            assertEquals(127, o.resolve(ha, 100L, null).last(), "a --from past the lagging root is not nothing to do");
            assertEquals(127, assertThrows(ArchiveOptions.NothingToDo.class, () -> o.resolve(ha, 128L, null))
                    .current());
            // with --to given, the range given, and no note
            assertEquals(List.of(), o.resolve(ha, null, 63L).warnings());
        }
    }

    @Test
    void aPassphraseGivenForAnArchiveThatNamesNoNetworkIsSaidToBeUnchecked() throws Exception {
        // pubnet's first state files (version 1) name no network: a testnet passphrase passed in silence
        final ArchiveOptions o = options("--archive", Fixtures.pubnetGenesis().toString(), "--network-passphrase",
                "Test SDF Network ; September 2015");
        try (HistoryArchive ha = o.open(FetchObserver.NONE)) {
            assertEquals(List.of("warning: the archive's root state names no network (an older state file), so "
                    + "--network-passphrase is not checked against it, nor against the state files that name none"),
                    o.resolve(ha, null, null).warnings());
        }
        final ArchiveOptions named = options("--archive", Fixtures.testnetSmall().toString(), "--network-passphrase",
                "Test SDF Network ; September 2015");
        try (HistoryArchive ha = named.open(FetchObserver.NONE)) {
            assertEquals(List.of(), named.resolve(ha, null, null).warnings());
        }
    }

    @Test
    void withARangeGivenAnArchiveWithoutARootStateStillRuns() throws Exception {
        // a directory with no .well-known/stellar-history.json: the root state is absent, not unreachable
        final ArchiveOptions o = options("--archive", dir.toString());
        try (HistoryArchive ha = o.open(FetchObserver.NONE)) {
            final ArchiveOptions.Range r = o.resolve(ha, 1L, 127L);
            assertEquals(1, r.first());
            assertEquals(127, r.last());
            assertNull(r.passphrase());
            // said, not silent: nothing tells the network then (a HAS of another network would pass)
            assertEquals(1, r.warnings().size(), r.warnings()::toString);
            final String w = r.warnings().get(0);
            assertTrue(w.startsWith("warning: cannot read the archive's root state (MISSING_FILE "
                    + ".well-known/stellar-history.json") && w.endsWith("): no network passphrase is checked; "
                    + "give --network-passphrase to check one"), w);
            assertThrows(IllegalArgumentException.class, () -> o.resolve(ha, 1L, null), "no --to: its root is needed");
        }
        final ArchiveOptions given = options("--archive", dir.toString(), "--network-passphrase", "P");
        try (HistoryArchive ha = given.open(FetchObserver.NONE)) {
            assertEquals(List.of(), given.resolve(ha, 1L, 127L).warnings());
        }
        final ArchiveOptions real = options("--archive", Fixtures.testnetSmall().toString());
        try (HistoryArchive ha = real.open(FetchObserver.NONE)) {
            assertEquals(new ArchiveOptions.Range(1, 10047, "Test SDF Network ; September 2015", 10047, null),
                    real.resolve(ha, null, null));
            assertNull(real.resolve(ha, null, null).pastCurrent());
            assertNull(real.resolve(ha, null, 10047L).pastCurrent());
            // a range past the archive's current ledger: its last checkpoints will be reported missing, and why
            assertEquals("warning: the range ends at ledger 10100 (checkpoint 0x277f), past the archive's current "
                    + "ledger 10047: the checkpoints after 0x273f are not in the archive yet, and their files are "
                    + "reported missing", real.resolve(ha, null, 10100L).pastCurrent());
            // a --to with extra digits: 67 million checkpoints requested, each reported missing
            final IllegalArgumentException typo = assertThrows(IllegalArgumentException.class,
                    () -> real.resolve(ha, null, 4294967295L));
            assertTrue(typo.getMessage().startsWith("--to 4294967295 is more than 10000 checkpoints past the "
                    + "archive's current ledger 10047"), typo.getMessage());
            assertEquals(10047 + 64 * 10_000L, real.resolve(ha, null, 10047 + 64 * 10_000L).last(), "within reach");
        }
    }

    @Test
    void aRangeNotOnCheckpointEdgesSaysWhichLedgersAreVerified() {
        // checkpoints are verified whole: --from 100 --to 200 verifies (and emits events for) ledgers 64..255
        final ArchiveOptions.Range inside = new ArchiveOptions.Range(100, 200, null);
        assertEquals("note: ledgers 100..200 lie in checkpoints 0x7f..0xff, which are verified whole: ledgers 64..255",
                inside.widened());
        assertEquals(List.of(inside.widened()), inside.warnings());
        assertEquals("note: ledgers 64..200 lie in checkpoints 0x7f..0xff, which are verified whole: ledgers 64..255",
                new ArchiveOptions.Range(64, 200, null).widened(), "only the end is off an edge");
        assertEquals("note: ledgers 2..63 lie in checkpoints 0x3f..0x3f, which are verified whole: ledgers 1..63",
                new ArchiveOptions.Range(2, 63, null).widened(), "the first checkpoint begins at ledger 1");
        // on the edges (ledger 0 does not exist: --from 0 is ledger 1's checkpoint): nothing to say
        assertNull(new ArchiveOptions.Range(1, 10047, null).widened());
        assertNull(new ArchiveOptions.Range(0, 127, null).widened());
        assertNull(new ArchiveOptions.Range(64, 127, null).widened());
    }

    @Test
    void aRootStateNamingALedgerTheArchiveHasNoCheckpointForIsRefused() throws Exception {
        // a wrong or hostile root: 4294967295 is a checkpoint ledger, 67 million checkpoints of missing files (and a
        // list of them that ran out of memory)
        final Path root = dir.resolve("archive");
        java.nio.file.Files.createDirectories(root.resolve(".well-known"));
        final String rootState = java.nio.file.Files.readString(
                Fixtures.pubnetGenesis().resolve(".well-known/stellar-history.json"));
        assertTrue(rootState.contains("\"currentLedger\": 127"), rootState);
        java.nio.file.Files.writeString(root.resolve(".well-known/stellar-history.json"),
                rootState.replace("\"currentLedger\": 127", "\"currentLedger\": 4294967295"));
        final ArchiveOptions o = options("--archive", root.toString());
        try (HistoryArchive ha = o.open(FetchObserver.NONE)) {
            final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> o.resolve(ha, null, null));
            assertEquals("the archive's root state names ledger 4294967295, but that checkpoint's state file "
                    + "history/ff/ff/ff/history-ffffffff.json is absent: the root state is wrong or ahead of the "
                    + "archive's files, and no checkpoint from 63 up to it has its state file either; give --to",
                    e.getMessage());
        }
        final ArchiveOptions real = options("--archive", Fixtures.pubnetGenesis().toString());
        try (HistoryArchive ha = real.open(FetchObserver.NONE)) {
            assertEquals(127, real.resolve(ha, null, null).last());
            final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> real.resolve(ha, -3L, null));
            assertEquals("--from must be a ledger number (0 or more), not -3", e.getMessage());
        }
    }

    /**
     * A root state ahead of the archive's files: the range ends at the root as always, its checkpoints the archive
     * lacks fail as missing (exit 1, in the report), and a warning names the archive's last checkpoint. It was a
     * "could not run" (exit 2, no report), and with {@code --to} not said at all (a trial).
     */
    @Test
    void aRootStateAheadOfTheArchivesFilesIsSaidAndItsCheckpointsAreMissing() throws Exception {
        final Path root = dir.resolve("ahead");
        io.historystreams.testing.ForgedArchive.copyOfPubnetGenesis(root);
        final Path wellKnown = root.resolve(".well-known/stellar-history.json");
        final String rootState = java.nio.file.Files.readString(wellKnown);
        java.nio.file.Files.writeString(wellKnown, rootState.replace("\"currentLedger\": 127",
                "\"currentLedger\": 319"));
        final ArchiveOptions o = options("--archive", root.toString());
        try (HistoryArchive ha = o.open(FetchObserver.NONE)) {
            final ArchiveOptions.Range r = o.resolve(ha, null, null);
            assertEquals(319, r.last());
            assertEquals(List.of("warning: the archive's root state names ledger 319, but that checkpoint's state file "
                    + "history/00/00/01/history-0000013f.json is absent: the root state is wrong or ahead of the "
                    + "archive's files (stellar-core cannot catch up to it from this archive): the highest checkpoint "
                    + "below it whose state file the archive holds is 127 (0x7f). The range ends at the root state's "
                    + "ledger, so the checkpoints after 127 fail as missing; --to 127 ends it there"), r.warnings());
            assertEquals(319, o.resolve(ha, 64L, null).last(), "from a --from too");
            // with --to: the range given, and the warning
            final ArchiveOptions.Range given = o.resolve(ha, null, 127L);
            assertEquals(127, given.last());
            assertEquals(List.of("warning: the archive's root state names ledger 319, but that checkpoint's state "
                    + "file history/00/00/01/history-0000013f.json is absent: the root state is wrong or ahead of the "
                    + "archive's files (stellar-core cannot catch up to it from this archive); the range given is "
                    + "verified"), given.warnings());
        }
        // far ahead of the last checkpoint held: refused, naming it
        final long far = 127 + 10_001L * 64;
        java.nio.file.Files.writeString(wellKnown, rootState.replace("\"currentLedger\": 127",
                "\"currentLedger\": " + far));
        try (HistoryArchive ha = o.open(FetchObserver.NONE)) {
            final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> o.resolve(ha, null, null));
            assertEquals("the archive's root state names ledger " + far + ", but that checkpoint's state file "
                    + io.historystreams.archive.ArchivePaths.has(far) + " is absent: the root state is wrong or ahead "
                    + "of the archive's files: the highest checkpoint below it whose state file the archive holds is "
                    + "127 (0x7f), more than 10000 checkpoints before it; give --to", e.getMessage());
        }
    }

    @Test
    void aRootStateThatIsNotACopyOfItsCheckpointsStateFileIsSaid() throws Exception {
        // the root must be a copy of the newest checkpoint's state file; a tampered root was never compared with it
        final Path archive = dir.resolve("contradicting");
        final String has = "history/00/00/00/history-0000007f.json";
        java.nio.file.Files.createDirectories(archive.resolve(".well-known"));
        java.nio.file.Files.createDirectories(archive.resolve(has).getParent());
        java.nio.file.Files.copy(Fixtures.testnetP24Hot().resolve(has), archive.resolve(has));
        final String rootState = java.nio.file.Files.readString(
                Fixtures.testnetP24Hot().resolve(".well-known/stellar-history.json"));
        final Path rootFile = archive.resolve(".well-known/stellar-history.json");
        final ArchiveOptions o = options("--archive", archive.toString());
        try (HistoryArchive ha = o.open(FetchObserver.NONE)) {
            java.nio.file.Files.writeString(rootFile, rootState);
            assertEquals(List.of(), o.resolve(ha, null, null).warnings(), "a faithful copy");
            // another network in the root only: every checkpoint failed as "not the configured" network, the root
            // never named; now the network is unknown, and said so before the work
            java.nio.file.Files.writeString(rootFile, rootState.replace("Test SDF Network ; September 2015",
                    "Public Global Stellar Network ; September 2015"));
            final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> o.resolve(ha, null, null));
            assertEquals("the archive's root state names the network \"Public Global Stellar Network ; September "
                    + "2015\", its checkpoint's state file " + has + " \"Test SDF Network ; September 2015\": the "
                    + "archive contradicts itself; give --network-passphrase", e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> o.resolve(ha, 1L, 127L), "with --to too");
            // with the checkpoints' network given and --to: the root fails its own check, and is said to
            final ArchiveOptions testnet = options("--archive", archive.toString(), "--network-passphrase",
                    "Test SDF Network ; September 2015");
            try (HistoryArchive hb = testnet.open(FetchObserver.NONE)) {
                final List<String> w = testnet.resolve(hb, 1L, 127L).warnings();
                assertEquals(1, w.size(), w::toString);
                assertTrue(w.get(0).startsWith("warning: the archive's root state fails its checks (WRONG_NETWORK "
                        + ".well-known/stellar-history.json") && w.get(0).endsWith("; the range given is verified "
                        + "without it"), w.get(0));
            }
            // two buckets swapped in the root only: a warning, the checkpoint's own file is what is verified
            final String first = "79615aa3c218771739fbbc58625298c8d10e6aa798a462e753b50261e1423aff";
            final String second = "894e1e0bb5440cf11a5d728c2ef70214cc0c4fcba5dd2464d24e63eae33e241f";
            assertTrue(rootState.contains(first) && rootState.contains(second), rootState);
            java.nio.file.Files.writeString(rootFile, rootState.replace(first, "X").replace(second, first)
                    .replace("X", second));
            final ArchiveOptions.Range r = o.resolve(ha, null, null);
            assertEquals(127, r.last());
            assertEquals(List.of("warning: the archive's root state differs from its checkpoint's state file " + has
                    + " (currentBuckets), of which it should be a copy; the checkpoints' own state files are what "
                    + "is verified"), r.warnings());
        }
    }

    @Test
    void aRangeOfMillionsOfCheckpointsTakesNoMemory() {
        final List<Long> all = io.historystreams.archive.Checkpoint.range(1, 4294967295L);
        assertEquals(67_108_864, all.size());
        assertEquals(63L, all.get(0));
        assertEquals(4294967295L, all.get(all.size() - 1));
        assertEquals(List.of(63L, 127L, 191L), io.historystreams.archive.Checkpoint.range(0, 130));
        assertTrue(all.contains(4294967295L) && all.contains(63L));
        assertFalse(all.contains(64L) || all.contains(-1L) || all.contains(63));
        assertEquals(2, io.historystreams.archive.Checkpoint.range(0, 130).indexOf(191L));
        assertEquals(-1, io.historystreams.archive.Checkpoint.range(0, 130).indexOf(255L));
    }

    @Test
    void aSourceGivenTwiceIsRefused() {
        final String small = Fixtures.testnetSmall().toString();
        final String relative = Path.of("").toAbsolutePath().relativize(Fixtures.testnetSmall()).toString();
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> options("--archive", small, "--archive", relative).open(FetchObserver.NONE));
        assertEquals("the source " + Fixtures.testnetSmall().toAbsolutePath().normalize() + " is given twice "
                + "(--archive): give each source once", e.getMessage());
        final Cli.Ran status = Cli.run("status", "--archive", small, "--archive", small);
        assertEquals(ExitCode.COULD_NOT_RUN, status.code(), status.out());
        assertTrue(status.out().contains("is given twice"), status.out());
    }

    @Test
    void requestsNameADirectoryByItsAbsolutePathAndAUrlWithoutItsCredentials() {
        final ArchiveOptions o = options("--archive", "../shared/fixtures/archives/testnet-small", "--archive",
                "https://user:secret@archive.example/history/", "--archive", "file:///srv/archive");
        assertEquals(List.of(Path.of("../shared/fixtures/archives/testnet-small").toAbsolutePath().normalize()
                .toString(), "https://archive.example/history/", "file:///srv/archive"), o.requestSources());
    }
}
