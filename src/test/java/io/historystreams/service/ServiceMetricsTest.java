package io.historystreams.service;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ServiceMetricsTest {
    @Test
    void bytesFetchedIsACounterWithAHelpLine() {
        final ServiceMetrics m = new ServiceMetrics();
        m.success("http://a/", "bucket/x", 1000, 5_000_000);
        m.success("http://a/", "bucket/y", 234, 5_000_000);
        final String text = m.scrape();
        // a value that only grows is a counter (it was a gauge with an empty help line)
        assertTrue(text.contains("# TYPE history_fetch_bytes_total counter"), text);
        assertTrue(text.contains("# HELP history_fetch_bytes_total Bytes of archive files fetched"), text);
        assertTrue(text.contains("history_fetch_bytes_total 1234"), text);
        assertEquals(1234, m.bytesFetched());
    }

    @Test
    void aSourcesRetryCounterIsThereFromItsFirstFetchAtZero() throws Exception {
        // it appeared with the first retry only: an alert on its rate had no data until then
        final ServiceMetrics m = new ServiceMetrics();
        // a source's second attempt registers nothing again (its gauge did, with Micrometer's WARN; at DEBUG after
        // the first in a JVM, so DEBUG is looked at too)
        final ch.qos.logback.classic.Logger micrometer = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory
                .getLogger("io.micrometer");
        final ch.qos.logback.classic.Level level = micrometer.getLevel();
        micrometer.setLevel(ch.qos.logback.classic.Level.DEBUG);
        final List<String> said;
        try {
            said = io.historystreams.testing.Logs.during("io.micrometer", () -> {
                m.attempt("http://a/", "history/00/00/00/history-0000003f.json");
                m.attempt("http://a/", "history/00/00/00/history-0000007f.json");
            }).stream().map(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage)
                    .filter(l -> l.contains("already registered")).toList();
        } finally {
            micrometer.setLevel(level);
        }
        assertEquals(List.of(), said);
        m.success("http://a/", "history/00/00/00/history-0000003f.json", 10, 1_000_000);
        final String text = m.scrape();
        assertTrue(text.contains("history_fetch_retries_total{source=\"http://a/\"} 0.0"), text);
        assertTrue(text.contains("# HELP history_files_fetched_total Files fetched and verified"), text);
        m.retry("http://a/", "bucket/x", "HTTP 500", java.time.Duration.ofMillis(10));
        assertTrue(m.scrape().contains("history_fetch_retries_total{source=\"http://a/\"} 1.0"), m.scrape());
        // whether it answers: its failures in a row, 0 while no archive reads it (one that does is in
        // HistoryArchiveTest)
        assertTrue(m.scrape().contains("history_source_failures_in_a_row{source=\"http://a/\"} 0.0"), m.scrape());
    }

    @Test
    void aCheckpointFailingNowIsAGaugeThatAVerdictOfVerifiedLowers() {
        // history_checkpoints_failed_total counted failures a retry healed later: an operator could not tell what
        // is failing now
        final ServiceMetrics m = new ServiceMetrics();
        m.checkpointFailed(0x3f);
        m.checkpointFailed(0x7f);
        m.checkpointFailed(0x7f);
        assertTrue(m.scrape().contains("history_checkpoints_failing 2.0"), m.scrape());
        m.checkpointVerified(0x7f);
        m.checkpointVerified(0xbf);
        final String text = m.scrape();
        assertTrue(text.contains("history_checkpoints_failing 1.0"), text);
        assertTrue(text.contains("history_checkpoints_failed_total 3.0"), text);
        assertTrue(text.contains("history_checkpoints_verified_total 2.0"), text);
    }

    @Test
    void failedAttemptsAreTimedApartFromTheFilesVerified() {
        // a mirror whose fetches hung until the read timeout showed a latency maximum of 0.06 s: only files verified
        // were timed
        final ServiceMetrics m = new ServiceMetrics();
        m.success("http://a/", "bucket/x", 10, 60_000_000L);
        m.failedAttempt("http://b/", "bucket/x", "transient", 30_000_000_000L);
        final String text = m.scrape();
        assertTrue(text.contains("history_fetch_failed_latency_seconds_max{outcome=\"transient\",source=\"http://b/\"} 30.0"),
                text);
        assertTrue(text.contains("history_fetch_failed_latency_seconds_count{outcome=\"transient\",source=\"http://b/\"} 1"),
                text);
        assertTrue(text.contains("history_fetch_latency_seconds_max{source=\"http://a/\"} 0.06"), text);
        assertTrue(!text.contains("history_fetch_latency_seconds_count{source=\"http://b/\"}"), text);
    }
}
