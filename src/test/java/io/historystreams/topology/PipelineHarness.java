package io.historystreams.topology;

import io.historystreams.archive.FetchObserver;
import io.historystreams.archive.RetryPolicy;
import io.historystreams.archive.SourceOptions;
import io.historystreams.blob.LocalBlobStore;
import io.historystreams.events.CheckpointFailed;
import io.historystreams.events.CheckpointRequest;
import io.historystreams.events.CheckpointVerified;
import io.historystreams.events.LedgerVerified;
import io.historystreams.events.RequestReason;
import io.historystreams.events.serde.SchemaRegistry;
import io.historystreams.verify.VerificationLimits;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.function.BooleanSupplier;

/** The real topology in a TopologyTestDriver, with real archive access and a real blob store in a temp dir. */
final class PipelineHarness implements AutoCloseable {
    final Topics topics;
    final PipelineContext ctx;
    final TopologyTestDriver driver;
    final TestInputTopic<Long, CheckpointRequest> requests;
    final TestOutputTopic<Long, CheckpointVerified> verifiedOut;
    final TestOutputTopic<Long, LedgerVerified> ledgersOut;
    final TestOutputTopic<Long, CheckpointFailed> failuresOut;
    final List<KeyValue<Long, CheckpointVerified>> verified = new ArrayList<>();
    final List<KeyValue<Long, LedgerVerified>> ledgers = new ArrayList<>();
    final List<KeyValue<Long, CheckpointFailed>> failures = new ArrayList<>();
    /** The most fetches seen queued or running in the pool at once (sampled after every input and step). */
    int maxFetches;

    PipelineHarness(final Path dir) throws Exception {
        this(dir, HistoryTopology.Settings.defaults().withRetries(2, Duration.ofMillis(50)));
    }

    PipelineHarness(final Path dir, final HistoryTopology.Settings settings) throws Exception {
        this(dir, settings, 4);
    }

    PipelineHarness(final Path dir, final HistoryTopology.Settings settings, final int fetchConcurrency)
            throws Exception {
        topics = new Topics("history.", SchemaRegistry.forUrl("mock://ttd-" + UUID.randomUUID()));
        ctx = new PipelineContext(new LocalBlobStore(dir.resolve("blobs")), fetchConcurrency, SourceOptions.defaults(),
                new RetryPolicy(3, Duration.ofMillis(5), Duration.ofMillis(50), Duration.ofSeconds(2)),
                VerificationLimits.defaults(), FetchObserver.NONE);
        final Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "ttd");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        props.put(StreamsConfig.STATE_DIR_CONFIG, dir.resolve("state").toString());
        driver = new TopologyTestDriver(HistoryTopology.build(topics, settings, ctx), props);
        requests = driver.createInputTopic(topics.checkpointRequests.name(),
                topics.checkpointRequests.keySerde().serializer(), topics.checkpointRequests.valueSerde().serializer());
        verifiedOut = driver.createOutputTopic(topics.checkpointsVerified.name(),
                topics.checkpointsVerified.keySerde().deserializer(),
                topics.checkpointsVerified.valueSerde().deserializer());
        ledgersOut = driver.createOutputTopic(topics.ledgersVerified.name(),
                topics.ledgersVerified.keySerde().deserializer(), topics.ledgersVerified.valueSerde().deserializer());
        failuresOut = driver.createOutputTopic(topics.checkpointFailures.name(),
                topics.checkpointFailures.keySerde().deserializer(),
                topics.checkpointFailures.valueSerde().deserializer());
    }

    static CheckpointRequest requestFor(final String source, final long cp, final String passphrase) {
        return CheckpointRequest.newBuilder().setArchive(source).setSources(List.of(source))
                .setNetworkPassphrase(passphrase).setCheckpoint(cp).setReason(RequestReason.RANGE)
                .setRequestedAt(Instant.now()).build();
    }

    /** A request as ingest makes it for a range: its sources in order, and whether its predecessor is asked for. */
    void request(final List<String> sources, final long cp, final String passphrase,
            final boolean predecessorRequested) {
        requests.pipeInput(cp, CheckpointRequest.newBuilder(requestFor(sources.get(0), cp, passphrase))
                .setSources(sources).setPredecessorRequested(predecessorRequested).build());
        maxFetches = Math.max(maxFetches, ctx.fetchesQueuedOrRunning());
    }

    void request(final String source, final long cp, final String passphrase) {
        requests.pipeInput(cp, requestFor(source, cp, passphrase));
        maxFetches = Math.max(maxFetches, ctx.fetchesQueuedOrRunning());
    }

    /** Advances wall-clock time (which drains finished fetches) until the condition holds or the timeout passes. */
    boolean runUntil(final BooleanSupplier done, final Duration timeout) throws InterruptedException {
        final long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            driver.advanceWallClockTime(Duration.ofMillis(20));
            collect();
            if (done.getAsBoolean()) {
                return true;
            }
            Thread.sleep(5);
        }
        return false;
    }

    /** Runs until nothing new comes out for {@code quiet}. */
    void settle(final Duration quiet, final Duration timeout) throws InterruptedException {
        final long deadline = System.nanoTime() + timeout.toNanos();
        long lastChange = System.nanoTime();
        int seen = -1;
        while (System.nanoTime() < deadline) {
            driver.advanceWallClockTime(Duration.ofMillis(20));
            collect();
            final int now = verified.size() + ledgers.size() + failures.size();
            if (now != seen) {
                seen = now;
                lastChange = System.nanoTime();
            } else if (System.nanoTime() - lastChange > quiet.toNanos()) {
                return;
            }
            Thread.sleep(5);
        }
    }

    void collect() {
        maxFetches = Math.max(maxFetches, ctx.fetchesQueuedOrRunning());
        verified.addAll(verifiedOut.readKeyValuesToList());
        ledgers.addAll(ledgersOut.readKeyValuesToList());
        failures.addAll(failuresOut.readKeyValuesToList());
    }

    @Override
    public void close() {
        driver.close();
        ctx.close();
    }
}
