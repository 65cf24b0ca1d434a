package io.historystreams.topology;

import io.historystreams.events.ChainInput;
import io.historystreams.events.CheckpointFailed;
import io.historystreams.events.CheckpointRequest;
import io.historystreams.events.CheckpointVerified;
import io.historystreams.events.RequestReason;
import io.historystreams.verify.FailureReason;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Admits checkpoint requests and decides what a failed attempt becomes. A checkpoint already verified, or being
 * worked on, is not fetched again (a re-sent request makes no duplicate output). A failed attempt whose failures are
 * all retryable is tried again after a backoff (with jitter, without holding back other checkpoints) until the
 * attempts run out; only then, or for a failure that retrying cannot fix, is the failure published.
 */
final class RequestGate implements Processor<Long, Object, Object, Object> {
    static final String VERIFIED = "VERIFIED";
    static final String FAILED = "FAILED";
    static final String IN_PROGRESS = "IN_PROGRESS";
    private static final Logger LOG = LoggerFactory.getLogger(RequestGate.class);

    private final String statusStoreName;
    private final String inflightStoreName;
    private final String retryStoreName;
    private final String fetchers;
    private final String failureChild;
    private final String chainChild;
    private final HistoryTopology.Settings settings;
    private final PipelineContext ctx;
    private ProcessorContext<Object, Object> context;
    private KeyValueStore<Long, String> status;
    private KeyValueStore<Long, CheckpointRequest> inflight;
    private KeyValueStore<Long, CheckpointRequest> retries;
    /** Sends the retries that are due, while any waits. */
    private OnDemandPunctuator retryPunctuator;

    RequestGate(final String statusStoreName, final String inflightStoreName, final String retryStoreName,
            final List<String> fetchers, final String failureChild, final String chainChild,
            final HistoryTopology.Settings settings, final PipelineContext ctx) {
        this.ctx = ctx;
        this.statusStoreName = statusStoreName;
        this.inflightStoreName = inflightStoreName;
        this.retryStoreName = retryStoreName;
        this.fetchers = String.join(",", fetchers);
        this.failureChild = failureChild;
        this.chainChild = chainChild;
        this.settings = settings;
    }

    @Override
    public void init(final ProcessorContext<Object, Object> context) {
        this.context = context;
        this.status = context.getStateStore(statusStoreName);
        this.inflight = context.getStateStore(inflightStoreName);
        this.retries = context.getStateStore(retryStoreName);
        this.retryPunctuator = new OnDemandPunctuator(context, Duration.ofMillis(500), this::retryDue);
        try (KeyValueIterator<Long, CheckpointRequest> it = retries.all()) {
            if (it.hasNext()) {
                retryPunctuator.start(); // retries restored with the store
            }
        }
    }

    @Override
    public void process(final Record<Long, Object> record) {
        final Long cp = record.key();
        if (cp == null) {
            return;
        }
        final Object v = record.value();
        if (v instanceof CheckpointVerified) {
            status.put(cp, VERIFIED);
            inflight.delete(cp);
            retries.delete(cp);
        } else if (v instanceof CheckpointFailed f) {
            attemptFailed(cp, f, record.timestamp());
        } else if (v instanceof CheckpointRequest req) {
            final String s = status.get(cp);
            final long now = context.currentSystemTimeMs();
            if (admit(s, req, now)) {
                retries.delete(cp);
                if (isFailed(s)) {
                    // the chain check keeps its word that this one failed: its successors now wait for this verdict
                    settled(cp, req.getArchive(), ChainLinker.ADMITTED, record.timestamp());
                }
                send(cp, withoutCopyTakenBack(cp, req, s), record.timestamp());
            } else {
                LOG.debug("checkpoint {} already {}: request from {} ignored", cp, s, req.getReason());
                if (VERIFIED.equals(s)) {
                    // a successor asked for with it may wait for its verdict, which came before
                    settled(cp, req.getArchive(), ChainLinker.VERIFIED_EARLIER, record.timestamp());
                }
            }
        }
    }

    private void send(final long cp, final CheckpointRequest req, final long timestamp) {
        status.put(cp, IN_PROGRESS + " " + context.currentSystemTimeMs());
        inflight.put(cp, req);
        for (final String child : fetchers.split(",")) {
            context.forward(new Record<>(cp, req, timestamp), child);
        }
    }

    /**
     * One attempt failed: retry later when that can help and attempts remain, otherwise publish the failure. A tailed
     * archive is live: a checkpoint whose files are missing or cannot be fetched now may be complete later (its
     * upload lags its root state, a server recovers), and the tail never asks for it again. So its failure is
     * published once the attempts run out, as any, and the checkpoint is still tried again, every
     * {@code maxRetryBackoff} at most, until it is verified (its verified verdict follows its failure).
     */
    private void attemptFailed(final long cp, final CheckpointFailed f, final long timestamp) {
        final CheckpointRequest req = inflight.get(cp);
        final int attempt = req == null ? f.getAttempt() : req.getAttempt();
        final boolean live = req != null && req.getReason() == RequestReason.TAIL && f.getRetryable();
        if (req != null && f.getRetryable() && attempt + 1 < settings.maxAttempts()) {
            final CheckpointRequest other = withBlamedLast(req, f);
            if (readFrom(req) > 1 && FailureReason.aboutContent(f.getReason())) {
                // a source's copy was bad, not the moment: another source's now, without the backoff (a forged
                // mirror's segment is read again checkpoint after checkpoint, each after its predecessor's verdict)
                // a WARN, as a bad copy within a fetch is: the source is named (a trial: an INFO line alone said so)
                LOG.warn("checkpoint {} attempt {}: the copy from {} fails its checks ({} {}: {}); its files are read "
                        + "from the other sources now", cp, attempt + 1, f.getSource(), f.getReason(), f.getFile(),
                        f.getDetail());
                send(cp, CheckpointRequest.newBuilder(elsewhere(other, f.getSource()))
                        .setReason(live ? RequestReason.TAIL : RequestReason.RETRY)
                        .setAttempt(attempt + 1).setRequestedAt(Instant.ofEpochMilli(context.currentSystemTimeMs()))
                        .build(), timestamp);
                return;
            }
            if (!onlySourceBreaksTheChain(req, f)) {
                final long delay = retryLater(cp, other, attempt, live);
                LOG.info("checkpoint {} attempt {} failed ({} {}): retrying in {} ms", cp, attempt + 1, f.getReason(),
                        f.getFile(), delay);
                return;
            }
            LOG.info("checkpoint {} attempt {} failed ({} {}): its only source would serve the same link again, so it "
                    + "is not tried again now", cp, attempt + 1, f.getReason(), f.getFile());
        }
        giveUp(cp, req, f, attempt, live, timestamp);
    }

    /**
     * Whether {@code f} is a broken chain link of a request with one source: read again from it, the same copy links
     * the same way (the archive's files of a checkpoint do not change), so a retry after a backoff only delays the
     * verdict. The successors of a checkpoint whose link failed wait for that verdict, one after the other: a trial's
     * single archive with one break took 30 minutes to fail the 150 checkpoints after it, 11 s of backoff each.
     */
    private static boolean onlySourceBreaksTheChain(final CheckpointRequest req, final CheckpointFailed f) {
        return readFrom(req) < 2 && FailureReason.CHAIN_LINK_BROKEN.name().equals(f.getReason());
    }

    /**
     * {@code req} with the source blamed for a bad copy ({@code source}, a name of the archive) in its {@code notFrom},
     * so that the next attempt reads the checkpoint's files from another source; when that would leave none, with it
     * alone there. Moved last only, a trial's retries read the forged mirror again and again: the honest one, first
     * in the list, had answered two passing errors, and the archive of that order then read the forged one first.
     */
    private CheckpointRequest elsewhere(final CheckpointRequest req, final String source) {
        final List<String> notFrom = notFromWith(req, source);
        return notFrom == null ? req : CheckpointRequest.newBuilder(req).setNotFrom(notFrom.containsAll(
                req.getSources()) ? List.of(notFrom.get(notFrom.size() - 1)) : notFrom).build();
    }

    /**
     * The {@code notFrom} of {@code req} with {@code source} (a name of the archive) added, as the request names it
     * (last); null when it is not among the request's sources or is in its {@code notFrom} already.
     */
    private List<String> notFromWith(final CheckpointRequest req, final String source) {
        final int i = source == null ? -1 : ctx.archive(req.getSources()).sourceNames().indexOf(source);
        if (i < 0 || i >= req.getSources().size() || req.getNotFrom().contains(req.getSources().get(i))) {
            return null;
        }
        final List<String> notFrom = new ArrayList<>(req.getNotFrom());
        notFrom.add(req.getSources().get(i));
        return notFrom;
    }

    /** How many of a request's sources its files are read from (those its {@code notFrom} does not name). */
    private static int readFrom(final CheckpointRequest req) {
        return (int) req.getSources().stream().filter(x -> !req.getNotFrom().contains(x)).count();
    }

    /** The attempts ran out, or retrying cannot help: the failure is published (a live checkpoint is tried again). */
    private void giveUp(final long cp, final CheckpointRequest req, final CheckpointFailed f, final int attempt,
            final boolean live, final long timestamp) {
        // a failure of a checkpoint verified here is the chain check's: it takes that verdict back
        final boolean takesBack = req == null && VERIFIED.equals(status.get(cp));
        status.put(cp, takesBack && f.getCopyTakenBackFrom() != null ? FAILED + "\t" + f.getCopyTakenBackFrom()
                : FAILED);
        inflight.delete(cp);
        if (req == null || attempt + 1 <= settings.maxAttempts()) {
            // the attempts ran out (a live checkpoint's later tries fail quietly: its failure was said)
            if (takesBack) {
                // not "failed after 1 attempt(s)": the chain check's verdict on a copy verified before
                LOG.warn("checkpoint {}, verified, is taken back: {} {}: {}", cp, f.getReason(), f.getFile(),
                        f.getDetail());
            } else {
                LOG.warn("checkpoint {} failed after {} attempt(s): {} {}: {}", cp, attempt + 1, f.getReason(),
                        f.getFile(), f.getDetail());
            }
            context.forward(new Record<>(cp, CheckpointFailed.newBuilder(f).setAttempt(attempt).setTakesBack(takesBack)
                    .build(), timestamp), failureChild);
            ctx.outcomes().failed(cp);
            settled(cp, req == null ? f.getArchive() : req.getArchive(), ChainLinker.FAILED,
                    req == null ? List.of() : req.getSources(), timestamp);
        }
        if (live) {
            // as after the last attempt, also when given up before it: its later tries fail quietly
            final long delay = retryLater(cp, withBlamedLast(req, f), Math.max(attempt, settings.maxAttempts() - 1),
                    true);
            LOG.info("checkpoint {} of a tailed archive failed ({} {}): tried again in {} s, until its files are there",
                    cp, f.getReason(), f.getFile(), delay / 1000);
        }
    }

    /**
     * Tells the chain check whether a verdict of {@code cp} is coming (a successor may wait for one): not now
     * ({@code FAILED}, {@code VERIFIED_EARLIER}), or again ({@code ADMITTED}).
     */
    private void settled(final long cp, final String archive, final String word, final long timestamp) {
        settled(cp, archive, word, List.of(), timestamp);
    }

    /** As above, with the sources of the request whose attempts ran out. */
    private void settled(final long cp, final String archive, final String word, final List<String> sources,
            final long timestamp) {
        context.forward(new Record<>(ChainLinker.KEY, ChainInput.newBuilder().setCheckpoint(cp)
                .setArchive(archive == null ? "" : archive).setSettled(word).setSources(sources).build(), timestamp),
                chainChild);
    }

    /**
     * The request with the source that served the failing file (the failure's {@code source}) moved to the end of its
     * sources, so the next attempt reads from another first. A file's own checks fail over between sources within one
     * fetch; a cross-file check (a transaction set against its header) fails only once both files are in, and the
     * retry is then where another source gets its turn. Unchanged with one source or a source not among them.
     */
    private CheckpointRequest withBlamedLast(final CheckpointRequest req, final CheckpointFailed f) {
        final List<String> sources = req.getSources();
        if (sources.size() < 2 || f.getSource() == null) {
            return req;
        }
        final List<String> reordered = blamedLast(sources, ctx.archive(sources).sourceNames(), f.getSource());
        return reordered.equals(sources) ? req : CheckpointRequest.newBuilder(req).setSources(reordered).build();
    }

    /** {@code sources} with the one whose name ({@code names}, index for index) is {@code blamed} moved last. */
    static List<String> blamedLast(final List<String> sources, final List<String> names, final String blamed) {
        final int i = names.indexOf(blamed);
        if (i < 0 || i >= sources.size()) {
            return sources;
        }
        final List<String> out = new ArrayList<>(sources);
        out.add(out.remove(i));
        return out;
    }

    /** Schedules the next attempt; returns its delay. A tail's request keeps its reason (see attemptFailed). */
    private long retryLater(final long cp, final CheckpointRequest req, final int attempt, final boolean live) {
        final long delay = backoff(attempt);
        // due then: no punctuation (and commit) every 500 ms through a wait that grows to minutes (a trial's tail
        // with a hole committed twice a second for as long as the hole lasted)
        retryPunctuator.within(Duration.ofMillis(delay));
        retries.put(cp, CheckpointRequest.newBuilder(req).setReason(live ? RequestReason.TAIL : RequestReason.RETRY)
                .setAttempt(attempt + 1).setRequestedAt(Instant.ofEpochMilli(context.currentSystemTimeMs() + delay))
                .build());
        return delay;
    }

    private long backoff(final int attempt) {
        final long base = settings.retryBackoff().toMillis();
        final long ceiling = Math.min(settings.maxRetryBackoff().toMillis(), base << Math.min(attempt, 20));
        return ceiling / 2 + ThreadLocalRandom.current().nextLong(ceiling / 2 + 1);
    }

    private void retryDue(final long now) {
        final List<KeyValue<Long, CheckpointRequest>> due = new ArrayList<>();
        long nextDue = Long.MAX_VALUE;
        try (KeyValueIterator<Long, CheckpointRequest> it = retries.all()) {
            while (it.hasNext()) {
                final KeyValue<Long, CheckpointRequest> kv = it.next();
                final long at = kv.value.getRequestedAt().toEpochMilli();
                if (at <= now) {
                    due.add(kv);
                } else {
                    nextDue = Math.min(nextDue, at);
                }
            }
        }
        if (nextDue == Long.MAX_VALUE) {
            retryPunctuator.stop();
        } else {
            retryPunctuator.next(Duration.ofMillis(nextDue - now));
        }
        for (final KeyValue<Long, CheckpointRequest> kv : due) {
            retries.delete(kv.key);
            send(kv.key, kv.value, now);
        }
    }

    /** Whether a status is failed ({@value #FAILED}, after a copy taken back with its source: see giveUp). */
    private static boolean isFailed(final String s) {
        return s != null && (s.equals(FAILED) || s.startsWith(FAILED + "\t"));
    }

    /**
     * {@code req} with the source whose copy of {@code cp} the chain check took back (status {@code s}) in its
     * {@code notFrom}, when it names another source to read from: each of its attempts reads the checkpoint's files
     * from the others. Whichever request for {@code cp} comes first (the chain check's, which asks for it again, or an
     * {@code ingest}'s, which asks too) is admitted, so it is done here. Read from that source still, last, a trial's
     * forged copy stood: the honest mirror answered two passing errors, its files went on to the forged mirror (mixed
     * with the honest ones, they failed at once, without a backoff) or the forged mirror became the one read first,
     * and the attempts ran out.
     */
    private CheckpointRequest withoutCopyTakenBack(final long cp, final CheckpointRequest req, final String s) {
        final String source = s == null || !s.startsWith(FAILED + "\t") ? null : s.substring(FAILED.length() + 1);
        final List<String> notFrom = notFromWith(req, source);
        if (notFrom == null || notFrom.containsAll(req.getSources())) {
            return req;
        }
        LOG.info("checkpoint {}: its files are read from other sources than {}, whose copy was taken back", cp,
                source);
        return CheckpointRequest.newBuilder(req).setNotFrom(notFrom).build();
    }

    private boolean admit(final String s, final CheckpointRequest req, final long now) {
        if (s == null || isFailed(s)) {
            return true;
        }
        if (s.equals(VERIFIED)) {
            return false;
        }
        // in progress: admit again only when it has been stuck for longer than the stale limit
        final long since = Long.parseLong(s.substring(IN_PROGRESS.length() + 1));
        return now - since > settings.staleRequestAfter().toMillis();
    }
}
