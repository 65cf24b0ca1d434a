package io.historystreams.publish;

import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.FileType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TargetPathTest {

    @Test
    void acceptsEveryLayoutPath() {
        for (final FileType t : FileType.values()) {
            if (t != FileType.BUCKET) {
                final String p = ArchivePaths.checkpointFile(t, 0xfffffffL);
                assertEquals(p, TargetPath.require(p));
            }
        }
        final String bucket = ArchivePaths.bucket("ab".repeat(32));
        assertEquals(bucket, TargetPath.require(bucket));
        assertEquals(ArchivePaths.WELL_KNOWN, TargetPath.require(ArchivePaths.WELL_KNOWN));
        assertTrue(TargetPath.isValid("history/00/00/3f/history-00003fff.json"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "/etc/passwd", "../x", "history/00/00/3f/../../../../etc/passwd",
            "history/00/00/3f/..", "history\\00\\00\\3f\\history-0000003f.json",
            "history/00/00/3f/history-0000003f.json\u0000", "history/00/00/3f/history-0000003f.json\n",
            "history/00/00/3f/$(touch /tmp/pwned)", "history/00/00/3f/history-0000003f.json;rm -rf x",
            "history/00/00/3F/history-0000003f.json", "history/00/00/3f/ledger-0000003f.xdr.gz",
            "history/00/00/3f/history-0000003f.txt", "history/00/00/3f/history-3f.json",
            "bucket/00/00/00/bucket-zz.xdr.gz", "history/00/00/history-0000003f.json",
            ".well-known/other.json", "./.well-known/stellar-history.json", "history/00/00/3f/history-0000003f.json/"})
    void refusesAnythingElse(final String path) {
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TargetPath.require(path));
        assertTrue(e.getMessage().startsWith("refused target path"), e.getMessage());
    }

    @Test
    void refusesNull() {
        assertThrows(IllegalArgumentException.class, () -> TargetPath.require(null));
    }
}
