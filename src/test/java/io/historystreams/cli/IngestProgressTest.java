package io.historystreams.cli;

import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code ingest}'s progress lines when stderr is not a terminal (as under a test runner). */
class IngestProgressTest {
    @Test
    void everyCheckpointWithAVerdictIsSaidOnceNotAtEveryPoll() {
        // a trial: 15 identical "11/11 checkpoints" lines, one per 200 ms poll, while ingest waited for a take-back
        final StringWriter said = new StringWriter();
        try (IngestCommand.Progress p = new IngestCommand.Progress(new PrintWriter(said, true), 11)) {
            p.update(0, 0, 0);
            p.update(5, 0, 0); // within 5 s of the last line: not said
            for (int i = 0; i < 15; i++) {
                p.update(1, 10, 0);
            }
        }
        final String[] lines = said.toString().split("\n");
        assertEquals(2, lines.length, said::toString);
        assertTrue(lines[0].startsWith("ingest: 0/11 checkpoints (0 verified, 0 failed, 11 pending)"), lines[0]);
        assertTrue(lines[1].startsWith("ingest: 11/11 checkpoints (1 verified, 10 failed, 0 pending)"), lines[1]);
    }
}
