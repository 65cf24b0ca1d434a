package io.historystreams.testing;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/** Test-side tools to take an {@code .xdr.gz} file apart into records and put a (corrupted) one back together. */
public final class XdrFiles {
    private XdrFiles() {
    }

    public static byte[] gunzip(final byte[] gz) {
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(gz))) {
            return in.readAllBytes();
        } catch (final IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static byte[] gzip(final byte[] raw) {
        final ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(bos)) {
            out.write(raw);
        } catch (final IOException e) {
            throw new UncheckedIOException(e);
        }
        return bos.toByteArray();
    }

    public static List<byte[]> records(final byte[] gz) {
        final List<byte[]> out = new ArrayList<>();
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(gunzip(gz)))) {
            while (true) {
                final int mark;
                try {
                    mark = in.readInt();
                } catch (final EOFException e) {
                    break;
                }
                final byte[] r = new byte[mark & 0x7fffffff];
                in.readFully(r);
                out.add(r);
            }
        } catch (final IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    public static byte[] frame(final List<byte[]> records) {
        final ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bos)) {
            for (final byte[] r : records) {
                out.writeInt(0x80000000 | r.length);
                out.write(r);
            }
        } catch (final IOException e) {
            throw new UncheckedIOException(e);
        }
        return bos.toByteArray();
    }

    public static byte[] gzipRecords(final List<byte[]> records) {
        return gzip(frame(records));
    }

    /**
     * A copy of a generalized transactions file ({@code .xdr.gz}, protocol 20 on) that passes its own checks but whose
     * first transaction set no longer hashes to its header's {@code txSetHash}: one bit flipped in that set's
     * previousLedgerHash. The first record is mark, ledgerSeq, a legacy set (previousLedgerHash, 0 transactions),
     * ext 1, then the generalized set v1, whose previousLedgerHash begins at byte 52.
     */
    public static byte[] transactionsFailingTheirHeader(final java.nio.file.Path file) throws java.io.IOException {
        final byte[] raw = gunzip(java.nio.file.Files.readAllBytes(file));
        raw[54] ^= 0x01;
        return gzip(raw);
    }
}
