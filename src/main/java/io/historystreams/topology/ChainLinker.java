package io.historystreams.topology;

import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.Checkpoint;
import io.historystreams.archive.FileType;
import io.historystreams.events.ChainInput;
import io.historystreams.events.ChainLinkStatus;
import io.historystreams.events.CheckpointFailed;
import io.historystreams.events.CheckpointRequest;
import io.historystreams.events.CheckpointVerified;
import io.historystreams.events.FileRef;
import io.historystreams.events.Hash32;
import io.historystreams.events.Hashes;
import io.historystreams.events.RequestReason;
import io.historystreams.verify.FailureReason;
import io.historystreams.verify.VerificationException;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The chain check between checkpoints, in one task: it sees every assembled checkpoint of the pipeline (whose data dir
 * and topic prefix hold one archive's history, whatever the first source of each request), so a checkpoint is passed
 * only once the copy of its predecessor it links to is the copy that was verified. Its input topic has one key,
 * {@link #KEY}: keyed by the request's archive id instead, a predecessor verified under another first source was not
 * known to its successor (which then waited for good, or trusted a forged mirror's copy of the predecessor's file).
 *
 * <p>A checkpoint links to its predecessor's verified last ledger when the predecessor is verified here. When the
 * predecessor's verdict is still coming (its request said so: {@code predecessorRequested}) the checkpoint waits for
 * it; a predecessor verified later passes its waiting successors on at once, in chain order. Only when no verdict is
 * coming (the predecessor was not asked for, its attempts ran out, or it was verified before this chain knew it) is the
 * link checked against the anchor, the last header of the predecessor's own ledger file, and checked again if the
 * predecessor is verified later; a predecessor that failed on that file anchors nothing. The alternative, passing a
 * checkpoint on its predecessor's ledger file while the predecessor was being tried again from another source, verified
 * a mirror's forged segment whose first checkpoint failed (its successor linked to the forged copy, the predecessor was
 * then verified from the honest mirror).
 *
 * <p>Passed checkpoints go back to their own partition ({@code chain-verdicts}), where their ledger events are read
 * from the files stored there; broken links go to the attempt failures, so the gate tries the checkpoint again with the
 * source that served the ledger file last.
 */
final class ChainLinker implements Processor<String, ChainInput, Long, Object> {
    private static final Logger LOG = LoggerFactory.getLogger(ChainLinker.class);
    /** The line of a {@code chain-taken-back} value that says to ask for the checkpoint again (tab-separated). */
    private static final String ASK = "ask";
    /**
     * The line of a {@code chain-taken-back} value that says a checkpoint was asked for again after the copy of its
     * predecessor (last ledger hash, hex) was passed: once per copy.
     */
    private static final String AFTER = "after";
    /**
     * The line of a {@code chain-taken-back} value that names a source whose copy of the successor did not link to the
     * copy taken back (its last ledger hash, hex, then the source): that source's copy, the same, is refused too.
     */
    private static final String DISPUTED = "disputed";
    /** The one key of the chain check's input. */
    static final String KEY = "chain";
    /** The gate's words: the attempts ran out. */
    static final String FAILED = "FAILED";
    /** A request for a checkpoint verified before. */
    static final String VERIFIED_EARLIER = "VERIFIED_EARLIER";
    /** A checkpoint that had failed for good is asked for again: its verdict is coming. */
    static final String ADMITTED = "ADMITTED";

    private final Stores names;
    private final String verdictChild;
    private final String failureChild;
    private final String requestChild;
    private ProcessorContext<Long, Object> context;
    /**
     * Every checkpoint passed: its last ledger hash (what successors link to), then its first ledger's previous ledger
     * hash (what it linked to: a successor of a copy revoked later is revoked with it), then the source of its ledger
     * file (UTF-8; absent in a data dir of an older version).
     */
    private KeyValueStore<Long, byte[]> lastHashes;
    /**
     * Checkpoints whose copies failed to link to their predecessor as passed here: the predecessor's last ledger hash
     * then, and the sources of those copies (UTF-8, one per line). When their attempts run out, and the source of the
     * predecessor's ledger file and another served them, the predecessor's copy is the suspect: taken back.
     */
    private KeyValueStore<Long, byte[]> disputed;
    /**
     * Copies taken back because their successor's copies from other sources did not link to them, each as its last
     * ledger hash (hex) and the source that served it, one per line (the latest few): read again from that source it
     * fails at once, so another source's is read; another source's copy with the same hash confirms it, unless a line
     * {@value #DISPUTED} names that source (its copy of the successor did not link either). Until the gate has the
     * checkpoint as failed, a line {@value #ASK} names the successor and the sources to ask for both from; a line
     * {@value #AFTER} names a copy of the predecessor after which the checkpoint was asked for again.
     */
    private KeyValueStore<Long, String> takenBack;
    /** The last ledger hashes of the copies of a checkpoint that failed their link (32 bytes each, the latest few). */
    private KeyValueStore<Long, byte[]> refused;
    /** Checkpoints waiting for their predecessor's verdict. */
    private KeyValueStore<Long, CheckpointVerified> held;
    /** Checkpoints passed on their anchor: checked again when their predecessor is verified. */
    private KeyValueStore<Long, CheckpointVerified> anchored;
    /**
     * Checkpoints whose verdict is not coming (the gate's word) while they are not passed here; after {@value #FAILED},
     * the sources of the request whose attempts ran out (tab-separated).
     */
    private KeyValueStore<Long, String> settled;

    /** The chain check's store names. */
    record Stores(String lastHashes, String held, String anchored, String settled, String refused, String disputed,
            String takenBack) {
    }

    ChainLinker(final Stores names, final String verdictChild, final String failureChild, final String requestChild) {
        this.names = names;
        this.verdictChild = verdictChild;
        this.failureChild = failureChild;
        this.requestChild = requestChild;
    }

    @Override
    public void init(final ProcessorContext<Long, Object> context) {
        this.context = context;
        this.lastHashes = context.getStateStore(names.lastHashes());
        this.held = context.getStateStore(names.held());
        this.anchored = context.getStateStore(names.anchored());
        this.settled = context.getStateStore(names.settled());
        this.refused = context.getStateStore(names.refused());
        this.disputed = context.getStateStore(names.disputed());
        this.takenBack = context.getStateStore(names.takenBack());
    }

    @Override
    public void process(final Record<String, ChainInput> record) {
        final ChainInput in = record.value();
        if (in == null) {
            return;
        }
        if (in.getCandidate() != null) {
            candidate(in.getCandidate(), in.getPredecessorRequested(), record.timestamp());
        } else if (in.getSettled() != null) {
            word(in.getCheckpoint(), in.getSettled(), in.getArchive(), in.getSources(), record.timestamp());
        }
    }

    private void candidate(final CheckpointVerified v, final boolean predecessorRequested, final long ts) {
        final long cp = v.getCheckpoint();
        if (cp == Checkpoint.FREQUENCY - 1) {
            passUnlessTakenBack(v, ChainLinkStatus.NOT_APPLICABLE, ts);
            return;
        }
        final long prev = Checkpoint.previous(cp);
        if (lastHash(prev) == null && predecessorRequested && settled.get(prev) == null) {
            held.put(cp, v);
            return;
        }
        link(v, ts);
    }

    /** The gate's word on {@code cp}: its verdict is not coming now (a successor waiting for it is checked without). */
    private void word(final long cp, final String word, final String archive, final List<String> sources,
            final long ts) {
        if (ADMITTED.equals(word)) {
            settled.delete(cp); // asked for again after it failed: successors wait for this attempt's verdict
            return;
        }
        if (lastHash(cp) != null) {
            return; // passed here: successors link to its verified last ledger
        }
        // (a failure with the sources of the request whose attempts ran out: asked for again from them)
        settled.put(cp, FAILED.equals(word) && !sources.isEmpty() ? word + "\t" + String.join("\t", sources) : word);
        if (FAILED.equals(word)) {
            askAgain(cp, archive, ts);
            final Hash32 prevLast = lastHash(Checkpoint.previous(cp));
            if (prevLast != null) {
                askAfter(cp, prevLast, archive, sources, ts);
            }
        }
        final byte[] dispute = disputed.get(cp);
        if (dispute != null) {
            disputed.delete(cp);
            if (FAILED.equals(word)) {
                suspect(Checkpoint.previous(cp), cp, dispute, archive, sources, ts);
            }
        }
        final long next = cp + Checkpoint.FREQUENCY;
        final CheckpointVerified waiting = held.get(next);
        if (waiting != null) {
            held.delete(next);
            LOG.info("checkpoint {} waited for the verdict of checkpoint {}, which is not coming ({}): its link is "
                    + "checked without it", next, cp, word);
            link(waiting, ts);
        }
    }

    /**
     * Checks the link against the predecessor's verified last ledger if passed here, otherwise against the anchor,
     * unless it links to a copy of the predecessor that failed its own link (a forged mirror's, whose ledger file the
     * anchor then is too).
     */
    private void link(final CheckpointVerified v, final long ts) {
        final long prev = Checkpoint.previous(v.getCheckpoint());
        final Hash32 verified = lastHash(prev);
        if (verified != null) {
            if (verified.equals(v.getFirstPreviousLedgerHash())) {
                passUnlessTakenBack(v, ChainLinkStatus.VERIFIED, ts);
            } else {
                disputes(v, verified);
                brokenCopy(v, notTheVerifiedLast(prev, verified), ts);
            }
        } else if (isRefused(prev, v.getFirstPreviousLedgerHash())) {
            brokenCopy(v, HistoryTopology.LINKS_TO_A_REFUSED_COPY, ts);
        } else if (v.getPreviousCheckpointLastHash() == null
                || v.getPreviousCheckpointLastHash().equals(v.getFirstPreviousLedgerHash())) {
            // no anchor: the archive starts at this checkpoint (its ledger work found nothing of the predecessor in
            // any source, and its request did not wait for it), and the link is not checked unless the predecessor is
            // verified later
            final String anchorBroken = anchorBroken(v);
            if (anchorBroken != null) {
                brokenCopy(v, anchorBroken, ts);
            } else if (isTakenBack(v)) {
                takenBackCopy(v, ts);
            } else {
                anchored.put(v.getCheckpoint(), v);
                pass(v, v.getPreviousCheckpointLastHash() == null ? ChainLinkStatus.ARCHIVE_START
                        : ChainLinkStatus.VERIFIED, ts);
            }
        } else {
            // refused as any copy that failed its link: a successor linking to it fails too (a trial's archive with
            // two breaks had the checkpoints after the second verified, on this copy's file)
            brokenCopy(v, "does not match the previous checkpoint's ledger file ("
                    + Hashes.hex(v.getPreviousCheckpointLastHash()) + ")", ts);
        }
    }

    /**
     * Why the anchor of {@code v} (its predecessor's ledger file, read while the predecessor itself is not passed here:
     * it failed, or was not asked for) cannot vouch for it, or null: the anchor's first ledger does not link to the
     * checkpoint before it as passed here, or links to a copy of it that failed its own link. A predecessor that failed
     * on another file (a missing results file) hid a break in its ledger file's link: its successor, passed on the
     * anchor, and every checkpoint after it were verified, forged predecessor and all (a trial).
     */
    private String anchorBroken(final CheckpointVerified v) {
        final long prev = Checkpoint.previous(v.getCheckpoint());
        final Hash32 anchorLink = v.getPreviousCheckpointFirstPreviousHash();
        if (anchorLink == null || v.getPreviousCheckpointLastHash() == null || prev <= Checkpoint.FREQUENCY - 1) {
            return null;
        }
        final long before = Checkpoint.previous(prev);
        final Hash32 passed = lastHash(before);
        if (passed != null && !passed.equals(anchorLink)) {
            return "links to checkpoint " + prev + "'s ledger file (" + Hashes.hex(v.getPreviousCheckpointLastHash())
                    + "), which does not link to checkpoint " + before + "'s verified last ledger ("
                    + Hashes.hex(passed) + "; it has " + Hashes.hex(anchorLink) + "): checkpoint " + prev
                    + " itself was not verified";
        }
        if (passed == null && isRefused(before, anchorLink)) {
            return "links to checkpoint " + prev + "'s ledger file, which links to a copy of checkpoint " + before
                    + " that failed its own link";
        }
        return null;
    }

    /**
     * {@code cp}'s copy with last ledger {@code last} failed its link, or was passed here (then {@code broken} is
     * false): a successor passed on the anchor of the checkpoint after {@code cp} (whose ledger file links to {@code
     * cp}) that the anchor no longer vouches for is taken back, with the checkpoints passed since that link to it. So
     * is one passed on {@code cp}'s own ledger file when that copy failed its link: the anchor was believed while
     * {@code cp} had failed on another file, then {@code cp}, its file put back, failed its link (a trial).
     */
    private void recheckAnchored(final long cp, final Hash32 last, final boolean broken, final long ts) {
        final long next = cp + Checkpoint.FREQUENCY;
        if (broken) {
            final CheckpointVerified onThis = anchored.get(next);
            if (onThis != null && last.equals(onThis.getFirstPreviousLedgerHash()) && lastHash(next) != null) {
                anchored.delete(next);
                revoke(onThis, "links to checkpoint " + cp + "'s ledger file, whose copy was found later not to "
                        + "link to the checkpoint before it", ts);
            }
        }
        final long after = next + Checkpoint.FREQUENCY;
        final CheckpointVerified onNext = anchored.get(after);
        final Hash32 anchorLink = onNext == null ? null : onNext.getPreviousCheckpointFirstPreviousHash();
        if (anchorLink != null && lastHash(next) == null && lastHash(after) != null
                && broken == last.equals(anchorLink)) {
            anchored.delete(after);
            revoke(onNext, broken ? "links to checkpoint " + next + "'s ledger file, which links to a copy of "
                    + "checkpoint " + cp + " found later not to link" : "links to checkpoint " + next
                    + "'s ledger file, which does not link to checkpoint " + cp + "'s last ledger as verified later ("
                    + Hashes.hex(last) + ")", ts);
        }
    }

    /**
     * The gate has {@code cp} as failed: when that is a copy taken back here, it and its successor are asked for again
     * (a tail never asks for a checkpoint twice, and its successor's retries would fail on the copy taken back until
     * then; an {@code ingest} asks for them too, and the gate admits a checkpoint once).
     */
    private void askAgain(final long cp, final String archive, final long ts) {
        final String entries = takenBack.get(cp);
        final String ask = entries == null ? null
                : entries.lines().filter(l -> l.startsWith(ASK + "\t")).findFirst().orElse(null);
        if (ask == null) {
            return;
        }
        takenBack.put(cp, entries.lines().filter(l -> !l.startsWith(ASK + "\t"))
                .collect(java.util.stream.Collectors.joining("\n")));
        final String[] fields = ask.split("\t");
        final long successor = Long.parseLong(fields[1]);
        final List<String> sources = List.of(fields).subList(2, fields.length);
        // and the checkpoints after the successor that failed for good since: on their link to it, most likely (a
        // tail asks for none of them again, and one taken back further down would leave them failed)
        long last = successor;
        while (failedForGood(last + Checkpoint.FREQUENCY) != null) {
            last += Checkpoint.FREQUENCY;
        }
        LOG.info("checkpoint {}: asked for again, with {}, from {}", cp, last == successor ? Long.toString(successor)
                : successor + ".." + last, String.join(", ", sources));
        for (long c = cp; c <= last; c += Checkpoint.FREQUENCY) {
            request(c, archive, sources, c != cp, ts);
        }
    }

    /**
     * {@code cp} failed for good and its predecessor is passed here (last ledger {@code prevLast}): when a copy of each
     * failed its link here, {@code cp} may have failed on a copy of the predecessor that another replaced since (a
     * forged segment walked back verifies the honest copies one after the other, and the checkpoints after it that
     * failed on the forged ones wait for none of them), so it is asked for again, once per copy of the predecessor.
     */
    private void askAfter(final long cp, final Hash32 prevLast, final String archive, final List<String> sources,
            final long ts) {
        if (sources.isEmpty() || refused.get(cp) == null || refused.get(Checkpoint.previous(cp)) == null) {
            return;
        }
        final String line = AFTER + "\t" + Hashes.hex(prevLast);
        final String entries = takenBack.get(cp);
        if (entries != null && entries.lines().anyMatch(line::equals)) {
            return;
        }
        takenBack.put(cp, entries == null ? line : entries + "\n" + line);
        LOG.info("checkpoint {} failed on its link while another copy of checkpoint {} was verified: asked for again",
                cp, Checkpoint.previous(cp));
        request(cp, archive, sources, false, ts);
    }

    /** Asks for {@code cp} again (to {@code checkpoint-requests}). */
    private void request(final long cp, final String archive, final List<String> sources,
            final boolean predecessorRequested, final long ts) {
        context.forward(new Record<>(cp, CheckpointRequest.newBuilder().setArchive(archive).setSources(sources)
                .setCheckpoint(cp).setReason(RequestReason.RETRY).setRequestedAt(Instant.ofEpochMilli(
                        context.currentSystemTimeMs())).setPredecessorRequested(predecessorRequested).build(), ts),
                requestChild);
    }

    /**
     * The sources of the request of {@code cp} whose attempts ran out (empty when not known), or null when the gate's
     * last word on it is not that it failed.
     */
    private List<String> failedForGood(final long cp) {
        final String word = settled.get(cp);
        if (word == null || !(word.equals(FAILED) || word.startsWith(FAILED + "\t"))) {
            return null;
        }
        final List<String> fields = List.of(word.split("\t"));
        return fields.subList(1, fields.size());
    }

    /**
     * Whether {@code v} is a copy taken back before, served again by the same source or by one whose copy of the
     * successor did not link to it either (it contradicts itself too: a trial's two identical forged mirrors
     * confirmed each other's copy, and the honest third was never read), or by one whose own copy of the successor
     * was taken back (it contradicted itself one checkpoint later: a trial's two identical forged mirrors of a
     * segment of several checkpoints confirmed each other's copies while the segment was walked back). The same copy
     * from another source is not: it confirms the copy, which then passes (and a later dispute of it stands alone).
     */
    private boolean isTakenBack(final CheckpointVerified v) {
        final String entries = takenBack.get(v.getCheckpoint());
        if (entries == null) {
            return false;
        }
        final String hex = Hashes.hex(v.getLastLedgerHash());
        final String source = ledgerSource(v);
        return entries.lines().anyMatch(l -> l.equals(hex + " " + source)
                || l.equals(DISPUTED + "\t" + hex + "\t" + source))
                || entries.lines().anyMatch(l -> isCopyLine(l) && l.startsWith(hex + " "))
                        && takenBackSources(v.getCheckpoint() + Checkpoint.FREQUENCY).contains(source);
    }

    /**
     * Why a copy whose first ledger does not link to {@code prev}'s verified last ledger fails, naming the source of
     * that verified copy: a trial's failure named only the honest source of the successor, when the predecessor's copy
     * was a forged mirror's (which did not serve the successor).
     */
    private String notTheVerifiedLast(final long prev, final Hash32 last) {
        final byte[] b = lastHashes.get(prev);
        final String source = b == null || b.length <= 64 ? null : passedSource(b);
        return "does not match the previous checkpoint's verified last ledger (" + Hashes.hex(last)
                + (source == null ? "" : ", of its copy from " + source) + ")";
    }

    /** Passes {@code v} on (see {@link #pass}), unless it is a copy taken back before. */
    private void passUnlessTakenBack(final CheckpointVerified v, final ChainLinkStatus status, final long ts) {
        if (isTakenBack(v)) {
            takenBackCopy(v, ts);
        } else {
            pass(v, status, ts);
        }
    }

    /**
     * A copy that links to its predecessor but was refused before: taken back when its successor's copies from other
     * sources did not link to it (read again, it fails at once, so the next source is read).
     */
    private void takenBackCopy(final CheckpointVerified v, final long ts) {
        // served by another source than the one it was taken back from, it is taken back from that one too: that
        // source cannot confirm the copy before it (isTakenBack), and counts among those whose copies do not link to it
        // (suspect): a trial's second identical forged mirror confirmed the copy before, and the honest one was never
        // read for it
        final String line = Hashes.hex(v.getLastLedgerHash()) + " " + ledgerSource(v);
        final String entries = takenBack.get(v.getCheckpoint());
        if (entries != null && entries.lines().noneMatch(line::equals)) {
            takenBack.put(v.getCheckpoint(), entries + "\n" + line);
        }
        // naming its source as one whose copy is taken back (the retry after this bad copy reads from the others)
        chainFailure(v.getCheckpoint(), v.getArchive(), ArchivePaths.checkpointFile(FileType.LEDGER, v.getCheckpoint()),
                ledgerSource(v), "ledger " + v.getCheckpoint() + " hash " + Hashes.hex(v.getLastLedgerHash())
                + " is the last ledger of a copy of this checkpoint taken back before: the copies of its successor "
                + "from other sources did not link to it", ledgerSource(v), ts);
    }

    /** Passes {@code first} on, then every successor that waited for it, in chain order. */
    private void pass(final CheckpointVerified first, final ChainLinkStatus status, final long ts) {
        CheckpointVerified v = first;
        ChainLinkStatus link = status;
        while (v != null) {
            final long cp = v.getCheckpoint();
            final Hash32 last = v.getLastLedgerHash();
            final String source = ledgerSource(v);
            lastHashes.put(cp, concat(concat(last.bytes(), v.getFirstPreviousLedgerHash().bytes()),
                    source == null ? new byte[0] : source.getBytes(StandardCharsets.UTF_8)));
            settled.delete(cp);
            final List<String> failedAfter = failedForGood(cp + Checkpoint.FREQUENCY);
            if (failedAfter != null) {
                askAfter(cp + Checkpoint.FREQUENCY, last, v.getArchive(), failedAfter, ts);
            }
            if (disputed.get(cp) != null) {
                disputed.delete(cp); // (a delete of every passed checkpoint wrote a changelog tombstone for each)
            }
            recheckAnchored(cp, last, false, ts);
            context.forward(new Record<>(cp, CheckpointVerified.newBuilder(v).setChainLinkedToPrevious(link)
                    .setVerifiedAt(Instant.ofEpochMilli(context.currentSystemTimeMs()))
                    .setOtherCopyRefused(isRefusedOtherThan(cp, last)).build(), ts), verdictChild);
            final long next = cp + Checkpoint.FREQUENCY;
            final CheckpointVerified onAnchor = anchored.get(next);
            if (onAnchor != null) {
                anchored.delete(next);
                if (!last.equals(onAnchor.getFirstPreviousLedgerHash())) {
                    revoke(onAnchor, "does not match the previous checkpoint's verified last ledger ("
                            + Hashes.hex(last) + "), which changed after this checkpoint was verified", ts);
                }
            }
            v = held.get(next);
            if (v != null) {
                held.delete(next);
                if (!last.equals(v.getFirstPreviousLedgerHash())) {
                    disputes(v, last);
                    brokenCopy(v, notTheVerifiedLast(cp, last), ts);
                    v = null;
                } else if (isTakenBack(v)) {
                    takenBackCopy(v, ts);
                    v = null;
                }
                link = ChainLinkStatus.VERIFIED;
            }
        }
    }

    /**
     * Takes back a checkpoint passed before (on its predecessor's ledger file, which a copy verified later does not
     * match), and every successor passed since that links to it, in chain order: each gets a failure after its
     * verified event, and its copy is refused.
     */
    private void revoke(final CheckpointVerified v, final String why, final long ts) {
        brokenCopy(v, why, ts);
        lastHashes.delete(v.getCheckpoint());
        revokeSuccessors(v.getCheckpoint(), v.getArchive(), v.getLastLedgerHash().bytes(), ts);
    }

    /**
     * Takes back {@code cp}'s copy passed here (last ledger {@code last}), whose successor's copies did not link to
     * it, and every successor passed since that links to it.
     */
    private void revoke(final long cp, final String archive, final String source, final Hash32 last, final String why,
            final long ts) {
        // naming the source as the one whose copy is taken back: the gate reads the checkpoint from the others next
        // (its copy would be refused here; read from it after another source's passing error, a trial's forged copy
        // stood: the honest mirror's files went on to the forged one, mixed with them they failed at once, and the
        // attempts ran out)
        chainFailure(cp, archive, ArchivePaths.checkpointFile(FileType.LEDGER, cp), source, "ledger " + cp + " hash "
                + Hashes.hex(last) + " " + why, source, ts);
        lastHashes.delete(cp);
        revokeSuccessors(cp, archive, last.bytes(), ts);
    }

    private void revokeSuccessors(final long first, final String archive, final byte[] firstLast, final long ts) {
        long cp = first;
        byte[] revokedLast = firstLast;
        while (true) {
            final long next = cp + Checkpoint.FREQUENCY;
            final byte[] passed = lastHashes.get(next);
            if (passed == null || passed.length < 64
                    || !Arrays.equals(passed, 32, 64, revokedLast, 0, 32)) {
                return;
            }
            lastHashes.delete(next);
            refuse(next, Arrays.copyOf(passed, 32));
            linkFailure(next, archive, ArchivePaths.checkpointFile(FileType.LEDGER, next), null,
                    new Hash32(Arrays.copyOfRange(passed, 32, 64)), "links to checkpoint " + cp
                            + "'s copy, which was found not to link after both were verified", ts);
            cp = next;
            revokedLast = Arrays.copyOf(passed, 32);
        }
    }

    /** The source of a checkpoint's ledger file, or null when its event does not name one. */
    private static String ledgerSource(final CheckpointVerified v) {
        for (final FileRef f : v.getFiles()) {
            if (f.getPath().startsWith("ledger/")) {
                return f.getSource();
            }
        }
        return null;
    }

    /** Remembers that {@code v}'s copy does not link to its predecessor's copy passed here (last ledger {@code prev}). */
    private void disputes(final CheckpointVerified v, final Hash32 prev) {
        final byte[] d = disputed.get(v.getCheckpoint());
        final List<String> sources = new ArrayList<>(d == null || !Arrays.equals(d, 0, 32, prev.bytes(), 0, 32)
                ? List.of() : sourcesOf(d));
        final String source = ledgerSource(v);
        if (source != null && !sources.contains(source)) {
            sources.add(source);
        }
        disputed.put(v.getCheckpoint(), concat(prev.bytes(), String.join("\n", sources)
                .getBytes(StandardCharsets.UTF_8)));
    }

    /** The sources of a dispute's copies. */
    private static List<String> sourcesOf(final byte[] dispute) {
        return new String(dispute, 32, dispute.length - 32, StandardCharsets.UTF_8).lines().toList();
    }

    /**
     * {@code successor} failed for good, every copy of it not linking to the copy of {@code cp} passed here. When the
     * source that served that copy's ledger file served such a copy of the successor, and another source served one
     * too, the source of {@code cp} contradicts itself and another agrees with its successor: {@code cp}'s copy is the
     * odd one, and is taken back (a mirror's forged checkpoint that links to the honest one before it, and whose honest
     * successor does not link to it, was verified and the successor failed). Read again from that source the copy
     * fails at once, so another source's is read: a copy that links both ways passes; the same copy passes too (then
     * the successor fails again, and {@code cp} with it: every source serves the same break). When one source served
     * them all, or only other sources served the successor, the successor's failure stands alone.
     */
    private void suspect(final long cp, final long successor, final byte[] dispute, final String archive,
            final List<String> requested, final long ts) {
        final byte[] passed = lastHashes.get(cp);
        if (passed == null || passed.length <= 64 || !Arrays.equals(passed, 0, 32, dispute, 0, 32)) {
            return; // not passed here (or taken back since), or its source is not known
        }
        final String source = passedSource(passed);
        // with the sources of the successor's copies taken back: each contradicted itself there (its successor's
        // copies did not link to it), so a copy of this checkpoint from one of them is not believed over another
        // source's successor (a mirror's forged segment of two or more checkpoints is walked back one at a time)
        final List<String> others = new ArrayList<>(sourcesOf(dispute));
        takenBackSources(successor).stream().filter(s -> !others.contains(s)).forEach(others::add);
        if (!others.contains(source) || others.stream().allMatch(source::equals)) {
            // one source's copies that do not link: the break is that archive's; or copies from two sources that do
            // not link: nothing says which is wrong (taken back then, a forged mirror's copies of checkpoints another
            // source lacks would take the honest copies before them back, one after the other)
            return;
        }
        final Hash32 last = new Hash32(Arrays.copyOf(passed, 32));
        final String before = takenBack.get(cp);
        if (before != null && before.lines().anyMatch(l -> l.startsWith(Hashes.hex(last) + " ")
                && !l.equals(Hashes.hex(last) + " " + source))) {
            // this copy was taken back from another source before and passed again from this one: two sources vouch
            // for it, and the successor's failure stands (two URLs of one archive with a break in it)
            LOG.info("checkpoint {}: its copy, taken back before, is the one {} serves too: it stands, and the failure "
                    + "of checkpoint {} stands alone", cp, source, successor);
            return;
        }
        LOG.warn("checkpoint {}: the copies of checkpoint {} from {} do not link to its copy from {}: that copy is taken "
                + "back and read again from another source", cp, successor, String.join(", ", others), source);
        refuse(cp, last.bytes());
        final List<String> entries = new ArrayList<>(before == null ? List.of()
                : before.lines().filter(l -> !l.startsWith(ASK + "\t")).toList());
        entries.add(Hashes.hex(last) + " " + source);
        sourcesOf(dispute).stream().filter(o -> !o.equals(source))
                .forEach(o -> entries.add(DISPUTED + "\t" + Hashes.hex(last) + "\t" + o));
        final List<String> kept = new ArrayList<>(entries.subList(Math.max(0, entries.size() - 32), entries.size()));
        // asked for again once the gate has it as failed: from the successor's request's sources (with those whose
        // copies of the successor did not link, when the request is not known), the one of this copy last
        final List<String> from = new ArrayList<>(requested);
        others.stream().filter(o -> !from.contains(o)).forEach(from::add);
        from.remove(source);
        from.add(source);
        kept.add(ASK + "\t" + successor + "\t" + String.join("\t", from));
        takenBack.put(cp, String.join("\n", kept));
        revoke(cp, archive, source, last, "is not what the copies of checkpoint " + successor + " from "
                + String.join(", ", others) + " link to: this copy, from " + source + ", is taken back", ts);
    }

    /**
     * The source of a passed copy, from its {@code chain-last-hashes} value (its last ledger hash, its first ledger's
     * previous hash, then the source), which must be longer than 64 bytes.
     */
    private static String passedSource(final byte[] passed) {
        return new String(passed, 64, passed.length - 64, StandardCharsets.UTF_8);
    }

    /** The sources whose copies of {@code cp} were taken back here. */
    private List<String> takenBackSources(final long cp) {
        final String entries = takenBack.get(cp);
        return entries == null ? List.of() : entries.lines().filter(ChainLinker::isCopyLine)
                .map(l -> l.substring(l.indexOf(' ') + 1)).distinct().toList();
    }

    /** Whether a {@code chain-taken-back} line names a copy taken back ("hex source"), not another kind of line. */
    private static boolean isCopyLine(final String line) {
        return !line.startsWith(ASK + "\t") && !line.startsWith(AFTER + "\t") && !line.startsWith(DISPUTED + "\t")
                && line.indexOf(' ') > 0;
    }

    private Hash32 lastHash(final long cp) {
        final byte[] b = lastHashes.get(cp);
        return b == null ? null : new Hash32(Arrays.copyOf(b, 32));
    }

    /** Whether {@code last} is the last ledger hash of a copy of {@code cp} that failed its link. */
    private boolean isRefused(final long cp, final Hash32 last) {
        return last != null && anyRefused(cp, last, true);
    }

    /** Whether a refused copy of {@code cp} has {@code last} as its last ledger hash ({@code same}), or another one. */
    private boolean anyRefused(final long cp, final Hash32 last, final boolean same) {
        final byte[] r = refused.get(cp);
        if (r == null) {
            return false;
        }
        for (int i = 0; i + 32 <= r.length; i += 32) {
            if (Arrays.equals(r, i, i + 32, last.bytes(), 0, 32) == same) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether a copy of {@code cp} other than the one whose last ledger hash is {@code last} failed its link: it may
     * have been verified, published and taken back, so the verdict of this one says to replace it.
     */
    private boolean isRefusedOtherThan(final long cp, final Hash32 last) {
        return anyRefused(cp, last, false);
    }

    /** Remembers a copy of {@code cp} that failed its link, by its last ledger hash (the latest 8 copies). */
    private void refuse(final long cp, final byte[] last) {
        final byte[] r = refused.get(cp);
        final byte[] kept = r == null ? new byte[0] : Arrays.copyOfRange(r, Math.max(0, r.length - 7 * 32),
                r.length);
        refused.put(cp, concat(kept, last));
    }

    private static byte[] concat(final byte[] a, final byte[] b) {
        final byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /**
     * A copy that does not link to its predecessor as verified (or links to a refused copy of it): broken, and
     * remembered, so that a successor linking to this copy fails too.
     */
    private void brokenCopy(final CheckpointVerified v, final String why, final long ts) {
        refuse(v.getCheckpoint(), v.getLastLedgerHash().bytes());
        broken(v, why, ts);
        recheckAnchored(v.getCheckpoint(), v.getLastLedgerHash(), true, ts);
    }

    /** A broken link: {@code why} follows "ledger N previousLedgerHash H ". */
    private void broken(final CheckpointVerified v, final String why, final long ts) {
        final FileRef ledgerFile = v.getFiles().stream().filter(f -> f.getPath().startsWith("ledger/")).findFirst()
                .orElse(null);
        linkFailure(v.getCheckpoint(), v.getArchive(), ledgerFile == null ? null : ledgerFile.getPath(),
                ledgerFile == null ? null : ledgerFile.getSource(), v.getFirstPreviousLedgerHash(), why, ts);
    }

    /** A {@code CHAIN_LINK_BROKEN} attempt failure of {@code cp}, named by its ledger file (and source, if known). */
    private void linkFailure(final long cp, final String archive, final String ledgerPath, final String source,
            final Hash32 firstPrevious, final String why, final long ts) {
        chainFailure(cp, archive, ledgerPath, source, "ledger " + Checkpoint.firstLedger(cp) + " previousLedgerHash "
                + Hashes.hex(firstPrevious) + " " + why, ts);
    }

    /** A {@code CHAIN_LINK_BROKEN} attempt failure of {@code cp}: {@code detail}, named by the file and source. */
    private void chainFailure(final long cp, final String archive, final String file, final String source,
            final String detail, final long ts) {
        chainFailure(cp, archive, file, source, detail, null, ts);
    }

    /** As above, naming the source whose copy is taken back ({@code copyTakenBackFrom}), or null. */
    private void chainFailure(final long cp, final String archive, final String file, final String source,
            final String detail, final String takenBackFrom, final long ts) {
        final VerificationException e = new VerificationException(FailureReason.CHAIN_LINK_BROKEN, file, detail)
                .withSource(source);
        context.forward(new Record<>(cp, CheckpointFailed.newBuilder(Facts.failure(cp, archive, e, 0,
                context.currentSystemTimeMs())).setCopyTakenBackFrom(takenBackFrom).build(), ts), failureChild);
        // counted by the gate, which publishes it (after any retries), as every failure
    }
}
