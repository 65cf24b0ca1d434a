package io.historystreams.publish;

import io.historystreams.archive.RetryPolicy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * Retries another writer's retryable failures ({@link PublishException#retryable()}) with exponential backoff and
 * full jitter, at most {@link RetryPolicy#maxAttempts()} attempts per operation; anything else fails at once.
 */
public final class RetryingArchiveWriter implements ArchiveWriter {
    private static final Logger LOG = LoggerFactory.getLogger(RetryingArchiveWriter.class);

    private final ArchiveWriter delegate;
    private final RetryPolicy policy;
    /** Told of every failed attempt, retried or not (what failed, and why); may be called from several threads. */
    private volatile java.util.function.Consumer<String> failedAttempts = what -> { };

    /**
     * Tells {@code listener} of every failed attempt as it happens, not only of an operation that failed after all its
     * attempts: a target that hangs is known to fail after one timeout, not after {@code maxAttempts} of them.
     */
    public void onFailedAttempt(final java.util.function.Consumer<String> listener) {
        this.failedAttempts = Objects.requireNonNull(listener, "listener");
    }

    public RetryingArchiveWriter(final ArchiveWriter delegate, final RetryPolicy policy) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
        this.policy = Objects.requireNonNull(policy, "policy");
    }

    /** The wrapped writer. */
    public ArchiveWriter delegate() {
        return delegate;
    }

    public RetryPolicy policy() {
        return policy;
    }

    @Override
    public String name() {
        return delegate.name();
    }

    @Override
    public boolean exists(final String path) throws PublishException {
        return retry("exists " + path, () -> delegate.exists(path));
    }

    @Override
    public void put(final String path, final Path localFile) throws PublishException {
        retry("put " + path, () -> {
            delegate.put(path, localFile);
            return null;
        });
    }

    @Override
    public Optional<byte[]> readSmall(final String path) throws PublishException {
        return retry("read " + path, () -> delegate.readSmall(path));
    }

    @Override
    public void putRootState(final byte[] json) throws PublishException {
        retry("put root state", () -> {
            delegate.putRootState(json);
            return null;
        });
    }

    @Override
    public void close() throws PublishException {
        delegate.close();
    }

    @FunctionalInterface
    private interface Attempt<T> {
        T run() throws PublishException;
    }

    private <T> T retry(final String what, final Attempt<T> attempt) throws PublishException {
        for (int n = 1; ; n++) {
            try {
                return attempt.run();
            } catch (PublishException e) {
                failedAttempts.accept(what + ": " + e.getMessage());
                if (!e.retryable()) {
                    throw e;
                }
                if (n >= policy.maxAttempts()) {
                    throw new PublishException(delegate.name() + ": " + what + " failed after " + n + " attempt"
                            + (n == 1 ? "" : "s") + "; last error: " + e.getMessage(), true, e.retryAfter(), e);
                }
                final Duration delay = policy.delayFor(n, e.retryAfter());
                LOG.warn("{}: {} failed (attempt {} of {}), retrying in {} ms: {}", delegate.name(), what, n,
                        policy.maxAttempts(), delay.toMillis(), e.getMessage());
                try {
                    Thread.sleep(delay.toMillis(), (int) (delay.toNanos() % 1_000_000));
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new PublishException(delegate.name() + ": " + what + " interrupted while waiting to retry",
                            false, ie);
                }
            }
        }
    }
}
