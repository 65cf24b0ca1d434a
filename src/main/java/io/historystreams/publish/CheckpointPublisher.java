package io.historystreams.publish;

import io.historystreams.archive.ArchivePaths;
import io.historystreams.blob.LocalBlobStore;
import io.historystreams.events.CheckpointPublished;
import io.historystreams.events.CheckpointVerified;
import io.historystreams.events.FileRef;
import io.historystreams.events.Hashes;
import io.historystreams.topology.PipelineContext;
import io.historystreams.topology.StoredFiles;
import io.historystreams.verify.Hash;
import io.historystreams.verify.HistoryArchiveState;
import io.historystreams.verify.VerificationException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Publishes one verified checkpoint to one target archive in stellar-core's safe order: missing buckets, then the
 * checkpoint's ledger/transactions/results/scp files, then its {@code history-<hex>.json}, and last the root
 * {@code .well-known/stellar-history.json}, only when that moves the root forward.
 *
 * <p>Files the target already has are skipped (archives are write-once), so a repeat writes nothing; except for a
 * checkpoint verified after another copy of it failed its chain link ({@code otherCopyRefused}): that copy may have been
 * published before it was taken back, so the checkpoint's state and data files are put over the target's. Every byte
 * published is checked against the SHA-256 recorded in the {@link FileRef} right before the put; a mismatch fails
 * with a non-retryable {@link PublishException} and nothing is written under that path. Not thread-safe for one
 * target: publish one checkpoint at a time per target, in checkpoint order (see {@link PublishRunner}).
 *
 * <p>Within a step of that order the files (a checkpoint's buckets; its four data files) are put
 * {@value #FILES_IN_FLIGHT} at a time: each put is atomic on its own, and the next step starts only when every put of
 * this one has succeeded, so the order stellar-core relies on holds while a target's latency (an fsync, an HTTP round
 * trip, an upload command) overlaps. {@link #prepare} goes further: the buckets and data files of the checkpoints
 * about to be published are put together, and each checkpoint waits only for its own before its HAS.
 */
public final class CheckpointPublisher {
    private static final Logger LOG = LoggerFactory.getLogger(CheckpointPublisher.class);

    private final ArchiveWriter writer;
    private final PipelineContext ctx;
    private final Path tempDir;
    private final AtomicLong filesWritten = new AtomicLong();
    private final AtomicLong filesSkipped = new AtomicLong();
    private final AtomicLong bytesWritten = new AtomicLong();
    /** Files of one step put at once. */
    static final int FILES_IN_FLIGHT = 4;
    private final java.util.concurrent.ExecutorService puts;
    /** Puts started ahead by {@link #prepare}, by path (publishing thread only). */
    private final Map<String, Prepared> prepared = new HashMap<>();

    /** A put started ahead; the first checkpoint that lists the file takes its outcome, later ones see it present. */
    private static final class Prepared {
        final java.util.concurrent.Future<Put> put;
        boolean taken;

        Prepared(final java.util.concurrent.Future<Put> put) {
            this.put = put;
        }
    }

    /** A publisher to {@code writer} reading verified bytes from {@code ctx}'s blob store (temporaries in java.io.tmpdir). */
    public CheckpointPublisher(final ArchiveWriter writer, final PipelineContext ctx) {
        this(writer, ctx, Path.of(System.getProperty("java.io.tmpdir")));
    }

    /** As {@link #CheckpointPublisher(ArchiveWriter, PipelineContext)}, staging non-local blobs in {@code tempDir}. */
    public CheckpointPublisher(final ArchiveWriter writer, final PipelineContext ctx, final Path tempDir) {
        this.writer = Objects.requireNonNull(writer, "writer");
        this.ctx = Objects.requireNonNull(ctx, "ctx");
        this.tempDir = Objects.requireNonNull(tempDir, "tempDir");
        final java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
        final java.util.concurrent.ThreadPoolExecutor pool = new java.util.concurrent.ThreadPoolExecutor(
                FILES_IN_FLIGHT, FILES_IN_FLIGHT, 30, java.util.concurrent.TimeUnit.SECONDS,
                new java.util.concurrent.LinkedBlockingQueue<>(), r -> {
                    final Thread t = new Thread(r, "publish-files-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        pool.allowCoreThreadTimeOut(true); // idle publishers hold no threads
        this.puts = pool;
    }

    /** The target written to. */
    public ArchiveWriter writer() {
        return writer;
    }

    /** Whether every file is put over what the target has ({@link #rewriting}). */
    private volatile boolean rewrite;
    /** The buckets put over the target's by this publisher, rewriting (each once). */
    private final java.util.Set<String> rewrittenBuckets = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /**
     * Puts every file over what the target has, and a checkpoint's state file over one that differs from it, instead
     * of skipping the files the target has unchecked: a damaged mirror repaired from verified bytes ({@code replay
     * --rewrite}; a trial found no way to, short of deleting what {@code verify} named). The root state still only
     * moves forward. Before the first publish.
     */
    public CheckpointPublisher rewriting() {
        rewrite = true;
        return this;
    }

    /** Files written so far (root state included). */
    public long filesWritten() {
        return filesWritten.get();
    }

    /** Files skipped so far because the target had them (or the root was already as far). */
    public long filesSkipped() {
        return filesSkipped.get();
    }

    /** Bytes of the files written so far. */
    public long bytesWritten() {
        return bytesWritten.get();
    }

    /**
     * Starts putting the buckets and data files of checkpoints about to be published (the next ones in order),
     * {@value #FILES_IN_FLIGHT} at a time across all of them, so that one checkpoint's files are written while the
     * previous ones finish. The safe order still holds: {@link #publish} waits for each of its checkpoint's files
     * (prepared or not) before it writes that checkpoint's {@code history-*.json} and the root. A prepared put that
     * failed is that checkpoint's attempt at the file: {@code publish} fails with its error, as if it had put the file
     * itself, and whatever else was prepared is dropped, so the next attempt puts the file again at once. Each file is put at most once however many of the
     * checkpoints list it. Call {@link #forgetPrepared()} when the checkpoints are done or abandoned.
     */
    public void prepare(final List<CheckpointVerified> upcoming) {
        for (final CheckpointVerified cp : upcoming) {
            if (cp == null) {
                continue;
            }
            try {
                // into another network's archive nothing is put ahead: publish() refuses the checkpoint (21 files
                // were written there before it did)
                requireSameNetwork(cp);
            } catch (final PublishException e) {
                return;
            }
            if (cp.getOtherCopyRefused()) {
                continue; // its files are put over what the target has, by publish(), after the checkpoints before it
            }
            final String hasPath = ArchivePaths.has(cp.getCheckpoint());
            for (final FileRef f : cp.getFiles()) {
                final String p = f.getPath();
                // the HAS and the root wait for the rest; anything publish() would refuse is left to it
                if (p.equals(hasPath) || p.startsWith("history/") || p.equals(ArchivePaths.WELL_KNOWN)
                        || prepared.containsKey(p)) {
                    continue;
                }
                prepared.put(p, new Prepared(puts.submit(() -> publishFile(f, false))));
            }
        }
    }

    /**
     * Drops what {@link #prepare} started: puts not begun are cancelled, and those already running are waited for
     * (at most {@value #FILES_IN_FLIGHT}; cancelled instead when the thread is interrupted, i.e. stopping), so no put
     * of this publisher is still under way when a later checkpoint finds its file present. A file put ahead and never named by a published HAS is harmless, and is skipped when
     * its checkpoint is published.
     */
    public void forgetPrepared() {
        final List<java.util.concurrent.Future<Put>> running = new ArrayList<>();
        for (final Prepared p : prepared.values()) {
            if (!p.put.cancel(false) && !p.put.isDone()) {
                running.add(p.put);
            }
        }
        prepared.clear();
        for (final java.util.concurrent.Future<Put> put : running) {
            try {
                put.get();
            } catch (final java.util.concurrent.ExecutionException | java.util.concurrent.CancellationException e) {
                // its own checkpoint puts it again and reports the outcome
            } catch (final InterruptedException e) {
                // stopping: nothing is published after this, so the puts still running need not be waited for
                running.forEach(r -> r.cancel(true));
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /**
     * Publishes {@code cp} and returns what was written and skipped.
     *
     * @throws PublishException when the target fails (retryable per {@link PublishException#retryable()}), or when a
     *                          file's bytes cannot be had or do not match their recorded SHA-256 (not retryable)
     */
    public CheckpointPublished publish(final CheckpointVerified cp) throws PublishException {
        final long started = System.nanoTime();
        final long checkpoint = cp.getCheckpoint();
        final String hasPath = ArchivePaths.has(checkpoint);
        final List<FileRef> buckets = new ArrayList<>();
        final List<FileRef> data = new ArrayList<>();
        FileRef has = null;
        for (final FileRef f : cp.getFiles()) {
            final String p = f.getPath();
            if (p.equals(hasPath)) {
                has = f;
            } else if (p.startsWith("bucket/")) {
                buckets.add(f);
            } else if (p.startsWith("history/") || p.equals(ArchivePaths.WELL_KNOWN)) {
                throw new PublishException(writer.name() + ": checkpoint " + hex(checkpoint) + " lists " + p
                        + ", which is not its HAS " + hasPath, false, null);
            } else {
                data.add(f);
            }
        }
        if (has == null) {
            throw new PublishException(writer.name() + ": checkpoint " + hex(checkpoint) + " lists no HAS file "
                    + hasPath + "; refusing to publish it", false, null);
        }
        requireSameNetwork(cp);
        final Optional<byte[]> hasOnTarget = writer.readSmall(hasPath);
        final boolean hasThere = hasOnTarget.isPresent();
        if (hasThere && !rewrite) {
            requireSameCheckpoint(cp, hasPath, hasOnTarget.get());
        }
        final List<String> written = new ArrayList<>();
        final List<String> skipped = new ArrayList<>();
        // another copy of this checkpoint failed its chain link: the target may hold it (published before it was
        // taken back), so this checkpoint's own files are put over whatever is there (buckets are named by their hash)
        final boolean replace = cp.getOtherCopyRefused();
        if (replace) {
            LOG.info("{}: checkpoint {} replaces another copy of it that failed its chain link: its files are written "
                    + "over those the target has", writer.name(), hex(checkpoint));
        }
        publishStep(buckets, written, skipped, false);
        publishStep(data, written, skipped, replace);
        if (hasThere && !replace && !rewrite) {
            filesSkipped.incrementAndGet();
            skipped.add(hasPath);
        } else {
            publishFile(has, replace).addTo(written, skipped);
        }
        advanceRoot(checkpoint, has, cp.getNetworkPassphrase(), written, skipped);
        final long millis = (System.nanoTime() - started) / 1_000_000;
        if (written.isEmpty()) {
            LOG.debug("{}: checkpoint {} already published ({} file(s) present)", writer.name(), hex(checkpoint),
                    skipped.size());
        } else {
            LOG.info("{}: checkpoint {} published: {} file(s) written, {} skipped, {} ms", writer.name(),
                    hex(checkpoint), written.size(), skipped.size(), millis);
        }
        return CheckpointPublished.newBuilder().setCheckpoint(checkpoint).setArchive(cp.getArchive())
                .setTarget(writer.name()).setWritten(written).setSkipped(skipped).setDurationMillis(millis)
                .setPublishedAt(Instant.now()).build();
    }

    /**
     * Publishes {@code files}, {@value #FILES_IN_FLIGHT} at a time, and returns when every one is done; the first
     * failure is thrown once the others have finished (each put is atomic: nothing is left half written). Written and
     * skipped paths are recorded in the order of {@code files}. With {@code replace} every file is put, also over one
     * the target has (none was put ahead by {@link #prepare}).
     */
    private void publishStep(final List<FileRef> files, final List<String> written, final List<String> skipped,
            final boolean replace) throws PublishException {
        if (files.size() <= 1 && (replace || files.stream().noneMatch(f -> prepared.containsKey(f.getPath())))) {
            for (final FileRef f : files) {
                publishFile(f, replace).addTo(written, skipped);
            }
            return;
        }
        final List<java.util.concurrent.Future<Put>> puts = new ArrayList<>();
        for (final FileRef f : files) {
            puts.add(replace ? this.puts.submit(() -> publishFile(f, true)) : takePrepared(f));
        }
        PublishException failed = null;
        RuntimeException broken = null;
        boolean interrupted = false;
        for (final java.util.concurrent.Future<Put> put : puts) {
            if (interrupted) {
                put.cancel(true);
                continue;
            }
            try {
                put.get().addTo(written, skipped);
            } catch (final java.util.concurrent.ExecutionException e) {
                if (e.getCause() instanceof PublishException pe) {
                    failed = failed == null ? pe : failed;
                } else if (broken == null) {
                    broken = e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
                }
            } catch (final InterruptedException e) {
                interrupted = true;
                put.cancel(true);
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
            throw new PublishException(writer.name() + ": interrupted while publishing", true, null);
        }
        if (failed != null) {
            throw failed;
        }
        if (broken != null) {
            throw broken;
        }
    }

    /**
     * The put of {@code f}: the one {@link #prepare} started (its outcome for the first taker, "present" for the
     * others once it succeeded), or a new one when none was prepared or the prepared one failed or was cancelled.
     */
    private java.util.concurrent.Future<Put> takePrepared(final FileRef f) {
        final Prepared p = prepared.get(f.getPath());
        if (p != null) {
            try {
                final Put done = p.put.get();
                if (!p.taken) {
                    p.taken = true;
                    return java.util.concurrent.CompletableFuture.completedFuture(done);
                }
                filesSkipped.incrementAndGet();
                return java.util.concurrent.CompletableFuture.completedFuture(new Put(done.path(), false));
            } catch (final java.util.concurrent.ExecutionException e) {
                // that put (with the writer's own retries) was this checkpoint's attempt at the file: its failure is
                // this attempt's outcome, as if it had been put here; the rest of what was prepared is dropped, since
                // it would only queue up in front of the next attempt, which puts the file again
                forgetPrepared();
                return java.util.concurrent.CompletableFuture.failedFuture(e.getCause());
            } catch (final java.util.concurrent.CancellationException e) {
                prepared.remove(f.getPath()); // not attempted: put it below
            } catch (final InterruptedException e) {
                Thread.currentThread().interrupt();
                return java.util.concurrent.CompletableFuture.failedFuture(
                        new PublishException(writer.name() + ": interrupted while publishing", true, null));
            }
        }
        return this.puts.submit(() -> publishFile(f, false));
    }

    /** One file's outcome: written, or skipped because the target had it. */
    private record Put(String path, boolean written) {
        void addTo(final List<String> written, final List<String> skipped) {
            (this.written ? written : skipped).add(path);
        }
    }

    /** Publishes one file unless the target already has it under its final name (with {@code replace}: also then). */
    private Put publishFile(final FileRef f, final boolean replace) throws PublishException {
        final String path;
        try {
            path = TargetPath.require(f.getPath());
        } catch (final IllegalArgumentException e) {
            throw new PublishException(writer.name() + ": " + e.getMessage(), false, e);
        }
        // rewriting, a bucket (named by many checkpoints) is put once per publisher
        final boolean firstRewrite = rewrite && (!path.startsWith("bucket/") || rewrittenBuckets.add(path));
        if (!replace && !firstRewrite && writer.exists(path)) {
            filesSkipped.incrementAndGet();
            return new Put(path, false);
        }
        try (Staged staged = stage(f)) {
            writer.put(path, staged.file);
        } catch (final PublishException | RuntimeException e) {
            rewrittenBuckets.remove(path); // put again at the next attempt
            throw e;
        }
        filesWritten.incrementAndGet();
        bytesWritten.addAndGet(f.getSizeBytes());
        return new Put(path, true);
    }

    /**
     * Moves the root state as far as the target holds every checkpoint up to it: from the checkpoint after its root
     * (for a target without one, from the first checkpoint, 63), each checkpoint's {@code history-*.json} must be on
     * the target (published here, or found there: it is written after the checkpoint's other files). A checkpoint
     * published above a checkpoint the target lacks waits ({@link #releaseRoot} ends the wait), so the root state, the
     * commit point of an archive, never names a checkpoint with one missing below it.
     */
    private void advanceRoot(final long checkpoint, final FileRef has, final String passphrase,
            final List<String> written, final List<String> skipped) throws PublishException {
        final long current = rootLedger();
        if (current >= checkpoint) {
            forgetUpTo(current);
            skipped.add(ArchivePaths.WELL_KNOWN);
            filesSkipped.incrementAndGet();
            return;
        }
        present(checkpoint, has);
        long top = current;
        long c = current < 0 ? io.historystreams.archive.Checkpoint.FREQUENCY - 1
                : current + io.historystreams.archive.Checkpoint.FREQUENCY;
        final long highest = rootCandidates.lastKey();
        for (; c <= highest; c += io.historystreams.archive.Checkpoint.FREQUENCY) {
            if (!isPresent(c)) {
                break;
            }
            if (rootCandidates.containsKey(c)) {
                top = c;
            }
        }
        // above the highest checkpoint published here, the target may hold more (published by an earlier run whose
        // root waited for a checkpoint below them, which came only now): the root moves over them too, to the last
        // of an unbroken run, with that checkpoint's own state file from the target (it stopped at this one)
        long found = -1;
        if (top == highest) {
            for (; isPresent(c); c += io.historystreams.archive.Checkpoint.FREQUENCY) {
                found = c;
            }
        }
        if (found > top && writeRootFound(found, passphrase)) {
            written.add(ArchivePaths.WELL_KNOWN);
        } else if (top > current) {
            writeRoot(top);
            written.add(ArchivePaths.WELL_KNOWN);
        } else {
            LOG.debug("{}: checkpoint {} published; the root state stays at {} until checkpoint {} is on the target",
                    writer.name(), hex(checkpoint), current, hex(c));
        }
    }

    /**
     * Ends the wait of {@link #advanceRoot}: the root state moves to the highest checkpoint published here, even with
     * checkpoints below it missing from the target (they failed verification, were not requested, or are not verified
     * yet), which a WARN names. For a caller that knows no more checkpoints are coming (a bounded job that has every
     * verdict), or that has read everything there is for now (a service caught up with the topic). True when the root
     * moved.
     */
    public boolean releaseRoot() throws PublishException {
        return releaseRoot(-1);
    }

    /**
     * As {@link #releaseRoot()}, for a job whose range starts at checkpoint {@code floor}: a target without a root
     * state lacks what is missing from there (without a floor, from the lowest checkpoint published here: a mirror
     * may start mid-archive).
     */
    public boolean releaseRoot(final long floor) throws PublishException {
        rootHeld = null;
        rootPassed = null;
        if (rootCandidates.isEmpty()) {
            return false;
        }
        final long current = rootLedger();
        forgetUpTo(current);
        if (rootCandidates.isEmpty()) {
            return false;
        }
        final long top = rootCandidates.lastKey();
        if (current >= 0 && floor >= 0) {
            // below the job's range, what the target lacks is not the job's to publish, nor a checkpoint that failed
            // in it: the root state does not pass it (a trial: ingest 1..3000, then 6000..10047 into one mirror, and
            // its root named 10047 over 46 checkpoints it lacked, exit 0)
            final long step = io.historystreams.archive.Checkpoint.FREQUENCY;
            for (long c = current + step; c < floor; c += step) {
                if (!isPresent(c)) {
                    rootHeld = "the root state stays at checkpoint " + hex(current) + ": the target lacks checkpoint "
                            + hex(c) + " below this run's range (from " + hex(floor) + "), which the run did not "
                            + "publish; publishing the checkpoints between them (ingest or replay with --publish-to) "
                            + "lets it move on to " + hex(top);
                    LOG.warn("{}: {}", writer.name(), rootHeld);
                    return false;
                }
            }
        }
        final List<Long> missing = new ArrayList<>();
        int count = 0;
        final long from = current >= 0 ? current + io.historystreams.archive.Checkpoint.FREQUENCY
                : floor >= 0 ? floor : presentRuns.firstKey();
        for (long c = from;
                c < top; c += io.historystreams.archive.Checkpoint.FREQUENCY) {
            if (!isPresent(c)) {
                count++;
                if (missing.size() < 10) {
                    missing.add(c);
                }
            }
        }
        if (count > 0) {
            // said before the root names it: whoever reads the root then finds the reason already in the log
            rootPassed = String.format("the root state moves to checkpoint %s although the target lacks %d "
                    + "checkpoint(s) below it (%s%s): they were not verified here (failed, not requested, or not "
                    + "verified yet), or the target lost them since they were published to it (`replay "
                    + "--publish-to` puts them back), so a reader of this archive finds them missing", hex(top), count,
                    String.join(", ", missing.stream().map(CheckpointPublisher::hex).toList()), count > 10 ? ", ..." : "");
            LOG.warn("{}: {}", writer.name(), rootPassed);
        }
        writeRoot(top);
        return true;
    }

    /** Why the last {@link #releaseRoot(long)} left the root state where it was, or null (readable from any thread). */
    public String rootHeld() {
        return rootHeld;
    }

    private volatile String rootHeld;

    /**
     * What the target lacks below the root state the last {@link #releaseRoot(long)} wrote, or null: said in the
     * report too (a trial's new target, given what the data dir verified before, had a root over four checkpoints it
     * lacked, and the report said complete only).
     */
    public String rootPassed() {
        return rootPassed;
    }

    private volatile String rootPassed;

    /** Whether the target was found with a root state (publishing thread; false before the first publish). */
    public boolean rootSeen() {
        return rootSeen;
    }

    /**
     * For a target without a root state (a new mirror, which may start mid-archive), whose root waits for the
     * archive's first checkpoint: the root state starts at the lowest checkpoint published here instead, and moves to
     * the end of the unbroken run from there (over checkpoints found on the target too). For a service whose group
     * has read the verified topic to its end: verdicts pass in chain order, so no checkpoint below that one is still
     * coming. A gap above it waits as before ({@link #releaseRoot}). True when the root state was written.
     */
    public boolean startRootAtLowestPublished() throws PublishException {
        if (rootSeen || presentRuns.isEmpty() || rootCandidates.isEmpty()) {
            return false;
        }
        final long step = io.historystreams.archive.Checkpoint.FREQUENCY;
        final long first = presentRuns.firstKey();
        long last = presentRuns.firstEntry().getValue();
        final long highest = rootCandidates.lastKey();
        while (last < highest && isPresent(last + step)) {
            last = presentRuns.floorEntry(last + step).getValue();
        }
        final java.util.NavigableMap<Long, FileRef> inRun = rootCandidates.subMap(first, true, last, true);
        // the target is read only when there is a root state to write
        if (inRun.isEmpty() || rootLedger() >= 0) {
            return false;
        }
        LOG.info("{} has no root state yet: a mirror that starts at checkpoint {}, the lowest published here (the "
                + "verified checkpoints are read to their end: none below it is coming); its root state names "
                + "checkpoint {}", writer.name(), hex(first), hex(inRun.lastKey()));
        writeRoot(inRun.lastKey());
        return true;
    }

    /**
     * Whether checkpoints published here wait for the root state ({@link #releaseRoot} would move it); readable from
     * any thread.
     */
    public boolean rootWaiting() {
        return rootWaiting;
    }

    /** How long the root state has waited for a checkpoint below one published here; zero when it does not wait. */
    public java.time.Duration rootWaitingFor() {
        final long since = waitingSinceNanos;
        return rootWaiting && since != 0 ? java.time.Duration.ofNanos(System.nanoTime() - since)
                : java.time.Duration.ZERO;
    }

    private volatile boolean rootWaiting;
    /** {@code System.nanoTime()} since when the root state has been waiting (0: it is not). */
    private volatile long waitingSinceNanos;

    /**
     * Checkpoints published here (or found on the target) above its root state, as runs of consecutive checkpoints:
     * first -> last (publishing thread only). Runs, not checkpoints, so a long wait costs memory per gap, not per
     * checkpoint.
     */
    private final java.util.TreeMap<Long, Long> presentRuns = new java.util.TreeMap<>();
    /** The HAS of the highest checkpoint published here in each run: where the root state may move. */
    private final java.util.TreeMap<Long, FileRef> rootCandidates = new java.util.TreeMap<>();

    private void present(final long checkpoint, final FileRef has) {
        final long step = io.historystreams.archive.Checkpoint.FREQUENCY;
        long first = checkpoint;
        long last = checkpoint;
        final Map.Entry<Long, Long> below = presentRuns.floorEntry(checkpoint);
        if (below != null && below.getValue() >= checkpoint - step) {
            first = below.getKey();
            last = Math.max(last, below.getValue());
            presentRuns.remove(below.getKey());
        }
        final Long above = presentRuns.get(checkpoint + step);
        if (above != null) {
            last = Math.max(last, above);
            presentRuns.remove(checkpoint + step);
        }
        presentRuns.put(first, last);
        if (has != null) {
            rootCandidates.put(checkpoint, has);
            if (!rootWaiting) {
                waitingSinceNanos = System.nanoTime();
            }
            rootWaiting = true;
        }
        // within one run only its highest candidate can be the root's next position
        final java.util.NavigableMap<Long, FileRef> inRun = rootCandidates.subMap(first, true, last, true);
        while (inRun.size() > 1) {
            inRun.pollFirstEntry();
        }
    }

    /** On the target: published here, or its {@code history-*.json} found there (remembered). */
    private boolean isPresent(final long checkpoint) throws PublishException {
        final Map.Entry<Long, Long> run = presentRuns.floorEntry(checkpoint);
        if (run != null && run.getValue() >= checkpoint) {
            return true;
        }
        if (writer.exists(ArchivePaths.has(checkpoint))) {
            present(checkpoint, null);
            return true;
        }
        return false;
    }

    /** Forgets what the root state at {@code root} covers. */
    private void forgetUpTo(final long root) {
        rootCandidates.headMap(root, true).clear();
        while (!presentRuns.isEmpty() && presentRuns.firstEntry().getValue() <= root) {
            presentRuns.pollFirstEntry();
        }
        rootWaiting = !rootCandidates.isEmpty();
    }

    /**
     * Writes the state file the target holds for {@code checkpoint} as its root state, when it is one for that
     * checkpoint (and the network published); false, and nothing written, when it cannot be read or is not.
     */
    private boolean writeRootFound(final long checkpoint, final String passphrase) throws PublishException {
        final String path = ArchivePaths.has(checkpoint);
        final Optional<byte[]> bytes;
        try {
            bytes = writer.readSmall(path);
        } catch (final PublishException e) {
            LOG.debug("{}: reading {} for the root state: {}", writer.name(), path, e.toString());
            return false;
        }
        if (bytes.isEmpty()) {
            return false;
        }
        try {
            final HistoryArchiveState h = HistoryArchiveState.parse(bytes.get(), path);
            if (h.currentLedger() != checkpoint || passphrase != null && h.networkPassphrase() != null
                    && !passphrase.equals(h.networkPassphrase())) {
                LOG.warn("{}: {} on the target is not the state file of checkpoint {} of this network: the root "
                        + "state does not move over it", writer.name(), path, hex(checkpoint));
                return false;
            }
        } catch (final VerificationException e) {
            LOG.warn("{}: {} on the target cannot be read as a state file ({}): the root state does not move over "
                    + "it", writer.name(), path, e.getMessage());
            return false;
        }
        writer.putRootState(bytes.get());
        rootSeen = true;
        // the gauge too (a trial: two workers sharing a mirror, whose root named 10047, read 1919 and 9663 for good)
        lastRootLedger = checkpoint;
        filesWritten.incrementAndGet();
        bytesWritten.addAndGet(bytes.get().length);
        forgetUpTo(checkpoint);
        waitingSinceNanos = System.nanoTime();
        return true;
    }

    /** Writes {@code checkpoint}'s HAS (a root candidate) as the root state. */
    private void writeRoot(final long checkpoint) throws PublishException {
        final FileRef has = rootCandidates.get(checkpoint);
        final byte[] hasBytes = verifiedBytes(has);
        // Checked against the recorded SHA-256 again on the bytes in memory: the staged file may have changed.
        final String actual = Hash.sha256(hasBytes).hex();
        final String expected = Hashes.hex(has.getSha256());
        if (!actual.equals(expected)) {
            throw mismatch(has.getPath(), expected, actual);
        }
        writer.putRootState(hasBytes);
        rootSeen = true;
        lastRootLedger = checkpoint;
        filesWritten.incrementAndGet();
        bytesWritten.addAndGet(hasBytes.length);
        forgetUpTo(checkpoint);
        waitingSinceNanos = System.nanoTime(); // the root moved: what is left waits from now
    }

    /** Set once the target's root state was found to name the network being published (or none). */
    private volatile boolean networkChecked;

    /**
     * Refuses to publish into another archive, before anything is written to the target. A target whose root state
     * names another network passphrase (a wrong directory, or a mirror of another network) would get this network's
     * files next to its own, and a root naming them. A passphrase does not tell one testnet from the next (a reset keeps
     * it) nor pubnet's first state files (they name none): so the target's root state is also compared with the source
     * archive's own state file of that checkpoint, when the source has it (a source that is down, or a target ahead of
     * it, leaves that to {@link #requireSameCheckpoint}). Checked once per publisher: the root only ever moves forward
     * within one archive after that.
     */
    private void requireSameNetwork(final CheckpointVerified cp) throws PublishException {
        if (networkChecked) {
            return;
        }
        final Optional<byte[]> root = writer.readRootState();
        if (root.isPresent()) {
            final HistoryArchiveState theirs;
            try {
                theirs = HistoryArchiveState.parse(root.get(), ArchivePaths.WELL_KNOWN);
            } catch (final VerificationException e) {
                networkChecked = true;
                return; // unparseable: taken as absent where the root is read, and replaced by the next root state
            }
            if (cp.getNetworkPassphrase() != null && theirs.networkPassphrase() != null
                    && !theirs.networkPassphrase().equals(cp.getNetworkPassphrase())) {
                throw new PublishException(writer.name() + ": the target holds an archive of another network (its root "
                        + "state says \"" + theirs.networkPassphrase() + "\"); refusing to publish checkpoints of \""
                        + cp.getNetworkPassphrase() + "\" into it", false, null);
            }
            final String source = sourceOf(cp);
            final long at = theirs.currentLedger();
            if (source != null && io.historystreams.archive.Checkpoint.isCheckpoint(at)) {
                final String path = ArchivePaths.has(at);
                final HistoryArchiveState ours;
                try {
                    // one attempt: a source that is down must not hold the publishing up
                    final io.historystreams.archive.HistoryArchive a = ctx.archive(List.of(source));
                    ours = a.withRetryPolicy(a.retryPolicy().withMaxAttempts(1)).fetch(path, in ->
                            io.historystreams.verify.HasVerifier.verify(in, path, at, null,
                                    io.historystreams.verify.VerificationLimits.defaults())).value();
                } catch (final VerificationException | RuntimeException e) {
                    LOG.debug("{}: the source's {} for the target's root: {}", writer.name(), path, e.toString());
                    networkChecked = true;
                    return;
                }
                if (!ours.bucketListHash().equals(theirs.bucketListHash())) {
                    throw new PublishException(writer.name() + ": the target holds another archive: its root state "
                            + "(checkpoint " + hex(at) + ", bucket list hash " + theirs.bucketListHash().shortHex()
                            + ") is not " + source + "'s state of that checkpoint (" + ours.bucketListHash().shortHex()
                            + "): another network, or an earlier generation of this one (a testnet reset keeps its "
                            + "passphrase); refusing to publish into it", false, null);
                }
            }
        }
        networkChecked = true;
    }

    /** The source that served {@code cp}'s state file (its files' source), or null. */
    private static String sourceOf(final CheckpointVerified cp) {
        final String hasPath = ArchivePaths.has(cp.getCheckpoint());
        for (final FileRef f : cp.getFiles()) {
            if (f.getPath().equals(hasPath)) {
                return f.getSource();
            }
        }
        return null;
    }

    /**
     * Refuses to publish a checkpoint next to another archive's state file for it. The files a target has are skipped
     * unchecked, and a network passphrase does not tell one testnet from the next (a reset keeps it; pubnet's first
     * state files name none): a mirror of an earlier testnet, or of another network, got this archive's other
     * checkpoints and a root naming them, a chain broken where the two met. A state file of the same ledger whose
     * bucket list hashes to the verified one is this archive's, whichever validator wrote it (their bytes differ).
     * One that cannot be read is left as it is, as before (skipped unchecked: {@code verify} the mirror).
     */
    private void requireSameCheckpoint(final CheckpointVerified cp, final String hasPath, final byte[] bytes)
            throws PublishException {
        final HistoryArchiveState theirs;
        try {
            theirs = HistoryArchiveState.parse(bytes, hasPath);
        } catch (final VerificationException e) {
            LOG.warn("{}: {} on the target cannot be read as a state file ({}): left as it is", writer.name(), hasPath,
                    e.getMessage());
            return;
        }
        final String verified = Hashes.hex(cp.getBucketListHash());
        final String found = theirs.bucketListHash().hex();
        if (theirs.currentLedger() != cp.getCheckpoint() || !found.equals(verified)) {
            throw new PublishException(writer.name() + ": the target holds another archive: its " + hasPath
                    + " is not the verified state of checkpoint " + hex(cp.getCheckpoint()) + " (ledger "
                    + theirs.currentLedger() + ", bucket list hash " + found.substring(0, 12) + ", verified "
                    + verified.substring(0, 12) + "): another network, or an earlier generation of this one (a "
                    + "testnet reset keeps its passphrase), or that file is damaged; refusing to publish into it "
                    + "(`replay --rewrite` puts the verified files over what a damaged mirror has)", false, null);
        }
    }

    /** Whether the target has a root state at all (none: a new target, or one emptied since it was published to). */
    public boolean targetHasRootState() throws PublishException {
        // read as publishing reads it: seen now, the target found without one later was emptied under this publisher
        // (a trial: a tail's mirror replaced before the tail's first publish became a mirror of one checkpoint)
        return rootLedger() >= 0;
    }

    /** The target root's currentLedger, or -1 when it has none or it cannot be parsed ("nothing yet"). */
    private long rootLedger() throws PublishException {
        final long ledger = readRootLedger();
        lastRootLedger = ledger;
        if (ledger >= 0) {
            rootSeen = true;
        } else if (rootSeen) {
            // it had one: emptied or replaced under this publisher, and what it knew present is gone
            rootSeen = false;
            presentRuns.clear();
            rootCandidates.clear();
            rootWaiting = false;
            targetEmptied = true;
        }
        return ledger;
    }

    private long readRootLedger() throws PublishException {
        final Optional<byte[]> root = writer.readRootState();
        if (root.isEmpty()) {
            return -1;
        }
        try {
            return HistoryArchiveState.parse(root.get(), ArchivePaths.WELL_KNOWN).currentLedger();
        } catch (final VerificationException e) {
            LOG.warn("{}: the target's {} is unparseable, treating it as absent: {}", writer.name(),
                    ArchivePaths.WELL_KNOWN, e.getMessage());
            return -1;
        }
    }

    /** The ledger the target's root state named when last read or written here; -1: none, or not read yet. */
    private volatile long lastRootLedger = -1;

    /**
     * The ledger the target's root state named when this publisher last read or wrote it, -1 when it had none (or
     * before the first read): for a gauge, read without I/O (a trial's operator had no metric that showed a mirror
     * lagging, or cut down).
     */
    public long lastRootLedger() {
        return lastRootLedger;
    }

    /** Whether this publisher has seen the target with a root state (publishing thread only). */
    private boolean rootSeen;
    private volatile boolean targetEmptied;

    /**
     * True once after the target, which had a root state, was found without one: emptied or replaced while this
     * publisher runs. The caller publishes everything to it again ({@link PublishRunner} does).
     */
    public boolean takeTargetEmptied() {
        final boolean e = targetEmptied;
        targetEmptied = false;
        return e;
    }

    /** The verified bytes of a small file (the HAS), checked against the recorded SHA-256. */
    private byte[] verifiedBytes(final FileRef f) throws PublishException {
        try (Staged staged = stage(f)) {
            return Files.readAllBytes(staged.file);
        } catch (final PublishException e) {
            throw e;
        } catch (final IOException e) {
            throw new PublishException(writer.name() + ": cannot read the verified copy of " + f.getPath() + ": " + e,
                    false, e);
        }
    }

    /**
     * A local file with {@code f}'s verified bytes: the blob file itself when the blob store is local (zero copy),
     * otherwise a temporary copy of {@link StoredFiles#open}; its SHA-256 and size are checked either way.
     */
    private Staged stage(final FileRef f) throws PublishException {
        final String path = f.getPath();
        final String expected = Hashes.hex(f.getSha256());
        final String ref = f.getBlobRef() != null ? f.getBlobRef() : expected;
        if (ctx.blobs() instanceof LocalBlobStore local) {
            final Optional<Path> blob;
            try {
                blob = local.file(ref);
            } catch (final IllegalArgumentException e) {
                throw new PublishException(writer.name() + ": cannot publish " + path + ": invalid blob reference "
                        + ArchivePaths.quote(ref), false, e);
            }
            if (blob.isPresent()) {
                final String changed = difference(path, blob.get(), f);
                if (changed == null) {
                    return new Staged(blob.get(), false);
                }
                // changed since it was verified (written in place, e.g. through a mirror's hard link to it): dropped,
                // and fetched again from its source below, as a missing blob is (it was refused for good)
                // (a trial read "the stored copy ... is deleted" as a file of the mirror deleted)
                LOG.warn("{}: the verified copy of {} in the blob store {}; that copy is deleted and the file fetched "
                        + "again from its source (a hard link of it in a mirror changed in place?)", writer.name(),
                        path, changed);
                try {
                    Files.deleteIfExists(blob.get());
                } catch (final IOException e) {
                    throw new PublishException(writer.name() + ": cannot publish " + path + ": the stored copy "
                            + changed + ", and deleting it failed: " + e, false, e);
                }
            }
        }
        final Path tmp;
        try {
            // readable as the files the writers create are (a directory target may get this very file, linked)
            tmp = Files.createTempFile(tempDir, "publish-", ".tmp", ArchiveWriters.READABLE);
        } catch (final IOException e) {
            throw new PublishException(writer.name() + ": cannot stage " + path + " in " + tempDir + ": " + e, false, e);
        }
        try {
            try (InputStream in = StoredFiles.open(ctx, f); OutputStream out = Files.newOutputStream(tmp)) {
                in.transferTo(out);
            }
            check(path, tmp, f);
            return new Staged(tmp, true);
        } catch (final PublishException e) {
            deleteQuietly(tmp);
            throw e;
        } catch (final VerificationException | IllegalArgumentException e) {
            // (an archive that cannot be opened any more, such as a source directory since deleted, is the latter);
            // a source that is down (transient failures) may be back later: retried, as a target that is down is
            deleteQuietly(tmp);
            throw new PublishException(writer.name() + ": cannot publish " + path + ": its verified bytes are not "
                    + "in the blob store and re-fetching them from the source failed: " + e.getMessage(),
                    e instanceof VerificationException v && v.reason() == io.historystreams.verify.FailureReason
                            .FETCH_FAILED, e);
        } catch (final IOException e) {
            deleteQuietly(tmp);
            throw new PublishException(writer.name() + ": cannot publish " + path + ": reading its stored bytes failed: "
                    + e, false, e);
        }
    }

    /** Refuses a local file whose SHA-256 or size differs from what was recorded when it was verified. */
    private void check(final String path, final Path file, final FileRef f) throws PublishException {
        final String changed = difference(path, file, f);
        if (changed != null) {
            throw new PublishException(writer.name() + ": refusing to publish " + path + ": the stored copy " + changed
                    + " (corrupt?)", false, null);
        }
    }

    /** How a local file differs from what was verified (its SHA-256 or size), or null when it does not. */
    private String difference(final String path, final Path file, final FileRef f) throws PublishException {
        final MessageDigest sha = Hash.sha256();
        long size = 0;
        try (InputStream in = Files.newInputStream(file)) {
            final byte[] buf = new byte[64 << 10];
            for (int n; (n = in.read(buf)) > 0; ) {
                sha.update(buf, 0, n);
                size += n;
            }
        } catch (final IOException e) {
            throw new PublishException(writer.name() + ": cannot publish " + path + ": reading " + file + " failed: "
                    + e, false, e);
        }
        final String actual = Hash.digest(sha).hex();
        final String expected = Hashes.hex(f.getSha256());
        if (!actual.equals(expected)) {
            return "has SHA-256 " + actual + " but " + expected + " was verified";
        }
        if (size != f.getSizeBytes()) {
            return "has " + size + " bytes, " + f.getSizeBytes() + " were verified";
        }
        return null;
    }

    private PublishException mismatch(final String path, final String expected, final String actual) {
        return new PublishException(writer.name() + ": refusing to publish " + path + ": the stored bytes have SHA-256 "
                + actual + " but " + expected + " was verified (corrupt blob?)", false, null);
    }

    private static String hex(final long checkpoint) {
        return String.format("%08x", checkpoint);
    }

    private static void deleteQuietly(final Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (final IOException ignored) {
            // a stray temporary is harmless
        }
    }

    /** A staged local copy, deleted on close when it is a temporary. */
    private record Staged(Path file, boolean temporary) implements AutoCloseable {
        @Override
        public void close() {
            if (temporary) {
                deleteQuietly(file);
            }
        }
    }
}
