package io.historystreams.cli;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * The checkpoints {@code ingest} asks for again are said at most every 10 s: a take-back's cascade asks for one
 * checkpoint after the other, and a trial's run printed 152 lines, one per checkpoint.
 */
class IngestAskedAgainTest {
    private static final long SECOND = Duration.ofSeconds(1).toNanos();
    private static final String WHY = " (a verified copy taken back, found not to link, and the checkpoints after it"
            + " that failed on their link to it)";

    @Test
    void theFirstAreSaidAtOnceTheNextTogetherAtMostEveryTenSeconds() {
        final IngestCommand.AskedAgain asked = new IngestCommand.AskedAgain(IngestCommand.ASKED_AGAIN_EVERY);
        final long t0 = 123 * SECOND;
        assertNull(asked.due(t0), "nothing asked for");
        asked.add(List.of(0x17fL, 0x13fL));
        assertEquals("asked for again: 2 (0x13f..0x17f)" + WHY, asked.due(t0));
        assertNull(asked.due(t0 + SECOND), "nothing since");
        asked.add(List.of(0x1bfL));
        assertNull(asked.due(t0 + 2 * SECOND));
        asked.add(List.of(0x1ffL));
        asked.add(List.of(0x27fL));
        assertNull(asked.due(t0 + 10 * SECOND - 1));
        assertEquals("asked for again: 3 (0x1bf..0x1ff, 0x27f)" + WHY, asked.due(t0 + 10 * SECOND));
        // the run ends: what was not said yet is said then
        asked.add(List.of(0x2bfL));
        assertNull(asked.due(t0 + 11 * SECOND));
        assertEquals("asked for again: 1 (0x2bf)" + WHY, asked.rest());
        assertNull(asked.rest());
        // a quiet while after the last line: the next is said at once
        asked.add(List.of(0x2ffL));
        assertEquals("asked for again: 1 (0x2ff)" + WHY, asked.due(t0 + 60 * SECOND));
    }
}
