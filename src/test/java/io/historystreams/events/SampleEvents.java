package io.historystreams.events;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;

/** Representative instances of every record: one with every field set, one with every nullable field null. */
public final class SampleEvents {
    public static final Instant AT = Instant.ofEpochMilli(1_732_560_000_123L);
    public static final String ARCHIVE = "https://history.stellar.org/prd/core-testnet/core_testnet_001";
    public static final String PASSPHRASE = "Test SDF Network ; September 2015";

    private SampleEvents() {
    }

    public static Hash32 hash(final int seed) {
        final byte[] b = new byte[32];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) (seed * 31 + i * 7);
        }
        return new Hash32(b);
    }

    public static ByteBuffer bytes(final int... values) {
        final byte[] b = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            b[i] = (byte) values[i];
        }
        return ByteBuffer.wrap(b);
    }

    public static FileRef fileRef(final String path, final boolean full) {
        return FileRef.newBuilder()
                .setPath(path)
                .setSource(ARCHIVE)
                .setBlobRef(full ? "blob://sha256/" + Hashes.hex(hash(path.length())) : null)
                .setSha256(hash(path.length()))
                .setSizeBytes(12_345L)
                .setRawSizeBytes(full ? 45_678L : -1L)
                .build();
    }

    public static LedgerHeaderFact header(final long seq) {
        return LedgerHeaderFact.newBuilder()
                .setLedgerSeq(seq)
                .setHash(hash((int) seq))
                .setPreviousLedgerHash(hash((int) seq - 1))
                .setTxSetHash(hash((int) seq + 100))
                .setTxSetResultHash(hash((int) seq + 200))
                .setBucketListHash(hash((int) seq + 300))
                .setCloseTime(1_700_000_000L + seq * 5)
                .setLedgerVersion(22)
                .build();
    }

    public static LedgerSetHash setHash(final long seq, final TxSetFormat format) {
        return LedgerSetHash.newBuilder().setLedgerSeq(seq).setHash(hash((int) seq + 7)).setFormat(format).build();
    }

    /** Full (every field, every nullable set) and minimal (every nullable null, defaults) instances. */
    public static Map<String, SpecificRecord> all() {
        final Map<String, SpecificRecord> m = new LinkedHashMap<>();
        m.put("FileRef/full", fileRef("ledger/00/00/3f/ledger-0000003f.xdr.gz", true));
        m.put("FileRef/minimal", fileRef("results/00/00/3f/results-0000003f.xdr.gz", false));
        m.put("LedgerHeaderFact", header(63));
        m.put("LedgerSetHash/full", setHash(63, TxSetFormat.GENERALIZED));
        m.put("LedgerSetHash/minimal", setHash(62, null));

        m.put("CheckpointRequest/full", CheckpointRequest.newBuilder()
                .setArchive(ARCHIVE).setSources(List.of(ARCHIVE, "/mnt/mirror/testnet"))
                .setNetworkPassphrase(PASSPHRASE).setCheckpoint(127L).setReason(RequestReason.RETRY)
                .setRequestedAt(AT).setAttempt(3).setPredecessorRequested(true).setNotFrom(List.of(ARCHIVE)).build());
        m.put("CheckpointRequest/minimal", CheckpointRequest.newBuilder()
                .setArchive(ARCHIVE).setSources(List.of()).setCheckpoint(63L).setReason(RequestReason.RANGE)
                .setRequestedAt(AT).build());

        m.put("BucketRequest", BucketRequest.newBuilder()
                .setHash(Hashes.hex(hash(42))).setCheckpoint(127L).setArchive(ARCHIVE).setSources(List.of(ARCHIVE))
                .setRequestedAt(AT).build());
        m.put("CheckpointAssembly/minimal", CheckpointAssembly.newBuilder()
                .setCheckpoint(127L).setStartedAt(AT).build());
        m.put("HasDownloaded/full", HasDownloaded.newBuilder()
                .setCheckpoint(63L).setArchive(ARCHIVE).setFile(fileRef("history/00/00/00/history-0000003f.json", true))
                .setVersion(2).setCurrentLedger(63L).setNetworkPassphrase(PASSPHRASE).setBucketListHash(hash(9))
                .setBuckets(List.of(Hashes.hex(hash(1)), Hashes.hex(hash(2))))
                .setJson("{\"version\": 2, \"currentLedger\": 63, \"currentBuckets\": []}").build());
        m.put("HasDownloaded/minimal", HasDownloaded.newBuilder()
                .setCheckpoint(63L).setArchive(ARCHIVE).setFile(fileRef("history/00/00/00/history-0000003f.json", false))
                .setVersion(1).setCurrentLedger(63L).setBucketListHash(hash(9)).setBuckets(List.of())
                .setJson("{}").build());

        final List<LedgerHeaderFact> headers = new ArrayList<>();
        for (long seq = 1; seq <= 63; seq++) {
            headers.add(header(seq));
        }
        m.put("LedgerHeadersDownloaded", LedgerHeadersDownloaded.newBuilder()
                .setCheckpoint(63L).setArchive(ARCHIVE).setFile(fileRef("ledger/00/00/00/ledger-0000003f.xdr.gz", true))
                .setHeaders(headers).build());

        m.put("TransactionsDownloaded/full", TransactionsDownloaded.newBuilder()
                .setCheckpoint(127L).setArchive(ARCHIVE)
                .setFile(fileRef("transactions/00/00/00/transactions-0000007f.xdr.gz", true))
                .setEntries(List.of(setHash(64, TxSetFormat.LEGACY), setHash(65, TxSetFormat.GENERALIZED)))
                .setTransactionCount(17).build());
        m.put("TransactionsDownloaded/minimal", TransactionsDownloaded.newBuilder()
                .setCheckpoint(127L).setArchive(ARCHIVE)
                .setFile(fileRef("transactions/00/00/00/transactions-0000007f.xdr.gz", false))
                .setEntries(List.of()).build());

        m.put("ResultsDownloaded", ResultsDownloaded.newBuilder()
                .setCheckpoint(127L).setArchive(ARCHIVE).setFile(fileRef("results/00/00/00/results-0000007f.xdr.gz", true))
                .setEntries(List.of(setHash(64, null), setHash(100, null))).build());

        m.put("ScpDownloaded/full", ScpDownloaded.newBuilder()
                .setCheckpoint(127L).setArchive(ARCHIVE).setFile(fileRef("scp/00/00/00/scp-0000007f.xdr.gz", true))
                .setPresent(true).setEntryCount(64).build());
        m.put("ScpDownloaded/minimal", ScpDownloaded.newBuilder()
                .setCheckpoint(127L).setArchive(ARCHIVE).setFile(null).setPresent(false).build());

        m.put("BucketVerified", BucketVerified.newBuilder()
                .setHash(Hashes.hex(hash(42))).setArchive(ARCHIVE)
                .setFile(fileRef("bucket/2a/0b/1c/bucket-" + Hashes.hex(hash(42)) + ".xdr.gz", true))
                .setVerifiedAt(AT).build());

        m.put("CheckpointVerified/full", CheckpointVerified.newBuilder()
                .setCheckpoint(127L).setArchive(ARCHIVE).setNetworkPassphrase(PASSPHRASE)
                .setFirstLedger(64L).setLastLedger(127L).setLastLedgerHash(hash(127))
                .setFirstPreviousLedgerHash(hash(63)).setBucketListHash(hash(427))
                .setFiles(List.of(fileRef("history/00/00/00/history-0000007f.json", true),
                        fileRef("ledger/00/00/00/ledger-0000007f.xdr.gz", false)))
                .setBuckets(List.of(Hashes.hex(hash(1))))
                .setLedgerCount(64).setTransactionSetCount(64).setResultSetCount(64)
                .setChainLinkedToPrevious(ChainLinkStatus.VERIFIED).setVerifiedAt(AT).build());
        m.put("CheckpointVerified/minimal", CheckpointVerified.newBuilder()
                .setCheckpoint(63L).setArchive(ARCHIVE).setNetworkPassphrase(null)
                .setFirstLedger(1L).setLastLedger(63L).setLastLedgerHash(hash(63))
                .setFirstPreviousLedgerHash(new Hash32(new byte[32])).setBucketListHash(hash(363))
                .setFiles(List.of()).setBuckets(List.of())
                .setLedgerCount(63).setTransactionSetCount(0).setResultSetCount(0)
                .setVerifiedAt(AT).build());

        m.put("ChainInput/candidate", ChainInput.newBuilder().setCheckpoint(127L).setArchive(ARCHIVE)
                .setCandidate((CheckpointVerified) m.get("CheckpointVerified/full")).setPredecessorRequested(true)
                .build());
        m.put("ChainInput/settled", ChainInput.newBuilder().setCheckpoint(63L).setArchive(ARCHIVE)
                .setSettled("FAILED").build());

        m.put("CheckpointFailed/full", CheckpointFailed.newBuilder()
                .setCheckpoint(127L).setArchive(ARCHIVE).setReason("HEADER_HASH_MISMATCH")
                .setFile("ledger/00/00/00/ledger-0000007f.xdr.gz").setSource("/mnt/mirror/testnet")
                .setDetail("header of ledger 100 hashes to ab12..., entry says cd34...").setRetryable(true)
                .setAttempt(2).setFailedAt(AT).setCopyTakenBackFrom("/mnt/mirror/testnet").build());
        m.put("CheckpointFailed/minimal", CheckpointFailed.newBuilder()
                .setCheckpoint(127L).setArchive(ARCHIVE).setReason("DEPENDENCY_FAILED")
                .setDetail("bucket failed").setRetryable(false).setFailedAt(AT).build());

        m.put("LedgerVerified/full", LedgerVerified.newBuilder()
                .setLedgerSeq(100L).setCheckpoint(127L).setArchive(ARCHIVE).setHash(hash(100))
                .setPreviousLedgerHash(hash(99)).setCloseTime(1_700_000_500L).setProtocolVersion(22)
                .setHeaderXdr(bytes(1, 2, 3, 4, 5, 6, 7, 8)).setTransactionSetXdr(bytes(9, 10, 11, 12))
                .setTransactionSetFormat(TxSetFormat.GENERALIZED).setResultSetXdr(bytes(0, 0, 0, 1, 0xff))
                .setTxSetHash(hash(200)).setTxSetResultHash(hash(300)).build());
        m.put("LedgerVerified/minimal", LedgerVerified.newBuilder()
                .setLedgerSeq(101L).setCheckpoint(127L).setArchive(ARCHIVE).setHash(hash(101))
                .setPreviousLedgerHash(hash(100)).setCloseTime(1_700_000_505L).setProtocolVersion(11)
                .setHeaderXdr(bytes(1, 2, 3)).setResultSetXdr(bytes(0, 0, 0, 0))
                .setTxSetHash(hash(201)).setTxSetResultHash(hash(301)).build());

        m.put("CheckpointPublished", CheckpointPublished.newBuilder()
                .setCheckpoint(127L).setArchive(ARCHIVE).setTarget("file:///srv/archive-copy")
                .setWritten(List.of("ledger/00/00/00/ledger-0000007f.xdr.gz"))
                .setSkipped(List.of("history/00/00/00/history-0000007f.json"))
                .setDurationMillis(1234L).setPublishedAt(AT).build());

        m.put("DeadLetter/full", DeadLetter.newBuilder()
                .setTopic("checkpoint-requests").setPartition(3).setOffset(4_000_000_000L).setProcessor("fetch-has")
                .setErrorClass("java.lang.IllegalStateException").setErrorMessage("boom")
                .setKey(bytes(0x61)).setValue(bytes(0, 0, 0, 0, 1, 2)).setFailedAt(AT).build());
        m.put("DeadLetter/minimal", DeadLetter.newBuilder()
                .setTopic("checkpoint-requests").setPartition(0).setOffset(0L)
                .setErrorClass("java.lang.NullPointerException").setFailedAt(AT).build());
        return m;
    }
}
