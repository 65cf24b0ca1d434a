package io.historystreams.testing;

import com.fasterxml.jackson.databind.JsonNode;

import java.time.Duration;
import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Assertions on the JSON reports of {@code verify} and {@code ingest}. */
public final class Reports {
    private Reports() {
    }

    /** A report's times: when the run started and finished, as UTC instants, in order, and recent. */
    public static void assertTimes(final JsonNode report) {
        final Instant started = Instant.parse(report.get("startedAt").asText());
        final Instant finished = Instant.parse(report.get("summary").get("finishedAt").asText());
        for (final String t : java.util.List.of(report.get("startedAt").asText(),
                report.get("summary").get("finishedAt").asText())) {
            assertTrue(t.matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d{3})?Z"), "UTC, to the millisecond: " + t);
        }
        assertFalse(finished.isBefore(started), started + " .. " + finished);
        assertFalse(finished.isAfter(Instant.now()), "finished in the future: " + finished);
        assertTrue(Duration.between(started, Instant.now()).toMinutes() < 60, "started " + started);
    }
}
