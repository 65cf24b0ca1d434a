package io.historystreams.topology;

import io.historystreams.archive.Checkpoint;
import io.historystreams.blob.LocalBlobStore;
import io.historystreams.events.CheckpointVerified;
import io.historystreams.testing.Fixtures;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Real {@link CheckpointVerified} records for every checkpoint of testnet-small, produced once per JVM by the real
 * topology in a {@link PipelineHarness}, with their blobs in a temporary blob store (for sink tests in other packages).
 */
public final class VerifiedCheckpoints {
    private static final String TESTNET = "Test SDF Network ; September 2015";
    private static VerifiedCheckpoints testnetSmall;

    /** The verified checkpoints, in checkpoint order. */
    public final List<CheckpointVerified> checkpoints;
    /** The topics (and schema-registry scope) the records were serialized with. */
    public final Topics topics;
    /** The context whose blob store holds every verified file. */
    public final PipelineContext ctx;
    public final LocalBlobStore blobs;
    public final Path source;

    private VerifiedCheckpoints(final List<CheckpointVerified> checkpoints, final Topics topics,
            final PipelineContext ctx, final Path source) {
        this.checkpoints = checkpoints;
        this.topics = topics;
        this.ctx = ctx;
        this.blobs = (LocalBlobStore) ctx.blobs();
        this.source = source;
    }

    /** All 157 checkpoints of testnet-small (verified on first use, about 15 s; shared afterwards). */
    public static synchronized VerifiedCheckpoints testnetSmall() throws Exception {
        if (testnetSmall == null) {
            final Path dir = Files.createTempDirectory("verified-testnet-small-");
            final Path source = Fixtures.testnetSmall();
            final PipelineHarness h = new PipelineHarness(dir);
            final List<Long> cps = Checkpoint.range(1, 10047);
            for (final long cp : cps) {
                h.request(source.toString(), cp, TESTNET);
            }
            if (!h.runUntil(() -> h.verified.size() + h.failures.size() >= cps.size(), Duration.ofMinutes(3))
                    || !h.failures.isEmpty()) {
                throw new IllegalStateException("testnet-small did not verify: " + h.verified.size() + " verified, "
                        + h.failures.size() + " failed " + h.failures);
            }
            h.driver.close(); // the context (blob store, archives) stays open for the tests
            final List<CheckpointVerified> sorted = h.verified.stream().map(kv -> kv.value)
                    .sorted(Comparator.comparingLong(CheckpointVerified::getCheckpoint)).toList();
            testnetSmall = new VerifiedCheckpoints(sorted, h.topics, h.ctx, source);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                h.ctx.close();
                deleteTree(dir);
            }));
        }
        return testnetSmall;
    }

    /** The first {@code n} checkpoints. */
    public List<CheckpointVerified> first(final int n) {
        return checkpoints.subList(0, n);
    }


    private static void deleteTree(final Path p) {
        try (Stream<Path> s = Files.walk(p)) {
            s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (final IOException ignored) {
            // best effort at JVM exit
        }
    }
}
