package io.historystreams.publish;

import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.FetchObserver;
import io.historystreams.archive.FileType;
import io.historystreams.archive.RetryPolicy;
import io.historystreams.archive.SourceOptions;
import io.historystreams.blob.BlobStore;
import io.historystreams.blob.LocalBlobStore;
import io.historystreams.cli.Main;
import io.historystreams.events.CheckpointPublished;
import io.historystreams.events.CheckpointVerified;
import io.historystreams.events.FileRef;
import io.historystreams.topology.PipelineContext;
import io.historystreams.topology.VerifiedCheckpoints;
import io.historystreams.testing.Fixtures;
import io.historystreams.verify.VerificationLimits;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import static io.historystreams.publish.CommandArchiveWriter.shellQuote;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Publishing real verified checkpoints of testnet-small to real targets, then verifying the targets. */
class CheckpointPublisherTest {
    private static VerifiedCheckpoints v;

    @TempDir
    Path tmp;

    @BeforeAll
    static void verifyTestnetSmall() throws Exception {
        v = VerifiedCheckpoints.testnetSmall();
        assertEquals(157, v.checkpoints.size());
    }

    @Test
    void publishesAllOfTestnetSmallToADirectoryThatVerifiesAndRepeatsWriteNothing() throws Exception {
        final Path target = tmp.resolve("target");
        try (ArchiveWriter w = ArchiveWriters.open(target.toString(), Map.of("fsync", "false"))) {
            final CheckpointPublisher p = new CheckpointPublisher(w, v.ctx, tmp);
            long written = 0;
            for (final CheckpointVerified cp : v.checkpoints) {
                final CheckpointPublished e = p.publish(cp);
                assertEquals(cp.getCheckpoint(), e.getCheckpoint());
                assertEquals(w.name(), e.getTarget());
                assertTrue(e.getWritten().contains(ArchivePaths.WELL_KNOWN), "root advances with " + cp.getCheckpoint());
                assertTrue(e.getWritten().contains(ArchivePaths.has(cp.getCheckpoint())));
                written += e.getWritten().size();
            }
            assertEquals(written, p.filesWritten());
            assertVerifies(target);
            assertTargetIsCopyOfSource(target, v.checkpoints);
            assertArrayEquals(Files.readAllBytes(v.source.resolve(ArchivePaths.WELL_KNOWN)),
                    Files.readAllBytes(target.resolve(ArchivePaths.WELL_KNOWN)), "root state equals the source's");

            final long skippedBefore = p.filesSkipped();
            for (final CheckpointVerified cp : v.checkpoints) {
                final CheckpointPublished e = p.publish(cp);
                assertEquals(List.of(), e.getWritten(), "second publish of " + cp.getCheckpoint());
                assertEquals(cp.getFiles().size() + 1, e.getSkipped().size());
            }
            assertEquals(written, p.filesWritten(), "nothing written the second time");
            assertTrue(p.filesSkipped() > skippedBefore);
        }
    }

    @Test
    void aCheckpointVerifiedAfterAnotherCopyFailedItsLinkIsWrittenOverTheTargetsFiles() throws Exception {
        // the target holds another copy's files (published, then taken back when found not to link): a checkpoint
        // whose verdict says so replaces them; any other checkpoint skips what the target has, as archives are
        // write-once
        final Path target = tmp.resolve("target");
        final CheckpointVerified cp = v.checkpoints.get(3);
        final String ledger = ArchivePaths.checkpointFile(FileType.LEDGER, cp.getCheckpoint());
        try (ArchiveWriter w = ArchiveWriters.open(target.toString(), Map.of("fsync", "false"))) {
            final CheckpointPublisher p = new CheckpointPublisher(w, v.ctx, tmp);
            for (final CheckpointVerified c : v.checkpoints.subList(0, 4)) {
                p.publish(c);
            }
            final byte[] honest = Files.readAllBytes(target.resolve(ledger));
            final byte[] other = Files.readAllBytes(target.resolve(ArchivePaths.checkpointFile(FileType.LEDGER,
                    v.checkpoints.get(2).getCheckpoint())));
            Files.write(target.resolve(ledger), other);

            assertEquals(List.of(), p.publish(cp).getWritten(), "present files are skipped");
            assertArrayEquals(other, Files.readAllBytes(target.resolve(ledger)));

            final CheckpointPublished replaced = p.publish(CheckpointVerified.newBuilder(cp).setOtherCopyRefused(true)
                    .build());
            assertArrayEquals(honest, Files.readAllBytes(target.resolve(ledger)));
            assertTrue(replaced.getWritten().contains(ledger), replaced.getWritten()::toString);
            assertTrue(replaced.getWritten().contains(ArchivePaths.has(cp.getCheckpoint())),
                    replaced.getWritten()::toString);
            assertTrue(replaced.getWritten().stream().noneMatch(f -> f.startsWith("bucket/")),
                    "buckets are named by their hash: " + replaced.getWritten());
            assertVerifies(target);
        }
    }

    @Test
    void publishesThroughCommandTemplates() throws Exception {
        final Path target = Files.createDirectories(tmp.resolve("cmd-target"));
        final List<CheckpointVerified> ten = v.first(10);
        try (ArchiveWriter w = ArchiveWriters.open(cpSpec(target, "cp"), Map.of())) {
            final CheckpointPublisher p = new CheckpointPublisher(w, v.ctx, tmp);
            for (final CheckpointVerified cp : ten) {
                p.publish(cp);
            }
            for (final CheckpointVerified cp : ten) {
                assertEquals(List.of(), p.publish(cp).getWritten());
            }
        }
        assertVerifies(target);
        assertTargetIsCopyOfSource(target, ten);
    }

    @Test
    void publishesToNginxWebDav() throws Exception {
        final Path base = Files.createDirectories(tmp.resolve("dav"));
        final List<CheckpointVerified> six = v.first(6);
        try (NginxDav nginx = NginxDav.start(base.resolve("root"))) {
            final Path root = Files.createDirectories(nginx.root.resolve("archive"));
            try (ArchiveWriter w = ArchiveWriters.open(nginx.uri().resolve("/archive/").toString(), Map.of())) {
                final CheckpointPublisher p = new CheckpointPublisher(w, v.ctx, tmp);
                for (final CheckpointVerified cp : six) {
                    p.publish(cp);
                }
                assertEquals(List.of(), p.publish(six.get(5)).getWritten());
            }
            assertVerifies(root);
            assertTargetIsCopyOfSource(root, six);
        }
    }

    @Test
    void retriesATargetThatFailsTheFirstCommandsAndCompletes() throws Exception {
        final Path target = Files.createDirectories(tmp.resolve("flaky"));
        // Puts of a step run concurrently: each invocation leaves its own file and counts them, so exactly the
        // first five invocations fail, however they interleave (a read-increment-write counter loses increments).
        final Path calls = Files.createDirectories(tmp.resolve("calls"));
        final Path script = Files.writeString(tmp.resolve("flaky-put.sh"), """
                mktemp -p %1$s >/dev/null; n=$(ls %1$s | wc -l)
                if [ "$n" -le 5 ]; then echo "simulated outage $n" >&2; exit 1; fi
                exec cp "$1" "$2"
                """.formatted(shellQuote(calls.toString())));
        final String t = shellQuote(target.toString());
        final String spec = "cmd:put=sh " + shellQuote(script.toString()) + " {0} " + t + "/{1};mkdir=mkdir -p " + t
                + "/{0};exists=test -f " + t + "/{0};get=cp " + t + "/{0} {1};rename=mv " + t + "/{0} " + t + "/{1}";
        final List<CheckpointVerified> three = v.first(3);
        try (ArchiveWriter w = ArchiveWriters.open(spec, Map.of("retries", "8", "retryDelayMs", "1",
                "retryMaxDelayMs", "5"))) {
            final CheckpointPublisher p = new CheckpointPublisher(w, v.ctx, tmp);
            for (final CheckpointVerified cp : three) {
                p.publish(cp);
            }
        }
        try (var l = Files.list(calls)) {
            assertTrue(l.count() > 5, "the failing invocations happened");
        }
        assertVerifies(target);
        assertTargetIsCopyOfSource(target, three);
    }

    /** Records when each put starts and ends (with a delay, so puts of a step overlap when they can). */
    private static class SlowRecordingWriter implements ArchiveWriter {
        private final ArchiveWriter delegate;
        final List<String[]> events = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        final java.util.concurrent.atomic.AtomicInteger inFlight = new java.util.concurrent.atomic.AtomicInteger();
        final java.util.concurrent.atomic.AtomicInteger maxInFlight = new java.util.concurrent.atomic.AtomicInteger();

        SlowRecordingWriter(final ArchiveWriter delegate) {
            this.delegate = delegate;
        }

        @Override
        public String name() {
            return delegate.name();
        }

        @Override
        public boolean exists(final String path) throws PublishException {
            return delegate.exists(path);
        }

        @Override
        public void put(final String path, final Path localFile) throws PublishException {
            events.add(new String[] {"start", path});
            maxInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
            try {
                Thread.sleep(20);
                delegate.put(path, localFile);
            } catch (final InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new PublishException("interrupted", true, e);
            } finally {
                inFlight.decrementAndGet();
                events.add(new String[] {"end", path});
            }
        }

        @Override
        public java.util.Optional<byte[]> readSmall(final String path) throws PublishException {
            return delegate.readSmall(path);
        }

        @Override
        public void putRootState(final byte[] json) throws PublishException {
            events.add(new String[] {"start", ArchivePaths.WELL_KNOWN});
            delegate.putRootState(json);
            events.add(new String[] {"end", ArchivePaths.WELL_KNOWN});
        }
    }

    /** stellar-core's order: buckets, then data files, then the checkpoint's HAS, then the root; overlap within a step. */
    @Test
    void putsTheFilesOfAStepAtOnceButNeverStartAStepBeforeThePreviousEnded() throws Exception {
        final Path target = tmp.resolve("ordered");
        final CheckpointVerified cp = v.checkpoints.stream().filter(c -> c.getFiles().stream()
                .filter(f -> f.getPath().startsWith("bucket/")).count() > 2).findFirst().orElseThrow();
        try (ArchiveWriter local = ArchiveWriters.open(target.toString(), Map.of("fsync", "false"))) {
            final SlowRecordingWriter w = new SlowRecordingWriter(local);
            final CheckpointPublisher p = new CheckpointPublisher(w, v.ctx, tmp);
            p.publish(cp);
            final java.util.function.ToIntFunction<String> step = path -> path.startsWith("bucket/") ? 0
                    : path.equals(ArchivePaths.WELL_KNOWN) ? 3 : path.startsWith("history/") ? 2 : 1;
            int highestEnded = -1;
            int highestStarted = -1;
            final java.util.Set<String> open = new java.util.HashSet<>();
            for (final String[] e : w.events) {
                final int s = step.applyAsInt(e[1]);
                if (e[0].equals("start")) {
                    assertTrue(s >= highestStarted, e[1] + " started after a later step's file");
                    if (s > highestStarted) {
                        assertTrue(open.isEmpty(), e[1] + " started while " + open + " of an earlier step were open");
                    }
                    highestStarted = s;
                    open.add(e[1]);
                } else {
                    open.remove(e[1]);
                    highestEnded = Math.max(highestEnded, s);
                }
            }
            assertEquals(3, highestEnded, "the root was written last");
            assertTrue(w.maxInFlight.get() > 1, "puts of one step overlap: at most " + w.maxInFlight.get());
            assertTrue(w.maxInFlight.get() <= CheckpointPublisher.FILES_IN_FLIGHT);
        }
        assertTargetIsCopyOfSource(target, List.of(cp));
    }

    /**
     * {@code prepare} sends the files of the checkpoints about to be published together, and each checkpoint still
     * waits for every one of its own files before its HAS, and its HAS before the root; a file that several of them
     * list is put once, reported written by the first and skipped by the others.
     */
    @Test
    void preparedFilesGoOutTogetherAndEachCheckpointStillWaitsForItsOwn() throws Exception {
        final Path target = tmp.resolve("prepared");
        final List<CheckpointVerified> cps = v.checkpoints.subList(0, 4);
        try (ArchiveWriter local = ArchiveWriters.open(target.toString(), Map.of("fsync", "false"))) {
            final SlowRecordingWriter w = new SlowRecordingWriter(local);
            final CheckpointPublisher p = new CheckpointPublisher(w, v.ctx, tmp);
            p.prepare(cps);
            final List<CheckpointPublished> events = new java.util.ArrayList<>();
            for (final CheckpointVerified cp : cps) {
                events.add(p.publish(cp));
            }
            p.forgetPrepared();
            final List<String[]> log = List.copyOf(w.events);
            final java.util.function.BiFunction<String, String, Integer> at = (kind, path) -> {
                for (int i = 0; i < log.size(); i++) {
                    if (log.get(i)[0].equals(kind) && log.get(i)[1].equals(path)) {
                        return i;
                    }
                }
                return -1;
            };
            final java.util.Map<String, Long> starts = new java.util.HashMap<>();
            log.stream().filter(e -> e[0].equals("start") && !e[1].equals(ArchivePaths.WELL_KNOWN))
                    .forEach(e -> starts.merge(e[1], 1L, Long::sum));
            starts.forEach((path, n) -> assertEquals(1L, n, path + " put once"));
            final java.util.Map<String, Integer> writtenBy = new java.util.HashMap<>();
            int earlierRoot = -1;
            for (int i = 0; i < cps.size(); i++) {
                final CheckpointVerified cp = cps.get(i);
                final String has = ArchivePaths.has(cp.getCheckpoint());
                final int hasStart = at.apply("start", has);
                assertTrue(hasStart >= 0, has + " put");
                for (final FileRef f : cp.getFiles()) {
                    final int end = at.apply("end", f.getPath());
                    if (!f.getPath().equals(has) && end >= 0) {
                        assertTrue(end < hasStart, f.getPath() + " ended before " + has + " started");
                    }
                }
                for (final String written : events.get(i).getWritten()) {
                    if (!written.equals(ArchivePaths.WELL_KNOWN)) {
                        assertEquals(null, writtenBy.put(written, i), written + " reported written twice");
                    }
                }
                assertEquals(cp.getFiles().size() + 1L, events.get(i).getWritten().size()
                        + events.get(i).getSkipped().size(), "every file and the root reported once");
                final int rootStart = log.subList(hasStart, log.size()).stream().map(e -> e[0] + e[1]).toList()
                        .indexOf("start" + ArchivePaths.WELL_KNOWN);
                assertTrue(rootStart > 0 && hasStart > earlierRoot, "root after the HAS, in checkpoint order");
                earlierRoot = hasStart + rootStart;
            }
            assertEquals(starts.keySet(), writtenBy.keySet(), "what was put is what was reported written");
            // the point of preparing: the next checkpoints' files were on their way before the first one was done
            final int firstRoot = at.apply("start", ArchivePaths.WELL_KNOWN);
            final Set<String> later = new java.util.HashSet<>();
            cps.subList(1, cps.size()).forEach(c -> c.getFiles().forEach(f -> later.add(f.getPath())));
            cps.get(0).getFiles().forEach(f -> later.remove(f.getPath()));
            assertTrue(log.subList(0, firstRoot).stream().anyMatch(e -> later.contains(e[1])),
                    "a later checkpoint's file was put before the first checkpoint's root");
        }
        assertVerifies(target);
        assertTargetIsCopyOfSource(target, cps);
    }

    /**
     * A prepared put that fails is its checkpoint's attempt at the file: publish fails with its error (retryable),
     * and the next attempt puts the file again.
     */
    @Test
    void aFailedPreparedPutFailsItsCheckpointsAttemptAndTheNextAttemptPutsItAgain() throws Exception {
        final Path target = tmp.resolve("prepared-failing");
        final List<CheckpointVerified> cps = v.checkpoints.subList(0, 2);
        final String tx = ArchivePaths.checkpointFile(FileType.TRANSACTIONS, cps.get(1).getCheckpoint());
        try (ArchiveWriter local = ArchiveWriters.open(target.toString(), Map.of("fsync", "false"))) {
            final java.util.concurrent.atomic.AtomicInteger failures = new java.util.concurrent.atomic.AtomicInteger();
            final ArchiveWriter w = new SlowRecordingWriter(local) {
                @Override
                public void put(final String path, final Path localFile) throws PublishException {
                    if (path.equals(tx) && failures.getAndIncrement() == 0) {
                        throw new PublishException("simulated outage for " + path, true, null);
                    }
                    super.put(path, localFile);
                }
            };
            final CheckpointPublisher p = new CheckpointPublisher(w, v.ctx, tmp);
            p.prepare(cps);
            p.publish(cps.get(0));
            final PublishException e = assertThrows(PublishException.class, () -> p.publish(cps.get(1)));
            assertTrue(e.retryable() && e.getMessage().contains(tx), e.getMessage());
            assertEquals(1, failures.get(), "the prepared put was the attempt");
            assertFalse(Files.exists(target.resolve(ArchivePaths.has(cps.get(1).getCheckpoint()))), "no HAS yet");
            final CheckpointPublished second = p.publish(cps.get(1));
            p.forgetPrepared();
            assertEquals(2, failures.get(), "the next attempt put it again");
            assertTrue(second.getWritten().contains(tx), second.getWritten().toString());
        }
        assertVerifies(target);
        assertTargetIsCopyOfSource(target, cps);
    }

    @Test
    void aTargetFailingMidCheckpointNeverGetsARootNamingIt() throws Exception {
        final Path target = Files.createDirectories(tmp.resolve("broken"));
        final Path flag = tmp.resolve("repaired");
        final Path script = Files.writeString(tmp.resolve("put.sh"), """
                case "$2" in
                  */transactions/*) [ -e %s ] || { echo "transactions bucket unavailable" >&2; exit 1; } ;;
                esac
                exec cp "$1" "$2"
                """.formatted(shellQuote(flag.toString())));
        final String t = shellQuote(target.toString());
        // no rename template: cp writes straight to the final name, so a failure must leave no file there at all
        final String spec = "cmd:put=sh " + shellQuote(script.toString()) + " {0} " + t + "/{1};mkdir=mkdir -p " + t
                + "/{0};exists=test -f " + t + "/{0};get=cp " + t + "/{0} {1}";
        final CheckpointVerified first = v.checkpoints.get(0);
        final CheckpointVerified second = v.checkpoints.get(1);
        try (ArchiveWriter w = ArchiveWriters.open(spec, Map.of("retries", "2", "retryDelayMs", "1"))) {
            final CheckpointPublisher p = new CheckpointPublisher(w, v.ctx, tmp);
            Files.createFile(flag);
            p.publish(first);
            Files.delete(flag);
            final PublishException e = assertThrows(PublishException.class, () -> p.publish(second));
            assertTrue(e.retryable(), e.getMessage());
            final String tx = ArchivePaths.checkpointFile(FileType.TRANSACTIONS, second.getCheckpoint());
            assertTrue(e.getMessage().contains(tx), e.getMessage());
            assertFalse(Files.exists(target.resolve(tx)), "no file under the final name " + tx);
            assertFalse(Files.exists(target.resolve(ArchivePaths.has(second.getCheckpoint()))));
            assertArrayEquals(Files.readAllBytes(v.source.resolve(ArchivePaths.has(first.getCheckpoint()))),
                    Files.readAllBytes(target.resolve(ArchivePaths.WELL_KNOWN)), "root still names the first");
            assertVerifies(target);

            Files.createFile(flag);
            final CheckpointPublished done = p.publish(second);
            assertTrue(done.getWritten().contains(tx));
            assertTrue(done.getWritten().contains(ArchivePaths.WELL_KNOWN));
            assertTrue(done.getSkipped().contains(ArchivePaths.checkpointFile(FileType.LEDGER,
                    second.getCheckpoint())), "files published before the failure are not written again");
        }
        assertVerifies(target);
        assertTargetIsCopyOfSource(target, List.of(first, second));
    }

    @Test
    void aCorruptBlobIsNeverPublishedButFetchedAgainFromItsSource() throws Exception {
        final CheckpointVerified cp = v.checkpoints.get(2);
        final LocalBlobStore store = copyBlobs(cp, tmp.resolve("blobs"));
        final String ledger = ArchivePaths.checkpointFile(FileType.LEDGER, cp.getCheckpoint());
        final FileRef ref = file(cp, ledger);
        final Path blob = store.file(ref.getBlobRef()).orElseThrow();
        final byte[] original = Files.readAllBytes(blob);
        final byte[] bytes = original.clone();
        bytes[bytes.length / 2] ^= 0x40;
        Files.write(blob, bytes); // in place, as a tool writing through a mirror's hard link to it would
        // its source is gone as well: refused, nothing of the checkpoint published
        final CheckpointVerified sourceGone = CheckpointVerified.newBuilder(cp).setFiles(cp.getFiles().stream()
                .map(f -> FileRef.newBuilder(f).setSource(tmp.resolve("gone").toString()).build()).toList()).build();
        final Path target = tmp.resolve("corrupt-target");
        try (PipelineContext ctx = context(store);
             ArchiveWriter w = ArchiveWriters.open(target.toString(), Map.of("fsync", "false"))) {
            final PublishException e = assertThrows(PublishException.class,
                    () -> new CheckpointPublisher(w, ctx, tmp).publish(sourceGone));
            assertFalse(e.retryable());
            assertTrue(e.getMessage().contains(ledger) && e.getMessage().contains("re-fetching them from the source "
                    + "failed"), e.getMessage());
        }
        // its source is down (connections refused): retried later, as a target that is down is (it was given up at
        // once, "a failure retrying cannot fix", and the target blamed)
        final int closed;
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closed = socket.getLocalPort();
        }
        final CheckpointVerified sourceDown = CheckpointVerified.newBuilder(cp).setFiles(cp.getFiles().stream()
                .map(f -> FileRef.newBuilder(f).setSource("http://127.0.0.1:" + closed + "/").build()).toList())
                .build();
        try (PipelineContext ctx = context(store);
             ArchiveWriter w = ArchiveWriters.open(tmp.resolve("down-target").toString(), Map.of("fsync", "false"))) {
            final PublishException e = assertThrows(PublishException.class,
                    () -> new CheckpointPublisher(w, ctx, tmp).publish(sourceDown));
            assertTrue(e.retryable(), e::getMessage);
            assertTrue(e.getMessage().contains("Connection refused) after 2 attempts"), e.getMessage());
        }
        assertFalse(Files.exists(target.resolve(ledger)));
        assertFalse(Files.exists(target.resolve(ArchivePaths.has(cp.getCheckpoint()))));
        assertFalse(Files.exists(target.resolve(ArchivePaths.WELL_KNOWN)));
        // with its source there, the changed blob is dropped and fetched again (it was refused for good, and the
        // error said to fix the target)
        Files.write(blob, bytes);
        try (PipelineContext ctx = context(store);
             ArchiveWriter w = ArchiveWriters.open(target.toString(), Map.of("fsync", "false"))) {
            final List<ch.qos.logback.classic.spi.ILoggingEvent> logs = io.historystreams.testing.Logs.during(
                    CheckpointPublisher.class, () -> {
                        final CheckpointPublisher p = new CheckpointPublisher(w, ctx, tmp);
                        p.publish(cp);
                        assertTrue(p.releaseRoot(), "0xbf alone: its root waited for 0x3f and 0x7f");
                    });
            assertTrue(logs.stream().anyMatch(e -> e.getFormattedMessage().contains("the verified copy of " + ledger
                    + " in the blob store has SHA-256")), logs::toString);
        }
        assertArrayEquals(original, Files.readAllBytes(target.resolve(ledger)));
        assertTargetIsCopyOfSource(target, List.of(cp));
    }

    @Test
    void aBlobMissingFromTheStoreIsRefetchedFromItsSourceAndChecked() throws Exception {
        final CheckpointVerified cp = v.checkpoints.get(0);
        final LocalBlobStore store = copyBlobs(cp, tmp.resolve("blobs"));
        final String results = ArchivePaths.checkpointFile(FileType.RESULTS, cp.getCheckpoint());
        assertTrue(store.delete(file(cp, results).getBlobRef()));
        final Path target = tmp.resolve("refetch-target");
        try (PipelineContext ctx = context(store);
             ArchiveWriter w = ArchiveWriters.open(target.toString(), Map.of("fsync", "false"))) {
            final CheckpointPublished e = new CheckpointPublisher(w, ctx, tmp).publish(cp);
            assertTrue(e.getWritten().contains(results));
        }
        assertTargetIsCopyOfSource(target, List.of(cp));
        assertVerifies(target);
        // the copy fetched again is readable as the other files are (it was 0600: a web server could not serve it)
        assertEquals(Files.getPosixFilePermissions(target.resolve(ArchivePaths.WELL_KNOWN)),
                Files.getPosixFilePermissions(target.resolve(results)));
        assertEquals(Files.getPosixFilePermissions(target.resolve(ArchivePaths.has(cp.getCheckpoint()))),
                Files.getPosixFilePermissions(target.resolve(results)));
    }

    // ---- helpers

    static String cpSpec(final Path target, final String put) {
        final String t = shellQuote(target.toString());
        return "cmd:put=" + put + " {0} " + t + "/{1};mkdir=mkdir -p " + t + "/{0};exists=test -f " + t
                + "/{0};get=cp " + t + "/{0} {1};rename=mv " + t + "/{0} " + t + "/{1}";
    }

    /** A publisher of {@code cps} (0x3f..0xff) to {@code w} but 0x7f, which never comes: the root waits at 0x3f. */
    private CheckpointPublisher publishedWithout0x7f(final ArchiveWriter w, final Path target,
            final List<CheckpointVerified> cps) throws Exception {
        final CheckpointPublisher p = new CheckpointPublisher(w, v.ctx, tmp);
        p.publish(cps.get(0));
        p.publish(cps.get(2));
        p.publish(cps.get(3));
        assertEquals(0x3f, root(target));
        return p;
    }

    /** The WARN lines of the publisher while {@code action} runs. */
    private static List<String> warned(final io.historystreams.testing.Logs.Action action) throws Exception {
        return io.historystreams.testing.Logs.during(CheckpointPublisher.class, action).stream()
                .filter(e -> e.getLevel() == ch.qos.logback.classic.Level.WARN)
                .map(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage).toList();
    }

    /** The target's root state's currentLedger, or -1 when it has none. */
    static long root(final Path target) throws Exception {
        final Path file = target.resolve(ArchivePaths.WELL_KNOWN);
        return Files.exists(file) ? io.historystreams.verify.HistoryArchiveState.parse(Files.readAllBytes(file),
                ArchivePaths.WELL_KNOWN).currentLedger() : -1;
    }

    @Test
    void theRootStateNeverNamesACheckpointWithOneMissingBelowIt() throws Exception {
        // published out of order (a checkpoint verified late, or on a partition read later): the root named the
        // highest one published while those below it were missing (a reader found 37 missing during an ingest)
        final List<CheckpointVerified> cps = v.first(4); // 0x3f, 0x7f, 0xbf, 0xff
        final Path target = tmp.resolve("ordered");
        try (ArchiveWriter w = ArchiveWriters.open(target.toString(), Map.of("fsync", "false"))) {
            final CheckpointPublisher p = new CheckpointPublisher(w, v.ctx, tmp);
            assertFalse(p.publish(cps.get(2)).getWritten().contains(ArchivePaths.WELL_KNOWN));
            assertEquals(-1, root(target), "0xbf waits for 0x3f and 0x7f");
            assertTrue(p.rootWaiting());
            p.publish(cps.get(0));
            assertEquals(0x3f, root(target));
            final CheckpointPublished filled = p.publish(cps.get(1));
            assertTrue(filled.getWritten().contains(ArchivePaths.WELL_KNOWN));
            assertEquals(0xbf, root(target), "0x7f filled the gap: the root takes 0xbf, published before it");
            assertFalse(p.rootWaiting());
            p.publish(cps.get(3));
            assertEquals(0xff, root(target));
        }
        assertVerifies(target);

        // a checkpoint that never comes (it failed): the root waits until released, which names the gap
        final Path gap = tmp.resolve("gap");
        try (ArchiveWriter w = ArchiveWriters.open(gap.toString(), Map.of("fsync", "false"))) {
            final CheckpointPublisher p = publishedWithout0x7f(w, gap, cps);
            final List<String> warned = warned(() -> assertTrue(p.releaseRoot()));
            assertEquals(0xff, root(gap));
            assertTrue(warned.stream().anyMatch(l -> l.contains("lacks 1 checkpoint(s) below it (0000007f)")),
                    warned::toString);
            assertTrue(p.rootPassed().contains("lacks 1 checkpoint(s) below it (0000007f)"), p.rootPassed());
            assertFalse(p.releaseRoot(), "nothing waits any more");
            assertEquals(null, p.rootPassed(), "said of the root state last written");
        }

        // a job whose range starts above what the target holds: the root does not pass the checkpoints between, which
        // were not the job's to publish (a trial: the root named 10047 over 46 checkpoints the mirror lacked, exit 0)
        final Path below = tmp.resolve("below");
        try (ArchiveWriter w = ArchiveWriters.open(below.toString(), Map.of("fsync", "false"))) {
            final CheckpointPublisher p = publishedWithout0x7f(w, below, cps);
            final List<String> warned = warned(() -> assertFalse(p.releaseRoot(0xbf)));
            assertEquals(0x3f, root(below));
            assertTrue(warned.stream().anyMatch(l -> l.endsWith(": the root state stays at checkpoint 0000003f: the "
                    + "target lacks checkpoint 0000007f below this run's range (from 000000bf), which the run did not "
                    + "publish; publishing the checkpoints between them (ingest or replay with --publish-to) lets it "
                    + "move on to 000000ff")), warned::toString);
            // once they are published it does
            p.publish(cps.get(1));
            assertEquals(0xff, root(below));
        }
        assertVerifies(below);

        // a mirror that starts mid-archive: nothing below its first checkpoint is missing for it
        final Path partial = tmp.resolve("partial");
        try (ArchiveWriter w = ArchiveWriters.open(partial.toString(), Map.of("fsync", "false"))) {
            final CheckpointPublisher p = new CheckpointPublisher(w, v.ctx, tmp);
            p.publish(cps.get(2));
            p.publish(cps.get(3));
            assertEquals(-1, root(partial));
            final List<ch.qos.logback.classic.spi.ILoggingEvent> logs = io.historystreams.testing.Logs.during(
                    CheckpointPublisher.class, () -> assertTrue(p.releaseRoot()));
            assertEquals(0xff, root(partial));
            assertTrue(logs.stream().noneMatch(e -> e.getLevel() == ch.qos.logback.classic.Level.WARN), logs::toString);
        }

        // files an earlier run left (its root never written): found on the target, and the root takes them in
        try (ArchiveWriter w = ArchiveWriters.open(partial.toString(), Map.of("fsync", "false"))) {
            Files.delete(partial.resolve(ArchivePaths.WELL_KNOWN));
            final CheckpointPublisher p = new CheckpointPublisher(w, v.ctx, tmp);
            p.publish(cps.get(0));
            assertEquals(0x3f, root(partial), "0x7f is still missing");
            // 0xbf and 0xff were published, but not here (a run before, whose root waited for the checkpoints below
            // them): the root moves over them, with 0xff's own state file from the target (it stopped at 0x7f, and
            // the command that had published everything said so)
            p.publish(cps.get(1));
            assertEquals(0xff, root(partial));
            assertEquals(0xff, p.lastRootLedger(), "the gauge follows the root written");
            assertArrayEquals(Files.readAllBytes(partial.resolve(ArchivePaths.has(0xff))),
                    Files.readAllBytes(partial.resolve(ArchivePaths.WELL_KNOWN)));
        }
        assertVerifies(partial);

        // a state file on the target that is not the checkpoint's own: the root does not move over it
        final Path odd = tmp.resolve("odd");
        try (ArchiveWriter w = ArchiveWriters.open(odd.toString(), Map.of("fsync", "false"))) {
            final CheckpointPublisher first = new CheckpointPublisher(w, v.ctx, tmp);
            first.publish(cps.get(2));
            Files.copy(odd.resolve(ArchivePaths.has(0xbf)), odd.resolve(ArchivePaths.has(0xff)).getParent()
                    .resolve("history-000000ff.json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            final CheckpointPublisher p = new CheckpointPublisher(w, v.ctx, tmp);
            p.publish(cps.get(0));
            final List<ch.qos.logback.classic.spi.ILoggingEvent> logs = io.historystreams.testing.Logs.during(
                    CheckpointPublisher.class, () -> p.publish(cps.get(1)));
            assertEquals(0x7f, root(odd), "0xbf is not here's, and 0xff's state file names 0xbf");
            assertTrue(logs.stream().anyMatch(e -> e.getFormattedMessage().contains("history-000000ff.json on the "
                    + "target is not the state file of checkpoint 000000ff")), logs::toString);
        }
    }

    @Test
    void anArchiveOfAnotherNetworkIsNotPublishedInto() throws Exception {
        // a pubnet mirror (or the wrong directory): testnet's files went in next to pubnet's, exit 0 (a root state of
        // another network's passphrase stands for it here)
        final Path target = tmp.resolve("pubnet-mirror");
        Files.createDirectories(target.resolve(".well-known"));
        final String testnetRoot = Files.readString(v.source.resolve(ArchivePaths.WELL_KNOWN));
        assertTrue(testnetRoot.contains("Test SDF Network ; September 2015"), testnetRoot);
        Files.writeString(target.resolve(ArchivePaths.WELL_KNOWN), testnetRoot.replace(
                "Test SDF Network ; September 2015", "Public Global Stellar Network ; September 2015"));
        try (ArchiveWriter w = ArchiveWriters.open(target.toString(), Map.of("fsync", "false"))) {
            final CheckpointPublisher p = new CheckpointPublisher(w, v.ctx, tmp);
            // the files put ahead of their checkpoints went in before the refusal (21 of them in a trial)
            p.prepare(v.checkpoints.subList(0, 3));
            final PublishException e = assertThrows(PublishException.class, () -> p.publish(v.checkpoints.get(0)));
            p.forgetPrepared();
            assertFalse(e.retryable());
            assertTrue(e.getMessage().contains("the target holds an archive of another network (its root state says "
                    + "\"Public Global Stellar Network ; September 2015\")"), e.getMessage());
        }
        try (Stream<Path> files = Files.walk(target)) {
            assertEquals(1, files.filter(Files::isRegularFile).count(), "nothing written next to the root state");
        }
    }

    @Test
    void anotherArchiveWithTheSamePassphraseIsNotPublishedInto() throws Exception {
        // a mirror of an earlier testnet (a reset keeps the passphrase) or of pubnet's first ledgers (their state files
        // name no network): its files were skipped unchecked, the rest written beside them and the root moved over
        // them, exit 0, and `verify` of the mirror then found the chain broken where the two met
        final CheckpointVerified first = v.checkpoints.get(0);
        final String hasPath = ArchivePaths.has(first.getCheckpoint());
        final Path target = tmp.resolve("genesis-mirror");
        Files.createDirectories(target.resolve(hasPath).getParent());
        Files.copy(Fixtures.pubnetGenesis().resolve(hasPath), target.resolve(hasPath));
        try (ArchiveWriter w = ArchiveWriters.open(target.toString(), Map.of("fsync", "false"))) {
            final PublishException e = assertThrows(PublishException.class,
                    () -> new CheckpointPublisher(w, v.ctx, tmp).publish(first));
            assertFalse(e.retryable());
            assertTrue(e.getMessage().contains("the target holds another archive: its " + hasPath
                    + " is not the verified state of checkpoint 0000003f"), e.getMessage());
        }
        try (Stream<Path> files = Files.walk(target)) {
            assertEquals(1, files.filter(Files::isRegularFile).count(), "nothing written next to it");
        }
        // the same checkpoint's state written by another validator of this network (its own server string) is this
        // archive's: kept as it is, and the rest published
        final Path other = tmp.resolve("other-validator");
        Files.createDirectories(other.resolve(hasPath).getParent());
        final String has = Files.readString(v.source.resolve(hasPath));
        final String rewritten = has.replaceFirst("\"server\": *\"[^\"]*\"", "\"server\": \"another validator\"");
        assertFalse(rewritten.equals(has), "the fixture's state file names its server");
        Files.writeString(other.resolve(hasPath), rewritten);
        try (ArchiveWriter w = ArchiveWriters.open(other.toString(), Map.of("fsync", "false"))) {
            final CheckpointPublished e = new CheckpointPublisher(w, v.ctx, tmp).publish(first);
            assertTrue(e.getSkipped().contains(hasPath), () -> "skipped: " + e.getSkipped());
            assertTrue(e.getWritten().contains(ArchivePaths.WELL_KNOWN));
        }
        assertEquals(rewritten, Files.readString(other.resolve(hasPath)));
    }

    @Test
    void aMirrorOfAnEarlierTestnetGetsNothingEvenWhereTheCheckpointsDoNotMeet() throws Exception {
        // a copy of testnet-p24-hot (testnet after its December 2025 reset; root 0x7f): the checkpoints put ahead, and
        // those published before one met its state file, were written into it (510 files in a trial), and a range
        // above its root was published whole, its root moved over the gap
        final Path target = tmp.resolve("p24-mirror");
        copyTree(Fixtures.testnetP24Hot(), target);
        final long before = countFiles(target);
        try (ArchiveWriter w = ArchiveWriters.open(target.toString(), Map.of("fsync", "false"))) {
            final CheckpointPublisher p = new CheckpointPublisher(w, v.ctx, tmp);
            p.prepare(v.checkpoints.subList(2, 6));
            final PublishException e = assertThrows(PublishException.class, () -> p.publish(v.checkpoints.get(2)));
            p.forgetPrepared();
            assertFalse(e.retryable());
            assertTrue(e.getMessage().contains("the target holds another archive: its root state (checkpoint "
                    + "0000007f"), e.getMessage());
        }
        assertEquals(before, countFiles(target), "nothing written into the other archive");
    }

    static void copyTree(final Path from, final Path to) throws Exception {
        try (Stream<Path> s = Files.walk(from)) {
            for (final Path p : s.toList()) {
                final Path dest = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(dest);
                } else {
                    Files.copy(p, dest);
                }
            }
        }
    }

    private static long countFiles(final Path dir) throws Exception {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).count();
        }
    }

    static void assertVerifies(final Path target) {
        assertEquals(0, Main.run("verify", "--archive", target.toString(), "--quiet"), "verify " + target);
    }

    /**
     * The target holds exactly the files of {@code cps} and the root state, each byte-identical to the source's
     * file of the same path; the root is the HAS of the last checkpoint. No temporaries are left.
     */
    static void assertTargetIsCopyOfSource(final Path target, final List<CheckpointVerified> cps) throws Exception {
        final Set<String> expected = new TreeSet<>();
        for (final CheckpointVerified cp : cps) {
            cp.getFiles().forEach(f -> expected.add(f.getPath()));
        }
        expected.add(ArchivePaths.WELL_KNOWN);
        final Set<String> actual = new TreeSet<>();
        try (Stream<Path> s = Files.walk(target)) {
            s.filter(Files::isRegularFile).forEach(f -> actual.add(target.relativize(f).toString()));
        }
        assertEquals(expected, actual, "exactly the published files, no temporaries");
        for (final String p : actual) {
            final String sourcePath = p.equals(ArchivePaths.WELL_KNOWN)
                    ? ArchivePaths.has(cps.get(cps.size() - 1).getCheckpoint()) : p;
            assertArrayEquals(Files.readAllBytes(Fixtures.testnetSmall().resolve(sourcePath)),
                    Files.readAllBytes(target.resolve(p)),
                    "content of " + p);
        }
    }

    static FileRef file(final CheckpointVerified cp, final String path) {
        return cp.getFiles().stream().filter(f -> f.getPath().equals(path)).findFirst().orElseThrow();
    }

    /** A fresh blob store holding copies of the blobs of {@code cp}. */
    static LocalBlobStore copyBlobs(final CheckpointVerified cp, final Path dir) throws Exception {
        final LocalBlobStore store = new LocalBlobStore(dir);
        for (final FileRef f : cp.getFiles()) {
            try (InputStream in = v.blobs.open(f.getBlobRef()).orElseThrow();
                 BlobStore.Writer w = store.create()) {
                in.transferTo(w.stream());
                assertEquals(f.getBlobRef(), w.commit());
            }
        }
        return store;
    }

    static PipelineContext context(final BlobStore store) {
        return new PipelineContext(store, 1, SourceOptions.defaults(),
                new RetryPolicy(2, Duration.ofMillis(5), Duration.ofMillis(20), Duration.ofSeconds(1)),
                VerificationLimits.defaults(), FetchObserver.NONE);
    }
}
