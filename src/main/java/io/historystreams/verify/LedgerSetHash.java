package io.historystreams.verify;

/**
 * The hash of one ledger's transaction set or result set as found in a history file.
 *
 * @param generalized        for transaction sets: true for the protocol-20+ {@code GeneralizedTransactionSet} form
 * @param count              transactions (legacy sets) or results in the set; -1 when not counted (generalized sets)
 * @param previousLedgerHash for transaction sets: the previous ledger's hash the set names; null for result sets
 *                           (and for sets from events written before it was carried)
 */
public record LedgerSetHash(long ledgerSeq, Hash hash, boolean generalized, int count, Hash previousLedgerHash) {
}
