package io.historystreams.topology;

import io.historystreams.archive.FetchObserver;
import io.historystreams.archive.HistoryArchive;
import io.historystreams.archive.RetryPolicy;
import io.historystreams.archive.SourceOptions;
import io.historystreams.blob.BlobStore;
import io.historystreams.verify.LedgerHeaderSummary;
import io.historystreams.verify.VerificationLimits;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the stream processors share in one process and that is not Kafka state: archive clients (one per list of
 * sources), the blob store, the pool that runs blocking fetches off the stream threads, verification limits.
 */
public final class PipelineContext implements AutoCloseable {
    /**
     * Default of {@link #fetchesPerProcessor()}. Measured on testnet-small from a directory (interleaved, medians): 64
     * → 256 took a resident {@code run} worker from 2.02 to 1.73 s and 2.31 to 1.91 s for 125 checkpoints (every
     * pair faster; 512 no faster), a cold {@code ingest} from 3.63 to 3.33 s and 3.62 to 3.49 s after start-up; the
     * live heap stayed at 63 MB (results are a checkpoint's file facts or a bucket's hash and size).
     */
    public static final int DEFAULT_FETCHES_PER_PROCESSOR = 256;
    /** How long {@link #close()} waits for the fetches to end once interrupted. */
    static final java.time.Duration FETCHES_END_WAIT = java.time.Duration.ofSeconds(2);
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(PipelineContext.class);

    private final BlobStore blobs;
    private final ExecutorService fetchPool;
    private final AtomicInteger fetchesQueuedOrRunning = new AtomicInteger();
    /** {@link #fetchPool}, counting what was handed to it and has not ended (a fork-join pool's counts are estimates). */
    private final Executor fetches = this::execute;
    private volatile int fetchesPerProcessor;
    private final SourceOptions sourceOptions;
    private final RetryPolicy retryPolicy;
    private final VerificationLimits limits;
    private final FetchObserver observer;
    private final Map<List<String>, HistoryArchive> archives = new ConcurrentHashMap<>();
    /**
     * Verified ledger files, shared by a checkpoint's ledger work and its successor's chain anchor: those the source
     * read first served at once only. A copy read from another source after a passing error is not shared (a trial:
     * a successor's anchor read from a forged mirror after the honest one's 503 was shared with the checkpoint read
     * again to replace that forged copy, and every attempt took it).
     */
    private final SharedFetches<FileFetcher.Stored<List<LedgerHeaderSummary>>> ledgerFiles =
            new SharedFetches<>(256, FileFetcher.Stored::firstTry);
    /** Buckets verified in this process, shared by the bucket fetchers of every task. */
    private final BucketVerdicts bucketVerdicts = new BucketVerdicts(8192);
    /** The sources that served bad copies of a file, by path, for the last 1,024 paths ({@link #blamedFor}). */
    private final Map<String, List<String>> blamed = new java.util.LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(final Map.Entry<String, List<String>> eldest) {
            return size() > 1024;
        }
    };
    private volatile Outcomes outcomes = Outcomes.NONE;
    private volatile boolean keepBucketFiles = true;

    /** Told of each checkpoint outcome as the pipeline emits it (for metrics; may repeat after a retried commit). */
    public interface Outcomes {
        Outcomes NONE = new Outcomes() {
        };

        default void verified(final long checkpoint) {
        }

        default void failed(final long checkpoint) {
        }
    }

    public PipelineContext(final BlobStore blobs, final int fetchConcurrency, final SourceOptions sourceOptions,
            final RetryPolicy retryPolicy, final VerificationLimits limits, final FetchObserver observer) {
        this.blobs = blobs;
        this.sourceOptions = sourceOptions;
        this.retryPolicy = retryPolicy;
        this.limits = limits;
        // each bad copy is kept at once, before the source is read after the others (blamedFor)
        this.observer = new FetchObserver() {
            @Override
            public void blamed(final String source, final String path,
                    final io.historystreams.verify.VerificationException e) {
                blamedFor(path, List.of(source));
            }
        }.andThen(observer);
        this.fetchesPerProcessor = Math.max(DEFAULT_FETCHES_PER_PROCESSOR, 4 * fetchConcurrency);
        this.fetchPool = fetchPool(fetchConcurrency);
    }

    /**
     * The pool that runs fetches: {@code concurrency} of them at once. A fork-join pool, so that a thread waiting for
     * a file another thread is fetching (a ledger file needed by two checkpoints, a bucket named by many:
     * {@link SharedFetches}) is replaced by a spare for as long as it waits, instead of holding one of the places
     * (with {@code --fetch-concurrency 2}, one slow ledger file held both, and nothing else was fetched until it
     * came: a run stopped at 2 verified checkpoints for minutes). Fetches themselves block in plain reads, which do
     * not add threads. Async mode: tasks are taken first in, first out.
     */
    static ForkJoinPool fetchPool(final int concurrency) {
        final AtomicInteger n = new AtomicInteger();
        return new ForkJoinPool(Math.max(1, concurrency), pool -> {
            final ForkJoinWorkerThread t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
            t.setName("fetch-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        }, null, true);
    }

    /** Hands {@code task} to the pool, counted until it ends. */
    private void execute(final Runnable task) {
        fetchesQueuedOrRunning.incrementAndGet();
        try {
            fetchPool.execute(() -> {
                try {
                    task.run();
                } finally {
                    fetchesQueuedOrRunning.decrementAndGet();
                }
            });
        } catch (final RuntimeException e) { // shut down
            fetchesQueuedOrRunning.decrementAndGet();
            throw e;
        }
    }

    /**
     * The archive of a request: of its sources, without those its {@code notFrom} names (when another is left). Its
     * files are read from it; its predecessor's ledger file and its buckets from {@link #archive(List)}.
     */
    public HistoryArchive archive(final io.historystreams.events.CheckpointRequest r) {
        final HistoryArchive all = archive(r.getSources());
        if (r.getNotFrom().isEmpty()) {
            return all;
        }
        final List<Integer> indexes = new java.util.ArrayList<>();
        for (final String s : r.getNotFrom()) {
            indexes.add(r.getSources().indexOf(s));
        }
        return all.without(indexes);
    }

    /** The archive client for a list of sources (created once, shared by every processor). */
    public HistoryArchive archive(final List<String> sources) {
        if (sources == null || sources.isEmpty()) {
            throw new IllegalArgumentException("a request names no source archive");
        }
        // events carry credential-free names; the full URLs (with credentials) are known to this process only
        return archives.computeIfAbsent(List.copyOf(sources), s -> HistoryArchive.open(
                s.stream().map(io.historystreams.archive.Credentials::resolve).toList(), sourceOptions, retryPolicy,
                observer));
    }

    public Outcomes outcomes() {
        return outcomes;
    }

    public void setOutcomes(final Outcomes listener) {
        this.outcomes = listener;
    }

    SharedFetches<FileFetcher.Stored<List<LedgerHeaderSummary>>> ledgerFiles() {
        return ledgerFiles;
    }

    BucketVerdicts bucketVerdicts() {
        return bucketVerdicts;
    }

    /**
     * The sources that served bad copies of the file {@code path} before a good one was read in this process: those
     * of this fetch ({@code now}) and those of an earlier fetch of the same path, kept for the last 1,024 paths. A
     * source that served a bad copy is read after the others from then on, so a second fetch of a file (a ledger
     * file, for its checkpoint and as its successor's anchor) read the good copy first and its event named no source
     * (the report's {@code blamed} depended on which fetch came first).
     */
    List<String> blamedFor(final String path, final List<String> now) {
        synchronized (blamed) {
            final List<String> before = blamed.get(path);
            if (now.isEmpty()) {
                return before == null ? List.of() : before;
            }
            final List<String> all = new java.util.ArrayList<>(before == null ? List.of() : before);
            now.stream().filter(s -> !all.contains(s)).forEach(all::add);
            blamed.put(path, List.copyOf(all));
            return List.copyOf(all);
        }
    }


    /** The blob store; null in a process that keeps nothing on disk (a {@code replay} on a cluster, to no target). */
    public BlobStore blobs() {
        return blobs;
    }

    /**
     * Whether verified bucket files are kept in the blob store (a sink publishes them) or only hashed: buckets are
     * most of an archive's bytes and files (gigabytes each on pubnet) and nothing but a sink reads them again. A
     * bucket not kept is fetched again, and checked against its recorded SHA-256, by whoever needs its bytes later
     * (see {@link StoredFiles}). Every other file is always kept.
     */
    public boolean keepBucketFiles() {
        return keepBucketFiles;
    }

    public void setKeepBucketFiles(final boolean keep) {
        this.keepBucketFiles = keep;
    }

    /** Runs fetches on the pool, counting them ({@link #fetchesQueuedOrRunning()}). */
    public Executor fetchPool() {
        return fetches;
    }

    /**
     * How many fetches one processor (one file type or the buckets, of one task) has submitted and not yet handed
     * back at most (default: {@value #DEFAULT_FETCHES_PER_PROCESSOR}, or 4 per pool thread if more), so the rest of a
     * range waits in the processors' pending stores (on disk), not in memory: without it every request of a range was
     * queued in the pool at once, and memory grew with the range (pubnet's history is ~940,000 checkpoints, 4.7
     * million file fetches). Results are handed back, and room made for more, only when the stream thread punctuates
     * (every 20 ms at best, often 100 ms, when its poll for input waits), so the bound must cover what the pool does
     * in that long: 2 per pool thread made an ingest of testnet-small 2 s slower, and with 64 the pool sat idle
     * between punctuations in the bucket phase (small files take ~1 ms each).
     */
    public int fetchesPerProcessor() {
        return fetchesPerProcessor;
    }

    /** Sets {@link #fetchesPerProcessor()} (before the topology starts). */
    public void setFetchesPerProcessor(final int n) {
        if (n < 1) {
            throw new IllegalArgumentException("fetches per processor must be at least 1: " + n);
        }
        this.fetchesPerProcessor = n;
    }

    /** Fetches queued in the pool or running now. */
    int fetchesQueuedOrRunning() {
        return fetchesQueuedOrRunning.get();
    }

    public VerificationLimits limits() {
        return limits;
    }

    @Override
    public void close() {
        fetchPool.shutdownNow();
        // the sources disconnect their requests waiting for an answer: neither the interrupt nor the pool's shutdown
        // ends such a wait, nor a body's read that stalls (a stop waited the 10 s this wait was, past
        // shutdown.timeout.seconds). Fetches still blocked after that are left to their read timeout: their results
        // have nowhere to go, and the pool's threads do not keep the process alive.
        archives.values().forEach(HistoryArchive::close);
        try {
            if (!fetchPool.awaitTermination(FETCHES_END_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.info("fetches still waiting for their servers after {} ms are left to their read timeout",
                        FETCHES_END_WAIT.toMillis());
            }
        } catch (final InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        archives.clear();
    }
}
