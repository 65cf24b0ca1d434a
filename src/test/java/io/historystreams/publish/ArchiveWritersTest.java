package io.historystreams.publish;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The {@code publish.*} settings reach every target as the options of its kind. */
class ArchiveWritersTest {
    @TempDir
    Path tmp;

    private static final Map<String, String> SETTINGS = Map.of("fsync", "false", "retries", "2", "retry.delay.ms",
            "10", "retry.max.delay.ms", "50", "timeout.seconds", "7");

    @Test
    void settingsBecomeTheOptionsOfEachKind() throws Exception {
        final String dir = tmp.resolve("mirror").toString();
        assertEquals(Map.of("fsync", "false", "retries", "2", "retryDelayMs", "10", "retryMaxDelayMs", "50"),
                ArchiveWriters.options(dir, SETTINGS));
        assertEquals(ArchiveWriters.options(dir, SETTINGS), ArchiveWriters.options(tmp.toUri().toString(), SETTINGS));
        final String dav = "http://127.0.0.1:9/dav/";
        assertEquals(Map.of("timeout", "7", "retries", "2", "retryDelayMs", "10", "retryMaxDelayMs", "50"),
                ArchiveWriters.options(dav, SETTINGS));
        final String cmd = "cmd:put=cp {0} /srv/{1};mkdir=mkdir -p /srv/{0};get=cp /srv/{0} {1};exists=test -e /srv/{0}";
        assertEquals("7", ArchiveWriters.options(cmd, SETTINGS).get("timeout"));
        // the target's own timeout wins over the setting for every target
        assertEquals(null, ArchiveWriters.options(cmd + ";timeout=60", SETTINGS).get("timeout"));
        // each is accepted by the writer it is for (an option a kind does not know is refused at open)
        for (final String target : new String[] {dir, dav, cmd}) {
            try (ArchiveWriter w = ArchiveWriters.open(target, ArchiveWriters.options(target, SETTINGS))) {
                assertTrue(w instanceof RetryingArchiveWriter, target);
            }
        }
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ArchiveWriters.options(dir, Map.of("fsynk", "false")));
        assertTrue(e.getMessage().contains("publish.fsynk") && e.getMessage().contains("publish.fsync"),
                e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> ArchiveWriters.open(dir, ArchiveWriters.options(dir, Map.of("fsync", "maybe"))));
    }
}
