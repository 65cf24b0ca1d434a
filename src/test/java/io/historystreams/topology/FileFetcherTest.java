package io.historystreams.topology;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;

class FileFetcherTest {
    @Test
    void shouldTakeAnXdrFilesSizeDecompressedFromItsGzipTrailer() throws Exception {
        for (final int n : new int[] {0, 1, 3, 4, 5, 70_000}) {
            final byte[] gz = gzip(new byte[n]);
            assertEquals(n, FileFetcher.rawSize("ledger/00/00/3f/ledger-0000003f.xdr.gz", gz.length,
                    Arrays.copyOfRange(gz, gz.length - 4, gz.length)), "raw size " + n);
        }
        // a state file is not compressed
        assertEquals(3079, FileFetcher.rawSize("history/00/00/03/history-000003ff.json", 3079, new byte[4]));
        // ISIZE is modulo 2^32: 0 in a file that is not small is exactly 4 GiB (the cap) or more, so unknown
        assertEquals(-1, FileFetcher.rawSize("results/00/00/3f/results-0000003f.xdr.gz", 5_000_000, new byte[4]));
        // the largest ISIZE is read unsigned
        final byte[] max = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(-1).array();
        assertEquals(0xffffffffL, FileFetcher.rawSize("scp/00/00/3f/scp-0000003f.xdr.gz", 9_000_000, max));
    }

    private static byte[] gzip(final byte[] raw) throws Exception {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(raw);
        }
        return out.toByteArray();
    }
}
