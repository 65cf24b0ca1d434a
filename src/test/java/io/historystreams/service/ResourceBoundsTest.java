package io.historystreams.service;

import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.Checkpoint;
import io.historystreams.archive.FileType;
import io.historystreams.cli.Main;
import io.historystreams.testing.Fixtures;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bounded resources: a blob store with a size limit, and a heap that does not grow with the length of the range. */
class ResourceBoundsTest extends WithEmbeddedBroker {
    @TempDir
    Path dir;


    /** The bytes of the largest checkpoint: its files plus every bucket its HAS names. */
    static long largestCheckpointBytes(final Path archive) throws Exception {
        long max = 0;
        final Pattern hex = Pattern.compile("\"([0-9a-f]{64})\"");
        for (final long cp : Checkpoint.range(1, 10047)) {
            long sum = 0;
            for (final FileType t : List.of(FileType.HAS, FileType.LEDGER, FileType.TRANSACTIONS, FileType.RESULTS,
                    FileType.SCP)) {
                final Path f = archive.resolve(ArchivePaths.checkpointFile(t, cp));
                sum += Files.exists(f) ? Files.size(f) : 0;
            }
            final Set<String> buckets = new HashSet<>();
            final Matcher m = hex.matcher(Files.readString(archive.resolve(ArchivePaths.has(cp))));
            while (m.find()) {
                buckets.add(m.group(1));
            }
            for (final String b : buckets) {
                final Path f = archive.resolve(ArchivePaths.bucket(b));
                sum += Files.exists(f) ? Files.size(f) : 0;
            }
            max = Math.max(max, sum);
        }
        return max;
    }

    @Test
    @Timeout(240)
    void blobStoreStaysUnderItsLimitWhilePublishing() throws Exception {
        final String app = "evict";
        final long limit = 4L << 20;
        final Path data = dir.resolve(app);
        final Path target = dir.resolve("target");
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicLong peak = new AtomicLong();
        final Thread watcher = new Thread(() -> {
            while (!stop.get()) {
                try {
                    if (Files.isDirectory(data.resolve("blobs"))) {
                        peak.accumulateAndGet(BlobEvictor.sizeOnDisk(data.resolve("blobs")), Math::max);
                    }
                    Thread.sleep(50);
                } catch (final Exception e) {
                    // a file vanished during the walk: measure again
                }
            }
        });
        watcher.start();
        final StringWriter out = new StringWriter();
        final int code;
        try (PrintWriter pw = new PrintWriter(out, true)) {
            code = Main.run(pw, pw, "ingest", "--archive", Fixtures.testnetSmall().toString(), "--from", "1", "--to",
                    "10047", "--bootstrap-servers", broker.bootstrapServers(), "--application-id", app, "-D",
                    "topic.prefix=" + app + ".", "--data-dir", data.toString(), "--http-port", "-1",
                    "--schema-registry-url", "mock://" + app, "--quiet", "--publish-to", target.toString(),
                    "--fetch-concurrency", "2", "-D", "blob.max.bytes=" + limit, "--timeout", "200");
        } finally {
            stop.set(true);
            watcher.join();
        }
        assertEquals(0, code, out.toString());
        final long oneCheckpoint = largestCheckpointBytes(Fixtures.testnetSmall());
        final long total = BlobEvictor.sizeOnDisk(Fixtures.testnetSmall());
        final long after = BlobEvictor.sizeOnDisk(data.resolve("blobs"));
        assertTrue(after <= limit + oneCheckpoint, "blob store holds " + after + " bytes after the run, over "
                + limit + " + one checkpoint (" + oneCheckpoint + "); the archive has " + total + "; peak " + peak);
        // the limit bounds what is kept, not what is in flight: the whole range is requested at once here
        final ExactlyOnce.Counts c = ExactlyOnce.check(broker.bootstrapServers(), app, "mock://" + app, 1, 10047,
                target);
        FaultCatalogueTest.TABLE.add(String.format("blob.max.bytes=%d MiB during ingest+publish | 1 | store %.1f MiB"
                + " after the run (peak in flight %.1f MiB; bound limit + largest checkpoint %.1f MiB; archive %.1f"
                + " MiB); all %d VERIFIED and published | 0 | 0", limit >> 20, after / 1048576.0,
                peak.get() / 1048576.0, (limit + oneCheckpoint) / 1048576.0,
                total / 1048576.0, c.checkpoints()));
        System.out.println("FAULT-TABLE " + FaultCatalogueTest.TABLE.get(FaultCatalogueTest.TABLE.size() - 1));
    }

    /**
     * Runs ingest in a JVM limited to 256 MiB and returns its peak live heap in bytes: while it runs, a full
     * collection is forced every second ({@code jcmd <pid> GC.run}) and the heap left after each one is read from
     * the GC log. The heap after a young collection is not a live set (it counts old-generation garbage the young
     * collection did not look at), so comparing those figures between runs measures the collector's timing.
     */
    private long ingestInSmallHeap(final String app, final long to) throws Exception {
        final Path gcLog = dir.resolve(app + "-gc.log");
        final Path javaBin = Path.of(System.getProperty("java.home"), "bin");
        final List<String> cmd = new ArrayList<>(List.of(
                javaBin.resolve("java").toString(), "-Xmx256m",
                "-Xlog:gc:file=" + gcLog, "-Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.historystreams", "-cp",
                System.getProperty("java.class.path"), Main.class.getName(), "ingest", "--archive",
                Fixtures.testnetSmall().toString(), "--from", "1", "--to", Long.toString(to), "--bootstrap-servers",
                broker.bootstrapServers(), "--application-id", app, "-D", "topic.prefix=" + app + ".", "--data-dir",
                dir.resolve(app).toString(), "--http-port", "-1", "--quiet", "--timeout", "300"));
        final File log = dir.resolve(app + ".log").toFile();
        final Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log).start();
        int forced = 0;
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(330);
        while (!p.waitFor(1, TimeUnit.SECONDS)) {
            assertTrue(System.nanoTime() < deadline, "ingest finished within 330 s");
            final Process jcmd = new ProcessBuilder(javaBin.resolve("jcmd").toString(), Long.toString(p.pid()),
                    "GC.run").redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (jcmd.waitFor(30, TimeUnit.SECONDS) && jcmd.exitValue() == 0) {
                forced++;
            }
        }
        assertEquals(0, p.exitValue(), Files.readString(log.toPath()));
        // "[3.512s][info][gc] GC(13) Pause Full (System.gc()) 80M->41M(256M) 61.2ms"
        final Pattern after = Pattern.compile("Pause Full .*->(\\d+)([KMG])\\(");
        long peak = 0;
        int full = 0;
        for (final String line : Files.readAllLines(gcLog)) {
            final Matcher m = after.matcher(line);
            if (m.find()) {
                full++;
                final long v = Long.parseLong(m.group(1));
                peak = Math.max(peak, switch (m.group(2)) {
                    case "K" -> v << 10;
                    case "M" -> v << 20;
                    default -> v << 30;
                });
            }
        }
        // the run must have been sampled: a process that ends before the first sample measures nothing
        assertTrue(full >= 3, app + ": " + full + " full collections logged (" + forced + " requested); "
                + "not enough samples of the live heap");
        return peak;
    }

    @Test
    @Tag("slow")
    @Timeout(700)
    void heapDoesNotGrowWithTheLengthOfTheRange() throws Exception {
        final long shortRun = ingestInSmallHeap("heap-short", 1280);
        final long fullRun = ingestInSmallHeap("heap-full", 10047);
        assertTrue(fullRun < shortRun * 1.25 + (16L << 20), "peak live heap: 20 checkpoints " + (shortRun >> 20)
                + " MiB, 157 checkpoints " + (fullRun >> 20) + " MiB");
        System.out.println("FAULT-TABLE ingest of 157 checkpoints with -Xmx256m | 1 | completed; peak live heap "
                + (fullRun >> 20) + " MiB vs " + (shortRun >> 20) + " MiB for 20 checkpoints | 0 | 0");
    }
}
