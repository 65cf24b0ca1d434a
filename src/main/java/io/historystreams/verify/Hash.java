package io.historystreams.verify;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;

/** A 32-byte SHA-256 value, compared by content and printed as lowercase hex. */
public final class Hash {
    public static final int SIZE = 32;
    public static final Hash ZERO = new Hash(new byte[SIZE]);
    private static final HexFormat HEX = HexFormat.of();

    private final byte[] bytes;

    private Hash(final byte[] bytes) {
        this.bytes = bytes;
    }

    /** Wraps a copy of 32 bytes. */
    public static Hash of(final byte[] bytes) {
        if (bytes.length != SIZE) {
            throw new IllegalArgumentException("a hash is 32 bytes, got " + bytes.length);
        }
        return new Hash(bytes.clone());
    }

    public static Hash of(final byte[] buf, final int offset) {
        return new Hash(Arrays.copyOfRange(buf, offset, offset + SIZE));
    }

    /** Parses 64 hex characters (either case). */
    public static Hash fromHex(final String hex) {
        if (hex == null || hex.length() != 2 * SIZE) {
            throw new IllegalArgumentException("a hash is 64 hex characters");
        }
        return new Hash(HEX.parseHex(hex));
    }

    public static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (final NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 unavailable", e);
        }
    }

    public static Hash sha256(final byte[] buf, final int offset, final int length) {
        final MessageDigest d = sha256();
        d.update(buf, offset, length);
        return new Hash(d.digest());
    }

    public static Hash sha256(final byte[] buf) {
        return sha256(buf, 0, buf.length);
    }

    public static Hash digest(final MessageDigest d) {
        return new Hash(d.digest());
    }

    public byte[] bytes() {
        return bytes.clone();
    }

    public boolean isZero() {
        return equals(ZERO);
    }

    public void writeTo(final MessageDigest d) {
        d.update(bytes);
    }

    public String hex() {
        return HEX.formatHex(bytes);
    }

    /** First bytes of the hex form, for compact messages. */
    public String shortHex() {
        return hex().substring(0, 12);
    }

    @Override
    public boolean equals(final Object o) {
        return o instanceof Hash h && Arrays.equals(bytes, h.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return hex();
    }
}
