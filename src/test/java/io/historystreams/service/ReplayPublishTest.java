package io.historystreams.service;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.Checkpoint;
import io.historystreams.archive.FileType;
import io.historystreams.cli.Main;
import io.historystreams.publish.PublishRunner;
import io.historystreams.testing.Fixtures;
import io.historystreams.testing.Logs;
import io.historystreams.verify.Hash;
import io.historystreams.verify.HistoryArchiveState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code replay --publish-to} against a real broker, after a real {@code ingest} of more than the replayed range: the
 * target gets the range's checkpoints and nothing else (the publish runner reads the whole topic), its root names
 * the range's last checkpoint, and stopping the runner is not reported as a failed commit.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ReplayPublishTest extends WithEmbeddedBroker {
    private static final String APP = "replaypub";

    @TempDir
    Path dir;

    private String[] command(final String name, final String... more) {
        return commandOf(APP, name, more);
    }

    /** A command of application {@code app}, on topics of its own (the tests' verified checkpoints do not mix). */
    private String[] commandOf(final String app, final String name, final String... more) {
        final List<String> a = new ArrayList<>(List.of(name, "--bootstrap-servers", broker.bootstrapServers(),
                "--application-id", app, "-D", "topic.prefix=" + app + ".", "--data-dir", dir.resolve("data").toString(),
                "--http-port", "-1", "--schema-registry-url", "mock://" + app, "--quiet"));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    @Test
    void replayPublishesExactlyItsRangeAndAWiderReplayStillFindsWhatTheFirstPassedOver() throws Exception {
        final Path source = Fixtures.testnetSmall();
        // eleven checkpoints verified (0x3f..0x2bf), none published
        assertEquals(0, Main.run(command("ingest", "--archive", source.toString(), "--from", "1", "--to", "700")));

        // a target that cannot be used is refused before anything is replayed (it was after the re-emitting)
        final StringWriter refused = new StringWriter();
        try (PrintWriter w = new PrintWriter(refused, true)) {
            assertEquals(2, Main.run(w, w, command("replay", "--from", "1", "--to", "127", "--publish-to",
                    "s3://bucket/x")), refused.toString());
        }
        assertTrue(refused.toString().contains("unsupported publish target scheme"), refused.toString());
        assertFalse(refused.toString().contains("replayed"), refused.toString());

        final Path target = dir.resolve("mirror");
        final List<ILoggingEvent> logged = Logs.during(PublishRunner.class, () -> {
            // 0x7f..0xff: neither the checkpoint before the range (first in the topic's order) nor any after it
            replay(target, "64", "200");
            assertEquals(expectedFiles(source, Checkpoint.range(64, 200)), files(target));
            assertEquals(0xffL, rootLedger(target));

            // the first replay committed nothing past 0x3f, which it read but did not publish: a replay of the whole
            // range (or an ingest to the same target) still publishes it
            replay(target, "1", "700");
            assertEquals(expectedFiles(source, Checkpoint.range(1, 700)), files(target));
            assertEquals(0x2bfL, rootLedger(target));

            // the target emptied (a new disk, a mirror rebuilt): a replay publishes its range again, whatever was
            // published to the target before
            deleteTree(target);
            replay(target, "64", "200");
            assertEquals(expectedFiles(source, Checkpoint.range(64, 200)), files(target));
        });
        assertEquals(List.of(), logged.stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.WARN))
                .map(ILoggingEvent::getFormattedMessage).toList(), "a stop on purpose is no failure");
    }

    /**
     * A target new to a data dir gets everything verified there, and the command waits for all of it, not only its
     * range (a trial: an ingest of 2 checkpoints to a new mirror, on a data dir that verified 157, ended with its range
     * published; the mirror got 33 or 35 checkpoints, as timing had it, and the report's rootLedger was stale).
     */
    @Test
    void aNewTargetGetsEverythingTheDataDirVerifiedBeforeTheCommandEnds() throws Exception {
        final Path source = Fixtures.testnetSmall();
        assertEquals(0, Main.run(commandOf("newtarget", "ingest", "--archive", source.toString(), "--from", "1",
                "--to", "1023")));
        final Path target = dir.resolve("new-mirror");
        final Path report = dir.resolve("new-mirror.json");
        final StringWriter said = new StringWriter();
        try (PrintWriter w = new PrintWriter(said, true)) {
            assertEquals(0, Main.run(w, w, commandOf("newtarget", "ingest", "--archive", source.toString(), "--from",
                    "1", "--to", "100", "--publish-to", target.toString(), "--report", report.toString())),
                    said.toString());
        }
        assertEquals(expectedFiles(source, Checkpoint.range(1, 1023)), files(target));
        assertEquals(0x3ffL, rootLedger(target));
        com.fasterxml.jackson.databind.JsonNode t = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(report.toFile()).get("targets").get(0);
        assertTrue(t.get("complete").asBoolean(), t::toString);
        assertEquals(16, t.get("checkpointsToPublish").asInt(), t::toString);
        assertEquals(16, t.get("checkpointsConfirmed").asInt(), t::toString);
        assertEquals(0x3ff, t.get("rootLedger").asInt(), t::toString);
        // the same target again: no longer new, its range is what it is to publish
        assertEquals(0, Main.run(commandOf("newtarget", "ingest", "--archive", source.toString(), "--from", "1",
                "--to", "100", "--publish-to", target.toString(), "--report", report.toString())));
        t = new com.fasterxml.jackson.databind.ObjectMapper().readTree(report.toFile()).get("targets").get(0);
        assertTrue(t.get("complete").asBoolean(), t::toString);
        assertEquals(2, t.get("checkpointsToPublish").asInt(), t::toString);
        assertEquals(0x3ff, t.get("rootLedger").asInt(), t::toString);
    }

    /**
     * A damaged mirror is repaired from verified bytes by {@code replay --rewrite}: the files it has are otherwise
     * skipped unchecked, and a damaged state file was refused as another archive's (a trial found no way to repair a
     * mirror short of deleting what {@code verify} named).
     */
    @Test
    void replayRewriteRepairsADamagedMirror() throws Exception {
        final Path source = Fixtures.testnetSmall();
        final Path target = dir.resolve("damaged");
        assertEquals(0, Main.run(commandOf("rewrite", "ingest", "--archive", source.toString(), "--from", "1", "--to",
                "255", "--publish-to", target.toString())));
        final String has = ArchivePaths.has(0x7f);
        final String ledger = ArchivePaths.checkpointFile(FileType.LEDGER, 0xbf);
        final String bucket = ArchivePaths.bucket(HistoryArchiveState.parse(Files.readAllBytes(source.resolve(has)),
                has).buckets().iterator().next().hex());
        // replaced, not written in place: the mirror's files may be hard links to the data dir's verified copies
        for (final String f : List.of(ledger, bucket)) {
            Files.delete(target.resolve(f));
            Files.write(target.resolve(f), new byte[] {1, 2, 3});
        }
        final String otherBucket = "0".repeat(64);
        final String damagedHas = Files.readString(source.resolve(has)).replaceFirst("\"curr\": \"[0-9a-f]{64}\"",
                "\"curr\": \"" + otherBucket + "\"");
        assertFalse(damagedHas.equals(Files.readString(source.resolve(has))), "the state file is changed");
        Files.delete(target.resolve(has));
        Files.writeString(target.resolve(has), damagedHas);

        final StringWriter refused = new StringWriter();
        try (PrintWriter w = new PrintWriter(refused, true)) {
            assertEquals(1, Main.run(w, w, commandOf("rewrite", "replay", "--from", "1", "--to", "255",
                    "--publish-to", target.toString(), "-D", "publish.give.up.seconds=5")), refused.toString());
        }
        assertTrue(refused.toString().contains("or that file is damaged; refusing to publish into it (`replay "
                + "--rewrite` puts the verified files over what a damaged mirror has)"), refused.toString());

        final StringWriter said = new StringWriter();
        try (PrintWriter w = new PrintWriter(said, true)) {
            assertEquals(0, Main.run(w, w, commandOf("rewrite", "replay", "--from", "1", "--to", "255",
                    "--publish-to", target.toString(), "--rewrite")), said.toString());
        }
        assertEquals(expectedFiles(source, Checkpoint.range(1, 255)), files(target));
        for (final String f : files(target)) {
            if (!f.equals(ArchivePaths.WELL_KNOWN)) {
                assertTrue(java.util.Arrays.equals(Files.readAllBytes(source.resolve(f)),
                        Files.readAllBytes(target.resolve(f))), f);
            }
        }
        // --rewrite without a target: refused
        final StringWriter alone = new StringWriter();
        try (PrintWriter w = new PrintWriter(alone, true)) {
            assertEquals(2, Main.run(w, w, commandOf("rewrite", "replay", "--from", "1", "--to", "255",
                    "--rewrite")), alone.toString());
        }
        assertTrue(alone.toString().contains("error: --rewrite puts the files over those of the --publish-to targets"),
                alone.toString());
    }

    @Test
    void anIngestAboveWhatAMirrorHoldsLeavesItsRootStateAndSaysWhy() throws Exception {
        // a trial: ingest 1..3000, then 6000..10047, into one mirror: its root named 10047 over the 46 checkpoints it
        // lacked, with exit 0 and a report that said complete
        final Path source = Fixtures.testnetSmall();
        final Path target = dir.resolve("above");
        assertEquals(0, Main.run(commandOf("above", "ingest", "--archive", source.toString(), "--from", "1", "--to", "200",
                "--publish-to", target.toString())));
        assertEquals(0xffL, rootLedger(target));
        final Path report = dir.resolve("above.json");
        final StringWriter said = new StringWriter();
        try (PrintWriter w = new PrintWriter(said, true)) {
            assertEquals(1, Main.run(w, w, commandOf("above", "ingest", "--archive", source.toString(), "--from", "500", "--to",
                    "700", "--publish-to", target.toString(), "--report", report.toString())), said.toString());
        }
        assertEquals(0xffL, rootLedger(target), "0x13f..0x1bf are not on the target");
        assertTrue(said.toString().contains("error: " + target + ": the root state stays at checkpoint 000000ff: the "
                + "target lacks checkpoint 0000013f below this run's range (from 000001ff), which the run did not "
                + "publish"), said.toString());
        final com.fasterxml.jackson.databind.JsonNode t = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(report.toFile()).get("targets").get(0);
        assertFalse(t.get("complete").asBoolean(), t.toString());
        assertFalse(t.get("rootWritten").asBoolean(), t.toString());
        assertEquals(4, t.get("checkpointsConfirmed").asInt(), t.toString());
        // the checkpoints between published, the root moves over everything
        assertEquals(0, Main.run(commandOf("above", "ingest", "--archive", source.toString(), "--from", "1", "--to", "700",
                "--publish-to", target.toString())));
        assertEquals(0x2bfL, rootLedger(target));
        assertEquals(expectedFiles(source, Checkpoint.range(1, 700)), files(target));
    }

    /**
     * A mirror made from mid-history ({@code ingest --from} or {@code tail --from} with {@code --publish-to}) holds
     * nothing of the checkpoint before its first: {@code verify} and {@code ingest} of it from there verify it, its
     * first link not checked (ARCHIVE_START). Before, both failed that first checkpoint on the absent ledger file of
     * its predecessor, exit 1 (a trial).
     */
    @Test
    void aMirrorMadeFromMidHistoryIsVerifiedAndIngestedFromItsStart() throws Exception {
        final Path target = dir.resolve("mid");
        assertEquals(0, Main.run(commandOf("mid", "ingest", "--archive", Fixtures.testnetSmall().toString(), "--from",
                "4000", "--to", "4300", "--publish-to", target.toString())));
        assertEquals(0x10ffL, rootLedger(target));
        assertFalse(Files.exists(target.resolve(ArchivePaths.checkpointFile(FileType.LEDGER, 0xf7f))));

        final StringWriter verified = new StringWriter();
        try (PrintWriter w = new PrintWriter(verified, true)) {
            assertEquals(0, Main.run(w, w, "verify", "--archive", target.toString(), "--from", "4000", "--quiet"),
                    verified.toString());
        }
        assertTrue(verified.toString().contains("note: checkpoint 4031 (0xfbf): the archive holds no checkpoint 3967 "
                + "(0xf7f)"), verified.toString());
        assertTrue(verified.toString().contains("6 checkpoints: 6 verified"), verified.toString());

        final Path report = dir.resolve("mid.json");
        final StringWriter ingested = new StringWriter();
        try (PrintWriter w = new PrintWriter(ingested, true)) {
            assertEquals(0, Main.run(w, w, commandOf("midcopy", "ingest", "--archive", target.toString(), "--from",
                    "4000", "--report", report.toString())), ingested.toString());
        }
        final com.fasterxml.jackson.databind.JsonNode r = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(report.toFile());
        assertTrue(r.get("summary").get("allVerified").asBoolean(), r::toString);
        final List<String> links = new ArrayList<>();
        r.get("checkpoints").forEach(c -> links.add(c.get("chainLink").asText()));
        assertEquals(List.of("ARCHIVE_START", "VERIFIED", "VERIFIED", "VERIFIED", "VERIFIED", "VERIFIED"), links);
        assertTrue(ingested.toString().contains("note: checkpoint 4031 (0xfbf) is verified as the archive's start: "
                + "when it was verified, no source held checkpoint 3967 (0xf7f), and its link to it is not checked"),
                ingested.toString());

        // said by the run that verified it: a later one cannot tell whether the checkpoint before was verified since
        // (a trial: the note said no source held a checkpoint backfilled in between)
        final StringWriter again = new StringWriter();
        try (PrintWriter w = new PrintWriter(again, true)) {
            assertEquals(0, Main.run(w, w, commandOf("midcopy", "ingest", "--archive", target.toString(), "--from",
                    "4000", "--to", "4100")), again.toString());
        }
        assertFalse(again.toString().contains("note: checkpoint"), again.toString());

        // the checkpoint before, verified later from the whole archive: the link is checked then, and the report says
        // so (a trial: the note still said no source held it)
        final Path later = dir.resolve("mid-later.json");
        final StringWriter backfilled = new StringWriter();
        try (PrintWriter w = new PrintWriter(backfilled, true)) {
            assertEquals(0, Main.run(w, w, commandOf("midcopy", "ingest", "--archive",
                    Fixtures.testnetSmall().toString(), "--archive", target.toString(), "--from", "3900", "--to",
                    "4031", "--report",
                    later.toString())), backfilled.toString());
        }
        final List<String> linked = new ArrayList<>();
        new com.fasterxml.jackson.databind.ObjectMapper().readTree(later.toFile()).get("checkpoints")
                .forEach(c -> linked.add(c.get("checkpoint").asText() + " " + c.get("chainLink").asText()));
        assertEquals(List.of("3903 VERIFIED", "3967 VERIFIED", "4031 VERIFIED"), linked);
        assertFalse(backfilled.toString().contains("note: checkpoint"), backfilled.toString());
    }

    /**
     * A range from below an archive's start: the checkpoints it lacks fail, the archive's first checkpoint is verified
     * as its start (asked for without its predecessor), and a new mirror starts there. Before, that checkpoint failed
     * too, as its predecessor was asked for, and nothing said where the archive starts (a trial's tail retried it for
     * good).
     */
    @Test
    void anIngestFromBelowAnArchivesStartSaysWhereItStartsAndVerifiesItsFirstCheckpoint() throws Exception {
        final Path mid = dir.resolve("start");
        assertEquals(0, Main.run(commandOf("start", "ingest", "--archive", Fixtures.testnetSmall().toString(),
                "--from", "4000", "--to", "4300", "--publish-to", mid.toString())));
        final Path copy = dir.resolve("start-copy");
        final Path report = dir.resolve("start.json");
        final StringWriter said = new StringWriter();
        try (PrintWriter w = new PrintWriter(said, true)) {
            assertEquals(1, Main.run(w, w, commandOf("startbelow", "ingest", "--archive", mid.toString(), "--from",
                    "3800", "--to", "4300", "--publish-to", copy.toString(), "--report", report.toString(), "-D",
                    "checkpoint.max.attempts=1")), said.toString());
        }
        assertTrue(said.toString().contains("warning: the archive holds no checkpoint 3839 (0xeff), the first of the "
                + "range: it starts at 4031 (0xfbf), the lowest checkpoint of the range of which it holds the state file "
                + "or the ledger file. The checkpoints below it fail as missing, and it is verified as the archive's start (its link to the "
                + "checkpoint before is not checked); --from 3968 starts there"), said.toString());
        final com.fasterxml.jackson.databind.JsonNode r = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(report.toFile());
        final List<String> outcomes = new ArrayList<>();
        r.get("checkpoints").forEach(c -> outcomes.add(c.get("checkpoint").asText() + " " + c.get("status").asText()
                + (c.has("chainLink") ? " " + c.get("chainLink").asText() : "")));
        assertEquals(List.of("3839 FAILED", "3903 FAILED", "3967 FAILED", "4031 VERIFIED ARCHIVE_START",
                "4095 VERIFIED VERIFIED", "4159 VERIFIED VERIFIED", "4223 VERIFIED VERIFIED", "4287 VERIFIED VERIFIED",
                "4351 VERIFIED VERIFIED"), outcomes);
        // the new mirror starts at the archive's start, and is whole from there
        assertTrue(r.get("targets").get(0).get("complete").asBoolean(), r.get("targets").toString());
        assertEquals(0x10ffL, rootLedger(copy));
        final StringWriter verified = new StringWriter();
        try (PrintWriter w = new PrintWriter(verified, true)) {
            assertEquals(0, Main.run(w, w, "verify", "--archive", copy.toString(), "--from", "3968", "--quiet"),
                    verified.toString());
        }
        // replayed to a new target, the same range starts it at the archive's start too (a trial: replay warned that
        // the target lacked the checkpoints below it, and its root state moved over them)
        final Path replayed = dir.resolve("start-replayed");
        final List<ILoggingEvent> replayLog = Logs.during(io.historystreams.publish.CheckpointPublisher.class,
                () -> assertEquals(1, Main.run(commandOf("startbelow", "replay", "--from", "3800", "--to", "4300",
                        "--publish-to", replayed.toString()))));
        assertEquals(files(copy), files(replayed));
        assertEquals(0x10ffL, rootLedger(replayed));
        assertTrue(replayLog.stream().noneMatch(e -> e.getLevel() == Level.WARN), () -> replayLog.stream()
                .map(ILoggingEvent::getFormattedMessage).toList().toString());

        // a range the archive holds nothing of: said too, with where the archive starts (nothing was: a trial)
        final String after = "the archive holds none of the range (checkpoints 3839..3967, 0xeff..0xf7f): the first "
                + "checkpoint after it whose state file it holds, up to its current ledger, is 4031 (0xfbf) (its start, "
                + "or the end of a gap); --from 3968 starts there";
        // on a pipeline that verified nothing: nothing to publish, and the new target is not reported complete (a
        // trial: complete, its root "written")
        final Path empty = dir.resolve("start-empty");
        final Path emptyReport = dir.resolve("start-empty.json");
        final String none = ingestBelowTheStart("startnone", mid, empty, emptyReport);
        assertTrue(none.contains("warning: " + after), none);
        assertTrue(none.contains("0 verified, 3 failed, 0 given up; 0 ledgers verified")
                && none.contains("; nothing to publish"), none);
        final com.fasterxml.jackson.databind.JsonNode emptyJson = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(emptyReport.toFile());
        final com.fasterxml.jackson.databind.JsonNode target = emptyJson.get("targets").get(0);
        assertFalse(target.get("complete").asBoolean(), target::toString);
        assertFalse(target.get("rootWritten").asBoolean(), target::toString);
        assertEquals("no checkpoint of the range was verified: nothing was published to it",
                target.get("error").asText(), target::toString);
        assertFalse(emptyJson.get("summary").get("published").asBoolean(), emptyJson::toString);
        assertFalse(Files.exists(empty), "an empty target directory is not left behind");
        // so does a replay of it (a trial: "publishing INCOMPLETE (see above)", with nothing above)
        final StringWriter replayedNone = new StringWriter();
        try (PrintWriter w = new PrintWriter(replayedNone, true)) {
            assertEquals(1, Main.run(w, w, commandOf("startnone", "replay", "--from", "3800", "--to", "3967",
                    "--publish-to", empty.toString())), replayedNone.toString());
        }
        assertTrue(replayedNone.toString().contains("nothing to publish: no checkpoint of the range is verified in the "
                + "topics") && !replayedNone.toString().contains("INCOMPLETE"), replayedNone.toString());
        assertFalse(Files.exists(empty), "an empty target directory is not left behind");
        // on the pipeline that verified the archive from its start: a new target gets what it verified, and its root
        // state (a trial: published without a root state, and the run said nothing was)
        final Path earlier = dir.resolve("start-earlier");
        final Path earlierReport = dir.resolve("start-earlier.json");
        final String before = ingestBelowTheStart("startbelow", mid, earlier, earlierReport);
        assertTrue(before.contains("; none of the range verified; what this data dir verified before published to 1 "
                + "target(s)"), before);
        assertEquals(files(copy), files(earlier));
        assertEquals(0x10ffL, rootLedger(earlier));
        final com.fasterxml.jackson.databind.JsonNode earlierTarget = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(earlierReport.toFile()).get("targets").get(0);
        assertTrue(earlierTarget.get("complete").asBoolean(), earlierTarget::toString);
        assertTrue(earlierTarget.get("rootWritten").asBoolean(), earlierTarget::toString);
        // counted in what it was given: the six verified (a trial: complete with 0 of 0 checkpoints confirmed)
        assertEquals(6, earlierTarget.get("checkpointsToPublish").asInt(), earlierTarget::toString);
        assertEquals(6, earlierTarget.get("checkpointsConfirmed").asInt(), earlierTarget::toString);
        final StringWriter noneVerified = new StringWriter();
        try (PrintWriter w = new PrintWriter(noneVerified, true)) {
            assertEquals(1, Main.run(w, w, "verify", "--archive", mid.toString(), "--from", "3800", "--to", "3967",
                    "--quiet"), noneVerified.toString());
        }
        assertTrue(noneVerified.toString().contains("note: " + after), noneVerified.toString());
    }

    /**
     * With no {@code --from}, {@code ingest} and {@code verify} of an archive that starts mid-history (a validator's
     * own archive) start at its start. Before, they asked for every checkpoint from ledger 1, each failing as missing,
     * three attempts each for {@code ingest}: hours, for pubnet, for an exit 1.
     */
    @Test
    void withNoFromAnArchiveThatStartsMidHistoryIsTakenFromItsStart() throws Exception {
        final Path mid = dir.resolve("validator");
        assertEquals(0, Main.run(commandOf("validator", "ingest", "--archive", Fixtures.testnetSmall().toString(),
                "--from", "4000", "--to", "4300", "--publish-to", mid.toString())));
        final String note = "note: the archive holds no checkpoint 63 (0x3f), the first of the range (no --from): it "
                + "starts at 4031 (0xfbf), the lowest checkpoint of the range of which it holds the state file or the "
                + "ledger file. The range starts there, and it is verified as the archive's start (its link to the checkpoint before is not "
                + "checked); --from 1 asks for every checkpoint below it (those the archive lacks fail as missing: "
                + "checkpoints held below a gap that the probes missed would be verified there)";
        final Path report = dir.resolve("validator.json");
        final StringWriter said = new StringWriter();
        try (PrintWriter w = new PrintWriter(said, true)) {
            assertEquals(0, Main.run(w, w, commandOf("fromvalidator", "ingest", "--archive", mid.toString(),
                    "--report", report.toString())), said.toString());
        }
        assertTrue(said.toString().contains(note), said.toString());
        final com.fasterxml.jackson.databind.JsonNode r = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(report.toFile());
        final List<String> outcomes = new ArrayList<>();
        r.get("checkpoints").forEach(c -> outcomes.add(c.get("checkpoint").asText() + " " + c.get("chainLink")
                .asText()));
        assertEquals(List.of("4031 ARCHIVE_START", "4095 VERIFIED", "4159 VERIFIED", "4223 VERIFIED", "4287 VERIFIED",
                "4351 VERIFIED"), outcomes);
        assertEquals(note.substring("note: ".length()), r.get("notes").get(0).asText(), r::toString);
        assertEquals(0, r.get("warnings").size(), r::toString);

        final StringWriter verified = new StringWriter();
        try (PrintWriter w = new PrintWriter(verified, true)) {
            assertEquals(0, Main.run(w, w, "verify", "--archive", mid.toString(), "--quiet"), verified.toString());
        }
        assertTrue(verified.toString().contains(note), verified.toString());
        assertTrue(verified.toString().contains("6 checkpoints: 6 verified"), verified.toString());
    }

    /** {@code ingest} of checkpoints 3839..3967 of {@code archive}, which starts after them, in pipeline {@code app}. */
    private String ingestBelowTheStart(final String app, final Path archive, final Path target, final Path report) {
        final StringWriter said = new StringWriter();
        try (PrintWriter w = new PrintWriter(said, true)) {
            assertEquals(1, Main.run(w, w, commandOf(app, "ingest", "--archive", archive.toString(), "--from", "3800",
                    "--to", "3967", "-D", "checkpoint.max.attempts=1", "--publish-to", target.toString(), "--report",
                    report.toString())), said.toString());
        }
        return said.toString();
    }

    @Test
    void anIngestToATargetThatWasEmptiedPublishesEverythingToItAgain() throws Exception {
        final Path source = Fixtures.testnetSmall();
        final Path target = dir.resolve("mirror");
        final List<Long> range = Checkpoint.range(1, 300);
        assertEquals(0, Main.run(command("ingest", "--archive", source.toString(), "--from", "1", "--to", "300",
                "--publish-to", target.toString())));
        assertEquals(expectedFiles(source, range), files(target));

        // the same command after the mirror was deleted: the target's group is past every checkpoint, but the
        // target has no root state, so the group starts again from the beginning (before: exit 0, nothing written)
        deleteTree(target);
        final List<ILoggingEvent> logged = Logs.during(PublishRunner.class, () -> assertEquals(0,
                Main.run(command("ingest", "--archive", source.toString(), "--from", "1", "--to", "300",
                        "--publish-to", target.toString()))));
        assertEquals(expectedFiles(source, range), files(target));
        assertEquals(0x13fL, rootLedger(target));
        assertEquals(1, logged.stream().filter(e -> e.getLevel() == Level.WARN
                && e.getFormattedMessage().contains("has no root state")
                && e.getFormattedMessage().contains("published to it again")).count(),
                () -> logged.stream().map(ILoggingEvent::getFormattedMessage).toList().toString());
    }

    @Test
    void anIngestWithNothingNewStillBringsAnEmptiedTargetUpToDateAndCountsWhatItGaveIt() throws Exception {
        // a trial's cron job: an emptied mirror stayed empty while --from was past the archive's end ("nothing to
        // do", exit 0), and one refilled by a range of one checkpoint was reported 81 of 81 for 157 published
        final Path source = Fixtures.testnetSmall();
        final Path target = dir.resolve("cron-mirror");
        assertEquals(0, Main.run(commandOf("cron", "ingest", "--archive", source.toString(), "--from", "9000",
                "--publish-to", target.toString())));
        final List<Long> range = Checkpoint.range(8960, 10047);
        assertEquals(expectedFiles(source, range), files(target));
        deleteTree(target);
        final Path report = dir.resolve("cron.json");
        final StringWriter said = new StringWriter();
        try (PrintWriter w = new PrintWriter(said, true)) {
            assertEquals(0, Main.run(w, w, commandOf("cron", "ingest", "--archive", source.toString(), "--from",
                    "10048", "--publish-to", target.toString(), "--report", report.toString())), said.toString());
        }
        assertTrue(said.toString().contains("note: nothing new: --from 10048 is past the archive's current ledger "
                + "10047; with --publish-to, its last checkpoint (0x273f) is the range"), said.toString());
        assertEquals(expectedFiles(source, range), files(target));
        assertEquals(0x273fL, rootLedger(target));
        final com.fasterxml.jackson.databind.JsonNode rep = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(report.toFile());
        assertEquals(9984, rep.get("fromLedger").asLong(), rep::toString);
        assertEquals(10047, rep.get("toLedger").asLong(), rep::toString);
        final com.fasterxml.jackson.databind.JsonNode t = rep.get("targets").get(0);
        assertEquals(range.size(), t.get("checkpointsToPublish").asInt(), t::toString);
        assertEquals(range.size(), t.get("checkpointsConfirmed").asInt(), t::toString);
        assertTrue(t.get("complete").asBoolean(), t::toString);
    }

    @Test
    void anIngestGivesUpOnATargetThatKeepsFailingInsteadOfWaitingForIt() throws Exception {
        // a regular file where the target's ledger/ directory must go: every checkpoint fails to publish, for good
        final Path target = Files.createDirectories(dir.resolve("blocked"));
        Files.writeString(target.resolve("ledger"), "not a directory");
        // next to a target that works: one that fails does not hold it back (the wait used to end at the first
        // failure, leaving the other without its last checkpoints and its root state)
        final Path good = dir.resolve("good");
        final Path report = dir.resolve("report.json");
        final StringWriter said = new StringWriter();
        final long start = System.nanoTime();
        final List<String> warned;
        try (PrintWriter w = new PrintWriter(said, true)) {
            warned = io.historystreams.testing.Logs.during(io.historystreams.publish.PublishRunner.class,
                    () -> assertEquals(1, Main.run(w, w, command("ingest", "--archive",
                            Fixtures.testnetSmall().toString(), "--from", "1", "--to", "200", "--publish-to",
                            target.toString(), "--publish-to", good.toString(), "--report", report.toString(), "-D",
                            "publish.give.up.seconds=120")), said.toString()))
                    .stream().filter(e -> e.getLevel() == ch.qos.logback.classic.Level.WARN)
                    .map(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage).toList();
        }
        // the runner's line does not promise a retry the command will not wait for ("trying again in 60000 ms")
        assertTrue(warned.stream().anyMatch(l -> l.matches("(?s)publishing checkpoint \\d+ to " + java.util.regex.Pattern
                .quote(target.toString()) + " failed \\(attempt 1, needs attention: not a transient error\\); `run` "
                + "and `tail` try again every 60 s until it is fixed, `ingest` and `replay` stop waiting for this "
                + "target: .*")), warned.toString());
        assertTrue(warned.stream().noneMatch(l -> l.contains("trying again in")), warned.toString());
        assertEquals(expectedFiles(Fixtures.testnetSmall(), Checkpoint.range(1, 200)), files(good));
        assertEquals(0xffL, rootLedger(good));
        final com.fasterxml.jackson.databind.JsonNode targets = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(report.toFile()).get("targets");
        assertEquals(2, targets.size(), targets.toString());
        assertEquals(target.toString(), targets.get(0).get("target").asText(), targets.toString());
        assertFalse(targets.get(0).get("complete").asBoolean(), targets.toString());
        assertEquals(0, targets.get(0).get("checkpointsConfirmed").asInt(), targets.toString());
        assertEquals(4, targets.get(0).get("checkpointsToPublish").asInt(), targets.toString());
        assertTrue(targets.get(0).get("error").asText().contains("Not a directory"), targets.toString());
        assertEquals(good.toString(), targets.get(1).get("target").asText(), targets.toString());
        assertTrue(targets.get(1).get("complete").asBoolean(), targets.toString());
        assertEquals(4, targets.get(1).get("checkpointsConfirmed").asInt(), targets.toString());
        assertTrue(targets.get(1).get("rootWritten").asBoolean(), targets.toString());
        assertFalse(targets.get(1).has("error"), targets.toString());
        // what each target's root state names at the end (a trial: a given-up target's root had moved, which
        // rootWritten false did not say); the blocked one has none
        assertEquals(0xff, targets.get(1).get("rootLedger").asLong(), targets.toString());
        assertFalse(targets.get(0).has("rootLedger"), targets.toString());
        // a failure retrying cannot fix ends the wait at once, not after publish.give.up.seconds (it was retried for
        // all of them)
        final long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);
        assertTrue(seconds < 60, "took " + seconds + " s: " + said);
        final String out = said.toString();
        assertTrue(out.contains("error: publishing to " + target + " failed in a way retrying cannot fix: "), out);
        assertTrue(out.contains("Not a directory"), out);
        assertTrue(out.contains("0/4 checkpoints confirmed published"), out);

        // a failure retrying may fix (a WebDAV server that refuses connections) is waited for give.up.seconds
        final int refused;
        try (java.net.ServerSocket sock = new java.net.ServerSocket(0)) {
            refused = sock.getLocalPort();
        }
        final StringWriter down = new StringWriter();
        try (PrintWriter w = new PrintWriter(down, true)) {
            assertEquals(1, Main.run(w, w, command("ingest", "--archive", Fixtures.testnetSmall().toString(), "--from",
                    "1", "--to", "200", "--publish-to", "http://127.0.0.1:" + refused + "/dav/", "-D",
                    "publish.give.up.seconds=3", "-D", "publish.retries=1")), down.toString());
        }
        assertTrue(down.toString().contains("has failed for ") && down.toString().contains(
                "(publish.give.up.seconds=3); last: "), down.toString());
        assertTrue(out.contains("4 checkpoints: 4 verified") && out.contains("(INCOMPLETE)"), out);
    }

    @Test
    void aReplayToATargetItCannotWriteSaysWhyOnItsSummaryLine() throws Exception {
        // a trial: "publishing INCOMPLETE (see above)", with the reason on the other stream
        assertEquals(0, Main.run(commandOf("replaybad", "ingest", "--archive", Fixtures.pubnetGenesis().toString())));
        final Path target = dir.resolve("blocked");
        Files.createDirectories(target);
        Files.writeString(target.resolve("history"), "a file where the target's history/ directory must be");
        final StringWriter said = new StringWriter();
        final StringWriter out = new StringWriter();
        try (PrintWriter o = new PrintWriter(out, true); PrintWriter e = new PrintWriter(said, true)) {
            assertEquals(1, Main.run(o, e, commandOf("replaybad", "replay", "--from", "1", "--to", "127",
                    "--publish-to", target.toString())), out + "\n" + said);
        }
        final String line = out.toString().lines().filter(l -> l.startsWith("publishing INCOMPLETE")).findFirst()
                .orElseThrow(() -> new AssertionError(out.toString()));
        assertTrue(line.startsWith("publishing INCOMPLETE: " + target + ": publishing to " + target + " failed in a "
                + "way retrying cannot fix: "), line);
    }

    private static void deleteTree(final Path root) throws Exception {
        try (var s = Files.walk(root)) {
            for (final Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    private void replay(final Path target, final String from, final String to) {
        final StringWriter said = new StringWriter();
        try (PrintWriter w = new PrintWriter(said, true)) {
            assertEquals(0, Main.run(w, w, command("replay", "--from", from, "--to", to, "--publish-to",
                    target.toString())), said.toString());
        }
        // its summary said nothing of the publishing that succeeded
        assertTrue(said.toString().matches("(?s).*published the \\d+ checkpoint\\(s\\) to 1 target\\(s\\).*"),
                said.toString());
    }

    /** The source's files of {@code checkpoints}: their own files, the buckets their HAS names, and the root. */
    private static Set<String> expectedFiles(final Path source, final List<Long> checkpoints) throws Exception {
        final Set<String> out = new TreeSet<>();
        out.add(ArchivePaths.WELL_KNOWN);
        for (final long cp : checkpoints) {
            for (final FileType type : FileType.values()) {
                if (type != FileType.BUCKET && Files.exists(source.resolve(ArchivePaths.checkpointFile(type, cp)))) {
                    out.add(ArchivePaths.checkpointFile(type, cp));
                }
            }
            final String has = ArchivePaths.has(cp);
            for (final Hash b : HistoryArchiveState.parse(Files.readAllBytes(source.resolve(has)), has).buckets()) {
                out.add(ArchivePaths.bucket(b.hex()));
            }
        }
        return out;
    }

    private static Set<String> files(final Path target) throws Exception {
        try (var s = Files.walk(target)) {
            return s.filter(Files::isRegularFile).map(p -> target.relativize(p).toString())
                    .collect(Collectors.toCollection(TreeSet::new));
        }
    }

    private static long rootLedger(final Path target) throws Exception {
        return HistoryArchiveState.parse(Files.readAllBytes(target.resolve(ArchivePaths.WELL_KNOWN)),
                ArchivePaths.WELL_KNOWN).currentLedger();
    }
}
