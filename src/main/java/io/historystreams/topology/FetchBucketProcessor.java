package io.historystreams.topology;

import io.historystreams.archive.ArchivePaths;
import io.historystreams.events.BucketRequest;
import io.historystreams.events.BucketVerified;
import io.historystreams.events.CheckpointFailed;
import io.historystreams.events.FileRef;
import io.historystreams.verify.BucketVerifier;
import io.historystreams.verify.FailureReason;
import io.historystreams.verify.Hash;
import io.historystreams.verify.VerificationException;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Fetches and verifies buckets (stellar-core's {@code DownloadBucketsWork} / {@code VerifyBucketWork}), by hash so
 * each bucket is fetched once: a bucket already verified is answered from the {@code verified-buckets} store, a
 * bucket in flight collects the checkpoints waiting for it, and a bucket another task of this process has verified
 * (or is fetching) is taken from {@link BucketVerdicts}. Requests come from the HAS fetcher of the same task; each
 * waiting checkpoint gets its own bucket-verified (or failure) event, keyed by checkpoint, for the join and the
 * topic. At most {@link PipelineContext#fetchesPerProcessor()} buckets are fetched at a time; the other requests
 * wait in the pending store (on disk), so memory does not grow with the range, and are taken in hash order.
 */
final class FetchBucketProcessor implements Processor<String, BucketRequest, Object, Object> {
    private static final StringSerializer KEYS = new StringSerializer();

    private record Done(String hash, BucketRequest request, FileRef file, VerificationException failure) {
    }

    private final PipelineContext ctx;
    private final String verifiedStoreName;
    private final String pendingStoreName;
    private final List<String> verifiedChildren;
    private final String failureChild;
    private final Duration poll;
    private final Set<String> inFlight = new HashSet<>();
    /** Whether the pending store may hold waiters of buckets not submitted yet (a scan is only worth it then). */
    private boolean backlog = true;
    private ProcessorContext<Object, Object> context;
    private KeyValueStore<String, BucketVerified> verified;
    private KeyValueStore<String, BucketRequest> pending;
    private AsyncWork<Done> async;
    /** Hands finished fetches back, while any is in flight. */
    private OnDemandPunctuator drains;

    FetchBucketProcessor(final PipelineContext ctx, final String verifiedStoreName, final String pendingStoreName,
            final List<String> verifiedChildren, final String failureChild, final Duration poll) {
        this.ctx = ctx;
        this.verifiedStoreName = verifiedStoreName;
        this.pendingStoreName = pendingStoreName;
        this.verifiedChildren = List.copyOf(verifiedChildren);
        this.failureChild = failureChild;
        this.poll = poll;
    }

    @Override
    public void init(final ProcessorContext<Object, Object> context) {
        this.context = context;
        this.verified = context.getStateStore(verifiedStoreName);
        this.pending = context.getStateStore(pendingStoreName);
        this.async = new AsyncWork<>(ctx.fetchPool(), ctx::fetchesPerProcessor);
        this.drains = new OnDemandPunctuator(context, poll, t -> drain());
        fill();
    }

    /**
     * Submits buckets that have waiters and are not in flight, while there is room, in one pass over the pending
     * store (only while it may hold waiters of buckets not submitted yet).
     */
    private void fill() {
        if (!backlog || !async.hasRoom()) {
            return;
        }
        try (KeyValueIterator<String, BucketRequest> it = pending.all()) {
            backlog = !async.offer(it, kv -> {
                if (inFlight.add(kv.value.getHash())) {
                    submit(kv.value);
                }
            });
        }
    }

    private static String waiterKey(final String hash, final long checkpoint) {
        // ASCII digits whatever the default locale (Arabic or Thai locales format %d with their own digits)
        return hash + "|" + String.format(java.util.Locale.ROOT, "%019d", checkpoint);
    }

    @Override
    public void process(final Record<String, BucketRequest> record) {
        final BucketRequest r = record.value();
        if (r == null) {
            return;
        }
        final String hash = r.getHash();
        if (!ArchivePaths.isHash(hash)) {
            // unreachable through the HAS verifier, which refuses such names; never becomes a path here either
            context.forward(new Record<>(r.getCheckpoint(), failure(r, new VerificationException(
                    FailureReason.HOSTILE_NAME, null, "bucket name " + ArchivePaths.quote(hash) + " refused")),
                    record.timestamp()), failureChild);
            return;
        }
        final BucketVerified known = verified.get(hash);
        // already verified: served from the store, or, when this instance does not keep bucket bytes (no sink needs
        // them), from the verified event alone; a sink that needs the bytes of one it does not have fetches it again
        if (known != null && usable(known.getFile())) {
            answer(r.getCheckpoint(), forCheckpoint(known, r.getCheckpoint()), record.timestamp());
            return;
        }
        pending.put(waiterKey(hash, r.getCheckpoint()), r);
        if (!inFlight.contains(hash)) {
            if (async.hasRoom()) {
                inFlight.add(hash);
                submit(r);
            } else {
                backlog = true;
            }
        }
    }

    private void submit(final BucketRequest r) {
        drains.start();
        async.submit(() -> {
            final String path = ArchivePaths.bucket(r.getHash());
            final VerificationException before = ctx.bucketVerdicts().failedBefore(r.getHash(), r.getSources(),
                    r.getAttempt());
            if (before != null) {
                return new Done(r.getHash(), r, null, before.withFile(path));
            }
            try {
                final Hash expected = Hash.fromHex(r.getHash());
                final FileRef file = ctx.bucketVerdicts().get(r.getHash(), this::usable, () -> {
                    final FileFetcher.Stored<BucketVerifier.BucketSummary> s = FileFetcher.fetch(ctx,
                            ctx.archive(r.getSources()), path, ctx.keepBucketFiles(),
                            (in, p) -> BucketVerifier.verify(in, p, expected, ctx.limits()));
                    s.file().setRawSizeBytes(s.value().rawBytes());
                    return s.file();
                });
                return new Done(r.getHash(), r, file, null);
            } catch (final VerificationException e) {
                final VerificationException failure = e.withFile(path);
                ctx.bucketVerdicts().failed(r.getHash(), r.getSources(), r.getAttempt(), failure);
                return new Done(r.getHash(), r, null, failure);
            } catch (final io.historystreams.blob.BlobStoreFailure e) {
                throw e; // not the bucket's failure: it stops the pipeline (AsyncWork)
            } catch (final RuntimeException e) {
                return new Done(r.getHash(), r, null, Facts.internal(path, e));
            }
        });
    }

    private void drain() {
        async.drain(d -> {
            inFlight.remove(d.hash());
            final long now = context.currentSystemTimeMs();
            BucketVerified bv = null;
            if (d.file() != null) {
                bv = BucketVerified.newBuilder().setHash(d.hash()).setArchive(d.request().getArchive())
                        .setFile(d.file()).setVerifiedAt(Instant.ofEpochMilli(now)).setCheckpoint(-1).build();
                verified.put(d.hash(), bv);
            }
            final List<String> done = new ArrayList<>();
            try (KeyValueIterator<String, BucketRequest> it = pending.prefixScan(d.hash() + "|", KEYS)) {
                while (it.hasNext()) {
                    final KeyValue<String, BucketRequest> kv = it.next();
                    final long cp = kv.value.getCheckpoint();
                    if (bv != null) {
                        answer(cp, forCheckpoint(bv, cp), now);
                    } else {
                        context.forward(new Record<>(cp, failure(kv.value, d.failure()), now), failureChild);
                    }
                    done.add(kv.key);
                }
            }
            done.forEach(pending::delete);
        });
        fill();
        if (inFlight.isEmpty()) {
            drains.stop();
        }
    }

    /**
     * Whether a verified bucket can answer without a fetch: when this instance keeps bucket bytes (a sink needs
     * them), only if they are still in the blob store.
     */
    private boolean usable(final FileRef file) {
        final String ref = file.getBlobRef();
        return !ctx.keepBucketFiles() || ref != null && ctx.blobs().contains(ref);
    }

    private void answer(final long cp, final BucketVerified bv, final long timestamp) {
        for (final String child : verifiedChildren) {
            context.forward(new Record<>(cp, bv, timestamp), child);
        }
    }

    private static BucketVerified forCheckpoint(final BucketVerified bv, final long cp) {
        return BucketVerified.newBuilder(bv).setCheckpoint(cp).build();
    }

    private CheckpointFailed failure(final BucketRequest r, final VerificationException e) {
        return Facts.failure(r.getCheckpoint(), r.getArchive(), e, 0, context.currentSystemTimeMs());
    }

    @Override
    public void close() {
        if (async != null) {
            async.close();
        }
    }
}
