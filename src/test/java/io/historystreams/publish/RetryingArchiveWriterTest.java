package io.historystreams.publish;

import io.historystreams.archive.RetryPolicy;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RetryingArchiveWriterTest {
    /** A target whose puts fail {@code failures} times (retryable, as a timeout is), then succeed. */
    private static final class Flaky implements ArchiveWriter {
        int failures;
        int puts;

        Flaky(final int failures) {
            this.failures = failures;
        }

        @Override
        public String name() {
            return "flaky";
        }

        @Override
        public boolean exists(final String path) {
            return false;
        }

        @Override
        public void put(final String path, final Path localFile) throws PublishException {
            puts++;
            if (failures-- > 0) {
                throw new PublishException("flaky: PUT " + path + " timed out", true, null);
            }
        }

        @Override
        public Optional<byte[]> readSmall(final String path) {
            return Optional.empty();
        }

        @Override
        public void putRootState(final byte[] json) {
        }
    }

    @Test
    void everyFailedAttemptIsToldAsItHappensNotOnlyTheLast() throws Exception {
        // a target that hangs fails each attempt after a timeout: the give-up of publish.give.up.seconds counts from
        // the first of them (it counted from the end of all the attempts of a file, minutes later)
        final RetryPolicy policy = new RetryPolicy(3, Duration.ofMillis(1), Duration.ofMillis(2), Duration.ZERO);
        final List<String> told = new ArrayList<>();
        final Flaky twice = new Flaky(2);
        final RetryingArchiveWriter w = new RetryingArchiveWriter(twice, policy);
        w.onFailedAttempt(told::add);
        w.put("bucket/a", Path.of("/dev/null"));
        assertEquals(3, twice.puts);
        assertEquals(List.of("put bucket/a: flaky: PUT bucket/a timed out", "put bucket/a: flaky: PUT bucket/a timed out"),
                told);

        told.clear();
        final RetryingArchiveWriter never = new RetryingArchiveWriter(new Flaky(10), policy);
        never.onFailedAttempt(told::add);
        final PublishException e = assertThrows(PublishException.class, () -> never.put("x", Path.of("/dev/null")));
        assertTrue(e.getMessage().contains("failed after 3 attempts"), e.getMessage());
        assertEquals(3, told.size());
    }
}
