package io.historystreams.verify;

import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.Checkpoint;
import io.historystreams.archive.FileType;
import io.historystreams.archive.HistoryArchive;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Verifies a range of checkpoints of one archive without Kafka: the files of several checkpoints in flight at once,
 * buckets fetched once however many checkpoints name them, outcomes delivered in checkpoint order so the chain link
 * between neighbours is checked as they complete. Memory is bounded by the window of checkpoints in flight.
 */
public final class ArchiveVerifier implements AutoCloseable {

    /** Run settings. {@code concurrency}: files in flight at once. */
    public record Options(String networkPassphrase, VerificationLimits limits, int concurrency) {
        public static Options defaults(final String passphrase) {
            return new Options(passphrase, VerificationLimits.defaults(), 8);
        }
    }

    /** Totals of a run. */
    public record Summary(int checkpoints, int verified, int incomplete, int failed, long headers,
            long transactionSets, long resultSets, int buckets, int bucketsFailed, int bucketsMissing, long bytes) {
        public boolean allVerified() {
            return checkpoints == verified;
        }
    }

    private final HistoryArchive archive;
    private final Options options;
    private final ExecutorService pool;
    /** The buckets verified, each once while the checkpoints name it (the latest {@value #BUCKETS_KEPT} kept). */
    private final RecentFutures<Hash, FileOutcome> buckets = new RecentFutures<>(BUCKETS_KEPT);
    static final int BUCKETS_KEPT = 1 << 16;
    private final java.util.concurrent.atomic.AtomicInteger bucketsOk = new java.util.concurrent.atomic.AtomicInteger();
    private final java.util.concurrent.atomic.AtomicInteger bucketsBad = new java.util.concurrent.atomic.AtomicInteger();
    /** Buckets no source has: counted apart from the failed ones (a trial read a deleted bucket as "1 failed"). */
    private final java.util.concurrent.atomic.AtomicInteger bucketsMissing =
            new java.util.concurrent.atomic.AtomicInteger();
    private final java.util.concurrent.atomic.AtomicLong bucketBytes = new java.util.concurrent.atomic.AtomicLong();

    public ArchiveVerifier(final HistoryArchive archive, final Options options) {
        this.archive = archive;
        this.options = options;
        final AtomicInteger n = new AtomicInteger();
        this.pool = Executors.newFixedThreadPool(Math.max(1, options.concurrency()), r -> {
            final Thread t = new Thread(r, "verify-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** Verifies the checkpoints (ascending) and hands each outcome to {@code sink} in order. */
    public Summary verify(final List<Long> checkpoints, final Consumer<CheckpointOutcome> sink) {
        final int window = Math.max(2, options.concurrency());
        final Deque<CompletableFuture<CheckpointOutcome>> inFlight = new ArrayDeque<>();
        final Tally tally = new Tally();
        int next = 0;
        LedgerHeaderSummary previousLast = null;
        // why the previous checkpoint's last header is unknown (its ledger file failed), when it is
        VerificationException anchorFailure = null;
        long previousCheckpoint = -1;
        // the range's first checkpoint is the archive's first (it holds nothing of the one before)
        boolean archiveStart = false;
        // or a later one, when the range starts below the archive's start (as ingest and tail take it): looked for
        // once the range's first checkpoint is found without its state file
        long startWithin = -1;
        if (!checkpoints.isEmpty() && checkpoints.get(0) > Checkpoint.FREQUENCY - 1) {
            previousCheckpoint = Checkpoint.previous(checkpoints.get(0));
            try {
                previousLast = lastHeaderOf(previousCheckpoint);
            } catch (final VerificationException e) {
                archiveStart = ArchiveStart.holdsNothingOf(archive, previousCheckpoint, e);
                anchorFailure = archiveStart ? null : e;
            }
        }
        // the last outcomes, delivered once WALK_BACK successors are checked (a copy its successor's copies contradict
        // is read again from another source, and so on back through a forged segment), with what each was linked
        // against
        final Deque<Held> held = new ArrayDeque<>();
        while (next < checkpoints.size() || !inFlight.isEmpty()) {
            while (next < checkpoints.size() && inFlight.size() < window) {
                inFlight.add(checkpoint(checkpoints.get(next++)));
            }
            final CheckpointOutcome read = inFlight.poll().join();
            if (read.checkpoint() == checkpoints.get(0) && read.failures().stream().anyMatch(f -> f.reason()
                    == FailureReason.MISSING_FILE && ArchivePaths.has(read.checkpoint()).equals(f.file()))) {
                startWithin = ArchiveStart.startWithin(archive, checkpoints.get(0),
                        checkpoints.get(checkpoints.size() - 1));
            }
            final Linked against = new Linked(previousCheckpoint, previousLast, anchorFailure,
                    archiveStart || read.checkpoint() == startWithin && previousLast == null
                            && ArchiveStart.holdsNothingOf(archive, previousCheckpoint, anchorFailure));
            archiveStart = false;
            CheckpointOutcome o = link(read, against);
            Linked linkedAgainst = against;
            if (o.link() == CheckpointOutcome.Link.BROKEN) {
                final Set<String> brokenFrom = new java.util.LinkedHashSet<>();
                o = relink(o, previousCheckpoint, previousLast, brokenFrom);
                if (o.link() == CheckpointOutcome.Link.BROKEN) {
                    final WalkedBack walked = walkBack(new ArrayList<>(held), read, brokenFrom);
                    if (walked != null) {
                        for (int i = 0; i < walked.copies().size(); i++) {
                            held.pollLast();
                        }
                        held.addAll(walked.copies());
                        o = walked.successor().outcome();
                        linkedAgainst = walked.successor().against();
                    }
                }
            }
            held.add(new Held(o, linkedAgainst));
            if (held.size() > WALK_BACK) {
                final CheckpointOutcome out = held.poll().outcome();
                tally.add(out);
                sink.accept(out);
            }
            previousCheckpoint = o.checkpoint();
            previousLast = o.facts().lastHeader();
            anchorFailure = previousLast != null ? null : ledgerFailure(o);
        }
        for (final Held h : held) {
            tally.add(h.outcome());
            sink.accept(h.outcome());
        }
        return new Summary(checkpoints.size(), tally.verified, tally.incomplete, tally.failed, tally.headers,
                tally.txSets, tally.resultSets, bucketsOk.get(), bucketsBad.get(), bucketsMissing.get(),
                tally.bytes + bucketBytes.get());
    }

    /**
     * What a checkpoint was linked against: the checkpoint before it, its last header, or why that is unknown
     * ({@code anchorFailure}, or {@code archiveStart}: the archive holds nothing of it, {@link ArchiveStart}).
     */
    private record Linked(long previousCheckpoint, LedgerHeaderSummary previousLast,
            VerificationException anchorFailure, boolean archiveStart) {
        Linked(final long previousCheckpoint, final LedgerHeaderSummary previousLast) {
            this(previousCheckpoint, previousLast, null, false);
        }
    }

    /** An outcome not delivered yet, and what it was linked against. */
    private record Held(CheckpointOutcome outcome, Linked against) {
    }

    /** Other copies of the checkpoints before a break (oldest first), and the checkpoint after them linked. */
    private record WalkedBack(List<Held> copies, Held successor) {
    }

    /**
     * How many checkpoints before a break {@code verify} reads again at most: the outcomes are delivered that many
     * checkpoints late. The pipeline's chain check walks back without a bound.
     */
    static final int WALK_BACK = 16;

    /** Totals of the outcomes delivered. */
    private static final class Tally {
        int verified;
        int incomplete;
        int failed;
        long headers;
        long txSets;
        long resultSets;
        long bytes;

        void add(final CheckpointOutcome o) {
            switch (o.status()) {
                case VERIFIED -> verified++;
                case INCOMPLETE -> incomplete++;
                default -> failed++;
            }
            headers += o.facts().headers();
            txSets += o.facts().transactionSets();
            resultSets += o.facts().resultSets();
            for (final FileOutcome f : o.files()) {
                bytes += f.type() == FileType.BUCKET ? 0 : f.bytes();
            }
        }
    }

    /**
     * A checkpoint whose ledger file does not link to the previous checkpoint's, read again from the other sources
     * (all its files, as for a cross-file mismatch): with two mirrors whose chains differ, the copy of the source that
     * links is taken, and the next checkpoint is checked against it. A trial's first mirror served a re-chained
     * segment: its checkpoints after the break were verified against each other, and the first checkpoint of the
     * honest mirror after them was failed, blaming the honest mirror. The first outcome stands when no source links;
     * {@code brokenFrom} gets the sources whose copies did not link.
     */
    private CheckpointOutcome relink(final CheckpointOutcome broken, final long previousCheckpoint,
            final LedgerHeaderSummary previousLast, final Set<String> brokenFrom) {
        return relink(broken, previousCheckpoint, previousLast, brokenFrom, Map.of());
    }

    /** As above, never reading the copies in {@code avoided} (path to sources) either. */
    private CheckpointOutcome relink(final CheckpointOutcome broken, final long previousCheckpoint,
            final LedgerHeaderSummary previousLast, final Set<String> brokenFrom,
            final Map<String, Set<String>> avoided) {
        final Map<String, Set<String>> avoid = new java.util.HashMap<>();
        avoided.forEach((path, sources) -> avoid.put(path, new java.util.LinkedHashSet<>(sources)));
        CheckpointOutcome o = broken;
        while (true) {
            final VerificationException why = o.failures().stream()
                    .filter(f -> f.reason() == FailureReason.CHAIN_LINK_BROKEN).findFirst().orElse(null);
            if (why != null && why.source() != null) {
                brokenFrom.add(why.source());
            }
            if (why == null || why.file() == null || !archive.sourceNames().contains(why.source())
                    || !avoid.computeIfAbsent(why.file(), p -> new java.util.LinkedHashSet<>()).add(why.source())) {
                return broken;
            }
            if (everySourceAvoided(avoid)) {
                return broken;
            }
            o = link(checkpoint(broken.checkpoint(), avoid, null).join(), new Linked(previousCheckpoint, previousLast));
            if (o.status() == CheckpointOutcome.Status.VERIFIED) {
                return o;
            }
            if (o.link() != CheckpointOutcome.Link.BROKEN) {
                return broken;
            }
        }
    }

    /**
     * A checkpoint none of whose copies links to the previous one, and whose copies from the source of the previous
     * checkpoint's ledger file and from another did not link: that source contradicts itself, and another agrees with
     * the successor, so the previous checkpoint is read again without it, as the pipeline's chain check takes such a
     * copy back (a mirror's forged checkpoint that linked to the one before it was verified, and the honest successor
     * failed, blamed on every mirror). When that other copy does not link to the checkpoint before it either, the
     * source whose copy is read again counts among those whose copies do not link, and the checkpoint before is read
     * again the same way: a forged segment is walked back, at most {@code held.size()} checkpoints (a forged mirror's
     * two checkpoints were verified, and the honest checkpoint after them failed).
     * <p>
     * Returns the other copies (oldest first), each verified and linked to the one before it, the oldest to the
     * checkpoint before the segment, and the successor linked to the newest; null when there are none such (every
     * outcome stands).
     */
    private WalkedBack walkBack(final List<Held> held, final CheckpointOutcome successor, final Set<String> brokenFrom) {
        // the other copies read so far, oldest first (each pushed in front): each did not link to the held copy
        // before it
        final Deque<CheckpointOutcome> others = new ArrayDeque<>();
        CheckpointOutcome after = successor;
        Set<String> from = brokenFrom;
        for (int i = held.size() - 1; i >= 0; i--) {
            final CheckpointOutcome previous = held.get(i).outcome();
            final Linked previousAgainst = held.get(i).against();
            final String path = ArchivePaths.checkpointFile(FileType.LEDGER, previous.checkpoint());
            final String source = previous.files().stream().filter(f -> f.type() == FileType.LEDGER)
                    .map(FileOutcome::source).findFirst().orElse(null);
            if (previous.checkpoint() != Checkpoint.previous(after.checkpoint())
                    || previous.status() != CheckpointOutcome.Status.VERIFIED || source == null
                    || !from.contains(source) || from.stream().allMatch(source::equals)) {
                return null;
            }
            final Map<String, Set<String>> avoid = Map.of(path, Set.of(source));
            if (everySourceAvoided(avoid)) {
                return null;
            }
            final CheckpointOutcome otherRead = checkpoint(previous.checkpoint(), avoid, null).join();
            final Set<String> otherBrokenFrom = new java.util.LinkedHashSet<>();
            CheckpointOutcome other = link(otherRead, previousAgainst);
            if (other.link() == CheckpointOutcome.Link.BROKEN) {
                other = relink(other, previousAgainst.previousCheckpoint(), previousAgainst.previousLast(),
                        otherBrokenFrom, avoid);
            }
            if (otherRead.status() != CheckpointOutcome.Status.VERIFIED || other.facts().lastHeader() == null
                    || other.facts().lastHeader().hash().equals(previous.facts().lastHeader().hash())) {
                return null;
            }
            if (other.link() == CheckpointOutcome.Link.BROKEN) {
                // it does not link to the held copy before it either: the source of this one contradicted itself
                others.push(otherRead);
                otherBrokenFrom.add(source);
                from = otherBrokenFrom;
                after = otherRead;
                continue;
            }
            if (other.status() != CheckpointOutcome.Status.VERIFIED) {
                return null;
            }
            // the other copy links to the checkpoint before: the copies after it must link on to the successor
            final List<Held> copies = new ArrayList<>(List.of(new Held(other, previousAgainst)));
            for (final CheckpointOutcome read : others) {
                final Held linked = linkOn(read, copies.get(copies.size() - 1).outcome());
                if (linked.outcome().status() != CheckpointOutcome.Status.VERIFIED) {
                    return null;
                }
                copies.add(linked);
            }
            final Held linkedSuccessor = linkOn(successor, copies.get(copies.size() - 1).outcome());
            return linkedSuccessor.outcome().link() == CheckpointOutcome.Link.BROKEN ? null
                    : new WalkedBack(copies, linkedSuccessor);
        }
        return null;
    }

    /** {@code read} linked to {@code previous} (read again from other sources when its copy does not link). */
    private Held linkOn(final CheckpointOutcome read, final CheckpointOutcome previous) {
        final Linked against = new Linked(previous.checkpoint(), previous.facts().lastHeader());
        CheckpointOutcome o = link(read, against);
        if (o.link() == CheckpointOutcome.Link.BROKEN) {
            o = relink(o, against.previousCheckpoint(), against.previousLast(), new java.util.HashSet<>());
        }
        return new Held(o, against);
    }

    /**
     * Applies the cross-checkpoint link once the previous outcome is known. A link that cannot be checked because the
     * previous checkpoint's ledger file failed ({@code anchorFailure}) is a failure of this checkpoint too, with that
     * file's reason (MISSING_FILE: incomplete): the chain between checkpoints is one of the checks a verified
     * checkpoint passed, as in the pipeline's chain check. The first checkpoint of an archive that starts mid-history
     * is not linked ({@link CheckpointOutcome.Link#ARCHIVE_START}).
     */
    private static CheckpointOutcome link(final CheckpointOutcome o, final Linked against) {
        final long previousCheckpoint = against.previousCheckpoint();
        final LedgerHeaderSummary previousLast = against.previousLast();
        final VerificationException anchorFailure = against.anchorFailure();
        final LedgerHeaderSummary first = o.facts().firstHeader();
        if (first == null) {
            return o;
        }
        if (first.ledgerSeq() == 1) {
            return withLink(o, CheckpointOutcome.Link.GENESIS, null);
        }
        if (previousCheckpoint != Checkpoint.previous(o.checkpoint())) {
            return withLink(o, CheckpointOutcome.Link.NOT_CHECKED, null);
        }
        if (previousLast == null && against.archiveStart()) {
            return withLink(o, CheckpointOutcome.Link.ARCHIVE_START, null);
        }
        if (previousLast == null) {
            final VerificationException why = anchorFailure != null ? anchorFailure
                    : new VerificationException(FailureReason.INTERNAL_ERROR,
                            ArchivePaths.checkpointFile(FileType.LEDGER, previousCheckpoint), "no last header");
            return withLink(o, CheckpointOutcome.Link.NOT_CHECKED, new VerificationException(why.reason(),
                    why.file(), "the link to the previous checkpoint cannot be checked, its ledger file failed: "
                            + why.detail()).withSource(why.source()));
        }
        try {
            CheckpointCrossCheck.chainLink(previousLast, List.of(first),
                    ArchivePaths.checkpointFile(FileType.LEDGER, o.checkpoint()));
        } catch (final VerificationException e) {
            final String source = o.files().stream().filter(f -> f.type() == FileType.LEDGER).map(FileOutcome::source)
                    .findFirst().orElse(null);
            return withLink(o, CheckpointOutcome.Link.BROKEN, e.withSource(source));
        }
        final FileOutcome txs = o.facts().firstSetFile();
        if (txs != null) {
            try {
                CheckpointCrossCheck.firstSet(previousLast, first, o.facts().firstSet(), txs.path());
            } catch (final VerificationException e) {
                return withLink(o, CheckpointOutcome.Link.VERIFIED, e.withSource(txs.source()));
            }
        }
        return withLink(o, CheckpointOutcome.Link.VERIFIED, null);
    }

    private static CheckpointOutcome withLink(final CheckpointOutcome o, final CheckpointOutcome.Link link,
            final VerificationException failure) {
        final List<VerificationException> failures = new ArrayList<>(o.failures());
        if (failure != null) {
            failures.add(failure);
        }
        return new CheckpointOutcome(o.checkpoint(), CheckpointOutcome.statusOf(failures), o.files(),
                List.copyOf(failures), o.facts(), link);
    }

    /** The last header of a checkpoint outside the range, to check the range's first link. */
    private LedgerHeaderSummary lastHeaderOf(final long checkpoint) throws VerificationException {
        final String path = ArchivePaths.checkpointFile(FileType.LEDGER, checkpoint);
        final List<LedgerHeaderSummary> hs = archive.fetch(path,
                in -> LedgerHeaderVerifier.verify(in, path, checkpoint, options.limits())).value();
        return hs.get(hs.size() - 1);
    }

    /** The failure of a checkpoint's ledger file (the reason its last header is unknown), or null. */
    private static VerificationException ledgerFailure(final CheckpointOutcome o) {
        final String path = ArchivePaths.checkpointFile(FileType.LEDGER, o.checkpoint());
        for (final VerificationException e : o.failures()) {
            if (path.equals(e.file())) {
                return e;
            }
        }
        return o.failures().isEmpty() ? null : o.failures().get(0);
    }

    /** One fetched-and-verified file: its value (null on failure) and outcome. */
    private record Result<T>(T value, FileOutcome outcome) {
    }

    @FunctionalInterface
    private interface FileCheck<T> {
        T verify(java.io.InputStream in, String path) throws java.io.IOException, VerificationException;
    }

    private <T> CompletableFuture<Result<T>> fetch(final FileType type, final String path, final boolean optional,
            final FileCheck<T> check) {
        return fetch(type, path, optional, check, Map.of());
    }

    /**
     * @param badCopies per file, the sources whose copy failed a cross-file check: no source among them is asked for
     *                  any file of the checkpoint, and those of this file are blamed for it
     */
    private <T> CompletableFuture<Result<T>> fetch(final FileType type, final String path, final boolean optional,
            final FileCheck<T> check, final Map<String, Set<String>> badCopies) {
        final Set<String> avoid = new java.util.HashSet<>();
        badCopies.values().forEach(avoid::addAll);
        return CompletableFuture.supplyAsync(() -> {
            try {
                final HistoryArchive.Fetched<T> f = archive.fetch(path, in -> check.verify(in, path), avoid);
                final List<String> blamed = new ArrayList<>(badCopies.getOrDefault(path, Set.of()));
                f.blamed().stream().filter(b -> !blamed.contains(b)).forEach(blamed::add);
                return new Result<>(f.value(), FileOutcome.verified(type, path, f.source(), f.bytes(), f.attempts(),
                        List.copyOf(blamed)));
            } catch (final VerificationException e) {
                final VerificationException named = e.withFile(path);
                if (optional && named.reason() == FailureReason.MISSING_FILE) {
                    return new Result<T>(null, FileOutcome.absent(type, path));
                }
                return new Result<T>(null, FileOutcome.failed(type, path, named));
            } catch (final RuntimeException e) {
                return new Result<T>(null, FileOutcome.failed(type, path, new VerificationException(
                        FailureReason.INTERNAL_ERROR, path, e.toString(), e)));
            }
        }, pool);
    }

    private CompletableFuture<FileOutcome> bucket(final Hash hash) {
        return buckets.get(hash, h -> {
            final String path = ArchivePaths.bucket(h.hex());
            return fetch(FileType.BUCKET, path, false,
                    (in, p) -> BucketVerifier.verify(in, p, h, options.limits())).thenApply(Result::outcome)
                    .whenComplete((b, t) -> {
                        if (b != null && b.ok()) {
                            bucketsOk.incrementAndGet();
                            bucketBytes.addAndGet(b.bytes());
                        } else if (b != null && (b.status() == FileOutcome.Status.ABSENT || (b.failure() != null
                                && b.failure().reason() == FailureReason.MISSING_FILE))) {
                            bucketsMissing.incrementAndGet();
                        } else {
                            bucketsBad.incrementAndGet();
                        }
                    });
        });
    }

    /**
     * A checkpoint's files fetched and verified, and its cross-file checks. A file that passes its own checks but
     * fails a cross-file check (a transaction set against its header) was not failed over within its fetch: with
     * more than one source, the checkpoint's files are read again from the others, and that outcome is taken when it
     * verifies (the source of the first copy blamed), as {@code ingest} retries a checkpoint from another source.
     */
    private CompletableFuture<CheckpointOutcome> checkpoint(final long cp) {
        return checkpoint(cp, Map.of(), null);
    }

    /**
     * One reading of the checkpoint without the sources of {@code badCopies}; while it fails a cross-file check on a
     * copy from a source not tried yet and some source is left, another reading without that one too (three sources,
     * the first two serving the same bad copy: the third). The first outcome stands when none verifies.
     */
    private CompletableFuture<CheckpointOutcome> checkpoint(final long cp, final Map<String, Set<String>> badCopies,
            final CheckpointOutcome first) {
        return checkpoint(cp, badCopies).thenCompose(o -> {
            final CheckpointOutcome firstOutcome = first == null ? o : first;
            if (o.status() == CheckpointOutcome.Status.VERIFIED) {
                return CompletableFuture.completedFuture(o);
            }
            final Map<String, Set<String>> more = new java.util.HashMap<>();
            badCopies.forEach((path, sources) -> more.put(path, new java.util.LinkedHashSet<>(sources)));
            boolean grew = false;
            for (final VerificationException e : o.failures()) {
                if (CROSS_FILE.contains(e.reason()) && e.file() != null && archive.sourceNames().contains(e.source())) {
                    grew |= more.computeIfAbsent(e.file(), p -> new java.util.LinkedHashSet<>()).add(e.source());
                }
            }
            if (!grew || everySourceAvoided(more)) {
                return CompletableFuture.completedFuture(firstOutcome);
            }
            return checkpoint(cp, more, firstOutcome);
        });
    }

    /** Whether {@code badCopies} leave no source to read a checkpoint from. */
    private boolean everySourceAvoided(final Map<String, Set<String>> badCopies) {
        final Set<String> avoided = new java.util.HashSet<>();
        badCopies.values().forEach(avoided::addAll);
        return avoided.size() >= archive.sourceNames().size();
    }

    private static final Set<FailureReason> CROSS_FILE = java.util.EnumSet.of(FailureReason.TX_SET_HASH_MISMATCH,
            FailureReason.RESULT_SET_HASH_MISMATCH, FailureReason.BUCKET_LIST_HASH_MISMATCH);

    private CompletableFuture<CheckpointOutcome> checkpoint(final long cp, final Map<String, Set<String>> badCopies) {
        final VerificationLimits limits = options.limits();
        final String pass = options.networkPassphrase();
        final CompletableFuture<Result<HistoryArchiveState>> has = fetch(FileType.HAS, ArchivePaths.has(cp), false,
                (in, p) -> HasVerifier.verify(in, p, cp, pass, limits), badCopies);
        final CompletableFuture<Result<List<LedgerHeaderSummary>>> ledger = fetch(FileType.LEDGER,
                ArchivePaths.checkpointFile(FileType.LEDGER, cp), false,
                (in, p) -> LedgerHeaderVerifier.verify(in, p, cp, limits), badCopies);
        final CompletableFuture<Result<List<LedgerSetHash>>> txs = fetch(FileType.TRANSACTIONS,
                ArchivePaths.checkpointFile(FileType.TRANSACTIONS, cp), false,
                (in, p) -> TransactionSetVerifier.verify(in, p, cp, limits), badCopies);
        final CompletableFuture<Result<List<LedgerSetHash>>> results = fetch(FileType.RESULTS,
                ArchivePaths.checkpointFile(FileType.RESULTS, cp), false,
                (in, p) -> ResultSetVerifier.verify(in, p, cp, limits), badCopies);
        final CompletableFuture<Result<ScpVerifier.ScpSummary>> scp = fetch(FileType.SCP,
                ArchivePaths.checkpointFile(FileType.SCP, cp), true,
                (in, p) -> ScpVerifier.verify(in, p, cp, limits), badCopies);
        final CompletableFuture<List<FileOutcome>> bucketOutcomes = has.thenCompose(h -> {
            if (h.value() == null) {
                return CompletableFuture.completedFuture(List.of());
            }
            final List<CompletableFuture<FileOutcome>> fs = new ArrayList<>();
            for (final Hash b : h.value().buckets()) {
                fs.add(bucket(b));
            }
            return CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new))
                    .thenApply(v -> fs.stream().map(CompletableFuture::join).toList());
        });
        return CompletableFuture.allOf(has, ledger, txs, results, scp, bucketOutcomes)
                .thenApply(v -> assemble(cp, has.join(), ledger.join(), txs.join(), results.join(), scp.join(),
                        bucketOutcomes.join()));
    }

    private static CheckpointOutcome assemble(final long cp, final Result<HistoryArchiveState> has,
            final Result<List<LedgerHeaderSummary>> ledger, final Result<List<LedgerSetHash>> txs,
            final Result<List<LedgerSetHash>> results, final Result<ScpVerifier.ScpSummary> scp,
            final List<FileOutcome> bucketOutcomes) {
        final List<FileOutcome> files = new ArrayList<>();
        files.add(has.outcome());
        files.add(ledger.outcome());
        files.add(txs.outcome());
        files.add(results.outcome());
        files.add(scp.outcome());
        files.addAll(bucketOutcomes);
        final List<VerificationException> failures = new ArrayList<>();
        for (final FileOutcome f : files) {
            if (!f.ok()) {
                failures.add(f.failure());
            }
        }
        final List<LedgerHeaderSummary> headers = ledger.value();
        if (headers != null) {
            try {
                CheckpointCrossCheck.genesis(headers, ledger.outcome().path());
            } catch (final VerificationException e) {
                failures.add(e.withSource(ledger.outcome().source()));
            }
            if (txs.value() != null) {
                try {
                    CheckpointCrossCheck.transactionSets(headers, txs.value(), null, txs.outcome().path());
                } catch (final VerificationException e) {
                    failures.add(e.withSource(txs.outcome().source())); // the file the mismatch names
                }
            }
            if (results.value() != null) {
                try {
                    CheckpointCrossCheck.resultSets(headers, results.value(), results.outcome().path());
                } catch (final VerificationException e) {
                    failures.add(e.withSource(results.outcome().source()));
                }
            }
            if (has.value() != null) {
                try {
                    CheckpointCrossCheck.bucketList(has.value(), headers, has.outcome().path());
                } catch (final VerificationException e) {
                    failures.add(e.withSource(has.outcome().source()));
                }
            }
        }
        final CheckpointCrossCheck.FirstSet firstSet = headers != null && txs.value() != null
                ? CheckpointCrossCheck.firstSetPending(headers, txs.value()) : null;
        final CheckpointOutcome.Facts facts = new CheckpointOutcome.Facts(headers == null ? 0 : headers.size(),
                txs.value() == null ? 0 : txs.value().size(), results.value() == null ? 0 : results.value().size(),
                bucketOutcomes.size(), scp.value() == null ? 0 : scp.value().entryCount(),
                headers == null ? null : headers.get(0), headers == null ? null : headers.get(headers.size() - 1),
                firstSet == null ? null : txs.outcome(), firstSet);
        return new CheckpointOutcome(cp, CheckpointOutcome.statusOf(failures), List.copyOf(files),
                List.copyOf(failures), facts, CheckpointOutcome.Link.NOT_CHECKED);
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
