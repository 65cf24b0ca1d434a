package io.historystreams.service;

import io.historystreams.archive.FetchObserver;
import io.historystreams.verify.VerificationException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The service's own metrics next to Kafka Streams' (bound by the service): files and bytes fetched, fetch latency,
 * retries and blamed files per source, checkpoints verified and failed. Rendered in the Prometheus text format.
 */
public final class ServiceMetrics implements FetchObserver {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Counter verified;
    private final Counter failed;
    private final AtomicLong bytesFetched = new AtomicLong();
    /** The checkpoints whose last verdict here is a failure (one verified since is not). */
    private final java.util.Set<Long> failing = java.util.concurrent.ConcurrentHashMap.newKeySet();

    public ServiceMetrics() {
        verified = Counter.builder("history_checkpoints_verified").description("Checkpoints verified")
                .register(registry);
        failed = Counter.builder("history_checkpoints_failed").description("Checkpoints failed").register(registry);
        // the counter counts failures later healed too (a tail's retries, another source): an operator asked
        // what is failing now
        io.micrometer.core.instrument.Gauge.builder("history_checkpoints_failing", failing, java.util.Set::size)
                .description("Checkpoints whose last verdict in this process is a failure").register(registry);
        // only ever grows: a counter (history_fetch_bytes_total in the Prometheus text), not a gauge
        FunctionCounter.builder("history_fetch_bytes", bytesFetched, AtomicLong::get)
                .description("Bytes of archive files fetched (compressed, as transferred)").baseUnit("bytes")
                .register(registry);
    }

    public MeterRegistry registry() {
        return registry;
    }

    public String scrape() {
        return registry.scrape();
    }

    public void checkpointVerified(final long checkpoint) {
        verified.increment();
        failing.remove(checkpoint);
    }

    public void checkpointFailed(final long checkpoint) {
        failed.increment();
        failing.add(checkpoint);
    }

    public double verifiedCount() {
        return verified.count();
    }

    public long bytesFetched() {
        return bytesFetched.get();
    }

    @Override
    public void success(final String source, final String path, final long bytes, final long nanos) {
        bytesFetched.addAndGet(bytes);
        Timer.builder("history_fetch_latency").description("Time to fetch and verify a file")
                .tag("source", source).register(registry).record(Duration.ofNanos(nanos));
        Counter.builder("history_files_fetched").description("Files fetched and verified").tag("source", source)
                .register(registry).increment();
    }

    @Override
    public void failedAttempt(final String source, final String path, final String outcome, final long nanos) {
        // apart from history_fetch_latency, whose series stay those of files verified: a source whose fetches hang
        // until the read timeout shows here (a trial saw a latency maximum of 0.06 s while a mirror's fetches hung)
        Timer.builder("history_fetch_failed_latency").description("Time until a fetch attempt failed")
                .tag("source", source).tag("outcome", outcome).register(registry).record(Duration.ofNanos(nanos));
    }

    @Override
    public void attempt(final String source, final String path) {
        // there from a source's first fetch, at 0: an alert on its rate then has data before the first retry
        Counter.builder("history_fetch_retries").description("Fetch attempts retried").tag("source", source)
                .register(registry);
        // whether the source answers: taken as down at fetch.max.attempts (a trial saw nothing of a mirror that was
        // down in the metrics, and a latency maximum of 0.06 s while its fetches hung 30 s each)
        if (gauged.add(source)) {
            // once: a gauge registered again is refused with a WARN (Micrometer's)
            io.micrometer.core.instrument.Gauge.builder("history_source_failures_in_a_row",
                            () -> io.historystreams.archive.HistoryArchive.failuresInARowOf(source))
                    .description("Transient failures in a row of the source, for the whole process (taken as down at "
                            + "fetch.max.attempts; 0 once it answers)").tag("source", source).register(registry);
        }
    }

    /** The sources whose {@code history_source_failures_in_a_row} gauge is registered. */
    private final java.util.Set<String> gauged = java.util.concurrent.ConcurrentHashMap.newKeySet();

    @Override
    public void retry(final String source, final String path, final String reason, final Duration delay) {
        Counter.builder("history_fetch_retries").description("Fetch attempts retried").tag("source", source)
                .register(registry).increment();
    }

    @Override
    public void blamed(final String source, final String path, final VerificationException e) {
        Counter.builder("history_files_blamed").description("Files a source served that failed verification")
                .tag("source", source).tag("reason", e.reason().name()).register(registry).increment();
    }
}
