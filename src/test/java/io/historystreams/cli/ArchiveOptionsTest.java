package io.historystreams.cli;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ArchiveOptionsTest {
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
}
