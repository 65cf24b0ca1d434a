package io.historystreams.testing;

import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.FileType;
import io.historystreams.verify.CheckpointCrossCheck;
import io.historystreams.verify.Hash;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * A copy of pubnet-genesis (ledgers 1..127, one transaction in ledger 3), or of the ledger and transactions files of
 * another archive's first checkpoints, whose headers a test rewrites, re-chained
 * afterwards so that every check but the one a test aims at still passes: each header's hash, each previousLedgerHash,
 * the transaction entries' previousLedgerHash, and every txSetHash (the hash of the entry, legacy or generalized, or
 * the empty set in the form of the previous ledger's protocol). The HAS files, buckets and results need no change: the bucket-list and
 * result-set hashes do not depend on the rewritten fields.
 */
public final class ForgedArchive {
    private static final int VERSION = 0;
    private static final int PREVIOUS_HASH = 4;
    private static final int TX_SET_HASH = 36;
    private static final int UPGRADES = 76;

    /** Ledger {@code seq}'s header record ({@code LedgerHeaderHistoryEntry}: hash, header, ext), index seq - 1. */
    private final List<byte[]> ledgers = new ArrayList<>();
    /** Transaction entries by ledger. */
    private final Map<Long, byte[]> transactions = new TreeMap<>();
    /** Ledgers without an entry whose empty set the test builds in another protocol's form than the rules say. */
    private final Map<Long, Integer> emptySetProtocols = new TreeMap<>();
    /** Ledgers whose header names another previous ledger hash than the ledger before's. */
    private final Map<Long, Hash> links = new TreeMap<>();
    /** Ledgers whose entry names another previous ledger hash than its header's. */
    private final Map<Long, Hash> namedPrevious = new TreeMap<>();
    private final Path root;
    private final long[] checkpoints;

    /** Reads the ledger and transactions files of {@code checkpoints} (63, 127, ...: from ledger 1) of {@code from}. */
    private ForgedArchive(final Path from, final Path root, final long[] checkpoints) throws IOException {
        this.root = root;
        this.checkpoints = checkpoints;
        for (final long cp : checkpoints) {
            ledgers.addAll(XdrFiles.records(Files.readAllBytes(from.resolve(path(FileType.LEDGER, cp)))));
            for (final byte[] e : XdrFiles.records(Files.readAllBytes(from.resolve(path(FileType.TRANSACTIONS, cp))))) {
                transactions.put(ByteBuffer.wrap(e).getInt() & 0xffffffffL, e);
            }
        }
    }

    /** Copies pubnet-genesis to {@code dir}. */
    public static ForgedArchive copyOfPubnetGenesis(final Path dir) throws IOException {
        final Path src = Fixtures.pubnetGenesis();
        try (Stream<Path> files = Files.walk(src)) {
            for (final Path p : (Iterable<Path>) files::iterator) {
                final Path to = dir.resolve(src.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(to);
                } else {
                    Files.copy(p, to);
                }
            }
        }
        return new ForgedArchive(dir, dir, new long[] {63, 127});
    }

    /**
     * A mirror in {@code dir} holding only the ledger and transactions files of {@code source}'s checkpoints 63 to
     * {@code lastCheckpoint}, as the test rewrites them (see {@link #copyTheRestFrom} for the other files).
     */
    public static ForgedArchive ledgersAndTransactionsOf(final Path source, final Path dir, final long lastCheckpoint)
            throws IOException {
        final long[] cps = java.util.stream.LongStream.iterate(63, cp -> cp <= lastCheckpoint, cp -> cp + 64)
                .toArray();
        return new ForgedArchive(source, dir, cps);
    }

    public Path root() {
        return root;
    }

    /** Sets ledger {@code seq}'s protocol version. */
    public ForgedArchive version(final long seq, final int version) {
        header(seq).putInt(VERSION, version);
        return this;
    }

    /** Sets ledger {@code seq}'s close time (a field no other file names: the checkpoint stays consistent). */
    public ForgedArchive closeTime(final long seq, final long closeTime) {
        header(seq).putLong(TX_SET_HASH + 32, closeTime);
        return this;
    }

    /** Ledgers {@code seq} and after have protocol {@code version}, with no upgrade entry saying so. */
    public ForgedArchive versionFrom(final long seq, final int version) {
        for (long s = seq; s <= ledgers.size(); s++) {
            version(s, version);
        }
        return this;
    }

    /** Ledger {@code seq} upgrades the protocol to {@code version}, and the ledgers after it follow. */
    public ForgedArchive upgrade(final long seq, final int version) {
        final byte[] rec = ledgers.get((int) seq - 1);
        if (ByteBuffer.wrap(rec, 32 + UPGRADES, 4).getInt() != 0) {
            throw new IllegalStateException("ledger " + seq + " has upgrades already");
        }
        // upgrades<6>: one opaque of 8 bytes, LedgerUpgrade { LEDGER_UPGRADE_VERSION (1), newLedgerVersion }
        final ByteBuffer b = ByteBuffer.allocate(rec.length + 12);
        b.put(rec, 0, 32 + UPGRADES).putInt(1).putInt(8).putInt(1).putInt(version);
        b.put(rec, 32 + UPGRADES + 4, rec.length - 32 - UPGRADES - 4);
        ledgers.set((int) seq - 1, b.array());
        for (long s = seq; s <= ledgers.size(); s++) {
            version(s, version);
        }
        return this;
    }

    /** Ledger {@code seq} (without a transaction entry) carries the empty set in {@code protocol}'s form. */
    public ForgedArchive emptySetIn(final long seq, final int protocol) {
        emptySetProtocols.put(seq, protocol);
        return this;
    }

    /**
     * Ledger {@code seq} gets an entry holding no transaction: a legacy set, or a generalized one in protocol
     * 20..22's form (two phases, no components).
     */
    public ForgedArchive emptyEntry(final long seq, final boolean generalized) {
        final ByteBuffer b = ByteBuffer.allocate(generalized ? 100 : 44);
        // ledgerSeq, txSet { previousLedgerHash (filled by write), txs<> 0 }, ext
        b.putInt((int) seq).put(new byte[32]).putInt(0).putInt(generalized ? 1 : 0);
        if (generalized) {
            // GeneralizedTransactionSet v1 { previousLedgerHash (filled by write), phases<2> [v0 {}, v0 {}] }
            b.putInt(1).put(new byte[32]).putInt(2).putInt(0).putInt(0).putInt(0).putInt(0);
        }
        transactions.put(seq, b.array());
        return this;
    }

    /**
     * Ledger {@code seq} names {@code previous} as its previous ledger's hash: a chain that breaks there, the ledgers
     * after it re-chained to it.
     */
    public ForgedArchive linkTo(final long seq, final Hash previous) {
        links.put(seq, previous);
        return this;
    }

    /** Ledger {@code seq}'s entry names {@code previous} as its previous ledger's hash, whatever its header says. */
    public ForgedArchive entryNaming(final long seq, final Hash previous) {
        namedPrevious.put(seq, previous);
        return this;
    }

    /** Re-chains from ledger 2 (genesis keeps its fields as the test set them) and writes the files. */
    public ForgedArchive write() throws IOException {
        for (int i = 0; i < ledgers.size(); i++) {
            final long seq = i + 1;
            if (seq > 1) {
                final byte[] prev = links.containsKey(seq) ? links.get(seq).bytes()
                        : java.util.Arrays.copyOf(ledgers.get(i - 1), 32);
                header(seq).put(PREVIOUS_HASH, prev);
                final byte[] entry = transactions.get(seq);
                final Hash set;
                if (entry != null) {
                    final byte[] named = namedPrevious.containsKey(seq) ? namedPrevious.get(seq).bytes() : prev;
                    System.arraycopy(named, 0, entry, 4, 32);
                    final ByteBuffer e = ByteBuffer.wrap(entry);
                    if (e.getInt(36) == 0 && entry.length > 44 && e.getInt(40) == 1) {
                        // generalized (no legacy txs, ext 1): the hash of the set after the ext word
                        System.arraycopy(named, 0, entry, 48, 32);
                        set = Hash.sha256(java.util.Arrays.copyOfRange(entry, 44, entry.length));
                    } else {
                        // legacy: SHA256(previousLedgerHash || the txs after their count), the entry's ext (0) last
                        final byte[] hashed = new byte[32 + entry.length - 40 - 4];
                        System.arraycopy(named, 0, hashed, 0, 32);
                        System.arraycopy(entry, 40, hashed, 32, entry.length - 44);
                        set = Hash.sha256(hashed);
                    }
                } else {
                    set = CheckpointCrossCheck.emptyTxSetHash(Hash.of(prev), emptySetProtocols.getOrDefault(seq,
                            ByteBuffer.wrap(ledgers.get(i - 1), 32, 4).getInt()));
                }
                header(seq).put(TX_SET_HASH, set.bytes());
            }
            rehash(i);
        }
        for (final long cp : checkpoints) {
            final List<byte[]> part = ledgers.subList(cp == 63 ? 0 : (int) cp - 64, (int) cp);
            Files.createDirectories(root.resolve(path(FileType.LEDGER, cp)).getParent());
            Files.createDirectories(root.resolve(path(FileType.TRANSACTIONS, cp)).getParent());
            Files.write(root.resolve(path(FileType.LEDGER, cp)), XdrFiles.gzipRecords(part));
            final List<byte[]> entries = transactions.entrySet().stream()
                    .filter(e -> e.getKey() > cp - 64 && e.getKey() <= cp).map(Map.Entry::getValue).toList();
            Files.write(root.resolve(path(FileType.TRANSACTIONS, cp)), XdrFiles.gzipRecords(entries));
        }
        return this;
    }

    /**
     * Copies the other files of this mirror's checkpoints from {@code source} (the root state, their HAS, results and
     * SCP files, and the buckets their HAS files name), so that it is a whole archive for them that differs only where
     * the test forged it. Copies, not links: an archive directory refuses links that lead out of it.
     */
    public ForgedArchive copyTheRestFrom(final Path source) throws IOException {
        copy(source, root, checkpoints, false);
        return this;
    }

    /**
     * Copies checkpoints {@code first..last} of {@code source} into the archive directory {@code dir} as they are
     * (every file of theirs, and the buckets their HAS files name), over what it has: a mirror honest there.
     */
    public static void copyCheckpoints(final Path source, final Path dir, final long first, final long last)
            throws IOException {
        copy(source, dir, java.util.stream.LongStream.iterate(first, cp -> cp <= last, cp -> cp + 64).toArray(), true);
    }

    private static void copy(final Path source, final Path root, final long[] checkpoints,
            final boolean ledgersAndTransactions) throws IOException {
        final java.util.Set<String> files = new java.util.TreeSet<>();
        files.add(ArchivePaths.WELL_KNOWN);
        for (final long cp : checkpoints) {
            files.add(ArchivePaths.has(cp));
            files.add(path(FileType.RESULTS, cp));
            files.add(path(FileType.SCP, cp));
            if (ledgersAndTransactions) {
                files.add(path(FileType.LEDGER, cp));
                files.add(path(FileType.TRANSACTIONS, cp));
            }
            try {
                for (final Hash b : io.historystreams.verify.HistoryArchiveState.parse(Files.readAllBytes(
                        source.resolve(ArchivePaths.has(cp))), ArchivePaths.has(cp)).buckets()) {
                    files.add(ArchivePaths.bucket(b.hex()));
                }
            } catch (final io.historystreams.verify.VerificationException e) {
                throw new IOException(e);
            }
        }
        for (final String f : files) {
            // the root state once; whole checkpoints over what the directory has
            if (Files.exists(source.resolve(f)) && (ledgersAndTransactions || !Files.exists(root.resolve(f)))) {
                Files.createDirectories(root.resolve(f).getParent());
                Files.copy(source.resolve(f), root.resolve(f), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    /** The header of ledger {@code seq} (without the entry's hash before it), writable in place. */
    private ByteBuffer header(final long seq) {
        final byte[] rec = ledgers.get((int) seq - 1);
        return ByteBuffer.wrap(rec, 32, rec.length - 36).slice();
    }

    private void rehash(final int i) {
        final byte[] rec = ledgers.get(i);
        final byte[] header = java.util.Arrays.copyOfRange(rec, 32, rec.length - 4);
        System.arraycopy(Hash.sha256(header).bytes(), 0, rec, 0, 32);
    }

    private static String path(final FileType type, final long cp) {
        return ArchivePaths.checkpointFile(type, cp);
    }
}
