package io.historystreams.cli;

import io.historystreams.service.ServiceConfig;
import io.historystreams.testing.Logs;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Publish settings are checked before a command starts anything. */
class PublishingCheckTest {
    @Test
    void unknownPublishSettingsAreRefusedAndKnownOnesPass() throws Exception {
        final List<String> targets = List.of("/srv/mirror", "http://127.0.0.1:9/dav/", "cmd:put=cp {0} /srv/{1};get=cp /srv/{0} {1};exists=test -e /srv/{0}");
        final ServiceConfig bad = ServiceConfig.load(null, Map.of("HISTORY_STREAMS_PUBLISH_FSYNK", "false"), Map.of());
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Publishing.check(bad, targets));
        assertTrue(e.getMessage().contains("publish.fsynk"), e.getMessage());
        final ServiceConfig good = ServiceConfig.load(null, Map.of("HISTORY_STREAMS_PUBLISH_FSYNC", "false",
                "HISTORY_STREAMS_PUBLISH_RETRIES", "2"), Map.of("publish.timeout.seconds", "9"));
        assertDoesNotThrow(() -> Publishing.check(good, targets));
        // no target: the settings of a command without --publish-to are not its concern, but a misspelled key is
        // said, as any unknown setting is (it passed silently)
        final var seen = Logs.during(Publishing.class, () -> {
            assertDoesNotThrow(() -> Publishing.check(bad, List.of()));
            assertDoesNotThrow(() -> Publishing.check(good, List.of()));
        });
        assertEquals(List.of("unknown publish setting publish.fsynk (known: publish.fsync, publish.link, publish.retries, "
                + "publish.retry.delay.ms, publish.retry.max.delay.ms, publish.timeout.seconds, "
                + "publish.give.up.seconds, publish.root.wait.seconds): ignored, nothing is published"), seen.stream()
                .map(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage).toList());
    }

    @Test
    void aTargetGivenEverythingWaitsForTheLastRecordOfEachPartitionPastTheRange() {
        final Map<Long, io.historystreams.service.OutcomeWatcher.RecordAt> range = Map.of(
                63L, new io.historystreams.service.OutcomeWatcher.RecordAt(0, 5),
                127L, new io.historystreams.service.OutcomeWatcher.RecordAt(1, 3));
        final Map<Long, io.historystreams.service.OutcomeWatcher.RecordAt> last = Map.of(
                // 63 verified again after a take-back: the last of partition 0, 7 events there, 1 of them the range's
                63L, new io.historystreams.service.OutcomeWatcher.RecordAt(0, 9, 7),
                // partition 1's last is the range's own record: the 3 checkpoints verified there before it are waited
                // for with it (they were left out: a trial's emptied target was given 157, and the report said 81)
                500L, new io.historystreams.service.OutcomeWatcher.RecordAt(1, 3, 4),
                // partition 2 holds none of the range
                700L, new io.historystreams.service.OutcomeWatcher.RecordAt(2, 4, 5));
        final var all = Publishing.withEarlier(range, last);
        assertEquals(5, all.size(), all::toString);
        assertEquals(java.util.Set.of(new io.historystreams.service.OutcomeWatcher.RecordAt(0, 5),
                new io.historystreams.service.OutcomeWatcher.RecordAt(1, 3),
                new io.historystreams.service.OutcomeWatcher.RecordAt(1, 3, 3),
                new io.historystreams.service.OutcomeWatcher.RecordAt(0, 9, 6),
                new io.historystreams.service.OutcomeWatcher.RecordAt(2, 4, 5)), java.util.Set.copyOf(all.values()));
    }

    @Test
    void theRootStatesWaitForAMissingCheckpointIsASetting() throws Exception {
        // a trial's operator wanted a mirror whose root never names a checkpoint with one missing below it
        assertEquals(java.time.Duration.ofMinutes(6),
                Publishing.rootWait(ServiceConfig.load(null, Map.of(), Map.of())));
        assertEquals(java.time.Duration.ofSeconds(30), Publishing.rootWait(ServiceConfig.load(null, Map.of(),
                Map.of("publish.root.wait.seconds", "30"))));
        assertTrue(Publishing.rootWait(ServiceConfig.load(null, Map.of(), Map.of("publish.root.wait.seconds", "0")))
                .toDays() > 365 * 50, "0: for ever");
        final ServiceConfig bad = ServiceConfig.load(null, Map.of(), Map.of("publish.root.wait.seconds", "-1"));
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Publishing.check(bad, List.of("/srv/mirror")));
        assertEquals("publish.root.wait.seconds must be 0 (for ever) or more: -1", e.getMessage());
    }

    @Test
    void publishSettingValuesAreRefusedByTheirNamesBeforeAnythingStarts() throws Exception {
        // refused only when a target was opened, after the broker had started, by internal names ("retryDelayMs")
        for (final String[] bad : new String[][] {{"publish.retries", "0", "a whole number, at least 1"},
                {"publish.retry.delay.ms", "-5", "a whole number of milliseconds, 0 or more"},
                {"publish.fsync", "maybe", "true or false"}, {"publish.timeout.seconds", "abc", "a whole number"}}) {
            final ServiceConfig c = ServiceConfig.load(null, Map.of(), Map.of(bad[0], bad[1]));
            final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Publishing.check(c, List.of("/srv/mirror")));
            assertTrue(e.getMessage().startsWith("setting " + bad[0] + " must be " + bad[2]), e.getMessage());
        }
    }

    @Test
    void aTargetThatIsAFileIsRefusedBeforeAnythingStarts(@org.junit.jupiter.api.io.TempDir final java.nio.file.Path tmp)
            throws Exception {
        // refused when the target was opened, after a data dir was made and the broker had started (a trial)
        final java.nio.file.Path file = java.nio.file.Files.writeString(tmp.resolve("a-file"), "x");
        final ServiceConfig none = ServiceConfig.load(null, Map.of(), Map.of());
        for (final String target : List.of(file.toString(), file.toUri().toString())) {
            final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Publishing.check(none, List.of(target)));
            assertTrue(e.getMessage().endsWith(file.toRealPath() + " is a file, not a directory"), e.getMessage());
        }
        assertDoesNotThrow(() -> Publishing.check(none, List.of(tmp.resolve("new-mirror").toString())));
    }

    @Test
    void oneTargetGivenTwiceIsRefused() throws Exception {
        // two runners shared its consumer group and the one root state ("published to 2 target(s)")
        final ServiceConfig none = ServiceConfig.load(null, Map.of(), Map.of());
        final java.nio.file.Path dir = java.nio.file.Path.of("/srv/mirror");
        for (final List<String> twice : List.of(List.of("/srv/mirror", "file:///srv/mirror/"),
                List.of("/srv/mirror", "/srv/./mirror"),
                List.of("http://user:pw@Mirror.example/a", "http://mirror.example/a/"))) {
            final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Publishing.check(none, twice));
            assertTrue(e.getMessage().startsWith("--publish-to names one target twice"), e.getMessage());
        }
        // a symlink to a directory is that directory
        final java.nio.file.Path real = java.nio.file.Files.createTempDirectory("mirror-");
        final java.nio.file.Path link = real.resolveSibling(real.getFileName() + "-link");
        java.nio.file.Files.createSymbolicLink(link, real);
        try {
            assertThrows(IllegalArgumentException.class, () -> Publishing.check(none, List.of(real.toString(),
                    link.toString())));
        } finally {
            java.nio.file.Files.delete(link);
            java.nio.file.Files.delete(real);
        }
        assertDoesNotThrow(() -> Publishing.check(none, List.of(dir.toString(), "/srv/mirror2",
                "http://mirror.example/a/", "http://mirror.example/b/")));
    }
}
