package io.historystreams.topology;

import io.historystreams.archive.Checkpoint;
import io.historystreams.events.BucketVerified;
import io.historystreams.events.ChainInput;
import io.historystreams.events.CheckpointAssembly;
import io.historystreams.events.CheckpointFailed;
import io.historystreams.events.CheckpointRequest;
import io.historystreams.events.CheckpointVerified;
import io.historystreams.events.ChainLinkStatus;
import io.historystreams.events.FileRef;
import io.historystreams.events.HasDownloaded;
import io.historystreams.events.LedgerHeadersDownloaded;
import io.historystreams.events.ResultsDownloaded;
import io.historystreams.events.ScpDownloaded;
import io.historystreams.events.TransactionsDownloaded;
import io.historystreams.verify.CheckpointCrossCheck;
import io.historystreams.verify.FailureReason;
import io.historystreams.verify.HistoryArchiveState;
import io.historystreams.verify.LedgerHeaderSummary;
import io.historystreams.verify.VerificationException;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The join stage: collects the parts of a checkpoint (HAS, headers, transaction and result hashes, SCP outcome, every
 * bucket) as they arrive, in any order. When every part has arrived or failed, either reports the failure (one event
 * naming every failed file) or runs the cross-file checks and sends the assembled checkpoint on to the chain check,
 * through the chain-inputs topic (one key: one task checks the chain), with whether its request said the predecessor's
 * verdict is coming (read from the gate's in-flight requests of this task).
 */
final class CheckpointAssembler implements Processor<Long, Object, Object, Object> {
    private final String storeName;
    private final String inflightStoreName;
    private final String chainChild;
    private final String failureChild;
    private ProcessorContext<Object, Object> context;
    private KeyValueStore<Long, CheckpointAssembly> store;
    private KeyValueStore<Long, CheckpointRequest> inflight;
    /**
     * The assemblies last read or written, as objects: a checkpoint gets a part per bucket (a dozen or more), and
     * reading its assembly back from the store deserialised the whole record (headers, transaction and result hashes,
     * the HAS) every time. The store stays the truth (every change is still put, so it commits with the input);
     * this only skips the read, holds at most {@link #CACHED} entries, and is dropped whenever the task is
     * (re)initialised, e.g. after an aborted transaction rolled the store back.
     */
    private final Map<Long, CheckpointAssembly> recent = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(final Map.Entry<Long, CheckpointAssembly> eldest) {
            return size() > CACHED;
        }
    };
    static final int CACHED = 256;

    CheckpointAssembler(final String storeName, final String inflightStoreName, final String chainChild,
            final String failureChild) {
        this.storeName = storeName;
        this.inflightStoreName = inflightStoreName;
        this.chainChild = chainChild;
        this.failureChild = failureChild;
    }

    @Override
    public void init(final ProcessorContext<Object, Object> context) {
        this.context = context;
        this.store = context.getStateStore(storeName);
        this.inflight = context.getStateStore(inflightStoreName);
        recent.clear();
    }

    @Override
    public void close() {
        recent.clear();
    }

    @Override
    public void process(final Record<Long, Object> record) {
        final Long cp = record.key();
        if (cp == null || record.value() == null) {
            return;
        }
        CheckpointAssembly a = recent.get(cp);
        if (a == null) {
            a = store.get(cp);
        }
        if (a == null) {
            a = CheckpointAssembly.newBuilder().setCheckpoint(cp)
                    .setStartedAt(Instant.ofEpochMilli(context.currentSystemTimeMs())).build();
        }
        final Object v = record.value();
        if (v instanceof HasDownloaded h) {
            a.setHas(h);
            a.setArchive(h.getArchive());
        } else if (v instanceof LedgerHeadersDownloaded l) {
            a.setLedgers(l);
            a.setArchive(l.getArchive());
        } else if (v instanceof TransactionsDownloaded t) {
            a.setTransactions(t);
        } else if (v instanceof ResultsDownloaded r) {
            a.setResults(r);
        } else if (v instanceof ScpDownloaded s) {
            a.setScp(s);
        } else if (v instanceof BucketVerified b) {
            if (!a.getBucketsVerified().contains(b.getHash())) {
                final List<String> bs = new ArrayList<>(a.getBucketsVerified());
                bs.add(b.getHash());
                a.setBucketsVerified(bs);
                final List<FileRef> fs = new ArrayList<>(a.getBucketFiles());
                fs.add(b.getFile());
                a.setBucketFiles(fs);
            }
        } else if (v instanceof CheckpointFailed f) {
            final List<CheckpointFailed> fs = new ArrayList<>(a.getFailures());
            fs.add(f);
            a.setFailures(fs);
            if (a.getArchive() == null) {
                a.setArchive(f.getArchive());
            }
        } else {
            return;
        }
        if (settled(a)) {
            store.delete(cp);
            recent.remove(cp);
            finish(a, record.timestamp());
        } else {
            store.put(cp, a);
            recent.put(cp, a);
        }
    }

    /** Which part a failed file was: the first path segment of the archive layout. */
    private static String partOf(final String path) {
        if (path == null) {
            return "";
        }
        final int slash = path.indexOf('/');
        return slash < 0 ? path : path.substring(0, slash);
    }

    private static boolean settled(final CheckpointAssembly a) {
        final Set<String> failedParts = new HashSet<>();
        final Set<String> failedFiles = new HashSet<>();
        for (final CheckpointFailed f : a.getFailures()) {
            failedParts.add(partOf(f.getFile()));
            failedFiles.add(f.getFile());
        }
        if (!(a.getHas() != null || failedParts.contains("history"))
                || !(a.getLedgers() != null || failedParts.contains("ledger"))
                || !(a.getTransactions() != null || failedParts.contains("transactions"))
                || !(a.getResults() != null || failedParts.contains("results"))
                || !(a.getScp() != null || failedParts.contains("scp"))) {
            return false;
        }
        if (a.getHas() != null) {
            final Set<String> verified = new HashSet<>(a.getBucketsVerified());
            for (final String b : a.getHas().getBuckets()) {
                if (!verified.contains(b) && !failedFiles.contains(io.historystreams.archive.ArchivePaths.bucket(b))) {
                    return false;
                }
            }
        }
        return true;
    }

    private void finish(final CheckpointAssembly a, final long timestamp) {
        final long cp = a.getCheckpoint();
        if (!a.getFailures().isEmpty()) {
            context.forward(new Record<>(cp, summarize(a), timestamp), failureChild);
            return;
        }
        try {
            final CheckpointVerified v = assemble(a);
            final CheckpointRequest req = inflight.get(cp);
            context.forward(new Record<>(ChainLinker.KEY, ChainInput.newBuilder().setCheckpoint(cp)
                    .setArchive(v.getArchive()).setCandidate(v)
                    .setPredecessorRequested(req != null && req.getPredecessorRequested()).build(), timestamp),
                    chainChild);
        } catch (final VerificationException e) {
            if (e.source() == null) {
                e.withSource(sourceOf(a, e.file())); // the cross-file check names a file: say who served it
            }
            context.forward(new Record<>(cp, Facts.failure(cp, a.getArchive(), e, 0, context.currentSystemTimeMs()),
                    timestamp), failureChild);
        }
    }

    /** The source that served the checkpoint file {@code path} of the assembly, or null. */
    private static String sourceOf(final CheckpointAssembly a, final String path) {
        for (final FileRef f : new FileRef[] {a.getHas() == null ? null : a.getHas().getFile(),
                a.getLedgers() == null ? null : a.getLedgers().getFile(),
                a.getTransactions() == null ? null : a.getTransactions().getFile(),
                a.getResults() == null ? null : a.getResults().getFile()}) {
            if (f != null && f.getPath().equals(path)) {
                return f.getSource();
            }
        }
        return null;
    }

    /** One failure event for the checkpoint: the first failure's fields, every failure listed. */
    private CheckpointFailed summarize(final CheckpointAssembly a) {
        final List<CheckpointFailed> fs = a.getFailures();
        final CheckpointFailed first = fs.get(0);
        final boolean allMissing = fs.stream().allMatch(f -> FailureReason.MISSING_FILE.name().equals(f.getReason()));
        final Set<String> lines = new LinkedHashSet<>();
        for (final CheckpointFailed f : fs) {
            lines.addAll(f.getFailures().isEmpty() ? List.of(f.getReason() + " " + f.getFile() + ": " + f.getDetail())
                    : f.getFailures());
        }
        final String detail = (allMissing ? "incomplete: " : "") + fs.size() + " failed file(s): "
                + String.join("; ", lines);
        return CheckpointFailed.newBuilder(first).setDetail(detail).setFailures(new ArrayList<>(lines))
                .setRetryable(fs.stream().allMatch(CheckpointFailed::getRetryable))
                .setFailedAt(Instant.ofEpochMilli(context.currentSystemTimeMs())).build();
    }

    private CheckpointVerified assemble(final CheckpointAssembly a) throws VerificationException {
        final long cp = a.getCheckpoint();
        final HasDownloaded hasEvent = a.getHas();
        final HistoryArchiveState has = HistoryArchiveState.parse(
                hasEvent.getJson().getBytes(StandardCharsets.UTF_8), hasEvent.getFile().getPath());
        final List<LedgerHeaderSummary> headers = Facts.headers(a.getLedgers().getHeaders());
        final String ledgerPath = a.getLedgers().getFile().getPath();
        CheckpointCrossCheck.genesis(headers, ledgerPath);
        // the previous ledger's protocol is null only for the first checkpoint (and in events written before the
        // field existed, for which the first ledger's empty set is checked as before: one of the forms up to its own).
        // It is the first ledger's previous one only when the first ledger links to it: a copy that does not link
        // fails the chain check after this, as verify says, not a check of its first transaction set against another
        // chain's protocol (a trial: ingest said TX_SET_HASH_MISMATCH where verify said CHAIN_LINK_BROKEN)
        final io.historystreams.events.Hash32 anchor = a.getLedgers().getPreviousCheckpointLastHash();
        final boolean linked = anchor == null || anchor.equals(io.historystreams.events.Hashes.hash32(
                headers.get(0).previousLedgerHash().bytes()));
        CheckpointCrossCheck.transactionSets(headers, Facts.sets(a.getTransactions().getEntries()),
                linked ? a.getLedgers().getPreviousCheckpointLastVersion() : null,
                a.getTransactions().getFile().getPath());
        CheckpointCrossCheck.resultSets(headers, Facts.sets(a.getResults().getEntries()),
                a.getResults().getFile().getPath());
        CheckpointCrossCheck.bucketList(has, headers, hasEvent.getFile().getPath());
        final LedgerHeaderSummary first = headers.get(0);
        final LedgerHeaderSummary last = headers.get(headers.size() - 1);
        final List<FileRef> files = new ArrayList<>();
        files.add(hasEvent.getFile());
        files.add(a.getLedgers().getFile());
        files.add(a.getTransactions().getFile());
        files.add(a.getResults().getFile());
        if (a.getScp().getFile() != null) {
            files.add(a.getScp().getFile());
        }
        files.addAll(a.getBucketFiles());
        return CheckpointVerified.newBuilder().setCheckpoint(cp).setArchive(a.getArchive())
                .setNetworkPassphrase(has.networkPassphrase()).setFirstLedger(Checkpoint.firstLedger(cp))
                .setLastLedger(cp).setLastLedgerHash(io.historystreams.events.Hashes.hash32(last.hash().bytes()))
                .setFirstPreviousLedgerHash(io.historystreams.events.Hashes.hash32(first.previousLedgerHash().bytes()))
                .setBucketListHash(hasEvent.getBucketListHash()).setFiles(files)
                .setBuckets(new ArrayList<>(hasEvent.getBuckets())).setLedgerCount(headers.size())
                .setTransactionSetCount(a.getTransactions().getEntries().size())
                .setResultSetCount(a.getResults().getEntries().size())
                .setChainLinkedToPrevious(ChainLinkStatus.PENDING)
                .setPreviousCheckpointLastHash(a.getLedgers().getPreviousCheckpointLastHash())
                .setPreviousCheckpointFirstPreviousHash(a.getLedgers().getPreviousCheckpointFirstPreviousHash())
                .setVerifiedAt(Instant.ofEpochMilli(context.currentSystemTimeMs())).build();
    }
}
