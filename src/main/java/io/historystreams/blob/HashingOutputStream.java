package io.historystreams.blob;

import io.historystreams.verify.Hash;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.util.HexFormat;

/** Passes bytes on while computing their SHA-256 and counting them: the reference and size of a blob. */
final class HashingOutputStream extends FilterOutputStream {
    private final MessageDigest sha = Hash.sha256();
    private long written;

    HashingOutputStream(final OutputStream out) {
        super(out);
    }

    @Override
    public void write(final int b) throws IOException {
        sha.update((byte) b);
        written++;
        out.write(b);
    }

    @Override
    public void write(final byte[] b, final int off, final int len) throws IOException {
        sha.update(b, off, len);
        written += len;
        out.write(b, off, len);
    }

    long size() {
        return written;
    }

    /** The lowercase hex SHA-256 of everything written (once: the digest is reset). */
    String ref() {
        return HexFormat.of().formatHex(sha.digest());
    }
}
