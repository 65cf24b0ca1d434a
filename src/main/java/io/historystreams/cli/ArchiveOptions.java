package io.historystreams.cli;

import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.FetchObserver;
import io.historystreams.archive.HistoryArchive;
import io.historystreams.archive.RetryPolicy;
import io.historystreams.archive.SourceOptions;
import io.historystreams.verify.FailureReason;
import io.historystreams.verify.HasVerifier;
import io.historystreams.verify.HistoryArchiveState;
import io.historystreams.verify.VerificationException;
import io.historystreams.verify.VerificationLimits;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** Options naming the source archive(s) and how to reach them, shared by the commands that read archives. */
public final class ArchiveOptions {
    @Option(names = "--archive", required = true, paramLabel = "<url|dir>",
            description = "Archive root: http(s):// or file:// URL, or a directory. Repeat for more sources of the "
                    + "same archive (mirrors: a file one source lacks or fails on is read from the others).")
    List<String> archives;

    String networkPassphrase;

    @Option(names = "--network-passphrase", paramLabel = "P",
            description = "Expected network passphrase (default: the one in the archive's root state, if any).")
    void networkPassphrase(final String p) {
        if (p.isBlank()) {
            // "" was taken as a network's name: every checkpoint then failed as another network's
            throw new CommandLine.ParameterException(mixee.commandLine(), "--network-passphrase is empty: give the "
                    + "network's passphrase, or leave the option out to take the archive's");
        }
        networkPassphrase = p;
    }

    int connectTimeoutSeconds = 10;
    int readTimeoutSeconds = 30;
    int maxAttempts = 6;

    // each refused with its option's name (the messages were "maxAttempts must be at least 1: 0" and "timeouts must
    // be positive (zero would mean wait forever): connect PT0S, read PT30S")
    @Option(names = "--connect-timeout", defaultValue = "10", paramLabel = "S",
            description = "Connect timeout in seconds (default: ${DEFAULT-VALUE}).")
    void connectTimeout(final int seconds) {
        connectTimeoutSeconds = atLeastOne("--connect-timeout", seconds);
    }

    @Option(names = "--read-timeout", defaultValue = "30", paramLabel = "S",
            description = "Read (idle) timeout in seconds (default: ${DEFAULT-VALUE}).")
    void readTimeout(final int seconds) {
        readTimeoutSeconds = atLeastOne("--read-timeout", seconds);
    }

    @Option(names = "--max-attempts", defaultValue = "6", paramLabel = "N",
            description = "Attempts per file on transient errors (default: ${DEFAULT-VALUE}).")
    void maxAttempts(final int n) {
        maxAttempts = atLeastOne("--max-attempts", n);
    }

    private int atLeastOne(final String option, final int n) {
        if (n < 1) {
            throw new CommandLine.ParameterException(mixee.commandLine(), option + " must be at least 1, not " + n);
        }
        return n;
    }

    Integer concurrency;

    /** The command this mixin is part of (for errors in its options). */
    @Spec(Spec.Target.MIXEE)
    CommandSpec mixee;

    @Option(names = "--concurrency", paramLabel = "N",
            description = "Files in flight at once (default: 8 when a source is remote; cores + 1 for local "
                    + "directories and archives on this host (loopback URLs), where the work is CPU-bound); where a "
                    + "command also has --fetch-concurrency, it is the same setting: give one.")
    void concurrency(final int n) {
        if (n < 1) {
            throw new CommandLine.ParameterException(mixee.commandLine(), "--concurrency must be at least 1, not " + n);
        }
        concurrency = n;
    }

    public List<String> roots() {
        return archives;
    }

    /**
     * Refuses a data dir, a blob store or a directory target that is a local source archive or lies inside one (or
     * holds one): the broker, the stores and the blobs were written into the archive, and a target was the archive
     * itself, all without a word.
     */
    public void requireApart(final io.historystreams.service.ServiceConfig config, final List<String> publishTo) {
        final List<Path> sources = new java.util.ArrayList<>();
        for (final String root : archives) {
            final Path dir = localDirectory(root);
            if (dir != null) {
                sources.add(dir);
            }
        }
        if (sources.isEmpty()) {
            return;
        }
        final Map<String, Path> ours = new java.util.LinkedHashMap<>();
        ours.put("the data dir (--data-dir)", real(config.dataDir()));
        ours.put("the blob store (blob.dir)", real(config.blobDir()));
        for (final String t : publishTo) {
            final Path dir = localDirectory(t);
            if (dir != null) {
                ours.put("the target --publish-to " + t, dir);
            }
        }
        for (final Path source : sources) {
            for (final Map.Entry<String, Path> e : ours.entrySet()) {
                final Path p = e.getValue();
                if (p.startsWith(source) || source.startsWith(p) && e.getKey().startsWith("the target")) {
                    throw new IllegalArgumentException(e.getKey() + " is " + (p.equals(source) ? "" : "inside ")
                            + "the source archive " + source + ": nothing of this tool is written into an archive it "
                            + "reads; give another directory");
                }
            }
        }
    }

    /** The directory a source or target names when it is a local one (a path or {@code file:} URL), else null. */
    private static Path localDirectory(final String root) {
        final String lower = root.toLowerCase(java.util.Locale.ROOT);
        if (lower.startsWith("http:") || lower.startsWith("https:") || lower.startsWith("cmd:")) {
            return null;
        }
        try {
            return real(lower.startsWith("file:") ? Path.of(java.net.URI.create(root)) : Path.of(root));
        } catch (final RuntimeException e) {
            return null; // refused where it is opened, with its own message
        }
    }

    /** {@code p} absolute, with the links of its existing part resolved (what is not there yet cannot be a link). */
    private static Path real(final Path p) {
        Path abs = p.toAbsolutePath().normalize();
        Path existing = abs;
        while (existing != null && !java.nio.file.Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return abs;
        }
        try {
            return existing.toRealPath().resolve(existing.relativize(abs));
        } catch (final java.io.IOException e) {
            return abs;
        }
    }

    /**
     * The sources as the requests (and so the events) of {@code ingest} and {@code tail} name them: see {@link
     * io.historystreams.archive.ArchiveSources#eventName}.
     */
    public List<String> requestSources() {
        return archives.stream().map(io.historystreams.archive.ArchiveSources::eventName).toList();
    }

    public String passphrase() {
        return networkPassphrase;
    }

    public int concurrency() {
        if (concurrency != null) {
            return concurrency;
        }
        return defaultConcurrency(archives);
    }

    /**
     * Files in flight by default: cores + 1 when every source is on this machine (a directory, a {@code file://} URL,
     * or an http(s) URL naming a loopback host: no network latency to hide, the work is gunzip and SHA-256, and more
     * threads than cores only compete for them); 8 when any source is remote (latency-bound).
     */
    public static int defaultConcurrency(final List<String> archives) {
        final boolean local = archives.stream().allMatch(ArchiveOptions::onThisHost);
        return local ? Runtime.getRuntime().availableProcessors() + 1 : 8;
    }

    static boolean onThisHost(final String archive) {
        final String a = archive.toLowerCase(java.util.Locale.ROOT);
        if (!a.startsWith("http://") && !a.startsWith("https://")) {
            return true;
        }
        try {
            final String host = io.historystreams.archive.Urls.host(java.net.URI.create(archive));
            return host != null && (host.equals("localhost") || host.startsWith("127.") || host.equals("[::1]"));
        } catch (final IllegalArgumentException e) {
            return false;
        }
    }

    public SourceOptions sourceOptions() {
        return new SourceOptions(Duration.ofSeconds(connectTimeoutSeconds), Duration.ofSeconds(readTimeoutSeconds));
    }

    public RetryPolicy retryPolicy() {
        final RetryPolicy d = RetryPolicy.defaults();
        return new RetryPolicy(maxAttempts, d.baseDelay(), d.maxDelay(), d.maxRetryAfter());
    }

    /**
     * How far past the archive's current ledger {@code --to} may go, in checkpoints (a live archive runs a little
     * ahead of its root state; a day is about 250 checkpoints, these 10,000 some 40 days): beyond, a typo is taken
     * for what it is.
     */
    static final long MAX_CHECKPOINTS_PAST_CURRENT = 10_000;
    /** The longest range taken when the archive's root state cannot be read (6.4 million ledgers). */
    static final long MAX_CHECKPOINTS_UNCHECKED = 100_000;

    /**
     * The ledgers and network a command works on.
     *
     * @param current   the archive's current ledger from its root state, or -1 when that could not be read
     * @param rootWarning a warning about the root state, or null: that no network passphrase is checked (the root
     *                    state could not be read), or that the root differs from its checkpoint's state file
     * @param otherWarnings the warnings after it: a passphrase given that the root state cannot check, sources left
     *                    out of the mirror check
     */
    /**
     * A {@code --from} past the archive's current ledger, with no {@code --to}: nothing new to do yet, not a mistake
     * (a cron job that verifies from where it last stopped, before the archive moved on). Said, exit 0.
     */
    public static final class NothingToDo extends IllegalArgumentException {
        private final long from;
        private final long current;

        NothingToDo(final long from, final long current) {
            super(String.format("nothing to do: --from %d is past the archive's current ledger %d (checkpoint 0x%x, "
                    + "its last); nothing was fetched", from, current,
                    io.historystreams.archive.Checkpoint.containing(current)));
            this.from = from;
            this.current = current;
        }

        public long from() {
            return from;
        }

        public long current() {
            return current;
        }
    }

    /**
     * No source of the archive answered its root state (FETCH_FAILED: every retry of every source failed), so the
     * run cannot start: exit {@link ExitCode#ARCHIVE_UNREACHABLE}, worth trying again later.
     */
    public static final class Unreachable extends IllegalArgumentException {
        Unreachable(final String message, final VerificationException cause) {
            super(message, cause);
        }
    }

    /** The run cannot start for {@code e}: {@link Unreachable} when no source answered (FETCH_FAILED). */
    private static IllegalArgumentException cannotRun(final String message, final VerificationException e) {
        return e.reason() == FailureReason.FETCH_FAILED ? new Unreachable(message, e)
                : new IllegalArgumentException(message, e);
    }

    public record Range(long first, long last, String passphrase, long current, String rootWarning,
            List<String> otherWarnings) {
        public Range(final long first, final long last, final String passphrase) {
            this(first, last, passphrase, -1, null);
        }

        public Range(final long first, final long last, final String passphrase, final long current,
                final String rootWarning) {
            this(first, last, passphrase, current, rootWarning, List.of());
        }

        /** This range with one more warning. */
        public Range withWarning(final String warning) {
            final List<String> more = new java.util.ArrayList<>(otherWarnings);
            more.add(warning);
            return new Range(first, last, passphrase, current, rootWarning, List.copyOf(more));
        }

        /** This range from the first ledger of {@code checkpoint} on, with {@code note} that says why. */
        public Range from(final long checkpoint, final String note) {
            final List<String> more = new java.util.ArrayList<>(otherWarnings);
            more.add(note);
            return new Range(io.historystreams.archive.Checkpoint.firstLedger(checkpoint), last, passphrase, current,
                    rootWarning, List.copyOf(more));
        }

        /** The notes and warnings to print before the work: {@link #widened()}, {@link #pastCurrent()}, the root's. */
        public List<String> warnings() {
            return warnings("verified");
        }

        /** As {@link #warnings()}, with what is done to checkpoints whole ("verified", "scanned") in the note. */
        public List<String> warnings(final String done) {
            final List<String> out = new java.util.ArrayList<>();
            final String widened = widened(done);
            if (widened != null) {
                out.add(widened);
            }
            if (pastCurrent() != null) {
                out.add(pastCurrent());
            }
            if (rootWarning != null) {
                out.add(rootWarning);
            }
            out.addAll(otherWarnings);
            return out;
        }

        /**
         * A note when the range does not begin or end at a checkpoint's edge: checkpoints are verified whole, so the
         * ledgers verified (and their events) are more than those asked for; null when they are the same.
         */
        public String widened() {
            return widened("verified");
        }

        /** As {@link #widened()}, with what is done to checkpoints whole ("verified", "scanned"). */
        public String widened(final String done) {
            final long firstCheckpoint = io.historystreams.archive.Checkpoint.containing(first);
            final long lastCheckpoint = io.historystreams.archive.Checkpoint.containing(last);
            final long from = io.historystreams.archive.Checkpoint.firstLedger(firstCheckpoint);
            if (from == Math.max(first, 1) && lastCheckpoint == last) { // ledger 0 does not exist
                return null;
            }
            return String.format("note: ledgers %d..%d lie in checkpoints 0x%x..0x%x, which are %s whole: "
                    + "ledgers %d..%d", first, last, firstCheckpoint, lastCheckpoint, done, from, lastCheckpoint);
        }

        /**
         * A warning when the range's last checkpoint is past the archive's current ledger (its checkpoints after
         * that are not published yet, and their files are reported missing), or null.
         */
        public String pastCurrent() {
            final long lastCheckpoint = io.historystreams.archive.Checkpoint.containing(last);
            if (current < 0 || lastCheckpoint <= current) {
                return null;
            }
            return String.format("warning: the range ends at ledger %d (checkpoint 0x%x), past the archive's current "
                    + "ledger %d: the checkpoints after 0x%x are not in the archive yet, and their files are reported "
                    + "missing", last, lastCheckpoint, current, io.historystreams.archive.Checkpoint.containing(current));
        }
    }

    /**
     * Resolves the range and passphrase: {@code --to} defaults to the archive's current ledger and the passphrase
     * to the one in its root state (when the root state cannot be read and {@code --to} is given, no passphrase is
     * enforced). Throws {@link IllegalArgumentException} (exit code 2, "could not run") for an unreadable root
     * without {@code --to}, for an archive none of whose sources can be reached (with or without {@code --to}: every
     * file would fail the same way, after its retries), or an empty range.
     */
    public Range resolve(final HistoryArchive ha, final Long from, final Long to) {
        return resolve(ha, from, to, true);
    }

    /**
     * As {@link #resolve(HistoryArchive, Long, Long)}; with {@code fetchedHere} false (the workers of a cluster fetch,
     * {@code ingest --client}), an archive this process cannot reach is no reason not to run when {@code --to} is
     * given: the workers may reach it from where they are.
     */
    public Range resolve(final HistoryArchive ha, final Long from, final Long to, final boolean fetchedHere) {
        if (from != null && from < 0) {
            throw new IllegalArgumentException("--from must be a ledger number (0 or more), not " + from);
        }
        if (to != null && to < (from == null ? 1 : from)) {
            // refused before the archive is asked: an archive down must not turn a mistake into "try again later"
            throw new IllegalArgumentException("empty range " + (from == null ? 1 : from) + ".." + to);
        }
        String passphrase = networkPassphrase;
        long last = to == null ? -1 : to;
        long current = -1;
        String unchecked = null;
        String rootDiffers = null;
        String rootAhead = null;
        boolean rootNamesNone = false;
        HistoryArchive.Fetched<HistoryArchiveState> read = null;
        VerificationException unread = null;
        try {
            // the other sources asked too when the first has not answered within 5 s, as long as the mirror check
            // below waits for them (a first mirror that hung held every start for a read timeout here)
            read = ha.fetchHedged(ArchivePaths.WELL_KNOWN, in -> HasVerifier.verify(in, ArchivePaths.WELL_KNOWN, -1,
                    networkPassphrase, VerificationLimits.defaults()), HistoryArchive.HEDGE_AFTER);
        } catch (final VerificationException e) {
            unread = e;
        }
        // after the read above, which marks the sources that failed it: those are not asked again
        final SourcesAgree agree = sourcesAgree(ha);
        String ahead = null;
        try {
            if (unread != null) {
                throw unread;
            }
            HistoryArchiveState root = read.value();
            String rootSource = read.source();
            if (to == null) {
                // the range ends at the root of the source furthest on: a lagging first mirror had every command
                // without --to end where it stood, "nothing to do" while another source had more (a trial)
                for (final Map.Entry<String, HistoryArchiveState> e : agree.roots().entrySet()) {
                    if (e.getValue().currentLedger() > root.currentLedger()) {
                        ahead = String.format("note: the range ends at ledger %d, the current ledger of %s's root "
                                + "state; %s's is at ledger %d (a file it lacks is read from the other sources)",
                                e.getValue().currentLedger(), e.getKey(), rootSource, root.currentLedger());
                        root = e.getValue();
                        rootSource = e.getKey();
                    }
                }
            }
            final HasVerifier.RootCheckpoint own = HasVerifier.rootCheckpoint(ha, rootSource, root.currentLedger());
            if (to == null && from != null && from > root.currentLedger()) {
                // nothing to do, whatever the files below the root hold (a trial: a root ahead of its state file
                // refused the cron job's --from past it, exit 2, "from 20031 up to" 10047)
                throw new NothingToDo(from, root.currentLedger());
            }
            rootAhead = own.present() ? null : rootAhead(ha, from, to, root.currentLedger());
            rootDiffers = compareRoot(root, own.state(), passphrase);
            last = to == null ? root.currentLedger() : last;
            current = root.currentLedger();
            passphrase = passphrase == null ? root.networkPassphrase() : passphrase;
            rootNamesNone = root.networkPassphrase() == null;
        } catch (final VerificationException e) {
            if (to == null) {
                throw cannotRun("cannot read the archive's root state: " + e, e);
            }
            if (fetchedHere && (e.reason() == FailureReason.FETCH_FAILED
                    || e.reason() == FailureReason.FETCH_REFUSED)) {
                // not an absent or odd root state (tolerated with --to) but no source answering at all
                throw cannotRun("cannot reach the archive: " + e, e);
            }
            if (networkPassphrase == null) {
                unchecked = "warning: cannot read the archive's root state (" + e + "): no network passphrase is "
                        + "checked; give --network-passphrase to check one";
            } else if (e.reason() != FailureReason.MISSING_FILE && e.reason() != FailureReason.FETCH_FAILED
                    && e.reason() != FailureReason.FETCH_REFUSED) {
                // there, but not right (another network's, say): said, though the range given does not need it
                unchecked = "warning: the archive's root state fails its checks (" + e + "); the range given is "
                        + "verified without it";
            }
        }
        final long first = from == null ? 1 : from;
        if (last < first) {
            if (to == null && current >= 0) {
                throw new NothingToDo(first, current);
            }
            throw new IllegalArgumentException("empty range " + first + ".." + last);
        }
        if (current < 0 && io.historystreams.archive.Checkpoint.containing(last)
                - io.historystreams.archive.Checkpoint.containing(first)
                >= MAX_CHECKPOINTS_UNCHECKED * (long) io.historystreams.archive.Checkpoint.FREQUENCY) {
            // the typo guard below needs the root state: without it, --to 4294967295 had verify print a line for
            // each of 67 million checkpoints, and ingest write a request for each
            throw new IllegalArgumentException("the archive's root state cannot be read, so --to " + last + " cannot "
                    + "be checked against the archive, and the range is more than " + MAX_CHECKPOINTS_UNCHECKED
                    + " checkpoints (a typo?): give a shorter range, or make the root state readable");
        }
        final List<String> others = new java.util.ArrayList<>();
        if (networkPassphrase != null && rootNamesNone) {
            // a version-1 state file names no network: nothing was checked against the passphrase given, silently
            others.add("warning: the archive's root state names no network (an older state file), so "
                    + "--network-passphrase is not checked against it, nor against the state files that name none");
        }
        if (rootAhead != null) {
            others.add(rootAhead);
        }
        if (ahead != null) {
            others.add(ahead);
        }
        others.addAll(agree.warnings());
        if (current >= 0 && io.historystreams.archive.Checkpoint.containing(last)
                - io.historystreams.archive.Checkpoint.containing(current)
                > MAX_CHECKPOINTS_PAST_CURRENT * (long) io.historystreams.archive.Checkpoint.FREQUENCY) {
            // a --to with extra digits: millions of checkpoints requested, each reported missing (ingest wrote 67
            // million requests, 2.3 GB of memory; verify printed a line for each)
            throw new IllegalArgumentException("--to " + last + " is more than " + MAX_CHECKPOINTS_PAST_CURRENT
                    + " checkpoints past the archive's current ledger " + current + ": nothing is there yet (a typo?); "
                    + "give a --to near " + current + ", or none to end at it");
        }
        return new Range(first, last, passphrase, current, unchecked == null ? rootDiffers : unchecked, others);
    }

    /** How long the mirror check at start waits for the sources' root states. */
    static final Duration AGREE_WAIT = Duration.ofSeconds(5);


    /**
     * What the mirror check found: its warnings, the root states it read (by source, in the sources' order; none
     * with a single source, which is not checked), and how many sources could not be compared with the first (no
     * state file of the lower root's checkpoint read from both).
     */
    record SourcesAgree(List<String> warnings, Map<String, HistoryArchiveState> roots, int uncompared) {
        /** Nothing to compare: fewer than two sources. */
        static final SourcesAgree NONE = new SourcesAgree(List.of(), Map.of(), 0);
    }

    /**
     * Sources are mirrors of one archive: each serves the file the others lack, so sources of two networks (or of two
     * generations of testnet, which keep the passphrase) had their files verified as one archive's, whichever source
     * answered first, and reported as verified. Refused when two sources' root states name different networks, or
     * when their state files of the same checkpoint (the lower of their roots) differ in ledger or bucket list. A
     * source that cannot answer is left out of this check (its files are checked as they come); one whose last answer
     * was a failure, or that does not answer within {@link #AGREE_WAIT}, is named in a warning. Returns the warnings,
     * the root states read (by source, in the sources' order; none with a single source, which is not checked), and how
     * many sources could not be compared with the first.
     */
    static SourcesAgree sourcesAgree(final HistoryArchive archive) {
        final List<String> names = archive.sourceNames();
        if (names.size() < 2) {
            return SourcesAgree.NONE;
        }
        // one attempt each: a mirror that is down must not hold the start for its retries
        final HistoryArchive ha = archive.withRetryPolicy(archive.retryPolicy().withMaxAttempts(1));
        final List<String> warnings = new java.util.ArrayList<>();
        final java.util.Set<String> failing = new java.util.HashSet<>(archive.sourcesFailing());
        // asked all at once, and waited for AGREE_WAIT at most: a mirror that hangs held every start for a read
        // timeout here, in silence, also when listed last and never needed (a trial: 30 s at each start)
        final java.util.concurrent.ExecutorService asking = java.util.concurrent.Executors.newCachedThreadPool(r -> {
            final Thread t = new Thread(r, "sources-agree");
            t.setDaemon(true);
            return t;
        });
        final Map<String, java.util.concurrent.Future<HistoryArchiveState>> asked = new java.util.LinkedHashMap<>();
        try {
            for (final String name : names) {
                if (failing.contains(name)) {
                    // its last answer, to the root state's read, was a failure: not asked again here (said as a
                    // source that does not answer the check in time is: a trial read two words for one thing)
                    final Duration waited = archive.downForNotAnsweringWithin(name);
                    warnings.add("warning: " + name + (waited == null ? " failed to answer just now"
                            : " did not answer within " + waited.toSeconds() + " s") + ", so it is not checked to be "
                            + "a mirror of the other sources; its files are checked as they come");
                } else {
                    asked.put(name, asking.submit(() -> fromOnly(ha, name, ArchivePaths.WELL_KNOWN, -1)));
                }
            }
            final long deadline = System.nanoTime() + AGREE_WAIT.toNanos();
            final List<String> slow = new java.util.ArrayList<>();
            final List<HistoryArchiveState> roots = new java.util.ArrayList<>();
            final List<String> of = new java.util.ArrayList<>();
            for (final Map.Entry<String, java.util.concurrent.Future<HistoryArchiveState>> e : asked.entrySet()) {
                final HistoryArchiveState root;
                try {
                    root = e.getValue().get(Math.max(0, deadline - System.nanoTime()),
                            java.util.concurrent.TimeUnit.NANOSECONDS);
                } catch (final java.util.concurrent.TimeoutException t) {
                    warnings.add("warning: " + e.getKey() + " did not answer within " + AGREE_WAIT.toSeconds()
                            + " s, so it is not checked to be a mirror of the other sources; its files are checked as "
                            + "they come");
                    if (of.isEmpty()) {
                        slow.add(e.getKey());
                    }
                    continue;
                } catch (final java.util.concurrent.ExecutionException | InterruptedException x) {
                    if (x instanceof InterruptedException) {
                        Thread.currentThread().interrupt();
                    }
                    continue;
                }
                if (root != null) {
                    roots.add(root);
                    of.add(e.getKey());
                    // listed before it, and not answering within the wait: taken as down, as a hedged read of the
                    // root state takes it (tail's first poll waited 5 s more on a first mirror that hung: trial 83)
                    slow.forEach(n -> archive.tookTooLong(n, ArchivePaths.WELL_KNOWN, AGREE_WAIT, e.getKey()));
                    slow.clear();
                } else {
                    // (a source not running, listed after the one that served the root state, was left out of the
                    // check in silence: a trial)
                    warnings.add("warning: " + e.getKey() + " failed to answer just now, so it is not checked to be a "
                            + "mirror of the other sources; its files are checked as they come");
                }
            }
            return compare(ha, of, roots, warnings);
        } finally {
            // a read still waiting ends at its read timeout, on its daemon thread, and counts as the source's failure
            asking.shutdown();
        }
    }

    /**
     * The comparison of {@link #sourcesAgree} of root states already read ({@code roots}, of the sources named {@code
     * of}, in the sources' order), after {@code said} (its warnings so far); the state files of the lower roots read
     * from {@code archive} with one attempt each.
     */
    static SourcesAgree compare(final HistoryArchive archive, final List<String> of,
            final List<HistoryArchiveState> roots, final List<String> said) {
        final HistoryArchive ha = archive.withRetryPolicy(archive.retryPolicy().withMaxAttempts(1));
        final List<String> warnings = new java.util.ArrayList<>(said);
        int uncompared = 0;
        for (int i = 1; i < roots.size(); i++) {
            final HistoryArchiveState a = roots.get(0);
            final HistoryArchiveState b = roots.get(i);
            if (a.networkPassphrase() != null && b.networkPassphrase() != null
                    && !a.networkPassphrase().equals(b.networkPassphrase())) {
                throw new IllegalArgumentException("the sources are not mirrors of one archive: " + of.get(0)
                        + " names the network " + ArchivePaths.quote(a.networkPassphrase()) + ", " + of.get(i)
                        + " " + ArchivePaths.quote(b.networkPassphrase()) + "; give the sources of one network");
            }
            final long cp = Math.min(a.currentLedger(), b.currentLedger());
            // a root at that checkpoint stands for its state file when that cannot be read (partial copies: a
            // mirror being filled, a root ahead of its files)
            final HistoryArchiveState fa = fromOnly(ha, of.get(0), ArchivePaths.has(cp), cp);
            final HistoryArchiveState sa = fa == null && a.currentLedger() == cp ? a : fa;
            final HistoryArchiveState fb = fromOnly(ha, of.get(i), ArchivePaths.has(cp), cp);
            final HistoryArchiveState sb = fb == null && b.currentLedger() == cp ? b : fb;
            if (sa == null || sb == null) {
                // no state file both hold: nothing told them apart, and nothing said so (a trial: a pubnet
                // archive passed as a lagging mirror of a testnet mirror that starts after pubnet's root)
                uncompared++;
                warnings.add("warning: " + of.get(0) + " and " + of.get(i) + " could not be compared as mirrors "
                        + "of one archive: the state file " + ArchivePaths.has(cp) + " (of the lower root) could "
                        + "not be read from " + (sa == null ? of.get(0) : of.get(i)) + " (a mirror that starts "
                        + "after it?); their files are checked as they come");
            } else if (!sa.bucketListHash().equals(sb.bucketListHash())) {
                throw new IllegalArgumentException("the sources are not mirrors of one archive: their state files "
                        + ArchivePaths.has(cp) + " differ (bucket list hash " + sa.bucketListHash().shortHex()
                        + " at " + of.get(0) + ", " + sb.bucketListHash().shortHex() + " at " + of.get(i)
                        + "): another network, or another generation of testnet; give the sources of one "
                        + "archive");
            }
        }
        final Map<String, HistoryArchiveState> read = new java.util.LinkedHashMap<>();
        for (int i = 0; i < roots.size(); i++) {
            read.put(of.get(i), roots.get(i));
        }
        return new SourcesAgree(List.copyOf(warnings), java.util.Collections.unmodifiableMap(read), uncompared);
    }

    /** The state file {@code path} as source {@code name} serves it, or null when it cannot be had or read. */
    private static HistoryArchiveState fromOnly(final HistoryArchive ha, final String name, final String path,
            final long checkpoint) {
        final java.util.Set<String> others = new java.util.HashSet<>(ha.sourceNames());
        others.remove(name);
        try {
            return ha.fetch(path, in -> HasVerifier.verify(in, path, checkpoint, null, VerificationLimits.defaults()),
                    others).value();
        } catch (final VerificationException e) {
            return null;
        }
    }

    /**
     * The root state must be a copy of its checkpoint's state file. When the two name different networks and none is
     * given, the network is unknown: refused (every checkpoint would fail as another network's, the root unnamed).
     * Other differences are a warning (null when none): the checkpoints' own files are what is verified.
     */
    private static String compareRoot(final HistoryArchiveState root, final HistoryArchiveState own,
            final String given) {
        if (own == null) {
            return null; // absent, or failing its own checks: that checkpoint's verdict says so
        }
        final List<String> differences = HasVerifier.differences(root, own);
        if (differences.isEmpty()) {
            return null;
        }
        final String file = ArchivePaths.has(root.currentLedger());
        if (given == null && root.networkPassphrase() != null && own.networkPassphrase() != null
                && !root.networkPassphrase().equals(own.networkPassphrase())) {
            throw new IllegalArgumentException("the archive's root state names the network "
                    + ArchivePaths.quote(root.networkPassphrase()) + ", its checkpoint's state file " + file + " "
                    + ArchivePaths.quote(own.networkPassphrase()) + ": the archive contradicts itself; give "
                    + "--network-passphrase");
        }
        return "warning: the archive's root state differs from its checkpoint's state file " + file + " ("
                + String.join(", ", differences) + "), of which it should be a copy; the checkpoints' own state "
                + "files are what is verified";
    }

    /**
     * The warning for a root state whose checkpoint has no state file ({@link HasVerifier#rootCheckpoint}): the archive
     * is damaged (stellar-core writes the root last, and cannot catch up to it from there). With {@code --to}, the
     * range given is verified, with this warning. Without it, the range ends at the root as always, so the checkpoints
     * between the archive's last and the root fail as missing, exit 1 (a trial: it was a "could not run", exit 2, with
     * no report; with {@code --to}, not said at all). Refused (exit 2) when the archive's last checkpoint is not
     * known, or more than {@link #MAX_CHECKPOINTS_PAST_CURRENT} checkpoints below the root (a hostile or broken root,
     * such as 4294967295: 67 million checkpoints reported missing one by one).
     */
    private static String rootAhead(final HistoryArchive ha, final Long from, final Long to, final long current) {
        final long rootCp = io.historystreams.archive.Checkpoint.containing(current);
        final String absent = "the archive's root state names ledger " + current + ", but that checkpoint's state file "
                + ArchivePaths.has(rootCp) + " is absent: the root state is wrong or ahead of the archive's files";
        if (to != null) {
            return "warning: " + absent + " (stellar-core cannot catch up to it from this archive); the range given "
                    + "is verified";
        }
        final long floor = io.historystreams.archive.Checkpoint.containing(Math.max(1, from == null ? 1 : from));
        final Long held = io.historystreams.verify.ArchiveStart.highestHeldBelow(ha, floor, rootCp);
        if (held == null) {
            throw new IllegalArgumentException(absent + ", and where the archive's files end cannot be told (a source "
                    + "does not answer); give --to");
        }
        if (held < 0) {
            throw new IllegalArgumentException(absent + ", and no checkpoint from " + floor + " up to it has its "
                    + "state file either; give --to");
        }
        final String last = String.format("%d (0x%x)", held, held);
        if (rootCp - held > MAX_CHECKPOINTS_PAST_CURRENT * (long) io.historystreams.archive.Checkpoint.FREQUENCY) {
            throw new IllegalArgumentException(absent + ": the highest checkpoint below it whose state file the "
                    + "archive holds is " + last + ", more than " + MAX_CHECKPOINTS_PAST_CURRENT + " checkpoints "
                    + "before it; give --to");
        }
        return "warning: " + absent + " (stellar-core cannot catch up to it from this archive): the highest "
                + "checkpoint below it whose state file the archive holds is " + last + ". The range ends at the "
                + "root state's ledger, so the checkpoints after " + held + " fail as missing; --to " + held
                + " ends it there";
    }

    /**
     * The archive settings given on the command line ({@code --max-attempts}, {@code --read-timeout},
     * {@code --connect-timeout}) as service settings, so the pipeline's fetchers use them too; options left at
     * their defaults do not override {@code fetch.max.attempts} etc. from the configuration.
     */
    public io.historystreams.service.ServiceConfig applyTo(final io.historystreams.service.ServiceConfig config,
            final picocli.CommandLine.ParseResult parsed) {
        io.historystreams.service.ServiceConfig c = config;
        if (parsed != null && parsed.hasMatchedOption("--max-attempts")) {
            c = c.with(io.historystreams.service.ServiceConfig.FETCH_MAX_ATTEMPTS, Integer.toString(maxAttempts));
        }
        if (parsed != null && parsed.hasMatchedOption("--read-timeout")) {
            c = c.with(io.historystreams.service.ServiceConfig.READ_TIMEOUT_SECONDS,
                    Integer.toString(readTimeoutSeconds));
        }
        // --concurrency wins, as the other options do; not set anywhere: as suits where the archives are. The
        // service's --fetch-concurrency is the same setting: both given with other numbers is a mistake to say
        if (concurrency != null && parsed != null && parsed.hasMatchedOption("--fetch-concurrency")
                && parsed.matchedOptionValue("--fetch-concurrency", concurrency).intValue() != concurrency) {
            throw new IllegalArgumentException("--concurrency " + concurrency + " and --fetch-concurrency "
                    + parsed.matchedOptionValue("--fetch-concurrency", concurrency) + " set the same thing: give one");
        }
        if (concurrency != null) {
            c = c.with(io.historystreams.service.ServiceConfig.FETCH_CONCURRENCY, Integer.toString(concurrency));
        } else {
            c = c.withDefault(io.historystreams.service.ServiceConfig.FETCH_CONCURRENCY,
                    Integer.toString(defaultConcurrency(archives)));
        }
        if (parsed != null && parsed.hasMatchedOption("--connect-timeout")) {
            c = c.with(io.historystreams.service.ServiceConfig.CONNECT_TIMEOUT_SECONDS,
                    Integer.toString(connectTimeoutSeconds));
        }
        return c;
    }

    /** The archive with this command line's fetch settings (verify: it reads no settings file). */
    public HistoryArchive open(final FetchObserver observer) {
        requireDistinct();
        // verify reads no settings, but takes the archive credentials from the environment as ingest does
        return HistoryArchive.open(withCredentials(System.getenv("HISTORY_STREAMS_ARCHIVE_CREDENTIALS")),
                sourceOptions(), retryPolicy(), observer);
    }

    /**
     * Refuses a source given twice (as the events name it: a directory also by a relative and an absolute path): the
     * two share one health and one name, and a trial's {@code status} of one source given twice said it did not know
     * whether they were one archive.
     */
    private void requireDistinct() {
        final java.util.Set<String> seen = new java.util.HashSet<>();
        for (final String name : requestSources()) {
            if (!seen.add(name)) {
                throw new IllegalArgumentException("the source " + name + " is given twice (--archive): give each "
                        + "source once");
            }
        }
    }

    /**
     * The archives to fetch from: each http(s) one given without credentials gets those of {@code registered} (the
     * {@code archive.credentials} setting, comma-separated URLs) for the same root, so that a password need not be
     * on the command line, where {@code ps} shows it to every user of the host.
     */
    List<String> withCredentials(final String registered) {
        io.historystreams.archive.Credentials.registerAll(registered);
        return archives.stream().map(r -> r.regionMatches(true, 0, "http", 0, 4)
                ? io.historystreams.archive.Credentials.resolve(io.historystreams.archive.Credentials.strip(r))
                : r).toList();
    }

    /**
     * The archive with the fetch settings of {@code config} (as {@link #applyTo} made it: the command line over
     * {@code -D}, the environment and the settings file), so what this process fetches itself, such as the root
     * state, honours the same timeouts and attempts as the pipeline's fetchers.
     */
    public HistoryArchive open(final FetchObserver observer, final io.historystreams.service.ServiceConfig config) {
        requireDistinct();
        return HistoryArchive.open(withCredentials(config.get(
                io.historystreams.service.ServiceConfig.ARCHIVE_CREDENTIALS)), config.sourceOptions(),
                config.retryPolicy(), observer);
    }
}
