package io.historystreams.publish;

import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.FileType;
import io.historystreams.testing.Fixtures;
import io.historystreams.verify.Hash;
import io.historystreams.verify.HistoryArchiveState;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The files of testnet-small checkpoints 0x3f and 0x7f with their buckets, in publishing order. */
final class FixtureSet {
    static final long[] CHECKPOINTS = {0x3f, 0x7f};

    final Path source = Fixtures.testnetSmall();
    /** Archive-relative paths in publishing order: buckets, xdr.gz files, then the checkpoint HAS. */
    final List<String> paths = new ArrayList<>();

    FixtureSet() throws Exception {
        for (final long cp : CHECKPOINTS) {
            final String has = ArchivePaths.has(cp);
            final HistoryArchiveState state = HistoryArchiveState.parse(Files.readAllBytes(source.resolve(has)), has);
            for (final Hash h : state.buckets()) {
                final String b = ArchivePaths.bucket(h.hex());
                if (!paths.contains(b)) {
                    paths.add(b);
                }
            }
            for (final FileType t : List.of(FileType.LEDGER, FileType.TRANSACTIONS, FileType.RESULTS, FileType.SCP)) {
                final String p = ArchivePaths.checkpointFile(t, cp);
                if (Files.exists(source.resolve(p))) {
                    paths.add(p);
                }
            }
            paths.add(has);
        }
        assertTrue(paths.stream().anyMatch(p -> p.startsWith("bucket/")), "fixture has buckets");
    }

    /** The root state to publish last: the newest checkpoint's HAS. */
    byte[] rootState() throws IOException {
        return Files.readAllBytes(source.resolve(ArchivePaths.has(CHECKPOINTS[CHECKPOINTS.length - 1])));
    }

    /** Publishes every file, then the root state, as a publisher would. */
    void publish(final ArchiveWriter w) throws Exception {
        for (final String p : paths) {
            w.put(p, source.resolve(p));
        }
        w.putRootState(rootState());
    }

    /** The target tree holds exactly the published files, byte-identical, and no temporaries. */
    void assertPublished(final Path target) throws Exception {
        for (final String p : paths) {
            final Path f = target.resolve(p);
            assertTrue(Files.isRegularFile(f), "missing " + p);
            assertArrayEquals(Files.readAllBytes(source.resolve(p)), Files.readAllBytes(f), "content of " + p);
        }
        assertArrayEquals(rootState(), Files.readAllBytes(target.resolve(ArchivePaths.WELL_KNOWN)), "root state");
        try (Stream<Path> s = Files.walk(target)) {
            final List<String> files = s.filter(Files::isRegularFile)
                    .map(f -> target.relativize(f).toString()).sorted().toList();
            final List<String> expected = Stream.concat(paths.stream(), Stream.of(ArchivePaths.WELL_KNOWN))
                    .sorted().toList();
            assertEquals(expected, files, "exactly the published files, no temporaries");
        }
    }
}
