package io.historystreams.service;

import org.junit.jupiter.api.Test;

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
}
