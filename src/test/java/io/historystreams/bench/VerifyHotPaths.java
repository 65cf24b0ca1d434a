package io.historystreams.bench;

import io.historystreams.verify.BucketVerifier;
import io.historystreams.verify.Hash;
import io.historystreams.verify.LedgerHeaderVerifier;
import io.historystreams.verify.ResultSetVerifier;
import io.historystreams.verify.ScpVerifier;
import io.historystreams.verify.TransactionSetVerifier;
import io.historystreams.verify.VerificationException;
import io.historystreams.verify.VerificationLimits;
import io.historystreams.verify.XdrRecordStream;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

/**
 * JMH micro-benchmarks of the verification hot paths on the real files of {@code testnet-small} (bench/jmh.sh runs
 * them; results in bench/README.md). One operation is a whole file type of the fixture: all its buckets, or all 157
 * checkpoints' ledger, transactions or results files, read from memory (no I/O). Each verifier is set beside the
 * floor the JDK gives for the same bytes, so the table says how close to the limit the code is:
 * <ul>
 *   <li>buckets: {@link BucketVerifier} (gunzip + SHA-256 of the whole stream) against {@link GZIPInputStream} +
 *       {@link MessageDigest} with a 64 KiB buffer, and against gunzip alone;</li>
 *   <li>record framing: {@link XdrRecordStream} walking every record of the transactions files, against gunzip
 *       alone of the same files;</li>
 *   <li>header parsing: {@link LedgerHeaderVerifier} (framing, fixed-field parsing, the header hash chain);</li>
 *   <li>transaction and result sets: their verifiers (framing, entry parsing, the per-ledger set hashes);</li>
 *   <li>SCP messages: the structural parse of every entry, against gunzip alone.</li>
 * </ul>
 * The {@code compressedBytes} counter is the compressed input per second (divide by 10^6 for MB/s, the unit of
 * bench/run.sh); every verifier throws on a hash mismatch, so a run also proves the results.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@State(Scope.Benchmark)
public class VerifyHotPaths {
    private static final VerificationLimits LIMITS = VerificationLimits.defaults();

    /** A gzipped file held in memory. */
    record GzFile(String name, long checkpoint, Hash bucketHash, byte[] gz) {
        InputStream open() {
            return new ByteArrayInputStream(gz);
        }
    }

    private List<GzFile> buckets;
    private List<GzFile> ledgers;
    private List<GzFile> transactions;
    private List<GzFile> results;
    private List<GzFile> scp;
    /** The JDK floor's read buffer (one benchmark thread). */
    private final byte[] jdkBuffer = new byte[64 * 1024];

    /** Counts what one operation read; JMH reports it per second beside the operations. */
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Bytes {
        public long compressedBytes;
    }

    @Setup(Level.Trial)
    public void load() throws IOException {
        final Path root = io.historystreams.testing.Fixtures.testnetSmall();
        buckets = load(root.resolve("bucket"), "bucket-");
        ledgers = load(root.resolve("ledger"), "ledger-");
        transactions = load(root.resolve("transactions"), "transactions-");
        results = load(root.resolve("results"), "results-");
        scp = load(root.resolve("scp"), "scp-");
        if (buckets.isEmpty() || ledgers.size() != transactions.size() || ledgers.size() != results.size()
                || ledgers.size() != scp.size()) {
            throw new IllegalStateException("unexpected fixture: " + buckets.size() + " buckets, " + ledgers.size()
                    + " ledger, " + transactions.size() + " transactions, " + results.size() + " results, "
                    + scp.size() + " scp files");
        }
    }

    private static List<GzFile> load(final Path dir, final String prefix) throws IOException {
        final List<GzFile> out = new ArrayList<>();
        try (Stream<Path> files = Files.walk(dir)) {
            for (final Path p : files.filter(f -> f.getFileName().toString().startsWith(prefix)
                    && f.getFileName().toString().endsWith(".xdr.gz")).sorted(Comparator.naturalOrder()).toList()) {
                final String name = p.getFileName().toString();
                final String id = name.substring(prefix.length(), name.length() - ".xdr.gz".length());
                final boolean bucket = prefix.equals("bucket-");
                out.add(new GzFile(name, bucket ? -1 : Long.parseLong(id, 16), bucket ? Hash.fromHex(id) : null,
                        Files.readAllBytes(p)));
            }
        }
        return out;
    }

    /** What one operation does to one file; returns what it counted (bytes, records, sets). */
    @FunctionalInterface
    interface PerFile {
        long apply(GzFile f) throws IOException, VerificationException;
    }

    /** One operation: {@code op} over every file of a type; counts their compressed bytes. */
    private static long each(final List<GzFile> files, final Bytes bytes, final PerFile op)
            throws IOException, VerificationException {
        long counted = 0;
        for (final GzFile f : files) {
            counted += op.apply(f);
            bytes.compressedBytes += f.gz().length;
        }
        return counted;
    }

    /** The JDK alone: gunzip through 64 KiB buffers, each block into {@code sha} when not null; the decompressed size. */
    private long jdkGunzip(final GzFile f, final MessageDigest sha) throws IOException {
        long raw = 0;
        try (InputStream in = new GZIPInputStream(f.open(), jdkBuffer.length)) {
            int n;
            while ((n = in.read(jdkBuffer)) > 0) {
                if (sha != null) {
                    sha.update(jdkBuffer, 0, n);
                }
                raw += n;
            }
        }
        return raw;
    }

    @Benchmark
    public long bucketsVerify(final Bytes bytes) throws IOException, VerificationException {
        return each(buckets, bytes, f -> BucketVerifier.verify(f.open(), f.name(), f.bucketHash(), LIMITS).rawBytes());
    }

    /** The JDK floor for the bucket check: gunzip and SHA-256, a 64 KiB buffer, nothing else. */
    @Benchmark
    public long bucketsJdkGunzipSha256(final Bytes bytes) throws IOException, VerificationException {
        return each(buckets, bytes, f -> {
            final MessageDigest sha = Hash.sha256();
            final long raw = jdkGunzip(f, sha);
            if (!Hash.digest(sha).equals(f.bucketHash())) {
                throw new IllegalStateException(f.name() + " does not hash to its name");
            }
            return raw;
        });
    }

    /** Gunzip alone (the share of the bucket check SHA-256 does not take). */
    @Benchmark
    public long bucketsJdkGunzipOnly(final Bytes bytes) throws IOException, VerificationException {
        return each(buckets, bytes, f -> jdkGunzip(f, null));
    }

    /** Record framing: every record of the transactions files, nothing parsed. */
    @Benchmark
    public long transactionsFraming(final Bytes bytes) throws IOException, VerificationException {
        return each(transactions, bytes, f -> {
            long records = 0;
            try (XdrRecordStream s = XdrRecordStream.open(f.open(), f.name(), LIMITS.maxXdrFileRawBytes(),
                    LIMITS.maxRecordBytes())) {
                while (s.next()) {
                    records += s.recordLength();
                }
            }
            return records;
        });
    }

    /** Gunzip alone of the transactions files (the floor of their framing). */
    @Benchmark
    public long transactionsJdkGunzipOnly(final Bytes bytes) throws IOException, VerificationException {
        return each(transactions, bytes, f -> jdkGunzip(f, null));
    }

    @Benchmark
    public long transactionsVerify(final Bytes bytes) throws IOException, VerificationException {
        return each(transactions, bytes,
                f -> TransactionSetVerifier.verify(f.open(), f.name(), f.checkpoint(), LIMITS).size());
    }

    @Benchmark
    public long resultsVerify(final Bytes bytes) throws IOException, VerificationException {
        return each(results, bytes, f -> ResultSetVerifier.verify(f.open(), f.name(), f.checkpoint(), LIMITS).size());
    }

    /** Header parsing: framing, the fixed fields, each header's hash and the chain inside the file. */
    @Benchmark
    public long ledgerHeadersVerify(final Bytes bytes) throws IOException, VerificationException {
        return each(ledgers, bytes,
                f -> LedgerHeaderVerifier.verify(f.open(), f.name(), f.checkpoint(), LIMITS).size());
    }

    /** Gunzip alone of the ledger files (the floor of header parsing). */
    @Benchmark
    public long ledgerHeadersJdkGunzipOnly(final Bytes bytes) throws IOException, VerificationException {
        return each(ledgers, bytes, f -> jdkGunzip(f, null));
    }

    /** SCP messages: every entry parsed (quorum sets, envelopes), nothing hashed. */
    @Benchmark
    public long scpVerify(final Bytes bytes) throws IOException, VerificationException {
        return each(scp, bytes, f -> ScpVerifier.verify(f.open(), f.name(), f.checkpoint(), LIMITS).entryCount());
    }

    /** Gunzip alone of the SCP files. */
    @Benchmark
    public long scpJdkGunzipOnly(final Bytes bytes) throws IOException, VerificationException {
        return each(scp, bytes, f -> jdkGunzip(f, null));
    }
}
