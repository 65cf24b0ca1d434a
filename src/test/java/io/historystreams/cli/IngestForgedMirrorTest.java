package io.historystreams.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.FileType;
import io.historystreams.testing.Cli;
import io.historystreams.testing.FaultyArchiveServer;
import io.historystreams.testing.Fixtures;
import io.historystreams.testing.ForgedArchive;
import io.historystreams.testing.XdrFiles;
import io.historystreams.verify.Hash;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code ingest} from two mirrors, the first serving a forged segment (trials' cases): checkpoints 0xff..0x1ff
 * re-chained from a first header (ledger 192) that does not link to ledger 191. It exited 0 with a chain that did not
 * link: the forged mirror's later checkpoints were verified against the forged copy of one the pipeline then took
 * from the honest mirror (or, after it failed for good, against its forged ledger file), and {@code verify} of the
 * published mirror failed.
 */
class IngestForgedMirrorTest {
    private static final Path HONEST = Fixtures.testnetSmall();

    @TempDir
    Path tmp;
    private Path forged;

    @BeforeEach
    void forge() throws Exception {
        forged = tmp.resolve("forged");
        final byte[] elsewhere = new byte[32];
        Arrays.fill(elsewhere, (byte) 0x11);
        ForgedArchive.ledgersAndTransactionsOf(HONEST, forged, 0x1ff).linkTo(192, Hash.of(elsewhere)).write()
                .copyTheRestFrom(HONEST);
    }

    @Test
    void theChainVerifiedFromTwoMirrorsIsTheHonestOne() throws Exception {
        final Path mirror = tmp.resolve("mirror");
        final List<String> warned = new ArrayList<>();
        final Cli.Ran[] ran = new Cli.Ran[1];
        io.historystreams.testing.Logs.during(io.historystreams.topology.Topics.class.getPackageName()
                + ".RequestGate", () -> ran[0] = ingest("data", 511, "--archive", forged.toString(), "--archive",
                        HONEST.toString(), "--publish-to", mirror.toString())).stream()
                .filter(e -> e.getLevel() == ch.qos.logback.classic.Level.WARN)
                .forEach(e -> warned.add(e.getFormattedMessage()));
        final Cli.Ran ingest = ran[0];
        assertEquals(ExitCode.OK, ingest.code(), ingest.out());
        assertTrue(report("data").get("summary").get("allVerified").asBoolean(), ingest::out);
        assertHonestAndLinked(mirror, 0x1ff);
        // the forged mirror's refused copy is said (WARN) and named in the report, as verify names it (a trial: one
        // INFO line only)
        assertTrue(warned.stream().anyMatch(l -> l.startsWith("checkpoint 255 attempt 1: the copy from " + forged
                + " fails its checks (CHAIN_LINK_BROKEN ")), warned::toString);
        final JsonNode cp255 = report("data").get("checkpoints").get(3);
        assertEquals(255, cp255.get("checkpoint").asLong());
        assertEquals(forged.toString(), cp255.get("copiesRefused").get(0).get("source").asText(), cp255::toString);
        assertEquals("CHAIN_LINK_BROKEN", cp255.get("copiesRefused").get(0).get("reason").asText(), cp255::toString);
        assertFalse(report("data").get("checkpoints").get(2).has("copiesRefused"), "0xbf's only copy was honest");
    }

    @Test
    void theForgedMirrorAloneFailsItsBreakAndTheCheckpointsAfterItWhichAreSaidInOneLine() throws Exception {
        // 0xff does not link to 0xbf, and the checkpoints after it link to its copy: they fail with it (a copy that
        // failed its link anchors nothing), each named in the report, in one line on the output (a break in a long
        // range printed a line for every checkpoint after it)
        final Cli.Ran alone = ingest("alone", 511, "--archive", forged.toString());
        assertEquals(ExitCode.VERIFICATION_FAILED, alone.code(), alone.out());
        assertEquals(List.of("255 CHAIN_LINK_BROKEN", "319 CHAIN_LINK_BROKEN", "383 CHAIN_LINK_BROKEN",
                "447 CHAIN_LINK_BROKEN", "511 CHAIN_LINK_BROKEN"), notVerified("alone", "reason"), alone::out);
        assertTrue(alone.out().contains("checkpoint 255 (0xff) FAILED: CHAIN_LINK_BROKEN "), alone.out());
        assertTrue(alone.out().contains("checkpoints 319..511 (0x13f..0x1ff, 4) FAILED: CHAIN_LINK_BROKEN: the first "
                + "ledger of each links to a copy of the previous checkpoint that failed its own link"), alone.out());
        assertFalse(alone.out().contains("checkpoint 383 (0x17f) FAILED"), alone.out());
    }

    @Test
    void aCheckpointThatFailedInAnEarlierRunIsWaitedForWhenAskedForAgain() throws Exception {
        // the first run, from the forged mirror alone, fails 0xff; the chain check kept that word, and let the
        // second run's forged successors through on the forged ledger file while 0xff was being verified again
        final Cli.Ran first = ingest("data", 255, "--archive", forged.toString(), "-D", "checkpoint.max.attempts=1");
        assertEquals(ExitCode.VERIFICATION_FAILED, first.code(), first.out());
        final Path mirror = tmp.resolve("mirror");
        final Cli.Ran second = ingest("data", 383, "--archive", forged.toString(), "--archive", HONEST.toString(),
                "--publish-to", mirror.toString());
        assertEquals(ExitCode.OK, second.code(), second.out());
        assertHonestAndLinked(mirror, 0x17f);
    }

    @Test
    void aPredecessorVerifiedInAnEarlierRunFromAnotherFirstSourceIsTheOneLinkedTo() throws Exception {
        // the chain was kept per first source: 0xff, verified from the honest mirror alone, was unknown to the
        // second run (first source: the forged mirror), whose 0x13f was checked on the forged copy of 0xff's file
        final Cli.Ran first = ingest("data", 255, "--archive", HONEST.toString());
        assertEquals(ExitCode.OK, first.code(), first.out());
        final Path mirror = tmp.resolve("mirror");
        final Cli.Ran second = ingest("data", 383, "--archive", forged.toString(), "--archive", HONEST.toString(),
                "--publish-to", mirror.toString());
        assertEquals(ExitCode.OK, second.code(), second.out());
        // the published mirror holds what this run verified: 0xff was verified before and is not published again
        for (long cp = 0x13f; cp <= 0x17f; cp += 64) {
            assertHonest(mirror, cp);
        }
    }

    @Test
    void aRunWithOtherMirrorsFinishesWhatAnEarlierRunLeftInFlight() throws Exception {
        // the chain was kept per first source: the second run's successors waited for good for predecessors whose
        // verdicts came, from the first run's work, under the first run's first source. The first run reads 0xff
        // again from the honest mirror over HTTP, which does not answer for its ledger file until the run gives up
        try (FaultyArchiveServer http = FaultyArchiveServer.start(HONEST)) {
            http.on(ArchivePaths.checkpointFile(FileType.LEDGER, 0xff)).hang();
            final Cli.Ran first = ingest("data", 383, "--archive", forged.toString(), "--archive", http.url(),
                    "--timeout", "3");
            // said of a checkpoint that waits in the chain check (it said "no attempt had failed yet")
            assertTrue(first.out().contains("checkpoint 319 (0x13f) GIVEN UP: no verdict by --timeout (it waits for "
                    + "the verdict of checkpoint 255, asked for with it)"), first.out());
            http.clearFaults();
            final Path mirror = tmp.resolve("mirror");
            // another first source; the HTTP mirror is among them (the first run's work reads it)
            final Cli.Ran second = ingest("data", 383, "--archive", HONEST.toString(), "--archive", http.url(),
                    "--archive", forged.toString(), "--publish-to", mirror.toString(), "--timeout", "60");
            assertEquals(ExitCode.OK, second.code(), second.out());
            assertHonestAndLinked(mirror, 0x17f);
        }
    }

    @Test
    void aPredecessorThatFailedOnItsLedgerFileAnchorsNoSuccessor() throws Exception {
        // one attempt each: the forged 0xff fails its link and is not read from the honest mirror; its successors
        // were verified against its forged ledger file, the file that had just failed
        final Path mirror = tmp.resolve("mirror");
        final Cli.Ran ingest = ingest("data", 383, "--archive", forged.toString(), "--archive", HONEST.toString(),
                "--publish-to", mirror.toString(), "-D", "checkpoint.max.attempts=1");
        assertEquals(ExitCode.VERIFICATION_FAILED, ingest.code(), ingest.out());
        final List<Long> verified = new ArrayList<>();
        final List<String> failed = new ArrayList<>();
        for (final JsonNode cp : report("data").get("checkpoints")) {
            if (cp.get("status").asText().equals("VERIFIED")) {
                verified.add(cp.get("checkpoint").asLong());
            } else {
                failed.add(cp.get("checkpoint").asLong() + " " + cp.get("reason").asText());
            }
        }
        assertEquals(List.of(63L, 127L, 191L), verified);
        assertEquals(List.of("255 CHAIN_LINK_BROKEN", "319 CHAIN_LINK_BROKEN", "383 CHAIN_LINK_BROKEN"), failed);
        assertHonestAndLinked(mirror, 0xbf);
    }

    @Test
    void aBackfillTakesBackTheForgedCheckpointsVerifiedBeforeOnTheirPredecessorsFile() throws Exception {
        // the recent part first, from 0x17f (its predecessor not asked for: checked on the forged mirror's file of
        // 0x13f), then the whole range: 0x13f is verified from the honest mirror, so 0x17f does not link; 0x1bf and
        // 0x1ff, verified as linked to 0x17f, stayed verified (a trial: exit 0, "10 verified", forged files)
        final Cli.Ran recent = ingest("data", 511, "--from", "320", "--archive", forged.toString(), "--archive",
                HONEST.toString());
        assertEquals(ExitCode.OK, recent.code(), recent.out());
        // the whole range takes them back and asks for them again: read from the honest mirror
        final Cli.Ran whole = ingest("data", 511, "--archive", forged.toString(), "--archive", HONEST.toString());
        assertEquals(ExitCode.OK, whole.code(), whole.out());
        assertTrue(whole.out().contains("asked for again: ") && whole.out().contains("(0x17f"), whole.out());
        final List<String> sources = new ArrayList<>();
        for (final JsonNode cp : report("data").get("checkpoints")) {
            if (cp.get("checkpoint").asLong() >= 383) {
                sources.add(cp.get("checkpoint").asLong() + " " + cp.get("sources"));
            }
        }
        assertEquals(3, sources.size(), sources::toString);
        for (final String s : sources) {
            assertTrue(s.contains(HONEST.toString()), sources::toString);
        }
    }

    @Test
    void aForgedCheckpointLinkingToTheOneBeforeIsTakenBackWhenOtherSourcesCopiesOfTheOneAfterDoNotLinkToIt()
            throws Exception {
        // a mirror whose 0x13f alone is forged (a close time changed and its ledgers re-chained: it links to 0xff,
        // its last ledger is not the one 0x17f links to): 0x13f was verified and published from it, and 0x17f failed
        // with every source's copy, blamed on the honest mirror too (exit 1)
        final Path one = oneForged("one-forged");
        final Path mirror = tmp.resolve("mirror");
        final Cli.Ran ingest = ingest("data", 511, "--archive", one.toString(), "--archive", HONEST.toString(),
                "--publish-to", mirror.toString());
        assertEquals(ExitCode.OK, ingest.code(), ingest.out());
        assertTrue(ingest.out().contains("asked for again: "), ingest.out());
        assertHonestAndLinked(mirror, 0x1ff);
        // its successor the last checkpoint of the range: the run waits for the take-back (a trial: it ended first,
        // and the forged copy stayed verified and published)
        final Path last = tmp.resolve("last");
        final Cli.Ran toSuccessor = ingest("last", 383, "--archive", one.toString(), "--archive", HONEST.toString(),
                "--publish-to", last.toString());
        assertEquals(ExitCode.OK, toSuccessor.code(), toSuccessor.out());
        assertHonest(last, 0x13f);
        // two sources serving the same copies (two URLs of one archive, or two identical forged mirrors): each
        // contradicts itself, so neither confirms the other's copy of 0x13f, which fails with 0x17f
        final Path copy = oneForged("one-forged-copy");
        final Cli.Ran same = ingest("same", 511, "--archive", one.toString(), "--archive", copy.toString());
        assertEquals(ExitCode.VERIFICATION_FAILED, same.code(), same.out());
        assertEquals(List.of("319 CHAIN_LINK_BROKEN", "383 CHAIN_LINK_BROKEN", "447 CHAIN_LINK_BROKEN",
                "511 CHAIN_LINK_BROKEN"), notVerified("same", "reason"), same::out);
        // and with the honest mirror last, its copy is read (a trial: the two forged mirrors confirmed each other's
        // copy, which was verified and published, and the honest mirror was never read for it)
        final Path three = tmp.resolve("three");
        final Cli.Ran withHonest = ingest("three", 511, "--archive", one.toString(), "--archive", copy.toString(),
                "--archive", HONEST.toString(), "--publish-to", three.toString());
        assertEquals(ExitCode.OK, withHonest.code(), withHonest.out());
        assertHonestAndLinked(three, 0x1ff);
        // the forged mirror alone: the break is that archive's, and 0x17f's failure stands alone
        final Cli.Ran alone = ingest("alone", 511, "--archive", one.toString());
        assertEquals(ExitCode.VERIFICATION_FAILED, alone.code(), alone.out());
        assertEquals(List.of("383 CHAIN_LINK_BROKEN", "447 CHAIN_LINK_BROKEN", "511 CHAIN_LINK_BROKEN"),
                notVerified("alone", "reason"), alone::out);
        assertFalse(alone.out().contains("taken back"), alone.out());
    }

    @Test
    void aForgedSegmentLinkingToTheOneBeforeItIsWalkedBackOneCheckpointAtATime() throws Exception {
        // 0xff and 0x13f forged (a close time in 0xff changed, both re-chained): 0x13f is taken back when the honest
        // 0x17f does not link to it, then 0xff when the honest 0x13f does not link to it (a trial: the forged 0xff
        // stayed verified and published, and every checkpoint after it failed)
        for (final long first : new long[] {0xff, 0x7f}) {
            // and a segment of four, 0x7f..0x13f: walked back one checkpoint at a time
            final Path forged = forgedSegment("forged-from-" + first, first);
            final Path mirror = tmp.resolve("mirror-" + first);
            final Cli.Ran ingest = ingest("data-" + first, 511, "--archive", forged.toString(), "--archive",
                    HONEST.toString(), "--publish-to", mirror.toString());
            assertEquals(ExitCode.OK, ingest.code(), ingest.out());
            assertHonestAndLinked(mirror, 0x1ff);
            // with two identical forged mirrors before the honest one: the second confirmed the first's copy taken
            // back, though its own copy of the successor had been taken back (a trial: the forged segment stayed
            // verified and published, and the honest checkpoints after it failed)
            final Path twin = forgedSegment("twin-from-" + first, first);
            final Path three = tmp.resolve("three-" + first);
            final Cli.Ran withTwin = ingest("three-" + first, 511, "--archive", forged.toString(), "--archive",
                    twin.toString(), "--archive", HONEST.toString(), "--publish-to", three.toString());
            assertEquals(ExitCode.OK, withTwin.code(), withTwin.out());
            assertHonestAndLinked(three, 0x1ff);
        }
    }

    @Test
    void onePassingErrorOfTheHonestMirrorDoesNotLetTheForgedCopyBack() throws Exception {
        // the honest mirror over HTTP answered one 503, for its ledger file of 0x13f: read from the forged mirror
        // instead, that copy was shared with the work reading 0x13f again after the take-back, and the forged mirror
        // stayed the one read first, so every attempt took the forged copy (a trial: exit 1, 0x13f and the 12
        // checkpoints after it failed, the forged files published)
        final Path one = oneForged("one-forged");
        final Path mirror = tmp.resolve("mirror");
        try (FaultyArchiveServer forged = FaultyArchiveServer.start(one);
                FaultyArchiveServer honest = FaultyArchiveServer.start(HONEST)) {
            honest.on(ArchivePaths.checkpointFile(FileType.LEDGER, 0x13f)).status(503);
            final Cli.Ran ingest = ingest("data", 511, "--archive", forged.url(), "--archive", honest.url(),
                    "--publish-to", mirror.toString());
            assertEquals(1, honest.faultsServed(), "the 503 was served");
            assertEquals(ExitCode.OK, ingest.code(), ingest.out());
            assertHonestAndLinked(mirror, 0x1ff);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"LEDGER TRANSACTIONS", "TRANSACTIONS", "RESULTS SCP"})
    void passingErrorsOfTheHonestMirrorWhileAForgedCopyIsReadAgainDoNotLetItBack(final String types)
            throws Exception {
        // two passing errors (each file of 0x13f named answers 503 twice) on the honest mirror while the forged copy
        // taken back was read again (a trial: 6 of 50 runs): the files went on to the forged mirror, whose files mixed
        // with the honest ones failed at once, or the forged mirror became the one read first; the attempts ran out and
        // the forged copy stayed published (exit 1)
        final Path one = oneForged("one-forged");
        final Path mirror = tmp.resolve("mirror");
        try (FaultyArchiveServer forged = FaultyArchiveServer.start(one);
                FaultyArchiveServer honest = FaultyArchiveServer.start(HONEST)) {
            for (final String type : types.split(" ")) {
                honest.on(ArchivePaths.checkpointFile(FileType.valueOf(type), 0x13f)).status(503).times(2);
            }
            final Cli.Ran ingest = ingest("data", 511, "--archive", forged.url(), "--archive", honest.url(),
                    "--publish-to", mirror.toString());
            assertEquals(ExitCode.OK, ingest.code(), ingest.out());
            assertHonestAndLinked(mirror, 0x1ff);
            assertEquals(2 * types.split(" ").length, honest.faultsServed(), "every 503 was served");
        }
    }

    @Test
    void passingErrorsOfTheHonestMirrorAfterTwoIdenticalForgedOnesDoNotLetTheirCopyBack() throws Exception {
        // as above, with a second forged mirror serving the same copy before the honest one: refused as the copy taken
        // back, it was read from the honest mirror next, whose passing errors sent its files back to that forged one
        final Path one = oneForged("one-forged");
        final Path twin = oneForged("twin-forged");
        final Path mirror = tmp.resolve("mirror");
        try (FaultyArchiveServer honest = FaultyArchiveServer.start(HONEST)) {
            for (final FileType type : List.of(FileType.LEDGER, FileType.TRANSACTIONS)) {
                honest.on(ArchivePaths.checkpointFile(type, 0x13f)).status(503).times(2);
            }
            final Cli.Ran ingest = ingest("data", 511, "--archive", one.toString(), "--archive", twin.toString(),
                    "--archive", honest.url(), "--publish-to", mirror.toString());
            assertEquals(ExitCode.OK, ingest.code(), ingest.out());
            assertHonestAndLinked(mirror, 0x1ff);
            assertEquals(4, honest.faultsServed(), "every 503 was served");
        }
    }

    @Test
    void verifyWalksAForgedSegmentBackAsTheChainCheckDoes() throws Exception {
        // the segments above, with the forged mirror first: verify re-read only the checkpoint before a break, so it
        // reported the forged copies before that one verified and failed 0x17f (exit 1)
        for (final long first : new long[] {0x13f, 0xff, 0x7f}) {
            final Path forged = forgedSegment("verify-forged-from-" + first, first);
            final VerifyRun r = VerifyRun.verify(tmp, "--to", "511", "--archive", forged.toString(), "--archive",
                    HONEST.toString());
            r.assertExit(0);
            assertEquals(8, r.summary().get("verified").asInt(), r::describe);
            for (long cp = first; cp <= 0x13f; cp += 64) {
                final JsonNode ledger = VerifyRun.file(r.checkpoint(cp), VerifyRun.path(FileType.LEDGER, cp));
                assertEquals(HONEST.toString(), ledger.get("source").asText(), r::describe);
                assertEquals(forged.toString(), ledger.get("blamed").get(0).asText(), r::describe);
            }
            // alone, the forged mirror fails only where its chain breaks
            final VerifyRun alone = VerifyRun.verify(tmp, "--to", "511", "--archive", forged.toString());
            alone.assertExit(1);
            assertEquals(7, alone.summary().get("verified").asInt(), alone::describe);
            assertEquals("FAILED", alone.checkpoint(0x17f).get("status").asText(), alone::describe);
        }
    }

    @Test
    void aBackfillThatTakesBackCheckpointsAfterItsRangeSaysSoAndFailsAndTheRunItNamesRepairsThem() throws Exception {
        // the mirror whose 0x13f alone is forged. The recent part first, from both mirrors: 0x17f is read from the
        // honest one, on its file of 0x13f. Then the older part: the forged 0x13f links to 0xff and is verified, and
        // the honest 0x17f..0x1ff, which do not link to it, are taken back (a trial: exit 0, with WARN lines only,
        // and `verify` of the published mirror failed)
        final Path one = oneForged("one-forged");
        final Path mirror = tmp.resolve("mirror");
        final String[] both = {"--archive", one.toString(), "--archive", HONEST.toString(), "--publish-to",
                mirror.toString()};
        final Cli.Ran recent = ingest("data", 511, concat(List.of("--from", "320"), both));
        assertEquals(ExitCode.OK, recent.code(), recent.out());
        final Cli.Ran older = ingest("data", 319, both);
        assertEquals(ExitCode.VERIFICATION_FAILED, older.code(), older.out());
        assertTrue(older.out().contains("5 checkpoints: 5 verified, 0 failed"), older.out());
        assertTrue(older.out().contains("warning: 3 checkpoint(s) outside the range, verified earlier, were taken back "
                + "during this run: 0x17f..0x1ff.") && older.out().contains("(--from 320 --to 511), with --archive "
                + one + ", which served checkpoint 319 (0x13f), and a second archive"), older.out());
        final JsonNode warnings = report("data").get("warnings");
        assertEquals(1, warnings.size(), warnings::toString);
        assertTrue(warnings.get(0).asText().startsWith("3 checkpoint(s) outside the range"), warnings::toString);
        final JsonNode summary = report("data").get("summary");
        assertTrue(summary.get("allVerified").asBoolean(), summary::toString);
        assertEquals("[383,447,511]", summary.get("takenBackOutsideRange").toString(), summary::toString);
        // the run it names repairs them: 0x17f's copies from both sources do not link to the forged 0x13f, which is
        // taken back and read from the honest mirror
        final Cli.Ran again = ingest("data", 511, concat(List.of("--from", "320"), both));
        assertEquals(ExitCode.OK, again.code(), again.out());
        assertEquals("[]", report("data").get("summary").get("takenBackOutsideRange").toString());
        assertHonestAndLinked(mirror, 0x1ff);
    }

    private static String[] concat(final List<String> first, final String... rest) {
        final List<String> all = new ArrayList<>(first);
        all.addAll(List.of(rest));
        return all.toArray(String[]::new);
    }

    @Test
    void aCheckpointTakenBackAndFailingWhenAskedForAgainIsFailed() throws Exception {
        // as above, with no honest copy of 0x17f..0x1ff to read when they are asked for again: failed, once each
        final Path partial = honestWithoutTheLedgersOf0x17fTo0x1ff();
        final Path mirror = tmp.resolve("mirror");
        final Cli.Ran recent = ingest("data", 511, "--from", "320", "--archive", forged.toString(), "--archive",
                HONEST.toString(), "--publish-to", mirror.toString());
        assertEquals(ExitCode.OK, recent.code(), recent.out());
        final Cli.Ran whole = ingest("data", 511, "--archive", forged.toString(), "--archive", partial.toString(),
                "--publish-to", mirror.toString());
        assertEquals(ExitCode.VERIFICATION_FAILED, whole.code(), whole.out());
        assertEquals(List.of("383 FAILED", "447 FAILED", "511 FAILED"), notVerified("data", "status"), whole::out);
        // asked for again once each (their second failure is their verdict: OutcomeWatcherTest)
        assertTrue(whole.out().contains("asked for again: "), whole.out());
        // the target keeps the files published by the first run: said (a trial: nothing said it)
        assertTrue(whole.out().contains("warning: 3 checkpoint(s) were taken back during this run after they were "
                + "verified, and are not verified again: 0x17f..0x1ff. The target(s) may hold"), whole.out());
        final String warnings = report("data").get("warnings").toString();
        assertTrue(warnings.contains("taken back during this run after"), warnings);
    }

    @Test
    void checkpointsTakenBackAreNotReplayedAndTheirHonestCopiesReplaceThePublishedOnes() throws Exception {
        // the backfill above, publishing: the recent part's forged copies were published and stayed on the target
        // when taken back, and replay re-emitted and published them (exit 0; verify of its target failed)
        final Path mirror = tmp.resolve("mirror");
        final Cli.Ran recent = ingest("data", 511, "--from", "320", "--archive", forged.toString(), "--archive",
                HONEST.toString(), "--publish-to", mirror.toString());
        assertEquals(ExitCode.OK, recent.code(), recent.out());
        final String ledger17f = ArchivePaths.checkpointFile(FileType.LEDGER, 0x17f);
        assertArrayEquals(Files.readAllBytes(forged.resolve(ledger17f)), Files.readAllBytes(mirror.resolve(ledger17f)));
        // taken back, and asked for again from mirrors that have no honest copy of them: they stay failed
        final Path partial = honestWithoutTheLedgersOf0x17fTo0x1ff();
        final Cli.Ran whole = ingest("data", 511, "--archive", forged.toString(), "--archive", partial.toString());
        assertEquals(ExitCode.VERIFICATION_FAILED, whole.code(), whole.out());

        final Path replayed = tmp.resolve("replayed");
        final Cli.Ran replay = replay("data", 511, replayed);
        assertEquals(ExitCode.VERIFICATION_FAILED, replay.code(), replay.out());
        assertTrue(replay.out().contains("replayed 5 of 8 checkpoints and 319 ledger events"), replay.out());
        assertTrue(replay.out().contains("taken back after they were verified") && replay.out().contains(
                "ingest them again): 3 (0x17f..0x1ff)"), replay.out());
        assertFalse(Files.exists(replayed.resolve(ledger17f)), replay::out);
        // and its report says so, checkpoint by checkpoint (replay had no --report: a trial's script parsed stdout)
        final JsonNode rep = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(tmp.resolve("replay-report.json").toFile());
        final List<String> statuses = new ArrayList<>();
        rep.get("checkpoints").forEach(c -> statuses.add(c.get("hex").asText() + " " + c.get("status").asText()));
        assertEquals(List.of("0x3f REPLAYED", "0x7f REPLAYED", "0xbf REPLAYED", "0xff REPLAYED", "0x13f REPLAYED",
                "0x17f TAKEN_BACK", "0x1bf TAKEN_BACK", "0x1ff TAKEN_BACK"), statuses);
        assertEquals(319, rep.get("summary").get("ledgerEvents").asInt(), rep::toString);
        assertEquals(3, rep.get("summary").get("takenBack").asInt(), rep::toString);
        assertFalse(rep.get("summary").get("allReplayed").asBoolean(), rep::toString);
        assertEquals(5, rep.get("targets").get(0).get("checkpointsConfirmed").asInt(), rep::toString);

        // verified again from the honest mirror: its files are written over the forged ones the target has
        final Cli.Ran again = ingest("data", 511, "--archive", forged.toString(), "--archive", HONEST.toString(),
                "--publish-to", mirror.toString());
        assertEquals(ExitCode.OK, again.code(), again.out());
        assertHonestAndLinked(mirror, 0x1ff);
        // and replayed once, each ledger with the events of the copy verified last (the topic has both copies')
        final Cli.Ran replayAgain = replay("data", 511, replayed);
        assertEquals(ExitCode.OK, replayAgain.code(), replayAgain.out());
        assertTrue(replayAgain.out().contains("replayed 8 of 8 checkpoints and 511 ledger events"), replayAgain.out());
        final JsonNode repAgain = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(tmp.resolve("replay-report.json").toFile());
        assertTrue(repAgain.get("summary").get("allReplayed").asBoolean(), repAgain::toString);
        assertEquals(8, repAgain.get("summary").get("replayed").asInt(), repAgain::toString);
        assertHonestAndLinked(replayed, 0x1ff);
    }

    @Test
    void aCheckpointThatFailedOnlyBecauseItsPredecessorDidIsVerifiedFromAnHonestSourceLater() throws Exception {
        // one attempt: the forged 0xff fails its link and its successors fail with it; a later run from the honest
        // mirror alone failed every checkpoint after 0xbf again, "cannot be checked" (a trial)
        final Cli.Ran first = ingest("data", 383, "--archive", forged.toString(), "--archive", HONEST.toString(),
                "-D", "checkpoint.max.attempts=1");
        assertEquals(ExitCode.VERIFICATION_FAILED, first.code(), first.out());
        final Cli.Ran later = ingest("data", 511, "--from", "256", "--archive", HONEST.toString());
        assertEquals(ExitCode.OK, later.code(), later.out());
    }

    private Cli.Ran ingest(final String data, final long to, final String... args) {
        final List<String> all = new ArrayList<>(List.of("ingest", "--to", Long.toString(to), "--data-dir",
                tmp.resolve(data).toString(), "--http-port", "-1", "--quiet", "--report",
                tmp.resolve(data + ".json").toString(), "-D", "checkpoint.retry.backoff.ms=100"));
        all.addAll(List.of(args));
        if (!all.contains("--from")) {
            all.addAll(List.of("--from", "1"));
        }
        return Cli.run(all.toArray(String[]::new));
    }

    /**
     * A mirror whose 0x13f alone is forged: a close time changed and its ledgers re-chained, so it links to 0xff and
     * its last ledger is not the one 0x17f links to.
     */
    private Path oneForged(final String name) throws Exception {
        return forgedSegment(name, 0x13f);
    }

    /**
     * A mirror whose checkpoints {@code first}..0x13f are forged (a close time in {@code first} changed, and the
     * ledgers re-chained from there): the segment links to the checkpoint before it, and 0x17f does not link to it.
     */
    private Path forgedSegment(final String name, final long first) throws Exception {
        final Path forged = tmp.resolve(name);
        ForgedArchive.ledgersAndTransactionsOf(HONEST, forged, 0x13f).closeTime(first - 5, 1_234_567L).write()
                .copyTheRestFrom(HONEST);
        ForgedArchive.copyCheckpoints(HONEST, forged, 0x17f, 0x1ff);
        return forged;
    }

    /** An honest mirror of 0x3f..0x1ff whose ledger files of 0x17f..0x1ff are missing. */
    private Path honestWithoutTheLedgersOf0x17fTo0x1ff() throws Exception {
        final Path partial = tmp.resolve("partial");
        ForgedArchive.ledgersAndTransactionsOf(HONEST, partial, 0x1ff).write().copyTheRestFrom(HONEST);
        for (long cp = 0x17f; cp <= 0x1ff; cp += 64) {
            Files.delete(partial.resolve(ArchivePaths.checkpointFile(FileType.LEDGER, cp)));
        }
        return partial;
    }

    private Cli.Ran replay(final String data, final long to, final Path target) {
        return Cli.run("replay", "--from", "1", "--to", Long.toString(to), "--ledgers", "--quiet", "--data-dir",
                tmp.resolve(data).toString(), "--http-port", "-1", "--publish-to", target.toString(), "--report",
                tmp.resolve("replay-report.json").toString());
    }

    /** The checkpoints of {@code data}'s report not verified, each as "checkpoint field" (its status or reason). */
    private List<String> notVerified(final String data, final String field) throws Exception {
        final List<String> out = new ArrayList<>();
        for (final JsonNode cp : report(data).get("checkpoints")) {
            if (!cp.get("status").asText().equals("VERIFIED")) {
                out.add(cp.get("checkpoint").asLong() + " " + cp.get(field).asText());
            }
        }
        return out;
    }

    private JsonNode report(final String data) throws Exception {
        return new ObjectMapper().readTree(tmp.resolve(data + ".json").toFile());
    }

    /** The published mirror verifies (its chain links) and holds the honest ledger files of the forged range. */
    private void assertHonestAndLinked(final Path mirror, final long last) throws Exception {
        for (long cp = 0xff; cp <= last; cp += 64) {
            assertHonest(mirror, cp);
        }
        final Cli.Ran verify = Cli.run("verify", "--archive", mirror.toString(), "--quiet");
        assertEquals(ExitCode.OK, verify.code(), verify.out());
        final long n = (last + 1) / 64;
        assertTrue(verify.out().startsWith(n + " checkpoints: " + n + " verified"), verify.out());
    }

    private static void assertHonest(final Path mirror, final long cp) throws Exception {
        final String path = ArchivePaths.checkpointFile(FileType.LEDGER, cp);
        final List<byte[]> published = XdrFiles.records(Files.readAllBytes(mirror.resolve(path)));
        final List<byte[]> expected = XdrFiles.records(Files.readAllBytes(HONEST.resolve(path)));
        assertEquals(expected.size(), published.size(), path);
        for (int i = 0; i < expected.size(); i++) {
            assertArrayEquals(expected.get(i), published.get(i), path + " header " + i);
        }
    }
}
