package io.historystreams.verify;

/**
 * The fixed fields of a verified {@code LedgerHeader} that the cross-file checks and downstream consumers need.
 *
 * @param versionUpgrade true when the header's {@code scpValue.upgrades} holds a protocol-version upgrade, i.e. the
 *                       previous ledger may have had a lower protocol
 */
public record LedgerHeaderSummary(long ledgerSeq, Hash hash, Hash previousLedgerHash, Hash txSetHash,
        Hash txSetResultHash, Hash bucketListHash, long closeTime, int ledgerVersion, boolean versionUpgrade) {
}
