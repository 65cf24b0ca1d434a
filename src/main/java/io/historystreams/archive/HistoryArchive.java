package io.historystreams.archive;

import io.historystreams.verify.FailureReason;
import io.historystreams.verify.VerificationException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One logical archive served by an ordered list of sources (mirrors of the same network), with retries, backoff and
 * failover per file. Thread-safe: any number of threads may call {@link #fetch} at once.
 */
public final class HistoryArchive implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(HistoryArchive.class);

    private final List<ArchiveSource> sources;
    private final List<String> names;
    private final RetryPolicy retry;
    private final FetchObserver observer;
    /** The source that served the last success: the first one tried for the next file. */
    private final AtomicInteger preferred;
    /** Names of the sources never asked by {@link #fetch(String, BodyReader)} (see {@link #without}). */
    private final java.util.Set<String> avoided;
    /**
     * Per source, whether it answers ({@link SourceHealth}: shared by every archive of this process that reads it). At
     * {@link #downAfter} transient failures in a row or more the source is taken as down: a fetch asks the others
     * first, and it is rechecked apart from the fetches every {@code downRecheck} until it answers; once another
     * source has answered a fetch definitively, a down source that fails again is not retried in it.
     */
    private final SourceHealth[] health;
    /** The transient failures in a row that make a source down ({@code fetch.max.attempts} of the archive opened). */
    private final int downAfter;
    /** Whether this archive acquired {@link #health} (and releases it when closed); not a view or a policy's copy. */
    private final boolean ownsHealth;
    /** Whether the archive was closed; shared with the views of {@link #without}, whose rechecks then say nothing. */
    private final java.util.concurrent.atomic.AtomicBoolean closed;
    /** Whether an attempt that waited out a timeout ends the fetch (see {@link #retryingQuickFailuresOnly}). */
    private final boolean timeoutsFinal;

    /** Reads one file's body; throws VerificationException for bad content, IOException for transfer problems. */
    @FunctionalInterface
    public interface BodyReader<T> {
        T read(InputStream body) throws IOException, VerificationException;
    }

    /**
     * A file read successfully: the reader's value, the source that served it, bytes transferred, attempts made, and
     * the sources that served bad bytes before (in order, without duplicates).
     */
    public record Fetched<T>(T value, String source, long bytes, int attempts, List<String> blamed) {
        public Fetched {
            blamed = List.copyOf(blamed);
        }
    }

    private enum State { ACTIVE, NOT_PRESENT, REFUSED, BLAMED, DOWN }

    public HistoryArchive(final List<ArchiveSource> sources, final RetryPolicy retry, final FetchObserver observer) {
        this(sources, retry, observer, null, -1, false);
    }

    /** {@code health} null: acquired for the sources ({@link #ownsHealth}); otherwise shared with another archive's. */
    private HistoryArchive(final List<ArchiveSource> sources, final RetryPolicy retry, final FetchObserver observer,
            final SourceHealth[] health, final int downAfter, final boolean timeoutsFinal) {
        Objects.requireNonNull(sources, "sources");
        if (sources.isEmpty()) {
            throw new IllegalArgumentException("an archive needs at least one source");
        }
        this.sources = List.copyOf(sources);
        this.names = this.sources.stream().map(ArchiveSource::name).toList();
        this.retry = retry == null ? RetryPolicy.defaults() : retry;
        this.observer = observer == null ? FetchObserver.NONE : observer;
        this.preferred = new AtomicInteger();
        this.avoided = java.util.Set.of();
        this.closed = new java.util.concurrent.atomic.AtomicBoolean();
        this.ownsHealth = health == null;
        this.downAfter = health == null ? this.retry.maxAttempts() : downAfter;
        this.health = health != null ? health
                : this.names.stream().map(SourceHealth::acquire).toArray(SourceHealth[]::new);
        this.timeoutsFinal = timeoutsFinal;
    }

    /**
     * A view of {@code of} that never asks the sources named in {@code avoided}: it shares the sources' failures in a
     * row, not the preference (a source skipped here is not one that failed).
     */
    private HistoryArchive(final HistoryArchive of, final java.util.Set<String> avoided) {
        this.sources = of.sources;
        this.names = of.names;
        this.retry = of.retry;
        this.observer = of.observer;
        this.health = of.health;
        this.downAfter = of.downAfter;
        this.ownsHealth = false;
        this.preferred = new AtomicInteger(of.preferred.get());
        this.avoided = avoided;
        this.closed = of.closed;
        this.timeoutsFinal = of.timeoutsFinal;
    }

    /** Opens a source for every root (see {@link ArchiveSources#open}), in order of preference. */
    public static HistoryArchive open(final List<String> roots, final SourceOptions opts, final RetryPolicy retry,
            final FetchObserver observer) {
        Objects.requireNonNull(roots, "roots");
        final List<ArchiveSource> opened = new ArrayList<>(roots.size());
        try {
            for (final String root : roots) {
                opened.add(ArchiveSources.open(root, opts));
            }
        } catch (final RuntimeException e) {
            opened.forEach(ArchiveSource::close);
            throw e;
        }
        return new HistoryArchive(opened, retry, observer);
    }

    /** The printable names of the sources, in order of preference. */
    public List<String> sourceNames() {
        return names;
    }

    /** The names of the sources {@link #fetch(String, BodyReader)} may ask, in order of preference. */
    public List<String> readFrom() {
        return avoided.isEmpty() ? names : names.stream().filter(n -> !avoided.contains(n)).toList();
    }

    public RetryPolicy retryPolicy() {
        return retry;
    }

    /**
     * This archive's sources under another retry policy, e.g. one attempt for a check that must not wait out a source
     * that is down. It shares the sources: close this archive, not the one returned.
     */
    public HistoryArchive withRetryPolicy(final RetryPolicy policy) {
        return new HistoryArchive(sources, policy, FetchObserver.NONE, health, downAfter, timeoutsFinal);
    }

    /**
     * This archive's sources, retrying only the transient failures that came at once (refused connections, 5xx,
     * 429, resets): an attempt that waited out a timeout ends the fetch as FETCH_FAILED. For a look that must answer
     * in about one timeout per source (a trial's {@code status} waited out every retry of a hanging mirror, 3 minutes,
     * and one attempt instead failed at a single refused connection). It shares the sources, as {@link
     * #withRetryPolicy} does.
     */
    public HistoryArchive retryingQuickFailuresOnly() {
        return new HistoryArchive(sources, retry, FetchObserver.NONE, health, downAfter, true);
    }

    /**
     * Fetches {@code path} and hands its body to {@code reader}, retrying transient failures with backoff, failing
     * over between sources, and re-downloading content the reader rejected (blaming the source that served it).
     *
     * <p>The sources are mirrors of one archive, so a definitive "not present" (404) from one source is the answer
     * for the archive when every other source either said the same, refused, or could not be reached: a mirror that
     * is down must not turn an absent optional file (SCP) into a transport failure. The detail still names the
     * unreachable sources' last errors.
     *
     * @throws VerificationException MISSING_FILE when no source that answered has the file (the others refused or
     *         exhausted the attempts on transient failures), FETCH_REFUSED when every source refused, FETCH_FAILED
     *         when transient failures exhausted the attempts and no source answered "not present" (or the thread was
     *         interrupted), or the reader's own exception (with the serving source set) when no source served
     *         acceptable bytes
     */
    public <T> Fetched<T> fetch(final String path, final BodyReader<T> reader) throws VerificationException {
        return fetch(path, reader, avoided);
    }

    /** How long {@link #fetchHedged} waits for the source read first before it asks the others too. */
    public static final Duration HEDGE_AFTER = Duration.ofSeconds(5);

    /**
     * As {@link #fetch(String, BodyReader)}, for a small file read at a command's start or by a poll (the root
     * state): when the source read first has not answered within {@code hedgeAfter} and others can be read, they are
     * asked too, and the first answer is taken. When one of them answers first, the source read first is taken as down
     * (it did not answer in time), as one that waited out a timeout is: the reads after it go to the others at once. A
     * first mirror that hung held every command's start for a read timeout (a trial: 31.7 s for {@code verify} with
     * the default 30 s), spent on the root state before anything else.
     */
    public <T> Fetched<T> fetchHedged(final String path, final BodyReader<T> reader, final Duration hedgeAfter)
            throws VerificationException {
        final int n = sources.size();
        final State[] probe = new State[n];
        for (int i = 0; i < n; i++) {
            probe[i] = avoided.contains(names.get(i)) ? State.BLAMED : State.ACTIVE;
        }
        final int first = nextActive(probe, Math.floorMod(preferred.get(), n), true);
        if (first < 0 || readFrom().size() < 2) {
            return fetch(path, reader);
        }
        final java.util.concurrent.ExecutorService asking = java.util.concurrent.Executors.newCachedThreadPool(r -> {
            final Thread t = new Thread(r, "hedged-read");
            t.setDaemon(true);
            return t;
        });
        try {
            final java.util.concurrent.CompletionService<Fetched<T>> done =
                    new java.util.concurrent.ExecutorCompletionService<>(asking);
            final java.util.concurrent.Future<Fetched<T>> fromFirst = done.submit(() -> fetch(path, reader));
            java.util.concurrent.Future<Fetched<T>> next = done.poll(hedgeAfter.toNanos(),
                    java.util.concurrent.TimeUnit.NANOSECONDS);
            if (next != null) {
                return result(next);
            }
            final String slow = names.get(first);
            done.submit(() -> fetch(path, reader, java.util.Set.of(slow)));
            next = done.take();
            if (next == fromFirst) {
                return result(next); // (it answered after all, or failed over itself: its answer stands)
            }
            try {
                final Fetched<T> other = result(next);
                tookTooLong(first, path, hedgeAfter, other.source());
                return other;
            } catch (final VerificationException e) {
                return result(done.take()); // the others could not serve it: the first source's answer, when it comes
            }
        } catch (final InterruptedException e) {
            throw interrupted(path, 0);
        } finally {
            asking.shutdownNow();
        }
    }

    private static <T> Fetched<T> result(final java.util.concurrent.Future<Fetched<T>> f)
            throws VerificationException, InterruptedException {
        try {
            return f.get();
        } catch (final java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof VerificationException v) {
                throw v;
            }
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException(e.getCause());
        }
    }

    /**
     * The source named {@code name} did not answer {@code path} within {@code waited}, and {@code other} did: taken as
     * down, as by {@link #fetchHedged} (the mirror check at start asks every source at once). Nothing when it is not
     * one of this archive's.
     */
    public void tookTooLong(final String name, final String path, final Duration waited, final String other) {
        final int idx = names.indexOf(name);
        if (idx >= 0 && sources.size() > 1) {
            tookTooLong(idx, path, waited, other);
        }
    }

    /**
     * How long the source named {@code name} was waited for when it was taken as down for not answering in time while
     * another source did ({@link #tookTooLong}, a hedged read); null when it was not, or has answered in time since.
     */
    public Duration downForNotAnsweringWithin(final String name) {
        final int idx = names.indexOf(name);
        final long waited = idx < 0 ? 0 : health[idx].slowAfterNanos;
        return waited > 0 ? Duration.ofNanos(waited) : null;
    }

    /** Source {@code idx} did not answer {@code path} within {@code waited}, and {@code other} did: taken as down. */
    private void tookTooLong(final int idx, final String path, final Duration waited, final String other) {
        health[idx].failedPath = path; // what its rechecks ask for
        health[idx].slowAfterNanos = waited.toNanos(); // and how soon it must answer them
        countFailure(idx, true, inARow -> "it did not answer " + path + " within " + every(waited) + ", and " + other
                + " did");
    }

    /**
     * This archive without the sources at {@code indexes} (of {@link #sourceNames()}): its {@link #fetch(String,
     * BodyReader)} never asks them, as if it had them in its {@code avoid}. It shares this archive's sources and their
     * failures in a row (close this archive, not the one returned). This archive itself when that would leave no
     * source, or none is named.
     */
    public HistoryArchive without(final java.util.Collection<Integer> indexes) {
        final java.util.Set<String> avoid = new java.util.HashSet<>(avoided);
        for (final int i : indexes) {
            if (i >= 0 && i < names.size()) {
                avoid.add(names.get(i));
            }
        }
        return avoid.equals(avoided) || avoid.containsAll(names) ? this
                : new HistoryArchive(this, java.util.Set.copyOf(avoid));
    }

    /**
     * As {@link #fetch(String, BodyReader)}, from the sources other than those named in {@code avoid} (which served a
     * checkpoint's file found bad by a check made after its fetch, a cross-file check): they are not asked. The caller
     * blames them where they served the bad copy.
     */
    public <T> Fetched<T> fetch(final String path, final BodyReader<T> reader, final java.util.Set<String> avoid)
            throws VerificationException {
        return fetch(path, reader, avoid, false);
    }

    /**
     * Whether a source has the file, without reading it ({@link ArchiveSource#head}: an HTTP {@code HEAD}), with the
     * retries and failover of {@link #fetch(String, BodyReader)}: the source that has it, or MISSING_FILE when every
     * source answered that it does not (FETCH_FAILED, FETCH_REFUSED as a fetch).
     */
    public Fetched<Boolean> exists(final String path) throws VerificationException {
        return exists(path, avoided);
    }

    /** As {@link #exists(String)}, from the sources other than those named in {@code avoid}. */
    public Fetched<Boolean> exists(final String path, final java.util.Set<String> avoid) throws VerificationException {
        return fetch(path, in -> true, avoid, true);
    }

    private <T> Fetched<T> fetch(final String path, final BodyReader<T> reader, final java.util.Set<String> avoid,
            final boolean head) throws VerificationException {
        Objects.requireNonNull(reader, "reader");
        final int n = sources.size();
        final State[] state = new State[n];
        java.util.Arrays.fill(state, State.ACTIVE);
        final int[] contentFailures = new int[n];
        final String[] refusals = new String[n];
        final String[] transients = new String[n];
        final int[] transientCounts = new int[n];
        final List<String> blamed = new ArrayList<>(1);
        for (int i = 0; i < n; i++) {
            if (avoid.contains(names.get(i)) || avoided.contains(names.get(i))) {
                state[i] = State.BLAMED;
            }
        }
        VerificationException lastBad = null;
        String lastBadSource = null;
        String lastTransient = null;
        int transientFailures = 0;
        boolean timedOutFinal = false; // a timeout ended the fetch (timeoutsFinal)
        int attempts = 0;
        int cursor = Math.floorMod(preferred.get(), n);
        recheckDown(avoid, path);
        // whether a source before the one that serves failed (refused, bad bytes): that one is preferred from then
        // on, as is a source earlier in the list that serves. Not after a source that is down: it is skipped while it
        // is (see nextActive), and read first again once it answers. Not a later one after sources that lack the file:
        // a mirror missing a few files stays first (a trial: a forged mirror that served one file an honest one
        // lacked then served every file after it, and its copies that did not link were all blamed on it alone)
        boolean failedOver = false;
        while (true) {
            if (Thread.currentThread().isInterrupted()) {
                throw interrupted(path, attempts);
            }
            final int idx = nextActive(state, cursor, attempts == 0);
            if (idx < 0) {
                break;
            }
            cursor = idx + 1;
            final ArchiveSource source = sources.get(idx);
            final String name = names.get(idx);
            attempts++;
            observer.attempt(name, path);
            final long start = System.nanoTime();
            CountingStream counted = null;
            try {
                final ArchiveSource.Body body = head ? source.head(path) : source.open(path);
                final T value;
                try {
                    counted = new CountingStream(body.stream());
                    value = reader.read(counted);
                } catch (final VerificationException e) {
                    closeQuietly(body);
                    throw body.note() == null ? e : new VerificationException(e.reason(), e.file(),
                            e.detail() + " (" + body.note() + ")", e);
                } catch (final Throwable t) {
                    closeQuietly(body);
                    throw t;
                }
                closeQuietly(body);
                final long bytes = counted.count;
                if (failedOver || idx < Math.floorMod(preferred.get(), n)) {
                    preferred.set(idx);
                }
                if (!Thread.currentThread().isInterrupted()) {
                    // (not when interrupted: a hedged read another source answered first, see fetchHedged, whose
                    // late answer found the source taken as down for it back at once)
                    health[idx].failedPath = null;
                    health[idx].slowAfterNanos = 0;
                    if (health[idx].failuresInARow.getAndSet(0) >= downAfter && n > 1) {
                        LOG.warn("{}, taken as down, answers again", name);
                    }
                }
                observer.success(name, path, bytes, System.nanoTime() - start);
                return new Fetched<>(value, name, bytes, attempts, blamed);
            } catch (final FetchException.NotPresent e) {
                observer.failedAttempt(name, path, "not_present", System.nanoTime() - start);
                state[idx] = State.NOT_PRESENT;
                health[idx].failuresInARow.set(0);
                observer.notPresent(name, path);
            } catch (final FetchException.Refused e) {
                observer.failedAttempt(name, path, "refused", System.nanoTime() - start);
                failedOver = true;
                state[idx] = State.REFUSED;
                health[idx].failuresInARow.set(0);
                refusals[idx] = e.getMessage();
                observer.refused(name, path, e.getMessage());
            } catch (final VerificationException e) {
                final boolean transportFailed = counted != null && counted.transportFailure != null;
                observer.failedAttempt(name, path, transportFailed ? "transient" : "bad_content",
                        System.nanoTime() - start);
                if (transportFailed) {
                    // The reader saw a broken transfer and called it bad content: the source is not to blame.
                    transientFailures++;
                    lastTransient = counted.transportFailure.getMessage();
                    transients[idx] = lastTransient;
                    transientCounts[idx]++;
                    if (Thread.currentThread().isInterrupted()) {
                        throw interrupted(path, attempts);
                    }
                    final boolean down = givenUpAsDown(idx, state, counted.transportFailure, path);
                    if (down) {
                        continue;
                    }
                    if (transientFailures >= retry.maxAttempts()
                            || timeoutsFinal && FetchException.timedOut(counted.transportFailure)) {
                        timedOutFinal = transientFailures < retry.maxAttempts();
                        break;
                    }
                    backoff(name, path, lastTransient, transientFailures, retryAfter(counted.transportFailure),
                            attempts);
                    continue;
                }
                failedOver = true;
                health[idx].failuresInARow.set(0);
                if (!blamed.contains(name)) {
                    blamed.add(name);
                }
                observer.blamed(name, path, e);
                // a second read of the same source (contentRetries: bytes can be damaged in transit) said as such (a
                // trial read two identical lines as a duplicated log)
                LOG.warn("{} served a bad copy of {}{}: {} {}", name, path, contentFailures[idx] > 0
                        ? " again, read a second time" : "", e.reason(), e.detail());
                lastBad = e;
                lastBadSource = name;
                if (!e.reason().retryable()) {
                    throw annotate(e, path, name, blamed, null);
                }
                contentFailures[idx]++;
                if (contentFailures[idx] > retry.contentRetries()) {
                    state[idx] = State.BLAMED;
                }
            } catch (final IOException e) {
                // Transient from the source, or any other I/O failure while the reader read the body.
                observer.failedAttempt(name, path, "transient", System.nanoTime() - start);
                if (Thread.currentThread().isInterrupted()) {
                    throw interrupted(path, attempts);
                }
                transientFailures++;
                lastTransient = e instanceof FetchException ? e.getMessage()
                        : name + " " + path + ": " + BodyStream.describe(e);
                transients[idx] = lastTransient;
                transientCounts[idx]++;
                final boolean down = givenUpAsDown(idx, state, e, path);
                if (down) {
                    continue;
                }
                if (transientFailures >= retry.maxAttempts() || timeoutsFinal && FetchException.timedOut(e)) {
                    timedOutFinal = transientFailures < retry.maxAttempts();
                    break;
                }
                final Duration after = e instanceof FetchException.Transient t ? t.retryAfter()
                        : counted != null ? retryAfter(counted.transportFailure) : null;
                backoff(name, path, lastTransient, transientFailures, after, attempts);
            }
        }
        if (lastBad != null) {
            throw annotate(lastBad, path, lastBadSource, blamed,
                    lastTransient == null ? null : "last transfer failure: " + lastTransient);
        }
        boolean anyNotPresent = false;
        for (final State s : state) {
            anyNotPresent |= s == State.NOT_PRESENT;
        }
        if (anyNotPresent) {
            // A mirror that answered "not present" outweighs mirrors that never answered.
            final List<String> noAnswer = unreachable(state, transients, transientCounts);
            final String present = String.join(", ", namesIn(state, State.NOT_PRESENT));
            final String refused = refusedPart(state, refusals);
            final VerificationException missing = new VerificationException(FailureReason.MISSING_FILE, path,
                    (noAnswer.isEmpty() ? "not present in any source: " + present
                            : "not present in " + present + "; no answer from " + String.join("; ", noAnswer))
                            + refused)
                    .withSource(present);
            throw noAnswer.isEmpty() && refused.isEmpty() ? missing.absentEverywhere() : missing;
        }
        if (transientFailures >= retry.maxAttempts() || timedOutFinal) {
            // The count is of the transient failures (what fetch.max.attempts bounds), not of every request: a
            // refusal is not an attempt that failed transiently.
            throw new VerificationException(FailureReason.FETCH_FAILED, path,
                    lastTransient + " after " + transientFailures + (transientFailures == 1 ? " attempt" : " attempts")
                            + refusedPart(state, refusals))
                    .withSource(String.join(", ", names));
        }
        throw new VerificationException(FailureReason.FETCH_REFUSED, path,
                "refused by every source: " + String.join("; ", refusalList(state, refusals)))
                .withSource(String.join(", ", namesIn(state, State.REFUSED)));
    }

    private void backoff(final String source, final String path, final String reason, final int failures,
            final Duration retryAfter, final int attempts) throws VerificationException {
        final Duration delay = retry.delayFor(failures, retryAfter);
        observer.retry(source, path, reason, delay);
        final int idx = names.indexOf(source);
        if (sources.size() > 1 && idx >= 0) {
            // the file's count alone read "1 of 6" at every failure of a mirror on its way to being taken as down
            final int inARow = health[idx].failuresInARow.get();
            LOG.info("{} (transient failure {} of {} of this file; {}): fetched again in {} ms", reason, failures,
                    retry.maxAttempts(), inARow >= downAfter ? "this source is taken as down"
                            : inARow + " in a row from this source, taken as down at " + downAfter, delay.toMillis());
        } else {
            LOG.info("{} (transient failure {} of {}): fetched again in {} ms", reason, failures, retry.maxAttempts(),
                    delay.toMillis());
        }
        if (delay.isZero() || delay.isNegative()) {
            return;
        }
        try {
            TimeUnit.NANOSECONDS.sleep(delay.toNanos());
        } catch (final InterruptedException e) {
            Thread.currentThread().interrupt();
            throw interrupted(path, attempts);
        }
    }

    /** Whether source {@code idx} is taken as down ({@link #downAfter} transient failures in a row or more). */
    private boolean isDown(final int idx) {
        return health[idx].failuresInARow.get() >= downAfter;
    }

    /**
     * Rechecks each source taken as down (and not avoided) when that is due ({@code downRecheck} after it went down or
     * after its last recheck ended): on a thread of its own it asks for the file it did not answer in time ({@link
     * SourceHealth#failedPath}), or else {@code path} (the file a fetch is about to read from the others), and once the
     * source answers it is no longer down, and read in its place again. The fetch does not wait for it: asked first
     * within the fetch, a source that hangs cost each recheck a read timeout, and a tail's poll every time (a trial:
     * polls 40-70 s apart instead of 10 s).
     */
    private void recheckDown(final java.util.Set<String> avoid, final String path) {
        for (int i = 0; i < health.length; i++) {
            if (isDown(i) && !avoid.contains(names.get(i)) && !avoided.contains(names.get(i))) {
                final java.util.concurrent.atomic.AtomicLong at = health[i].recheckAt;
                final long due = at.get();
                if (due != Long.MAX_VALUE && System.nanoTime() - due >= 0 && at.compareAndSet(due, Long.MAX_VALUE)) {
                    final int idx = i;
                    // the file it did not answer in time: another that it serves says nothing of that one (a trial)
                    final String failed = health[i].failedPath;
                    final String asked = failed != null ? failed : path;
                    final Thread t = new Thread(() -> recheck(idx, asked), "recheck-down-source");
                    t.setDaemon(true);
                    t.start();
                }
            }
        }
    }

    /** How much of a body a recheck reads (all of a smaller one) before it takes the source as answering. */
    static final int RECHECK_BYTES = 64 * 1024;

    /** The recheck of source {@code idx}, taken as down: see {@link #recheckDown}. */
    private void recheck(final int idx, final String path) {
        final String name = names.get(idx);
        String failure = null;
        final long started = System.nanoTime();
        try {
            final ArchiveSource.Body body = sources.get(idx).open(path);
            try {
                // the start of the body too, not the headers alone: a mirror whose bodies stalled was found back at
                // every recheck, and down again six fetches later (a trial: 21 s per checkpoint instead of 2)
                final byte[] buf = new byte[8192];
                long read = 0;
                int n;
                while (read < RECHECK_BYTES && (n = body.stream().read(buf)) >= 0) {
                    read += n;
                }
            } finally {
                closeQuietly(body);
            }
        } catch (final FetchException.NotPresent | FetchException.Refused e) {
            // it answers (a file it lacks, or refuses, is read from the others as before it went down)
        } catch (final IOException | RuntimeException e) {
            failure = e instanceof FetchException ? e.getMessage() : name + " " + path + ": " + BodyStream.describe(e);
        }
        final long slowAfter = health[idx].slowAfterNanos;
        final long took = System.nanoTime() - started;
        if (failure == null && slowAfter > 0 && took > slowAfter) {
            // taken as down for not answering in time while another did: an answer as slow leaves it down (a mirror
            // answering its root state in 7 s was found back by each recheck, and down again at the next poll: a WARN
            // pair and a poll held 5 s every 40 s, for as long as tail ran)
            failure = name + " " + path + ": answered in " + every(Duration.ofMillis(took / 1_000_000))
                    + ", not within " + every(Duration.ofNanos(slowAfter));
        }
        final long every = retry.downRecheck().toNanos();
        try {
            if (closed.get()) {
                return;
            }
            if (failure == null) {
                health[idx].failedPath = null;
                health[idx].slowAfterNanos = 0;
                if (health[idx].failuresInARow.getAndSet(0) >= downAfter) {
                    LOG.warn("{}, taken as down, answers again: it is read in its place again", name);
                }
            } else {
                health[idx].failuresInARow.incrementAndGet();
                LOG.info("{}, taken as down, still fails ({}): asked again in {}", name, failure,
                        every(retry.downRecheck()));
            }
        } finally {
            health[idx].recheckAt.set(System.nanoTime() + every);
        }
    }

    /**
     * The transient failures in a row of the source named {@code name}, counted for the whole process (0 while no
     * archive reads it): it is taken as down at {@code fetch.max.attempts}.
     */
    public static int failuresInARowOf(final String name) {
        return SourceHealth.failuresInARow(name);
    }

    /**
     * The names of the sources whose last answer, to any archive of this process that reads them, was a transient
     * failure (one or more in a row: not only those taken as down), in order.
     */
    public List<String> sourcesFailing() {
        final List<String> failing = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            if (health[i].failuresInARow.get() > 0) {
                failing.add(names.get(i));
            }
        }
        return failing;
    }

    /** The names of the sources whose {@code HEAD}s are asked with {@code GET}s (see {@link ArchiveSource#head}). */
    public List<String> sourcesAskedWithGets() {
        final List<String> out = new ArrayList<>();
        for (int i = 0; i < sources.size(); i++) {
            if (sources.get(i).headsAskedWithGets()) {
                out.add(names.get(i));
            }
        }
        return out;
    }

    /** The names of the sources taken as down ({@code fetch.max.attempts} transient failures in a row), in order. */
    public List<String> sourcesDown() {
        final List<String> down = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            if (isDown(i)) {
                down.add(names.get(i));
            }
        }
        return down;
    }

    /** {@code d} as said in a log line: whole seconds as "30 s", the rest as "250 ms" (not "0 s"). */
    static String every(final java.time.Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }

    /**
     * Counts a transient failure of source {@code idx} in its failures in a row, and gives up on it for this fetch
     * (state DOWN, no backoff) when it was already down before this request and another source has said the file is
     * not present: a mirror that is down must not cost every absent optional file a full round of retries.
     */
    private boolean givenUpAsDown(final int idx, final State[] state, final IOException failure, final String path) {
        final boolean waited = FetchException.timedOut(failure);
        health[idx].failedPath = waited ? path : null; // what its rechecks ask for
        // an attempt that waited out a timeout takes its source as down at once when there are others: each such
        // attempt costs the wait (a trial: a hanging first mirror held verify's start for four read timeouts, and a
        // tail's every file for one, before six failures in a row took it as down); a recheck soon finds it back
        final int before = countFailure(idx, waited, inARow -> waited
                ? "it did not answer in time: each request to it waits out a timeout"
                : inARow + " transient failures in a row");
        final boolean wasDown = before >= downAfter;
        if (!wasDown) {
            return false;
        }
        for (final State s : state) {
            if (s == State.NOT_PRESENT) {
                state[idx] = State.DOWN;
                return true;
            }
        }
        return false;
    }

    /**
     * Counts a transient failure of source {@code idx} in its failures in a row, or as many as take it as down at once
     * ({@code atOnce}) when there are other sources; when that takes it as down, its first recheck is due a {@code
     * fetch.down.recheck.ms} later (unless one runs) and a WARN says why ({@code why}, of the failures in a row).
     * Returns its failures in a row before.
     */
    private int countFailure(final int idx, final boolean atOnce, final java.util.function.IntFunction<String> why) {
        final boolean many = sources.size() > 1;
        final int before = atOnce && many
                ? health[idx].failuresInARow.getAndUpdate(v -> Math.max(v + 1, downAfter))
                : health[idx].failuresInARow.getAndIncrement();
        if (before < downAfter && (atOnce || before + 1 == downAfter) && many) {
            final long every = retry.downRecheck().toNanos();
            health[idx].recheckAt.getAndUpdate(t -> t == Long.MAX_VALUE ? t : System.nanoTime() + every);
            LOG.warn("{} is taken as down ({}): it is read after the other sources, and asked again every {}",
                    names.get(idx), why.apply(before + 1), every(retry.downRecheck()));
        }
        return before;
    }

    private static Duration retryAfter(final FetchException e) {
        return e instanceof FetchException.Transient t ? t.retryAfter() : null;
    }

    /**
     * The next source to ask from {@code from} on (wrapping), -1 when none can be. The first of a fetch skips those
     * taken as down while another can be asked (fetches that began while the one that found a source down was still
     * on it each waited a read timeout there); after a failure, a down source gets its turn as the others do.
     */
    private int nextActive(final State[] state, final int from, final boolean first) {
        final int n = state.length;
        int down = -1;
        for (int i = 0; i < n; i++) {
            final int idx = Math.floorMod(from + i, n);
            if (state[idx] == State.ACTIVE) {
                if (!first || !isDown(idx)) {
                    return idx;
                }
                if (down < 0) {
                    down = idx;
                }
            }
        }
        return down;
    }

    private static VerificationException interrupted(final String path, final int attempts) {
        Thread.currentThread().interrupt();
        return new VerificationException(FailureReason.FETCH_FAILED, path,
                "interrupted" + (attempts > 0 ? " after " + attempts + " attempts" : ""));
    }

    private static VerificationException annotate(final VerificationException e, final String path,
            final String source, final List<String> blamed, final String extra) {
        final String detail = e.getMessage() + " (served by " + source + "; blamed sources: "
                + String.join(", ", blamed) + (extra == null ? "" : "; " + extra) + ")";
        final VerificationException out = new VerificationException(e.reason(), e.file() != null ? e.file() : path,
                detail, e);
        return out.withSource(source);
    }

    private List<String> namesIn(final State[] state, final State wanted) {
        final List<String> out = new ArrayList<>();
        for (int i = 0; i < state.length; i++) {
            if (state[i] == wanted) {
                out.add(names.get(i));
            }
        }
        return out;
    }

    private List<String> refusalList(final State[] state, final String[] refusals) {
        final List<String> out = new ArrayList<>();
        for (int i = 0; i < state.length; i++) {
            if (state[i] == State.REFUSED) {
                out.add(refusals[i]);
            }
        }
        return out;
    }

    /**
     * The last transient error of each source still without an answer, with its count of failed attempts in this fetch
     * (and, for a source given up on as down, its failures in a row).
     */
    private List<String> unreachable(final State[] state, final String[] transients, final int[] counts) {
        final List<String> out = new ArrayList<>();
        for (int i = 0; i < state.length; i++) {
            if ((state[i] == State.ACTIVE || state[i] == State.DOWN) && transients[i] != null) {
                out.add(transients[i] + " after " + counts[i] + (counts[i] == 1 ? " attempt" : " attempts")
                        + (state[i] == State.DOWN ? " (taken as down: no answer to its last " + health[i].failuresInARow.get()
                                + " requests)" : ""));
            }
        }
        return out;
    }

    private String refusedPart(final State[] state, final String[] refusals) {
        final List<String> refused = refusalList(state, refusals);
        return refused.isEmpty() ? "" : "; refused: " + String.join("; ", refused);
    }

    private static void closeQuietly(final ArchiveSource.Body body) {
        try {
            body.close();
        } catch (final IOException | RuntimeException e) {
            // The outcome is decided by the reader; a failing close cannot change it.
        }
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        for (final ArchiveSource s : sources) {
            try {
                s.close();
            } catch (final RuntimeException e) {
                // keep closing the others
            }
        }
        if (ownsHealth) {
            names.forEach(SourceHealth::release);
        }
    }

    @Override
    public String toString() {
        return "HistoryArchive" + names;
    }

    /** Counts the bytes the reader takes, remembers a transport failure, and stops promptly on interrupt. */
    private static final class CountingStream extends FilterInputStream {
        private long count;
        private FetchException transportFailure;

        CountingStream(final InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            checkInterrupt();
            try {
                final int b = in.read();
                if (b >= 0) {
                    count++;
                }
                return b;
            } catch (final FetchException e) {
                transportFailure = e;
                throw e;
            }
        }

        @Override
        public int read(final byte[] buf, final int off, final int len) throws IOException {
            checkInterrupt();
            try {
                final int n = in.read(buf, off, len);
                if (n > 0) {
                    count += n;
                }
                return n;
            } catch (final FetchException e) {
                transportFailure = e;
                throw e;
            }
        }

        @Override
        public long skip(final long n) throws IOException {
            return BodyStream.skipByReading(this, n);
        }

        @Override
        public boolean markSupported() {
            return false;
        }

        @Override
        public synchronized void mark(final int readlimit) {
        }

        @Override
        public synchronized void reset() throws IOException {
            throw new IOException("mark/reset not supported");
        }

        @Override
        public void close() {
            // The archive closes the body after the reader returns; a reader closing early changes nothing.
        }

        private static void checkInterrupt() throws InterruptedIOException {
            if (Thread.currentThread().isInterrupted()) {
                throw new InterruptedIOException("interrupted");
            }
        }
    }
}
