package io.historystreams.archive;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.historystreams.testing.FaultyArchiveServer;
import io.historystreams.testing.Waits;
import io.historystreams.testing.Fixtures;
import io.historystreams.verify.ArchiveVerifier;
import io.historystreams.verify.CheckpointOutcome;
import io.historystreams.verify.FailureReason;
import io.historystreams.verify.FileOutcome;
import io.historystreams.verify.VerificationException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class HistoryArchiveTest {
    private static final Duration TEN_S = Duration.ofSeconds(10);
    private static final RetryPolicy FAST = new RetryPolicy(6, Duration.ofMillis(2), Duration.ofMillis(20),
            Duration.ofSeconds(5));
    private static final SourceOptions OPTS = SourceOptions.defaults().withReadTimeout(Duration.ofSeconds(2));

    private final List<FaultyArchiveServer> servers = new ArrayList<>();
    private final List<String> events = Collections.synchronizedList(new ArrayList<>());
    private final List<String> retryReasons = Collections.synchronizedList(new ArrayList<>());
    private final FetchObserver recorder = new FetchObserver() {
        @Override
        public void retry(final String source, final String path, final String reason, final Duration delay) {
            events.add("retry " + source);
            retryReasons.add(reason);
        }

        @Override
        public void blamed(final String source, final String path, final VerificationException e) {
            events.add("blamed " + source + " " + e.reason());
        }

        @Override
        public void notPresent(final String source, final String path) {
            events.add("notPresent " + source);
        }

        @Override
        public void success(final String source, final String path, final long bytes, final long nanos) {
            events.add("success " + source + " " + bytes);
        }

        @Override
        public void failedAttempt(final String source, final String path, final String outcome, final long nanos) {
            failedAttempts.add(outcome + " " + source);
            failedNanos.add(nanos);
        }
    };
    /** "outcome source" of each attempt that failed, and how long it took, in order. */
    private final List<String> failedAttempts = Collections.synchronizedList(new ArrayList<>());
    private final List<Long> failedNanos = Collections.synchronizedList(new ArrayList<>());
    private Path root;
    private String bucket;

    @BeforeEach
    void setUp() {
        root = Fixtures.testnetSmall();
        bucket = TestBuckets.largest(root);
    }

    @AfterEach
    void tearDown() {
        for (final FaultyArchiveServer s : servers) {
            s.close();
            assertEquals(0, s.liveThreads());
        }
    }

    private FaultyArchiveServer server() throws IOException {
        final FaultyArchiveServer s = FaultyArchiveServer.start(root);
        servers.add(s);
        return s;
    }

    private HistoryArchive archive(final RetryPolicy policy, final FaultyArchiveServer... ss) {
        final List<String> roots = new ArrayList<>();
        for (final FaultyArchiveServer s : ss) {
            roots.add(s.url());
        }
        return HistoryArchive.open(roots, OPTS, policy, recorder);
    }

    @Test
    void recoversFromAScriptOfTransientFaults() throws Exception {
        final FaultyArchiveServer s = server();
        s.on(bucket).status(500).status(429, "Retry-After", "1").reset().truncate(4096);
        try (HistoryArchive archive = archive(FAST, s)) {
            final long start = System.nanoTime();
            final HistoryArchive.Fetched<String> got = archive.fetch(bucket, TestBuckets.verifier(bucket));
            final Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertEquals(TestBuckets.hashOf(bucket), got.value());
            assertEquals(5, got.attempts());
            assertEquals(s.url(), got.source());
            assertEquals(java.nio.file.Files.size(root.resolve(bucket)), got.bytes());
            assertEquals(List.of(), got.blamed());
            assertEquals(5, s.requests(bucket));
            assertTrue(took.compareTo(Duration.ofMillis(950)) >= 0, "Retry-After: 1 not honoured, took " + took);
            assertEquals(4, events.stream().filter(e -> e.startsWith("retry")).count(), events.toString());
            // each failed attempt is timed too (only the files verified were)
            assertEquals(java.util.Collections.nCopies(4, "transient " + s.url()), failedAttempts);
            assertTrue(failedNanos.stream().allMatch(n -> n > 0 && n < took.toNanos()), failedNanos.toString());
        }
    }

    @Test
    void saysInTheLogWhichFileWasFetchedAgainAndWhichSourceServedABadCopy() throws Exception {
        // the metrics counted retries and blamed sources, but no log line said which file, source or error: an
        // operator seeing the counters climb could not find out what failed
        final FaultyArchiveServer bad = server();
        final FaultyArchiveServer good = server();
        bad.on(bucket).status(500).flipByte(100);
        final FaultyArchiveServer twice = server();
        twice.on(bucket).flipByte(100).times(2);
        final List<ch.qos.logback.classic.spi.ILoggingEvent> logged = io.historystreams.testing.Logs.during(
                HistoryArchive.class, () -> {
                    try (HistoryArchive archive = archive(FAST, twice)) { // a bad copy, read a second time: bad again
                        archive.fetch(bucket, TestBuckets.verifier(bucket));
                    } catch (final VerificationException expected) {
                        // both reads bad
                    }
                    try (HistoryArchive archive = archive(FAST, bad)) { // the 500, then a bad copy from the same
                        archive.fetch(bucket, TestBuckets.verifier(bucket));
                    } catch (final VerificationException expected) {
                        // the bad copy, every time its content retries allow
                    }
                    try (HistoryArchive archive = archive(FAST, bad, good)) {
                        assertEquals(TestBuckets.hashOf(bucket),
                                archive.fetch(bucket, TestBuckets.verifier(bucket)).value());
                        bad.on(bucket).status(503);
                        archive.fetch(bucket, TestBuckets.verifier(bucket));
                    }
                });
        final List<String> lines = logged.stream().map(e -> e.getLevel() + " " + e.getFormattedMessage()).toList();
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("INFO " + bad.url() + " " + bucket + ": HTTP 500")
                && l.contains("(transient failure 1 of 6): fetched again in")), lines::toString);
        // with mirrors, the source's own count too (each of its failures read "1 of 6" for its file)
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("INFO " + bad.url() + " " + bucket + ": HTTP 503")
                && l.contains("(transient failure 1 of 6 of this file; 1 in a row from this source, taken as down "
                + "at 6): fetched again in")), lines::toString);
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("WARN " + bad.url() + " served a bad copy of " + bucket
                + ": ")), lines::toString);
        // its content retry is said as a second read, not as the same line twice (a trial)
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("WARN " + twice.url() + " served a bad copy of " + bucket
                + ": ")), lines::toString);
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("WARN " + twice.url() + " served a bad copy of "
                + bucket + " again, read a second time: ")), lines::toString);
    }

    @Test
    void anArchiveWithoutASourceNeverAsksItAndRetriesTheOthersInstead() throws Exception {
        // a checkpoint read again after the chain check took back the copy the first source served: a passing error
        // of the second must not send the file to the first (its copy, mixed with the second's files, failed at once)
        final FaultyArchiveServer first = server();
        final FaultyArchiveServer second = server();
        second.on(bucket).status(503).status(503);
        try (HistoryArchive archive = archive(FAST, first, second)) {
            final HistoryArchive without = archive.without(List.of(0));
            assertEquals(List.of(second.url()), without.readFrom());
            final HistoryArchive.Fetched<String> got = without.fetch(bucket, TestBuckets.verifier(bucket));
            assertEquals(second.url(), got.source());
            assertEquals(3, got.attempts());
            assertEquals(0, first.requests(bucket), "the source left out was not asked");
            // the archive itself still reads from both, the first first
            assertEquals(first.url(), archive.fetch(bucket, TestBuckets.verifier(bucket)).source());
            // leaving out every source (or none) is the archive itself
            assertSame(archive, archive.without(List.of(0, 1)));
            assertSame(archive, archive.without(List.of()));
        }
    }

    @Test
    void aBodyThatDripsFailsAsTooSlowInsteadOfHoldingTheFetch() throws Exception {
        // 200 bytes/s never trips the 2 s read timeout (an idle timeout) and the bucket would take an hour; under
        // 1 KiB/s over the 10 s window, the transfer fails as transient, and the next attempt is served normally
        final FaultyArchiveServer s = server();
        s.on(bucket).trickle(200);
        try (HistoryArchive archive = archive(FAST, s)) {
            final long start = System.nanoTime();
            final HistoryArchive.Fetched<String> got = archive.fetch(bucket, TestBuckets.verifier(bucket));
            final Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertEquals(TestBuckets.hashOf(bucket), got.value());
            assertEquals(2, got.attempts());
            assertTrue(took.compareTo(Duration.ofSeconds(10)) >= 0 && took.compareTo(Duration.ofSeconds(20)) < 0,
                    "took " + took);
            assertEquals(1, events.stream().filter(e -> e.startsWith("retry")).count(), events.toString());
            assertTrue(retryReasons.stream().anyMatch(r -> r.contains("transfer too slow: ")
                    && r.contains("(under 1024 bytes/s)")), retryReasons.toString());
        }
    }

    @Test
    void aFileFailingItsChecksAfterAContentEncodingSaysSo() throws Exception {
        // a HAS uploaded to S3 gzipped, with Content-Encoding: gzip metadata: no encoding is undone, the JSON parser
        // sees gzip bytes, and the failure names the header that explains it
        final byte[] json = java.nio.file.Files.readAllBytes(root.resolve(ArchivePaths.WELL_KNOWN));
        final java.io.ByteArrayOutputStream gz = new java.io.ByteArrayOutputStream();
        try (java.util.zip.GZIPOutputStream out = new java.util.zip.GZIPOutputStream(gz)) {
            out.write(json);
        }
        final FaultyArchiveServer s = server();
        s.on(ArchivePaths.WELL_KNOWN).body(gz.toByteArray(), "Content-Encoding", "gzip").forever();
        final io.historystreams.verify.VerificationLimits limits =
                io.historystreams.verify.VerificationLimits.defaults();
        try (HistoryArchive archive = archive(FAST, s)) {
            final VerificationException e = assertThrows(VerificationException.class, () -> archive.fetch(
                    ArchivePaths.WELL_KNOWN, in -> io.historystreams.verify.HasVerifier.verify(in,
                            ArchivePaths.WELL_KNOWN, -1, null, limits)));
            assertEquals(FailureReason.MALFORMED_JSON, e.reason(), e.toString());
            assertTrue(e.detail().contains("(the server sent it with Content-Encoding: gzip, which is not undone: "
                    + "archive files must be served as stored (on S3, the object's Content-Encoding metadata))"),
                    e.detail());
        }
        // the usual case: a stored .xdr.gz served with that header is the file as stored, and passes
        s.on(bucket).body(java.nio.file.Files.readAllBytes(root.resolve(bucket)), "Content-Encoding", "gzip");
        try (HistoryArchive archive = archive(FAST, s)) {
            assertEquals(TestBuckets.hashOf(bucket), archive.fetch(bucket, TestBuckets.verifier(bucket)).value());
            assertEquals(1, s.requests(bucket));
        }
    }

    @Test
    void sequentialFetchesReuseOneConnection() throws Exception {
        final FaultyArchiveServer s = server();
        try (HistoryArchive archive = archive(FAST, s)) {
            for (final String p : TestBuckets.all(root).subList(0, 12)) {
                assertEquals(TestBuckets.hashOf(p), archive.fetch(p, TestBuckets.verifier(p)).value());
            }
        }
        assertTrue(s.connectionsAccepted() <= 2, "connections: " + s.connectionsAccepted());
    }

    @Test
    void honoursRetryAfter() throws Exception {
        final FaultyArchiveServer s = server();
        s.on(ArchivePaths.WELL_KNOWN).status(503, "Retry-After", "1");
        try (HistoryArchive archive = archive(FAST, s)) {
            final long start = System.nanoTime();
            archive.fetch(ArchivePaths.WELL_KNOWN, in -> in.readAllBytes().length);
            final Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertTrue(took.compareTo(Duration.ofMillis(950)) >= 0, "took " + took);
            assertTrue(took.compareTo(Duration.ofSeconds(5)) < 0, "took " + took);
        }
    }

    @Test
    void blamesTheSourceThatServedBadBytes() throws Exception {
        final FaultyArchiveServer bad = server();
        final FaultyArchiveServer good = server();
        bad.on(bucket).flipByte(20_000).forever();
        try (HistoryArchive archive = archive(FAST, bad, good)) {
            final HistoryArchive.Fetched<String> got = archive.fetch(bucket, TestBuckets.verifier(bucket));
            assertEquals(TestBuckets.hashOf(bucket), got.value());
            assertEquals(good.url(), got.source());
            assertEquals(List.of(bad.url()), got.blamed());
            assertEquals(2, got.attempts());
            assertTrue(events.stream().anyMatch(e -> e.startsWith("blamed " + bad.url())), events.toString());
            assertEquals(List.of("bad_content " + bad.url()), failedAttempts);
            // The good source is now preferred: the next file goes there first.
            final String other = TestBuckets.all(root).get(1);
            assertEquals(good.url(), archive.fetch(other, TestBuckets.verifier(other)).source());
        }
    }

    @Test
    void aSourceThatLacksAFileStaysTheOneReadFirst() throws Exception {
        // a trial: an honest mirror lacked one file, which a forged mirror served; every file after that came from the
        // forged mirror, and its copies that did not link were blamed on it alone
        final FaultyArchiveServer partial = server();
        final FaultyArchiveServer other = server();
        partial.on(bucket).status(404).forever();
        try (HistoryArchive archive = archive(FAST, partial, other)) {
            assertEquals(other.url(), archive.fetch(bucket, TestBuckets.verifier(bucket)).source());
            final String next = TestBuckets.all(root).get(1);
            assertEquals(partial.url(), archive.fetch(next, TestBuckets.verifier(next)).source());
            assertEquals(0, other.requests(next));
        }
    }

    @Test
    void passingErrorsOfTheFirstSourceDoNotMoveTheOneReadFirstBeingDownDoes() throws Exception {
        // trials: the honest mirror answered one 503, later two close together, while a forged copy was being taken
        // back, and every later read of the checkpoint went to the forged mirror first
        final FaultyArchiveServer first = server();
        final FaultyArchiveServer second = server();
        final List<String> files = TestBuckets.all(root);
        final int down = FAST.maxAttempts();
        assertTrue(files.size() > down + 2, "enough files: " + files.size());
        first.on(files.get(0)).status(503);
        first.on(files.get(1)).status(503);
        try (HistoryArchive archive = archive(FAST, first, second)) {
            assertEquals(second.url(), archive.fetch(files.get(0), TestBuckets.verifier(files.get(0))).source());
            assertEquals(second.url(), archive.fetch(files.get(1), TestBuckets.verifier(files.get(1))).source());
            assertEquals(first.url(), archive.fetch(files.get(2), TestBuckets.verifier(files.get(2))).source());
            assertEquals(0, second.requests(files.get(2)));
            // failing again and again (down): the other source is read first from then on
            for (int i = 3; i < 3 + down; i++) {
                first.on(files.get(i)).status(503);
                assertEquals(second.url(), archive.fetch(files.get(i), TestBuckets.verifier(files.get(i))).source());
            }
            final String after = files.get(3 + down);
            assertEquals(second.url(), archive.fetch(after, TestBuckets.verifier(after)).source());
            assertEquals(0, first.requests(after));
        }
    }

    @Test
    void aSourceTakenAsDownIsAskedAgainOnceInAWhileAndReadFirstOnceItAnswers() throws Exception {
        // an honest mirror that was down stayed after the other source until that one failed
        final Duration every = Duration.ofMillis(1500);
        final FaultyArchiveServer first = server();
        final FaultyArchiveServer second = server();
        final List<String> files = TestBuckets.all(root);
        final int down = FAST.maxAttempts();
        assertTrue(files.size() > down + 6, "enough files: " + files.size());
        try (HistoryArchive archive = archive(FAST.withDownRecheck(every), first, second)) {
            assertEquals(java.util.Collections.nCopies(down, second.url()), takeDown(archive, first, files));
            assertEquals(List.of(first.url()), archive.sourcesDown());
            // down: not asked again before the recheck is due
            final String soon = files.get(down);
            assertEquals(second.url(), archive.fetch(soon, TestBuckets.verifier(soon)).source());
            assertEquals(0, first.requests(soon));
            // due: the next fetch's file is asked of it apart from the fetch, which reads the other source at once
            Thread.sleep(every.toMillis() + 100);
            final String rechecked = files.get(down + 1);
            first.on(rechecked).status(503).forever();
            final HistoryArchive.Fetched<?> f = archive.fetch(rechecked, TestBuckets.verifier(rechecked));
            assertEquals(second.url(), f.source());
            assertEquals(1, f.attempts());
            assertTrue(Waits.until(() -> first.requests(rechecked) == 1, TEN_S), "rechecked");
            final String after = files.get(down + 2);
            assertEquals(second.url(), archive.fetch(after, TestBuckets.verifier(after)).source());
            assertEquals(0, first.requests(after), "the next recheck is due later");
            assertEquals(List.of(first.url()), archive.sourcesDown());
            // due again, and the source answers: read first from then on
            Thread.sleep(every.toMillis() + 100);
            final String answered = files.get(down + 3);
            assertEquals(second.url(), archive.fetch(answered, TestBuckets.verifier(answered)).source());
            assertTrue(Waits.until(() -> archive.sourcesDown().isEmpty(), TEN_S), "answered");
            assertEquals(1, first.requests(answered));
            for (int i = down + 4; i < down + 7; i++) {
                final String file = files.get(i);
                assertEquals(first.url(), archive.fetch(file, TestBuckets.verifier(file)).source(), file);
                assertEquals(0, second.requests(file), file);
            }
        }
    }

    @Test
    void aSourceTakenAsDownAndAnsweringAgainIsSaidOnceEach() throws Exception {
        // a trial: nothing said when a source was taken as down or when it answered again
        final FaultyArchiveServer first = server();
        final FaultyArchiveServer second = server();
        final List<String> files = TestBuckets.all(root);
        final int down = FAST.maxAttempts();
        try (HistoryArchive archive = archive(FAST.withDownRecheck(Duration.ofHours(1)), first, second)) {
            final List<String> said = io.historystreams.testing.Logs.during(HistoryArchive.class, () -> {
                for (int i = 0; i < down + 2; i++) {
                    first.on(files.get(i)).status(503);
                    archive.fetch(files.get(i), TestBuckets.verifier(files.get(i)));
                }
                // what /metrics shows of it (history_source_failures_in_a_row)
                assertTrue(HistoryArchive.failuresInARowOf(first.url()) >= down);
                assertEquals(0, HistoryArchive.failuresInARowOf(second.url()));
                // the other source fails: the file is read from the one taken as down, which answers
                final String file = files.get(down + 2);
                second.on(file).status(503).forever();
                assertEquals(first.url(), archive.fetch(file, TestBuckets.verifier(file)).source());
                assertEquals(0, HistoryArchive.failuresInARowOf(first.url()));
            }).stream().filter(e -> e.getLevel() == ch.qos.logback.classic.Level.WARN)
                    .map(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage).toList();
            assertEquals(List.of(first.url() + " is taken as down (" + down + " transient failures in a row): it is "
                    + "read after the other sources, and asked again every 3600 s", first.url() + ", taken as down, "
                    + "answers again"), said);
        }
    }

    @Test
    void aSourceThatDoesNotAnswerInTimeIsTakenAsDownAtOnce() throws Exception {
        // each attempt at a source that hangs waits out the read timeout: a trial's verify with a hanging first
        // mirror waited four of them at its start, and a tail one per file, before six in a row took it as down
        final FaultyArchiveServer first = server();
        final FaultyArchiveServer second = server();
        final List<String> files = TestBuckets.all(root).subList(0, 4);
        files.forEach(f -> first.on(f).hang().forever());
        try (HistoryArchive archive = archive(FAST.withDownRecheck(Duration.ofHours(1)), first, second)) {
            final List<String> said = io.historystreams.testing.Logs.during(HistoryArchive.class, () -> {
                final HistoryArchive.Fetched<?> f = archive.fetch(files.get(0), TestBuckets.verifier(files.get(0)));
                assertEquals(second.url(), f.source());
                assertEquals(2, f.attempts());
                assertEquals(List.of(first.url()), archive.sourcesDown());
                for (final String file : files.subList(1, files.size())) {
                    final HistoryArchive.Fetched<?> g = archive.fetch(file, TestBuckets.verifier(file));
                    assertEquals(second.url(), g.source(), file);
                    assertEquals(1, g.attempts(), file);
                    assertEquals(0, first.requests(file), file);
                }
            }).stream().filter(e -> e.getLevel() == ch.qos.logback.classic.Level.WARN)
                    .map(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage).toList();
            assertEquals(List.of(first.url() + " is taken as down (it did not answer in time: each request to it waits "
                    + "out a timeout): it is read after the other sources, and asked again every 3600 s"), said);
        }
    }

    @Test
    void aRecheckAsksForTheFileTheSourceFailedOn() throws Exception {
        // a mirror that hangs on buckets only was found back by each recheck of an idle tail, which asked for the
        // root state it serves, and cost every checkpoint after a read timeout (a trial)
        downThenRechecked(script -> script.hang().forever(), (archive, file) -> archive.fetch(file,
                TestBuckets.verifier(file)), (archive, first, second, files) -> {
                    assertEquals(0, first.requests(files.get(1)));
                    Thread.sleep(OPTS.readTimeout().toMillis() + 500); // the recheck hung too
                    assertEquals(List.of(first.url()), archive.sourcesDown(), "still down");
                });
    }

    @Test
    void aSourceTakenAsDownByAHedgedReadIsFoundBackOnlyWhenItAnswersInTime() throws Exception {
        // a mirror answering its root state in 7 s was taken as down by tail's hedged poll, found back by each
        // recheck (which waits out the read timeout), and taken as down again at the next poll (trial 83)
        downThenRechecked(script -> script.delay(Duration.ofMillis(1500)).forever(),
                (archive, file) -> archive.fetchHedged(file, TestBuckets.verifier(file), Duration.ofMillis(300)),
                (archive, first, second, files) -> {
                    Thread.sleep(2_000); // the recheck's answer came, too late
                    assertEquals(List.of(first.url()), archive.sourcesDown(), "still down");
                    // answering in time again: found back by the next recheck
                    first.clearFaults();
                    final String third = files.get(2);
                    assertEquals(second.url(), archive.fetch(third, TestBuckets.verifier(third)).source());
                    assertTrue(Waits.until(() -> archive.sourcesDown().isEmpty(), TEN_S),
                            archive.sourcesDown()::toString);
                });
    }

    /**
     * Two servers of the test archive, the first with {@code fault} on the first bucket file, read with a recheck
     * every 100 ms: {@code takeDown} reads that file (from the second, the first taken as down); once a recheck is due
     * the next file is read (from the second), and the recheck asks the first for the faulted file. Then {@code after}.
     */
    private void downThenRechecked(final java.util.function.Consumer<FaultyArchiveServer.Script> fault,
            final Read takeDown, final AfterRecheck after) throws Exception {
        final FaultyArchiveServer first = server();
        final FaultyArchiveServer second = server();
        final List<String> files = TestBuckets.all(root);
        final String faulted = files.get(0);
        fault.accept(first.on(faulted));
        try (HistoryArchive archive = archive(FAST.withDownRecheck(Duration.ofMillis(100)), first, second)) {
            assertEquals(second.url(), takeDown.read(archive, faulted).source());
            assertEquals(List.of(first.url()), archive.sourcesDown());
            Thread.sleep(200); // a recheck is due
            final String next = files.get(1);
            assertEquals(second.url(), archive.fetch(next, TestBuckets.verifier(next)).source());
            assertTrue(Waits.until(() -> first.requests(faulted) == 2, TEN_S), "the recheck asked for the file");
            after.check(archive, first, second, files);
        }
    }

    @FunctionalInterface
    private interface Read {
        HistoryArchive.Fetched<?> read(HistoryArchive archive, String file) throws Exception;
    }

    @FunctionalInterface
    private interface AfterRecheck {
        void check(HistoryArchive archive, FaultyArchiveServer first, FaultyArchiveServer second, List<String> files)
                throws Exception;
    }

    @Test
    void theRecheckIntervalIsSaidInMillisecondsBelowAWholeSecond() {
        // a sub-second fetch.down.recheck.ms was said as "asked again every 0 s"
        assertEquals("250 ms", HistoryArchive.every(Duration.ofMillis(250)));
        assertEquals("1500 ms", HistoryArchive.every(Duration.ofMillis(1500)));
        assertEquals("30 s", HistoryArchive.every(Duration.ofSeconds(30)));
    }

    @Test
    void aSourceTakenAsDownIsDownForEveryArchiveOfTheProcessThatReadsItUntilTheyAreClosed() throws Exception {
        // a trial's tail: its pipeline took a hanging mirror as down, and its polls of the root state (another
        // archive of the same sources) each waited a read timeout until they had counted six failures of their own
        final FaultyArchiveServer first = server();
        final FaultyArchiveServer second = server();
        final List<String> files = TestBuckets.all(root);
        final int down = FAST.maxAttempts();
        final RetryPolicy policy = FAST.withDownRecheck(Duration.ofHours(1));
        try (HistoryArchive pipeline = archive(policy, first, second);
                HistoryArchive polls = archive(policy, first, second);
                HistoryArchive otherOrder = archive(policy, second, first)) {
            final List<String> said = io.historystreams.testing.Logs.during(HistoryArchive.class, () -> {
                for (int i = 0; i < down; i++) {
                    first.on(files.get(i)).status(503);
                    assertEquals(second.url(), pipeline.fetch(files.get(i), TestBuckets.verifier(files.get(i)))
                            .source());
                }
                final String next = files.get(down);
                assertEquals(second.url(), polls.fetch(next, TestBuckets.verifier(next)).source());
                assertEquals(0, first.requests(next), "not asked by the other archive either");
                assertEquals(List.of(first.url()), polls.sourcesDown());
                assertEquals(List.of(first.url()), otherOrder.sourcesDown());
            }).stream().filter(e -> e.getLevel() == ch.qos.logback.classic.Level.WARN)
                    .map(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage).toList();
            assertEquals(1, said.size(), said::toString);
        }
        // closed: a source of that name later starts afresh
        try (HistoryArchive later = archive(policy, first, second)) {
            assertEquals(List.of(), later.sourcesDown());
            final String file = files.get(down + 1);
            assertEquals(first.url(), later.fetch(file, TestBuckets.verifier(file)).source());
        }
    }

    @Test
    void aRecheckReadsTheStartOfTheBodyNotTheHeadersAlone() throws Exception {
        // a trial: a mirror that sent its headers and then stalled was found back at every recheck, and down again
        // six fetches later: 21 s per checkpoint instead of 2
        final Duration every = Duration.ofMillis(300);
        final FaultyArchiveServer first = server();
        final FaultyArchiveServer second = server();
        final List<String> files = TestBuckets.all(root);
        final int down = FAST.maxAttempts();
        try (HistoryArchive archive = archive(FAST.withDownRecheck(every), first, second)) {
            takeDown(archive, first, files);
            Thread.sleep(every.toMillis() + 100);
            final String cut = files.get(down);
            first.on(cut).reset(100).forever();
            assertEquals(second.url(), archive.fetch(cut, TestBuckets.verifier(cut)).source());
            assertTrue(Waits.until(() -> first.requests(cut) == 1, TEN_S), "rechecked");
            Thread.sleep(500);
            assertEquals(List.of(first.url()), archive.sourcesDown(), "a body cut short is no answer");
        }
    }

    @Test
    void eachSourceTakenAsDownIsRecheckedOnItsOwn() throws Exception {
        // a trial: with two of three mirrors down, only the first was rechecked, and the second, back, got no request
        final Duration every = Duration.ofMillis(300);
        final FaultyArchiveServer a = server();
        final FaultyArchiveServer b = server();
        final FaultyArchiveServer c = server();
        final List<String> files = TestBuckets.all(root);
        final int down = FAST.maxAttempts();
        try (HistoryArchive archive = archive(FAST.withDownRecheck(every), a, b, c)) {
            for (int i = 0; i < down; i++) {
                a.on(files.get(i)).status(503);
                b.on(files.get(i)).status(503);
                archive.fetch(files.get(i), TestBuckets.verifier(files.get(i)));
            }
            assertEquals(List.of(a.url(), b.url()), archive.sourcesDown());
            Thread.sleep(every.toMillis() + 100);
            final String file = files.get(down);
            a.on(file).status(503).forever();
            assertEquals(c.url(), archive.fetch(file, TestBuckets.verifier(file)).source());
            assertTrue(Waits.until(() -> archive.sourcesDown().equals(List.of(a.url())), TEN_S), archive::toString);
            assertEquals(1, b.requests(file), "b rechecked");
            final String next = files.get(down + 1);
            assertEquals(b.url(), archive.fetch(next, TestBuckets.verifier(next)).source());
        }
    }

    @Test
    void aSourceTakenAsDownThatNowLacksTheFileIsReadFirstAgain() throws Exception {
        final Duration every = Duration.ofMillis(300);
        final FaultyArchiveServer first = server();
        final FaultyArchiveServer second = server();
        final List<String> files = TestBuckets.all(root);
        final int down = FAST.maxAttempts();
        assertTrue(files.size() > down + 3, "enough files: " + files.size());
        try (HistoryArchive archive = archive(FAST.withDownRecheck(every), first, second)) {
            assertEquals(java.util.Collections.nCopies(down, second.url()), takeDown(archive, first, files));
            Thread.sleep(every.toMillis() + 100);
            final String lacking = files.get(down);
            first.on(lacking).status(404).forever();
            assertEquals(second.url(), archive.fetch(lacking, TestBuckets.verifier(lacking)).source());
            assertTrue(Waits.until(() -> archive.sourcesDown().isEmpty(), TEN_S), "answered");
            final String next = files.get(down + 1);
            assertEquals(first.url(), archive.fetch(next, TestBuckets.verifier(next)).source());
            assertEquals(0, second.requests(next));
        }
    }

    @Test
    void aSourceFoundBackByTheRecheckOfAViewIsReadFirstByTheArchiveToo() throws Exception {
        // a view (a checkpoint read without a source whose copy was taken back) rechecks too; the source is no
        // longer down then, so the archive itself would not recheck it, and kept reading the later one first
        final Duration every = Duration.ofMillis(300);
        final FaultyArchiveServer first = server();
        final FaultyArchiveServer second = server();
        final FaultyArchiveServer third = server();
        final List<String> files = TestBuckets.all(root);
        final int down = FAST.maxAttempts();
        try (HistoryArchive archive = archive(FAST.withDownRecheck(every), first, second, third)) {
            assertEquals(java.util.Collections.nCopies(down, second.url()), takeDown(archive, first, files));
            final HistoryArchive view = archive.without(List.of(2));
            Thread.sleep(every.toMillis() + 100);
            final String viaView = files.get(down);
            assertEquals(second.url(), view.fetch(viaView, TestBuckets.verifier(viaView)).source());
            assertTrue(Waits.until(() -> archive.sourcesDown().isEmpty(), TEN_S), "answered");
            final String next = files.get(down + 1);
            assertEquals(first.url(), archive.fetch(next, TestBuckets.verifier(next)).source());
        }
    }

    @Test
    void aRecheckOfASourceThatHangsDoesNotHoldTheFetch() throws Exception {
        // a trial: asked first within the fetch, a mirror that accepted connections and never answered cost every
        // recheck a read timeout, and a tail polled every 40-70 s instead of every 10 s
        final Duration every = Duration.ofMillis(200);
        final FaultyArchiveServer first = server();
        final FaultyArchiveServer second = server();
        final List<String> files = TestBuckets.all(root);
        final int down = FAST.maxAttempts();
        try (HistoryArchive archive = archive(FAST.withDownRecheck(every), first, second)) {
            takeDown(archive, first, files);
            Thread.sleep(every.toMillis() + 100);
            final String stalled = files.get(down);
            first.hold(stalled);
            try {
                final long t0 = System.nanoTime();
                assertEquals(second.url(), archive.fetch(stalled, TestBuckets.verifier(stalled)).source());
                assertTrue(Waits.until(() -> first.requests(stalled) == 1, TEN_S), "rechecked");
                // while the recheck waits, later fetches read the other source and start no other recheck
                Thread.sleep(every.toMillis() + 100);
                for (int i = down + 1; i < down + 4; i++) {
                    assertEquals(second.url(), archive.fetch(files.get(i), TestBuckets.verifier(files.get(i)))
                            .source());
                    assertEquals(0, first.requests(files.get(i)));
                }
                assertTrue(System.nanoTime() - t0 < OPTS.readTimeout().toNanos(), "not held by the recheck");
            } finally {
                first.release();
            }
        }
    }

    @Test
    void bothSourcesBadNamesBoth() throws Exception {
        final FaultyArchiveServer a = server();
        final FaultyArchiveServer b = server();
        a.on(bucket).flipByte(20_000).forever();
        b.on(bucket).flipByte(30_000).forever();
        try (HistoryArchive archive = archive(FAST, a, b)) {
            final VerificationException e = assertThrows(VerificationException.class,
                    () -> archive.fetch(bucket, TestBuckets.verifier(bucket)));
            assertTrue(Set.of(FailureReason.BUCKET_HASH_MISMATCH, FailureReason.CORRUPT_GZIP).contains(e.reason()),
                    e.toString());
            assertTrue(e.getMessage().contains(a.url()) && e.getMessage().contains(b.url()), e.getMessage());
            assertTrue(Set.of(a.url(), b.url()).contains(e.source()), e.toString());
            assertEquals(bucket, e.file());
            // One content retry per source: each served the file twice.
            assertEquals(2, a.requests(bucket));
            assertEquals(2, b.requests(bucket));
        }
    }

    @Test
    void missingEverywhereIsMissingFile() throws Exception {
        final FaultyArchiveServer a = server();
        final FaultyArchiveServer b = server();
        final String scp = "scp/ff/ff/ff/scp-ffffffff.xdr.gz";
        try (HistoryArchive archive = archive(FAST, a, b)) {
            final VerificationException e = assertThrows(VerificationException.class,
                    () -> archive.fetch(scp, in -> in.readAllBytes()));
            assertEquals(FailureReason.MISSING_FILE, e.reason());
            assertEquals(scp, e.file());
            assertTrue(e.getMessage().startsWith("not present in any source: "), e.getMessage());
            assertTrue(e.getMessage().contains(a.url()) && e.getMessage().contains(b.url()), e.getMessage());
            assertEquals(1, a.requests(scp));
            assertEquals(1, b.requests(scp));
        }
    }

    /**
     * Makes {@code source} down for {@code archive}: it answers 503 to each of the first {@code fetch.max.attempts}
     * files, each fetched once; returns the sources that served them.
     */
    private static List<String> takeDown(final HistoryArchive archive, final FaultyArchiveServer source,
            final List<String> files) throws VerificationException {
        final List<String> served = new ArrayList<>();
        for (int i = 0; i < archive.retryPolicy().maxAttempts(); i++) {
            source.on(files.get(i)).status(503);
            served.add(archive.fetch(files.get(i), TestBuckets.verifier(files.get(i))).source());
        }
        return served;
    }

    /** An http:// root on a loopback port that refuses connections (bound, then closed). */
    private static String deadUrl() throws IOException {
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return "http://127.0.0.1:" + probe.getLocalPort() + "/";
        }
    }

    @Test
    void downMirrorDoesNotHideThatTheOtherSourceHasNoSuchFile() throws Exception {
        // The user trial: a mirror that refuses connections, and a real archive without SCP files (pubnet-genesis).
        final String dead = deadUrl();
        final Path genesis = Fixtures.pubnetGenesis();
        final String scp = ArchivePaths.checkpointFile(FileType.SCP, 63);
        final String dir = genesis.toAbsolutePath().toString();
        try (HistoryArchive archive = HistoryArchive.open(List.of(dead, genesis.toString()), OPTS, FAST, recorder)) {
            final VerificationException e = assertThrows(VerificationException.class,
                    () -> archive.fetch(scp, in -> in.readAllBytes()));
            assertEquals(FailureReason.MISSING_FILE, e.reason(), e.toString());
            assertEquals(scp, e.file());
            assertEquals(dir, e.source());
            // The detail still names the unreachable mirror, its error, and its attempts (fetch.max.attempts).
            assertTrue(e.getMessage().startsWith("not present in " + dir + "; no answer from " + dead + " " + scp
                    + ": "), e.getMessage());
            assertTrue(e.getMessage().contains("Connection refused"), e.getMessage());
            assertTrue(e.getMessage().endsWith(" after 6 attempts"), e.getMessage());
            assertEquals(1, events.stream().filter(ev -> ev.equals("notPresent " + dir)).count(), events.toString());
            assertTrue(failedAttempts.contains("not_present " + dir), failedAttempts.toString());
            assertEquals(6, failedAttempts.stream().filter(("transient " + dead)::equals).count(),
                    failedAttempts.toString());
        }
    }

    @Test
    void downMirrorLeavesAnAbsentScpFileOptionalInVerification() throws Exception {
        // The same through the verifier (what `verify` runs): the checkpoint verifies, its SCP file absent.
        final String dead = deadUrl();
        final Path genesis = Fixtures.pubnetGenesis();
        final List<CheckpointOutcome> outcomes = new ArrayList<>();
        try (HistoryArchive archive = HistoryArchive.open(List.of(dead, genesis.toString()), OPTS, FAST, recorder);
                ArchiveVerifier verifier = new ArchiveVerifier(archive, ArchiveVerifier.Options.defaults(null))) {
            final ArchiveVerifier.Summary summary = verifier.verify(List.of(63L), outcomes::add);
            assertTrue(summary.allVerified(), outcomes.toString());
        }
        final FileOutcome scp = outcomes.get(0).files().stream().filter(f -> f.type() == FileType.SCP).findFirst()
                .orElseThrow();
        assertEquals(FileOutcome.Status.ABSENT, scp.status(), scp.toString());
    }

    @Test
    void downMirrorAndA404IsMissingFileForARequiredFileToo() throws Exception {
        final String dead = deadUrl();
        final FaultyArchiveServer s = server();
        s.on(bucket).status(404).forever();
        try (HistoryArchive archive = HistoryArchive.open(List.of(s.url(), dead), OPTS, FAST.withMaxAttempts(3),
                recorder)) {
            final VerificationException e = assertThrows(VerificationException.class,
                    () -> archive.fetch(bucket, TestBuckets.verifier(bucket)));
            assertEquals(FailureReason.MISSING_FILE, e.reason(), e.toString());
            assertEquals(s.url(), e.source());
            assertTrue(e.getMessage().startsWith("not present in " + s.url() + "; no answer from " + dead),
                    e.getMessage());
            assertTrue(e.getMessage().endsWith(" after 3 attempts"), e.getMessage());
            // A definitive 404 is asked once; the unreachable mirror gets all its attempts (a backoff between each).
            assertEquals(1, s.requests(bucket));
            assertEquals(2, events.stream().filter(ev -> ev.equals("retry " + dead)).count(), events.toString());
        }
    }

    @Test
    void aMirrorTakenAsDownCostsLaterAbsentFilesOneRequestAndIsUsedAgainWhenItAnswers() throws Exception {
        // An archive without SCP files behind a down mirror: the first absent file establishes that the mirror is
        // down (a full round of retries); the later ones ask it once, without a backoff.
        final FaultyArchiveServer missing = server();
        final FaultyArchiveServer down = server();
        final List<String> files = TestBuckets.all(root).subList(0, 4);
        for (final String f : files) {
            missing.on(f).status(404).forever();
        }
        for (final String f : files.subList(0, 3)) {
            down.on(f).status(503).forever();
        }
        try (HistoryArchive archive = HistoryArchive.open(List.of(missing.url(), down.url()), OPTS,
                FAST.withMaxAttempts(3), recorder)) {
            final VerificationException first = assertThrows(VerificationException.class,
                    () -> archive.fetch(files.get(0), TestBuckets.verifier(files.get(0))));
            assertEquals(FailureReason.MISSING_FILE, first.reason(), first.toString());
            assertEquals(3, down.requests(files.get(0)));
            assertEquals(2, events.stream().filter(ev -> ev.equals("retry " + down.url())).count(), events.toString());
            for (final String f : files.subList(1, 3)) {
                events.clear();
                final VerificationException e = assertThrows(VerificationException.class,
                        () -> archive.fetch(f, TestBuckets.verifier(f)));
                assertEquals(FailureReason.MISSING_FILE, e.reason(), e.toString());
                assertEquals(missing.url(), e.source());
                assertEquals(1, down.requests(f));
                assertEquals(0, events.stream().filter(ev -> ev.startsWith("retry")).count(), events.toString());
                assertTrue(e.getMessage().startsWith("not present in " + missing.url() + "; no answer from "
                        + down.url() + " " + f + ": HTTP 503"), e.getMessage());
                assertTrue(e.getMessage().contains(" after 1 attempt (taken as down: no answer to its last "),
                        e.getMessage());
            }
            // The mirror is back for the fourth file: its one request is served, and it is no longer down.
            final String back = files.get(3);
            final HistoryArchive.Fetched<String> got = archive.fetch(back, TestBuckets.verifier(back));
            assertEquals(down.url(), got.source());
            assertEquals(TestBuckets.hashOf(back), got.value());
            down.clearFaults();
            down.on(files.get(0)).status(503);
            final HistoryArchive.Fetched<String> again = archive.fetch(files.get(0),
                    TestBuckets.verifier(files.get(0)));
            // Not down any more: a single 503 is retried (and served), not taken as down.
            assertEquals(down.url(), again.source());
        }
    }

    @Test
    void downMirrorAndA404AndARefusalIsMissingFileNamingAll() throws Exception {
        final String dead = deadUrl();
        final FaultyArchiveServer missing = server();
        final FaultyArchiveServer refusing = server();
        missing.on(bucket).status(404).forever();
        refusing.on(bucket).status(400).forever(); // a refusal (a 403 is absent: S3)
        try (HistoryArchive archive = HistoryArchive.open(List.of(dead, missing.url(), refusing.url()), OPTS, FAST,
                recorder)) {
            final VerificationException e = assertThrows(VerificationException.class,
                    () -> archive.fetch(bucket, TestBuckets.verifier(bucket)));
            assertEquals(FailureReason.MISSING_FILE, e.reason(), e.toString());
            assertEquals(missing.url(), e.source());
            assertTrue(e.getMessage().contains(dead) && e.getMessage().contains("HTTP 400"), e.getMessage());
        }
    }

    @Test
    void everySourceUnreachableStaysFetchFailed() throws Exception {
        final String a = deadUrl();
        final String b = deadUrl();
        try (HistoryArchive archive = HistoryArchive.open(List.of(a, b), OPTS, FAST, recorder)) {
            final VerificationException e = assertThrows(VerificationException.class,
                    () -> archive.fetch(bucket, TestBuckets.verifier(bucket)));
            assertEquals(FailureReason.FETCH_FAILED, e.reason(), e.toString());
            assertEquals(a + ", " + b, e.source());
            assertTrue(e.getMessage().contains("Connection refused") && e.getMessage().endsWith("after 6 attempts"),
                    e.getMessage());
        }
    }

    @Test
    void attemptsInAFetchFailureCountTheTransientFailuresOnly() throws Exception {
        // fetch.max.attempts bounds the transient failures; a refusal from another source is not one of them.
        final FaultyArchiveServer failing = server();
        final FaultyArchiveServer refusing = server();
        failing.on(bucket).status(503).forever();
        refusing.on(bucket).status(400).forever(); // a refusal (a 403 is absent: S3)
        try (HistoryArchive archive = archive(FAST.withMaxAttempts(4), refusing, failing)) {
            final VerificationException e = assertThrows(VerificationException.class,
                    () -> archive.fetch(bucket, TestBuckets.verifier(bucket)));
            assertEquals(FailureReason.FETCH_FAILED, e.reason(), e.toString());
            assertTrue(e.getMessage().startsWith(failing.url() + " " + bucket + ": HTTP 503"), e.getMessage());
            assertTrue(e.getMessage().contains(" after 4 attempts; refused: "), e.getMessage());
            assertEquals(4, failing.requests(bucket));
            assertEquals(1, refusing.requests(bucket));
        }
    }

    @Test
    void permanentTransientErrorsFailAfterMaxAttempts() throws Exception {
        final FaultyArchiveServer s = server();
        s.on(bucket).status(503).forever();
        try (HistoryArchive archive = archive(FAST.withMaxAttempts(4), s)) {
            final VerificationException e = assertThrows(VerificationException.class,
                    () -> archive.fetch(bucket, TestBuckets.verifier(bucket)));
            assertEquals(FailureReason.FETCH_FAILED, e.reason());
            assertTrue(e.getMessage().contains("HTTP 503") && e.getMessage().endsWith("after 4 attempts"),
                    e.getMessage());
            assertEquals(4, s.requests(bucket));
        }
    }

    @Test
    void transientFailuresAlternateBetweenSources() throws Exception {
        final FaultyArchiveServer a = server();
        final FaultyArchiveServer b = server();
        a.on(bucket).status(503).forever();
        b.on(bucket).status(500).status(502);
        try (HistoryArchive archive = archive(FAST, a, b)) {
            final HistoryArchive.Fetched<String> got = archive.fetch(bucket, TestBuckets.verifier(bucket));
            assertEquals(b.url(), got.source());
            assertEquals(6, got.attempts());
            assertEquals(3, a.requests(bucket));
            assertEquals(3, b.requests(bucket));
        }
    }

    @Test
    void everySourceRefusingIsFetchRefused() throws Exception {
        final FaultyArchiveServer a = server();
        final FaultyArchiveServer b = server();
        a.on(bucket).status(400).forever();
        b.on(bucket).status(401).forever();
        try (HistoryArchive archive = archive(FAST, a, b)) {
            final VerificationException e = assertThrows(VerificationException.class,
                    () -> archive.fetch(bucket, TestBuckets.verifier(bucket)));
            assertEquals(FailureReason.FETCH_REFUSED, e.reason());
            assertTrue(e.getMessage().contains("HTTP 400") && e.getMessage().contains("HTTP 401"), e.getMessage());
            assertEquals(1, a.requests(bucket));
            assertEquals(1, b.requests(bucket));
        }
    }

    @Test
    void failsOverFromDirectoryToHttp(@TempDir final Path empty) throws Exception {
        final FaultyArchiveServer s = server();
        try (HistoryArchive archive = HistoryArchive.open(List.of(empty.toString(), s.url()), OPTS, FAST,
                recorder)) {
            assertEquals(List.of(empty.toAbsolutePath().toString(), s.url()), archive.sourceNames());
            final HistoryArchive.Fetched<String> got = archive.fetch(bucket, TestBuckets.verifier(bucket));
            assertEquals(s.url(), got.source());
            assertTrue(events.contains("notPresent " + empty.toAbsolutePath()), events.toString());
        }
    }

    @Test
    void cutShortBodyIsNotBlamedEvenWhenTheReaderCallsItCorrupt() throws Exception {
        final FaultyArchiveServer s = server();
        s.on(bucket).truncate(10_000);
        final HistoryArchive.BodyReader<String> sloppy = in -> {
            try {
                return TestBuckets.sha256Gunzipped(in, bucket);
            } catch (final IOException e) {
                throw new VerificationException(FailureReason.CORRUPT_GZIP, bucket, "unreadable: " + e, e);
            }
        };
        try (HistoryArchive archive = archive(FAST, s)) {
            final HistoryArchive.Fetched<String> got = archive.fetch(bucket, sloppy);
            assertEquals(TestBuckets.hashOf(bucket), got.value());
            assertEquals(List.of(), got.blamed());
            assertEquals(2, got.attempts());
        }
    }

    @Test
    void nonRetryableContentFailureStopsAtOnce() throws Exception {
        final FaultyArchiveServer a = server();
        final FaultyArchiveServer b = server();
        try (HistoryArchive archive = archive(FAST, a, b)) {
            final VerificationException e = assertThrows(VerificationException.class,
                    () -> archive.fetch(ArchivePaths.WELL_KNOWN, in -> {
                        in.readAllBytes();
                        throw new VerificationException(FailureReason.WRONG_NETWORK, null, "passphrase differs");
                    }));
            assertEquals(FailureReason.WRONG_NETWORK, e.reason());
            assertEquals(ArchivePaths.WELL_KNOWN, e.file());
            assertEquals(a.url(), e.source());
            assertEquals(1, a.requests(ArchivePaths.WELL_KNOWN) + b.requests(ArchivePaths.WELL_KNOWN));
        }
    }

    @Test
    void interruptedThreadStopsPromptly() throws Exception {
        final FaultyArchiveServer s = server();
        s.on(bucket).status(503, "Retry-After", "60").forever();
        final RetryPolicy slow = new RetryPolicy(6, Duration.ofSeconds(10), Duration.ofSeconds(30),
                Duration.ofSeconds(120));
        try (HistoryArchive archive = archive(slow, s)) {
            final AtomicReference<Object> outcome = new AtomicReference<>();
            final Thread t = new Thread(() -> {
                try {
                    archive.fetch(bucket, TestBuckets.verifier(bucket));
                    outcome.set("returned");
                } catch (final VerificationException e) {
                    outcome.set(List.of(e, Thread.currentThread().isInterrupted()));
                }
            });
            t.start();
            while (s.requests(bucket) == 0) {
                Thread.sleep(5);
            }
            Thread.sleep(100);
            final long start = System.nanoTime();
            t.interrupt();
            t.join(5_000);
            assertFalse(t.isAlive(), "fetch did not stop on interrupt");
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(2));
            final List<?> result = (List<?>) outcome.get();
            final VerificationException e = (VerificationException) result.get(0);
            assertEquals(FailureReason.FETCH_FAILED, e.reason());
            assertTrue(e.getMessage().startsWith("interrupted"), e.getMessage());
            assertEquals(Boolean.TRUE, result.get(1), "interrupt flag not restored");
        }
        Thread.currentThread().interrupt();
        try (HistoryArchive archive = archive(FAST, s)) {
            final VerificationException e = assertThrows(VerificationException.class,
                    () -> archive.fetch(bucket, TestBuckets.verifier(bucket)));
            assertEquals("interrupted", e.getMessage());
            assertTrue(Thread.interrupted());
        }
    }

    @Test
    void manyThreadsFetchConcurrently() throws Exception {
        final FaultyArchiveServer a = server();
        final FaultyArchiveServer b = server();
        final List<String> buckets = TestBuckets.all(root).subList(0, 48);
        for (int i = 0; i < buckets.size(); i++) {
            final String p = buckets.get(i);
            switch (i % 4) {
                case 0 -> a.on(p).status(503).reset();
                case 1 -> a.on(p).flipByte(100).forever();
                case 2 -> b.on(p).truncate(50).status(429, "Retry-After", "0");
                default -> { }
            }
        }
        final ExecutorService pool = Executors.newFixedThreadPool(16);
        try (HistoryArchive archive = archive(FAST, a, b)) {
            final List<Future<HistoryArchive.Fetched<String>>> futures = new ArrayList<>();
            for (final String p : buckets) {
                futures.add(pool.submit(() -> archive.fetch(p, TestBuckets.verifier(p))));
            }
            for (int i = 0; i < buckets.size(); i++) {
                final HistoryArchive.Fetched<String> got = futures.get(i).get(30, TimeUnit.SECONDS);
                assertEquals(TestBuckets.hashOf(buckets.get(i)), got.value());
                if (i % 4 == 1) {
                    assertTrue(got.blamed().isEmpty() || got.blamed().equals(List.of(a.url())), got.toString());
                }
            }
        } finally {
            pool.shutdownNow();
            assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
        }
    }
}
