package io.historystreams.events;

import java.util.HexFormat;

/** Conversions between {@link Hash32} and the 64-character lowercase hex form used in archive paths and the HAS. */
public final class Hashes {
    private static final HexFormat HEX = HexFormat.of();

    private Hashes() {
    }

    /** Wraps a copy of 32 raw hash bytes. */
    public static Hash32 hash32(final byte[] bytes) {
        if (bytes == null || bytes.length != 32) {
            throw new IllegalArgumentException("a Hash32 needs exactly 32 bytes, got "
                    + (bytes == null ? "null" : bytes.length + " bytes"));
        }
        return new Hash32(bytes.clone());
    }

    /** Parses 64 hex characters (either case). */
    public static Hash32 hash32(final String hex) {
        if (hex == null || hex.length() != 64) {
            throw new IllegalArgumentException("a Hash32 needs 64 hex characters, got "
                    + (hex == null ? "null" : hex.length() + " characters"));
        }
        try {
            return new Hash32(HEX.parseHex(hex));
        } catch (final IllegalArgumentException e) {
            throw new IllegalArgumentException("not a hex hash: '" + hex + "'", e);
        }
    }

    /** The lowercase hex form of a hash. */
    public static String hex(final Hash32 hash) {
        return HEX.formatHex(hash.bytes());
    }
}
