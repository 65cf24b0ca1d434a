package io.historystreams.verify;

import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.FileType;
import io.historystreams.testing.Fixtures;
import io.historystreams.testing.XdrFiles;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Corruptions made from the real fixtures, one per way a file can be wrong: each must be detected with the right
 * reason and a message naming the file.
 */
class CorruptionTest {
    private static final VerificationLimits LIMITS = VerificationLimits.defaults();
    private static final String TESTNET = "Test SDF Network ; September 2015";
    private static final long CP = 0x3ff; // a checkpoint of testnet-small with transactions
    private final FixtureFiles f = new FixtureFiles(Fixtures.testnetSmall());

    private static InputStream in(final byte[] b) {
        return new ByteArrayInputStream(b);
    }

    private static void assertReason(final FailureReason expected, final VerificationException e) {
        assertEquals(expected, e.reason(), () -> "got " + e);
        assertTrue(e.file() != null && !e.file().isEmpty(), () -> "failure names no file: " + e);
    }

    private List<LedgerHeaderSummary> headers(final long cp) throws Exception {
        try (InputStream s = f.open(FileType.LEDGER, cp)) {
            return LedgerHeaderVerifier.verify(s, "ledger", cp, LIMITS);
        }
    }

    // ---- buckets

    private Hash someBucket() throws Exception {
        try (InputStream s = f.open(FileType.HAS, CP)) {
            return HasVerifier.verify(s, "has", CP, TESTNET, LIMITS).buckets().iterator().next();
        }
    }

    @Test
    void shouldDetectFlippedByteInBucket() throws Exception {
        final Hash h = someBucket();
        final byte[] raw = XdrFiles.gunzip(Files.readAllBytes(f.bucket(h)));
        raw[raw.length / 2] ^= 0x01;
        final VerificationException e = assertThrows(VerificationException.class,
                () -> BucketVerifier.verify(in(XdrFiles.gzip(raw)), "bucket/x", h, LIMITS));
        assertReason(FailureReason.BUCKET_HASH_MISMATCH, e);
        assertTrue(e.detail().contains(h.hex()));
    }

    /** A bucket of {@code raw} decompressed bytes, verified under its own hash (so only its framing can fail). */
    private static BucketVerifier.BucketSummary ownHash(final byte[] raw) throws Exception {
        return BucketVerifier.verify(in(XdrFiles.gzip(raw)), "bucket/x", Hash.sha256(raw), LIMITS);
    }

    private static byte[] record(final int length) {
        final byte[] r = new byte[4 + length];
        java.nio.ByteBuffer.wrap(r).putInt(0x80000000 | length);
        return r;
    }

    @Test
    void shouldDetectABucketNamedByItsOwnHashThatIsNotFramedAsRecords() throws Exception {
        // the name is the hash of the content, so the hash check passes whatever the content is; the framing rule
        // of every .xdr.gz file is what remains (a mirror would otherwise carry a bucket stellar-core cannot read)
        final VerificationException text = assertThrows(VerificationException.class,
                () -> ownHash("not records at all, just text\n".getBytes(StandardCharsets.US_ASCII)));
        assertReason(FailureReason.BAD_FRAMING, text);
        assertTrue(text.detail().contains("record #0 mark 0x6e6f7420 lacks the last-fragment bit"), text::toString);
        final byte[] two = concat(record(8), record(12));
        assertEquals(two.length, ownHash(two).rawBytes(), "two whole records");
        assertEquals(0, ownHash(new byte[0]).rawBytes(), "an empty bucket file is legal");
        final VerificationException shortEnd = assertThrows(VerificationException.class,
                () -> ownHash(Arrays.copyOf(two, two.length - 4)));
        assertReason(FailureReason.BAD_FRAMING, shortEnd);
        assertTrue(shortEnd.detail().contains("record #1 runs past the end of the stream (4 bytes missing)"),
                shortEnd::toString);
        final VerificationException partialMark = assertThrows(VerificationException.class,
                () -> ownHash(concat(two, new byte[] {(byte) 0x80, 0})));
        assertReason(FailureReason.BAD_FRAMING, partialMark);
        assertTrue(partialMark.detail().contains("trailing bytes after record #2 (a partial record mark)"),
                partialMark::toString);
        for (final int odd : new int[] {0, 6}) {
            final VerificationException e = assertThrows(VerificationException.class,
                    () -> ownHash(concat(record(8), record(odd))));
            assertReason(FailureReason.MALFORMED_XDR, e);
            assertTrue(e.detail().contains("record #1 is " + odd + " bytes long"), e::toString);
        }
        final VerificationException huge = assertThrows(VerificationException.class,
                () -> ownHash(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xfc}));
        assertReason(FailureReason.TOO_LARGE, huge);
        // damage that breaks the framing of a bucket under its real name is still said as a hash mismatch
        final Hash h = someBucket();
        final byte[] raw = XdrFiles.gunzip(Files.readAllBytes(f.bucket(h)));
        raw[0] ^= (byte) 0x80;
        assertReason(FailureReason.BUCKET_HASH_MISMATCH, assertThrows(VerificationException.class,
                () -> BucketVerifier.verify(in(XdrFiles.gzip(raw)), "bucket/x", h, LIMITS)));
    }

    @Test
    void aRealBucketReadInTinyPiecesIsFramedWhereverItsMarksAreSplit() throws Exception {
        final Hash h = someBucket();
        final byte[] gz = Files.readAllBytes(f.bucket(h));
        final InputStream drip = new java.io.FilterInputStream(in(gz)) {
            @Override
            public int read(final byte[] b, final int off, final int len) throws java.io.IOException {
                return super.read(b, off, Math.min(len, 3));
            }
        };
        assertEquals(XdrFiles.gunzip(gz).length, BucketVerifier.verify(drip, "bucket/x", h, LIMITS).rawBytes());
    }

    @Test
    void shouldDetectFlippedByteInCompressedBucketAsCorruptGzipOrMismatch() throws Exception {
        final Hash h = someBucket();
        final byte[] gz = Files.readAllBytes(f.bucket(h));
        gz[gz.length - 6] ^= 0x40; // inside the CRC32 trailer
        final VerificationException e = assertThrows(VerificationException.class,
                () -> BucketVerifier.verify(in(gz), "bucket/x", h, LIMITS));
        assertReason(FailureReason.CORRUPT_GZIP, e);
    }

    @Test
    void shouldDetectTruncatedBucket() throws Exception {
        final Hash h = someBucket();
        final byte[] gz = Files.readAllBytes(f.bucket(h));
        final VerificationException e = assertThrows(VerificationException.class,
                () -> BucketVerifier.verify(in(Arrays.copyOf(gz, gz.length / 2)), "bucket/x", h, LIMITS));
        assertReason(FailureReason.CORRUPT_GZIP, e);
    }

    @Test
    void shouldDetectBucketServedUnderAnotherName() throws Exception {
        final Hash h = someBucket();
        final Hash other = Hash.sha256("another".getBytes(StandardCharsets.UTF_8));
        final VerificationException e = assertThrows(VerificationException.class,
                () -> BucketVerifier.verify(Files.newInputStream(f.bucket(h)), "bucket/x", other, LIMITS));
        assertReason(FailureReason.BUCKET_HASH_MISMATCH, e);
    }

    @Test
    void shouldRefuseGzipBombPastTheCap() throws Exception {
        final java.io.ByteArrayOutputStream bos = new java.io.ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(bos)) {
            final byte[] zeros = new byte[1 << 20];
            for (int i = 0; i < 64; i++) {
                gz.write(zeros); // 64 MiB of zeros, about 64 KiB compressed
            }
        }
        final VerificationLimits small = LIMITS.withMaxBucketRawBytes(8 << 20).withMaxXdrFileRawBytes(8 << 20);
        assertReason(FailureReason.TOO_LARGE, assertThrows(VerificationException.class,
                () -> BucketVerifier.verify(in(bos.toByteArray()), "bucket/x", Hash.ZERO, small)));
        // an XDR file whose one record is 16 MiB of zeros: under the record cap, over an 8 MiB file cap
        final java.io.ByteArrayOutputStream xdr = new java.io.ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(xdr)) {
            gz.write(new byte[] {(byte) 0x81, 0, 0, 0});
            final byte[] zeros = new byte[1 << 20];
            for (int i = 0; i < 16; i++) {
                gz.write(zeros);
            }
        }
        assertReason(FailureReason.TOO_LARGE, assertThrows(VerificationException.class,
                () -> ScpVerifier.verify(in(xdr.toByteArray()), "scp/x", CP, small)));
    }

    @Test
    void shouldRefuseBytesAfterTheGzipStream() throws Exception {
        // java.util.zip.GZIPInputStream dropped bytes after a member that do not parse as a gzip header, and read a
        // second member as if it continued the first: both passed as the fixture's file
        final byte[] gz = Files.readAllBytes(f.path(FileType.LEDGER, CP));
        final byte[] garbage = "GARBAGE-AFTER-THE-GZIP-MEMBER".getBytes(StandardCharsets.US_ASCII);
        final byte[] gzipLike = {0x1f, (byte) 0x8b, 8, 0, 'x', 'y'};
        final byte[] emptyMember = XdrFiles.gzip(new byte[0]);
        for (final byte[] tail : List.of(garbage, gzipLike, emptyMember, new byte[] {0})) {
            final byte[] appended = concat(gz, tail);
            final VerificationException e = assertThrows(VerificationException.class,
                    () -> LedgerHeaderVerifier.verify(in(appended), "ledger/x", CP, LIMITS));
            assertReason(FailureReason.CORRUPT_GZIP, e);
            assertTrue(e.detail().contains("trailing bytes after the gzip stream"), e::toString);
        }
        final Hash h = someBucket();
        final byte[] bucket = concat(Files.readAllBytes(f.bucket(h)), garbage);
        final VerificationException e = assertThrows(VerificationException.class,
                () -> BucketVerifier.verify(in(bucket), "bucket/x", h, LIMITS));
        assertReason(FailureReason.CORRUPT_GZIP, e);
        // the same file as it is passes, and so does the same content with every optional header field gzip has
        assertEquals(64, LedgerHeaderVerifier.verify(in(gz), "ledger/x", CP, LIMITS).size());
        final byte[] raw = XdrFiles.gunzip(gz);
        final byte[] plain = XdrFiles.gzip(raw);
        final java.io.ByteArrayOutputStream flagged = new java.io.ByteArrayOutputStream();
        final java.util.zip.CRC32 headerCrc = new java.util.zip.CRC32();
        final byte[] header = {0x1f, (byte) 0x8b, 8, 2 | 4 | 8 | 16, 0, 0, 0, 0, 0, 3, 3, 0, 'a', 'b', 'c',
                'n', 'a', 'm', 'e', 0, 'c', 0};
        headerCrc.update(header);
        flagged.write(header);
        flagged.write((int) headerCrc.getValue() & 0xff);
        flagged.write((int) (headerCrc.getValue() >> 8) & 0xff);
        flagged.write(plain, 10, plain.length - 10); // the deflate data and trailer of a plain member
        assertEquals(64, LedgerHeaderVerifier.verify(in(flagged.toByteArray()), "ledger/x", CP, LIMITS).size());
        final byte[] badHeaderCrc = flagged.toByteArray();
        badHeaderCrc[header.length] ^= 1;
        assertReason(FailureReason.CORRUPT_GZIP, assertThrows(VerificationException.class,
                () -> LedgerHeaderVerifier.verify(in(badHeaderCrc), "ledger/x", CP, LIMITS)));
        // an empty gzip stream is legal (an SCP file of a checkpoint without messages)
        assertEquals(0, ScpVerifier.verify(in(emptyMember), "scp/x", CP, LIMITS).entryCount());
    }

    private static byte[] concat(final byte[] a, final byte[] b) {
        final byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void shouldRefuseBytesThatAreNotGzip() {
        assertReason(FailureReason.CORRUPT_GZIP, assertThrows(VerificationException.class,
                () -> LedgerHeaderVerifier.verify(in("<html>404</html>".getBytes(StandardCharsets.UTF_8)), "ledger/x",
                        CP, LIMITS)));
        assertReason(FailureReason.CORRUPT_GZIP, assertThrows(VerificationException.class,
                () -> LedgerHeaderVerifier.verify(in(new byte[0]), "ledger/x", CP, LIMITS)));
    }

    // ---- framing

    @Test
    void shouldDetectFramingErrors() throws Exception {
        final List<byte[]> recs = XdrFiles.records(f.bytes(FileType.LEDGER, CP));
        final byte[] framed = XdrFiles.frame(recs);
        final byte[] noHighBit = framed.clone();
        noHighBit[0] &= 0x7f;
        assertReason(FailureReason.BAD_FRAMING, assertThrows(VerificationException.class,
                () -> LedgerHeaderVerifier.verify(in(XdrFiles.gzip(noHighBit)), "ledger/x", CP, LIMITS)));
        final byte[] cut = Arrays.copyOf(framed, framed.length - 10);
        final VerificationException past = assertThrows(VerificationException.class,
                () -> LedgerHeaderVerifier.verify(in(XdrFiles.gzip(cut)), "ledger/x", CP, LIMITS));
        assertReason(FailureReason.BAD_FRAMING, past);
        assertTrue(past.detail().contains("past the end"), past::detail);
        final byte[] trailing = Arrays.copyOf(framed, framed.length + 2);
        assertReason(FailureReason.BAD_FRAMING, assertThrows(VerificationException.class,
                () -> LedgerHeaderVerifier.verify(in(XdrFiles.gzip(trailing)), "ledger/x", CP, LIMITS)));
        // a record claiming 2 GiB is refused before any allocation
        final byte[] huge = {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xf0, 0, 0, 0, 0};
        assertReason(FailureReason.TOO_LARGE, assertThrows(VerificationException.class,
                () -> ResultSetVerifier.verify(in(XdrFiles.gzip(huge)), "results/x", CP, LIMITS)));
        // a length within the cap but past the end of the stream
        final byte[] lying = {(byte) 0x80, (byte) 0x10, 0, 0, 0, 0, 0, 1};
        assertReason(FailureReason.BAD_FRAMING, assertThrows(VerificationException.class,
                () -> ResultSetVerifier.verify(in(XdrFiles.gzip(lying)), "results/x", CP, LIMITS)));
    }

    // ---- ledger headers

    @Test
    void shouldNameWhatIsWrongWithAMalformedHeaderOrTransactionEntry() throws Exception {
        // a header cut short (its entry hash made to match): the fields run past its end; said as a negative count
        final List<byte[]> recs = XdrFiles.records(f.bytes(FileType.LEDGER, CP));
        final byte[] header = Arrays.copyOfRange(recs.get(0), 32, 32 + 254); // ledgerSeq ends at 256 here
        final byte[] cut = new byte[32 + header.length + 4];
        System.arraycopy(Hash.sha256(header).bytes(), 0, cut, 0, 32);
        System.arraycopy(header, 0, cut, 32, header.length);
        recs.set(0, cut);
        final VerificationException h = assertThrows(VerificationException.class,
                () -> LedgerHeaderVerifier.verify(in(XdrFiles.gzipRecords(recs)), "ledger/x", CP, LIMITS));
        assertReason(FailureReason.MALFORMED_XDR, h);
        assertTrue(h.detail().contains("header too short"), h::toString);
        // a generalized entry (no legacy transactions, ext 1) whose ext says 2: was "stray bytes in an empty legacy set"
        final List<byte[]> txs = XdrFiles.records(f.bytes(FileType.TRANSACTIONS, CP));
        assertEquals(1, java.nio.ByteBuffer.wrap(txs.get(0)).getInt(40), "the fixture's entries are generalized");
        java.nio.ByteBuffer.wrap(txs.get(0)).putInt(40, 2);
        final VerificationException t = assertThrows(VerificationException.class,
                () -> TransactionSetVerifier.verify(in(XdrFiles.gzipRecords(txs)), "tx/x", CP, LIMITS));
        assertReason(FailureReason.MALFORMED_XDR, t);
        assertTrue(t.detail().contains("unknown TransactionHistoryEntry ext 2"), t::toString);
    }

    @Test
    void shouldDetectFlippedByteInHeader() throws Exception {
        final List<byte[]> recs = XdrFiles.records(f.bytes(FileType.LEDGER, CP));
        recs.get(10)[32 + 80] ^= 0x01; // inside the header, after the entry hash
        final VerificationException e = assertThrows(VerificationException.class,
                () -> LedgerHeaderVerifier.verify(in(XdrFiles.gzipRecords(recs)), "ledger/x", CP, LIMITS));
        assertReason(FailureReason.HEADER_HASH_MISMATCH, e);
    }

    @Test
    void shouldDetectDroppedHeader() throws Exception {
        final List<byte[]> recs = new ArrayList<>(XdrFiles.records(f.bytes(FileType.LEDGER, CP)));
        recs.remove(20);
        assertReason(FailureReason.HEADER_CHAIN_BROKEN, assertThrows(VerificationException.class,
                () -> LedgerHeaderVerifier.verify(in(XdrFiles.gzipRecords(recs)), "ledger/x", CP, LIMITS)));
        final List<byte[]> lastDropped = new ArrayList<>(XdrFiles.records(f.bytes(FileType.LEDGER, CP)));
        lastDropped.remove(lastDropped.size() - 1);
        assertReason(FailureReason.WRONG_LEDGER_SET, assertThrows(VerificationException.class,
                () -> LedgerHeaderVerifier.verify(in(XdrFiles.gzipRecords(lastDropped)), "ledger/x", CP, LIMITS)));
    }

    @Test
    void shouldDetectHeaderFileOfAnotherCheckpoint() throws Exception {
        assertReason(FailureReason.WRONG_CHECKPOINT, assertThrows(VerificationException.class,
                () -> LedgerHeaderVerifier.verify(f.open(FileType.LEDGER, CP + 64), "ledger/x", CP, LIMITS)));
    }

    @Test
    void shouldDetectBrokenLinkBetweenCheckpoints() throws Exception {
        final LedgerHeaderSummary prev = lastOf(headers(CP - 64));
        CheckpointCrossCheck.chainLink(prev, headers(CP), "ledger/x"); // the real link holds
        final LedgerHeaderSummary forged = new LedgerHeaderSummary(prev.ledgerSeq(), Hash.sha256(new byte[3]),
                prev.previousLedgerHash(), prev.txSetHash(), prev.txSetResultHash(), prev.bucketListHash(),
                prev.closeTime(), prev.ledgerVersion(), false);
        assertReason(FailureReason.CHAIN_LINK_BROKEN, assertThrows(VerificationException.class,
                () -> CheckpointCrossCheck.chainLink(forged, headers(CP), "ledger/x")));
    }

    @Test
    void shouldRefuseAGenesisLedgerThatHoldsAnything() throws Exception {
        final FixtureFiles pubnet = new FixtureFiles(Fixtures.pubnetGenesis());
        final List<LedgerHeaderSummary> hs;
        try (InputStream s = pubnet.open(FileType.LEDGER, 63)) {
            hs = LedgerHeaderVerifier.verify(s, "ledger", 63, LIMITS);
        }
        CheckpointCrossCheck.genesis(hs, "ledger/x"); // the real genesis passes
        final LedgerHeaderSummary g = hs.get(0);
        final Hash some = Hash.sha256(new byte[32]); // the legacy hash of an empty set after an all-zero hash
        for (final LedgerHeaderSummary forged : List.of(
                new LedgerHeaderSummary(1, g.hash(), g.previousLedgerHash(), some, g.txSetResultHash(),
                        g.bucketListHash(), g.closeTime(), g.ledgerVersion(), false),
                new LedgerHeaderSummary(1, g.hash(), g.previousLedgerHash(), g.txSetHash(), some,
                        g.bucketListHash(), g.closeTime(), g.ledgerVersion(), false),
                new LedgerHeaderSummary(1, g.hash(), g.previousLedgerHash(), g.txSetHash(), g.txSetResultHash(),
                        g.bucketListHash(), g.closeTime(), 1, false))) {
            final List<LedgerHeaderSummary> withForged = new ArrayList<>(hs);
            withForged.set(0, forged);
            assertReason(FailureReason.CHAIN_LINK_BROKEN, assertThrows(VerificationException.class,
                    () -> CheckpointCrossCheck.genesis(withForged, "ledger/x")));
        }
    }

    private static LedgerHeaderSummary lastOf(final List<LedgerHeaderSummary> hs) {
        return hs.get(hs.size() - 1);
    }

    // ---- transactions and results

    @Test
    void shouldDetectFlippedByteAndDroppedEntryInTransactions() throws Exception {
        final List<LedgerHeaderSummary> hs = headers(CP);
        final List<byte[]> recs = XdrFiles.records(f.bytes(FileType.TRANSACTIONS, CP));
        assertTrue(recs.size() > 2);
        final byte[] flipped = recs.get(1).clone();
        flipped[flipped.length - 3] ^= 0x01;
        final List<byte[]> withFlip = new ArrayList<>(recs);
        withFlip.set(1, flipped);
        final List<LedgerSetHash> sets = TransactionSetVerifier.verify(in(XdrFiles.gzipRecords(withFlip)), "tx/x", CP,
                LIMITS);
        assertReason(FailureReason.TX_SET_HASH_MISMATCH, assertThrows(VerificationException.class,
                () -> CheckpointCrossCheck.transactionSets(hs, sets, null, "tx/x")));
        final List<byte[]> dropped = new ArrayList<>(recs);
        dropped.remove(1);
        final List<LedgerSetHash> fewer = TransactionSetVerifier.verify(in(XdrFiles.gzipRecords(dropped)), "tx/x",
                CP, LIMITS);
        final VerificationException e = assertThrows(VerificationException.class,
                () -> CheckpointCrossCheck.transactionSets(hs, fewer, null, "tx/x"));
        assertReason(FailureReason.TX_SET_HASH_MISMATCH, e);
        assertTrue(e.detail().contains("no transaction entry"), e::detail);
    }

    @Test
    void shouldDetectTransactionsAndResultsOfAnotherCheckpoint() throws Exception {
        assertReason(FailureReason.WRONG_CHECKPOINT, assertThrows(VerificationException.class,
                () -> TransactionSetVerifier.verify(f.open(FileType.TRANSACTIONS, CP + 64), "tx/x", CP, LIMITS)));
        assertReason(FailureReason.WRONG_CHECKPOINT, assertThrows(VerificationException.class,
                () -> ResultSetVerifier.verify(f.open(FileType.RESULTS, CP + 64), "results/x", CP, LIMITS)));
        assertReason(FailureReason.WRONG_CHECKPOINT, assertThrows(VerificationException.class,
                () -> ScpVerifier.verify(f.open(FileType.SCP, CP + 64), "scp/x", CP, LIMITS)));
    }

    @Test
    void shouldDetectEntriesOutOfOrder() throws Exception {
        final List<byte[]> recs = new ArrayList<>(XdrFiles.records(f.bytes(FileType.RESULTS, CP)));
        final byte[] first = recs.remove(0);
        recs.add(first);
        assertReason(FailureReason.BAD_ENTRY_ORDER, assertThrows(VerificationException.class,
                () -> ResultSetVerifier.verify(in(XdrFiles.gzipRecords(recs)), "results/x", CP, LIMITS)));
    }

    @Test
    void shouldDetectFlippedByteAndDroppedEntryInResults() throws Exception {
        final List<LedgerHeaderSummary> hs = headers(CP);
        final List<byte[]> recs = XdrFiles.records(f.bytes(FileType.RESULTS, CP));
        final List<byte[]> flippedRecs = new ArrayList<>(recs);
        final byte[] flipped = recs.get(0).clone();
        flipped[10] ^= 0x01;
        flippedRecs.set(0, flipped);
        final List<LedgerSetHash> sets = ResultSetVerifier.verify(in(XdrFiles.gzipRecords(flippedRecs)), "r/x", CP,
                LIMITS);
        assertReason(FailureReason.RESULT_SET_HASH_MISMATCH, assertThrows(VerificationException.class,
                () -> CheckpointCrossCheck.resultSets(hs, sets, "r/x")));
        final List<byte[]> dropped = new ArrayList<>(recs);
        dropped.remove(0);
        final List<LedgerSetHash> fewer = ResultSetVerifier.verify(in(XdrFiles.gzipRecords(dropped)), "r/x", CP,
                LIMITS);
        assertReason(FailureReason.RESULT_SET_HASH_MISMATCH, assertThrows(VerificationException.class,
                () -> CheckpointCrossCheck.resultSets(hs, fewer, "r/x")));
    }

    @Test
    void shouldDetectTruncatedScpRecord() throws Exception {
        final List<byte[]> recs = new ArrayList<>(XdrFiles.records(f.bytes(FileType.SCP, CP)));
        recs.set(0, Arrays.copyOf(recs.get(0), recs.get(0).length - 8));
        assertReason(FailureReason.MALFORMED_XDR, assertThrows(VerificationException.class,
                () -> ScpVerifier.verify(in(XdrFiles.gzipRecords(recs)), "scp/x", CP, LIMITS)));
    }

    /** Verifies a record file of {@link #CP} of the given type from {@code gz}. */
    private static void verifyRecords(final FileType type, final byte[] gz) throws Exception {
        final String file = type.name().toLowerCase(java.util.Locale.ROOT) + "/x";
        switch (type) {
            case LEDGER -> LedgerHeaderVerifier.verify(in(gz), file, CP, LIMITS);
            case TRANSACTIONS -> TransactionSetVerifier.verify(in(gz), file, CP, LIMITS);
            case RESULTS -> ResultSetVerifier.verify(in(gz), file, CP, LIMITS);
            case SCP -> ScpVerifier.verify(in(gz), file, CP, LIMITS);
            default -> throw new IllegalArgumentException(type.name());
        }
    }

    @Test
    void aBlockZeroedInsideTheDeflateDataOfARecordFileIsCorruptGzipWhateverTheXdrReadBeforeIt() throws Exception {
        // damaged deflate data decodes to garbage for a while before inflate (or the CRC) notices: the XDR checks
        // fail first, yet the file's damage is its gzip stream's
        int xdrFirst = 0;
        for (final FileType type : List.of(FileType.LEDGER, FileType.TRANSACTIONS, FileType.RESULTS, FileType.SCP)) {
            final byte[] gz = f.bytes(type, CP);
            verifyRecords(type, gz);
            for (int step = 1; step < 8; step++) {
                final byte[] bad = gz.clone();
                final int at = 10 + (bad.length - 18) * step / 8;
                Arrays.fill(bad, at, Math.min(at + 16, bad.length - 8), (byte) 0);
                final VerificationException e = assertThrows(VerificationException.class,
                        () -> verifyRecords(type, bad), () -> type + " zeroed at " + at + " passed");
                assertReason(FailureReason.CORRUPT_GZIP, e);
                if (e.detail().contains("read as XDR before that")) {
                    xdrFirst++;
                }
            }
        }
        assertTrue(xdrFirst > 0, "no damage reached the XDR checks before inflate noticed: the case is not covered");
    }

    // ---- HAS

    private String hasJson() throws Exception {
        return new String(f.bytes(FileType.HAS, CP), StandardCharsets.UTF_8);
    }

    private VerificationException hasFailure(final String json, final String passphrase) {
        return assertThrows(VerificationException.class, () -> HasVerifier.verify(
                in(json.getBytes(StandardCharsets.UTF_8)), ArchivePaths.has(CP), CP, passphrase, LIMITS));
    }

    @Test
    void shouldDetectWrongPassphraseAndWrongCheckpoint() throws Exception {
        assertReason(FailureReason.WRONG_NETWORK,
                hasFailure(hasJson(), "Public Global Stellar Network ; September 2015"));
        final String other = new String(f.bytes(FileType.HAS, CP + 64), StandardCharsets.UTF_8);
        assertReason(FailureReason.WRONG_CHECKPOINT, hasFailure(other, TESTNET));
    }

    @Test
    void shouldRefuseHostileAndMalformedHas() throws Exception {
        final String json = hasJson();
        final Hash b = someBucket();
        final VerificationException hostile = hasFailure(json.replaceFirst(b.hex(), "../../x"), TESTNET);
        assertReason(FailureReason.HOSTILE_NAME, hostile);
        assertTrue(hostile.detail().contains("../../x"));
        assertReason(FailureReason.HOSTILE_NAME, hasFailure(json.replaceFirst(b.hex(), b.hex().toUpperCase()),
                TESTNET));
        assertReason(FailureReason.MALFORMED_JSON, hasFailure(json.substring(0, json.length() / 2), TESTNET));
        final VerificationException cut = hasFailure(json.substring(0, json.trim().lastIndexOf('}')), TESTNET);
        assertReason(FailureReason.MALFORMED_JSON, cut);
        // where the document began, without Jackson's "[Source: REDACTED (`StreamReadFeature...` disabled); ...]"
        assertTrue(cut.detail().endsWith("(start marker at line 1, column 1)"), cut.detail());
        assertReason(FailureReason.INVALID_HAS, hasFailure(json.replaceFirst("\"version\": 1", "\"version\": 3"),
                TESTNET));
        assertReason(FailureReason.INVALID_HAS, hasFailure("[1,2,3]", TESTNET));
        // without server, which stellar-core requires as it does version and currentLedger (a trial's was accepted)
        final String noServer = json.replaceFirst("\"server\": *\"[^\"]*\",", "");
        assertTrue(!noServer.equals(json) && !noServer.contains("\"server\""), noServer);
        final VerificationException withoutServer = hasFailure(noServer, TESTNET);
        assertReason(FailureReason.INVALID_HAS, withoutServer);
        assertTrue(withoutServer.detail().contains("no server field"), withoutServer.detail());
        assertReason(FailureReason.INVALID_HAS, hasFailure(json.replaceFirst("\"server\": *\"[^\"]*\"",
                "\"server\": 7"), TESTNET));
        final byte[] big = new byte[LIMITS.maxHasBytes() + 10];
        Arrays.fill(big, (byte) ' ');
        assertReason(FailureReason.TOO_LARGE, assertThrows(VerificationException.class,
                () -> HasVerifier.verify(in(big), "history/x", CP, TESTNET, LIMITS)));

        // a repeated key whose name clears the screen and forges a log line: the parser's message quotes it as it
        // is, and it reached the terminal raw
        final VerificationException dup = hasFailure("{\"version\": 1, \"\\u001b[2J\\nFAKE INFO all verified"
                + "\\u001b]0;pwned\\u0007\": 1, \"\\u001b[2J\\nFAKE INFO all verified\\u001b]0;pwned\\u0007\": 2}",
                TESTNET);
        assertReason(FailureReason.MALFORMED_JSON, dup);
        assertTrue(dup.detail().contains("\\u001b[2J\\u000aFAKE INFO all verified\\u001b]0;pwned\\u0007"),
                dup.detail());
        assertTrue(dup.detail().chars().noneMatch(c -> c < 0x20), dup.detail());
    }

    @Test
    void shouldDetectBucketListHashMismatch() throws Exception {
        final Hash b = someBucket();
        final String swapped = hasJson().replaceFirst(b.hex(), Hash.sha256(new byte[1]).hex());
        final HistoryArchiveState has = HistoryArchiveState.parse(swapped.getBytes(StandardCharsets.UTF_8), "h");
        assertReason(FailureReason.BUCKET_LIST_HASH_MISMATCH, assertThrows(VerificationException.class,
                () -> CheckpointCrossCheck.bucketList(has, headers(CP), "history/x")));
    }
}
