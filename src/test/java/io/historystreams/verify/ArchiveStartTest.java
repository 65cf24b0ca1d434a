package io.historystreams.verify;

import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.FetchObserver;
import io.historystreams.archive.HistoryArchive;
import io.historystreams.archive.RetryPolicy;
import io.historystreams.archive.SourceOptions;
import io.historystreams.testing.FaultyArchiveServer;
import io.historystreams.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.OutputStream;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Where an archive starts, against the real fixture served over loopback HTTP. */
class ArchiveStartTest {

    @Test
    void theStartWithinARangeIsFoundByBisection() throws Exception {
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.testnetSmall());
                HistoryArchive ha = HistoryArchive.open(List.of(server.url()), SourceOptions.defaults(),
                        RetryPolicy.defaults(), FetchObserver.NONE)) {
            // the archive holds no file below 0x13ff
            server.onRegex(".*-0000(0[0-9a-f]{3}|1[0-2][0-9a-f]{2}|13[0-9ab][0-9a-f])\\..*").status(404).forever();
            assertEquals(0x13ffL, ArchiveStart.startWithin(ha, 0x3f, 0x273f));
            assertEquals(-1L, ArchiveStart.startWithin(ha, 0x13ff, 0x273f), "the range starts where the archive does");
            assertEquals(-1L, ArchiveStart.startWithin(ha, 0x3f, 0x7f), "none of the range is held");
        }
    }

    /**
     * A checkpoint whose state file is gone but whose ledger file is there is damaged, not before the archive's start
     * (a trial: the first checkpoint's state file deleted, and {@code verify} with no {@code --from} passed the archive
     * as one starting at the second, exit 0; three state files and the third ledger file deleted, as one starting at
     * the fourth).
     */
    @Test
    void aCheckpointWithItsLedgerFileButNotItsStateFileIsNotBeforeTheStart() throws Exception {
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.testnetSmall());
                HistoryArchive ha = HistoryArchive.open(List.of(server.url()), SourceOptions.defaults(),
                        RetryPolicy.defaults(), FetchObserver.NONE)) {
            server.on(ArchivePaths.has(0x3f)).status(404).forever();
            assertEquals(-1L, ArchiveStart.startWithin(ha, 0x3f, 0x273f));
            server.on(ArchivePaths.has(0x7f)).status(404).forever();
            server.on(ArchivePaths.has(0xbf)).status(404).forever();
            server.on(ArchivePaths.checkpointFile(io.historystreams.archive.FileType.LEDGER, 0xbf)).status(404)
                    .forever();
            assertEquals(-1L, ArchiveStart.startWithin(ha, 0x3f, 0x273f));
            // with the first three's ledger files gone as well, nothing of them is held: the archive starts at 0xff
            server.on(ArchivePaths.checkpointFile(io.historystreams.archive.FileType.LEDGER, 0x3f)).status(404)
                    .forever();
            server.on(ArchivePaths.checkpointFile(io.historystreams.archive.FileType.LEDGER, 0x7f)).status(404)
                    .forever();
            assertEquals(0xffL, ArchiveStart.startWithin(ha, 0x3f, 0x273f));
            // and a checkpoint the bisection lands on is held when its ledger file is (0x13bf: the first probe)
            server.clearFaults();
            server.onRegex(".*-0000(0[0-9a-f]{3}|1[0-2][0-9a-f]{2}|13[0-9a][0-9a-f])\\..*").status(404).forever();
            server.on(ArchivePaths.has(0x13bf)).status(404).forever();
            assertEquals(0x13bfL, ArchiveStart.startWithin(ha, 0x3f, 0x273f));
        }
    }

    /**
     * An archive with a gap: bisection may land in it and take its end for the archive's start; the checkpoints
     * probed below find the held ones, and the search goes on below them (a trial: one checkpoint missing, and the
     * archive's checkpoints below it were never read, exit 0).
     */
    @Test
    void aGapIsNotTakenForTheArchivesStart() throws Exception {
        // held from 0x3ff but for 0x13bf, where the bisection's first probe lands
        assertEquals(0x3ffL, startOfArchiveHolding(0x3ff, List.of(0x13bfL)));
        // held from 0x17ff but for twelve checkpoints 0x1bff..0x1ebf (a validator offline for a while)
        final List<Long> gap = new java.util.ArrayList<>();
        for (long cp = 0x1bff; cp <= 0x1ebf; cp += 64) {
            gap.add(cp);
        }
        assertEquals(0x17ffL, startOfArchiveHolding(0x17ff, gap));
        // held from 0x53f but for 71 checkpoints 0xa3f..0x1bbf: doubling distances from 0x1bff all land in the gap
        final List<Long> long71 = new java.util.ArrayList<>();
        for (long cp = 0xa3f; cp <= 0x1bbf; cp += 64) {
            long71.add(cp);
        }
        assertEquals(71, long71.size());
        assertEquals(0x53fL, startOfArchiveHolding(0x53f, long71));
    }

    @Test
    void theProbesBelowAStartAreAtDoublingDistancesAndEvenlySpacedHighestFirst() {
        final List<Long> probes = ArchiveStart.probesBelow(0x3f, 0x1bff);
        assertEquals(0x1bffL - 128, probes.get(0));
        assertEquals(0x1bffL - 256, probes.get(1));
        // no two probes further apart than a 33rd of the range (rounded up to a checkpoint), nor the lowest from it
        final long most = ((0x1bffL - 0x3f) / 64 / 33 + 1) * 64;
        for (int i = 1; i < probes.size(); i++) {
            assertEquals(63, probes.get(i) % 64, probes::toString);
            assertTrue(probes.get(i) < probes.get(i - 1), probes::toString);
            assertTrue(probes.get(i - 1) - probes.get(i) <= most, probes::toString);
        }
        assertTrue(probes.get(probes.size() - 1) > 0x3f, probes::toString);
        assertTrue(probes.get(probes.size() - 1) - 0x3f <= most, probes::toString);
        assertEquals(List.of(), ArchiveStart.probesBelow(0x3f, 0xbf), "nothing between");
    }

    /** {@link ArchiveStart#startWithin} the fixture served without the files below {@code from}, nor gap's. */
    private static long startOfArchiveHolding(final long from, final List<Long> gap) throws Exception {
        final StringBuilder absent = new StringBuilder();
        for (long cp = 0x3f; cp <= 0x273f; cp += 64) {
            if (cp < from || gap.contains(cp)) {
                absent.append(absent.length() == 0 ? "" : "|").append(String.format("%08x", cp));
            }
        }
        try (FaultyArchiveServer server = FaultyArchiveServer.start(Fixtures.testnetSmall());
                HistoryArchive ha = HistoryArchive.open(List.of(server.url()), SourceOptions.defaults(),
                        RetryPolicy.defaults(), FetchObserver.NONE)) {
            server.onRegex(".*-(" + absent + ")\\..*").status(404).forever();
            return ArchiveStart.startWithin(ha, 0x3f, 0x273f);
        }
    }

    /**
     * A first source that hangs, whose last answer (to the root state) was a read timeout, is not asked when the
     * others hold the range's first checkpoint: it held the start of every ingest for a read timeout more (a trial).
     */
    @Test
    @Timeout(60)
    void aSourceThatJustFailedIsNotAskedWhenAnotherHoldsTheRangesFirstCheckpoint() throws Exception {
        try (FaultyArchiveServer hangs = FaultyArchiveServer.start(Fixtures.testnetSmall());
                HistoryArchive ha = HistoryArchive.open(List.of(hangs.url(), Fixtures.testnetSmall().toString()),
                        SourceOptions.defaults().withReadTimeout(Duration.ofSeconds(2)), RetryPolicy.defaults(),
                        FetchObserver.NONE)) {
            hangs.onPrefix("").hang().forever();
            ha.fetch(ArchivePaths.WELL_KNOWN, in -> in.transferTo(OutputStream.nullOutputStream())); // fails over
            assertEquals(List.of(hangs.url()), ha.sourcesFailing());
            final int before = hangs.totalRequests();
            assertEquals(-1L, ArchiveStart.startWithin(ha, 0x26bf, 0x273f));
            assertEquals(before, hangs.totalRequests(), hangs.requestLog()::toString);
        }
    }

    @Test
    void aCheckpointIsTheArchivesStartOnlyWhenEverySourceSaysItHoldsNothingOfTheOneBefore() throws Exception {
        try (FaultyArchiveServer lacks = FaultyArchiveServer.start(Fixtures.testnetSmall());
                FaultyArchiveServer fails = FaultyArchiveServer.start(Fixtures.testnetSmall())) {
            lacks.onRegex(".*-000003bf\\..*").status(404).forever();
            fails.onRegex(".*-000003bf\\..*").status(503).forever();
            final String ledger = ArchivePaths.checkpointFile(io.historystreams.archive.FileType.LEDGER, 0x3bf);
            try (HistoryArchive one = HistoryArchive.open(List.of(lacks.url()), SourceOptions.defaults(),
                    RetryPolicy.defaults(), FetchObserver.NONE);
                    HistoryArchive two = HistoryArchive.open(List.of(lacks.url(), fails.url()),
                            SourceOptions.defaults(), RetryPolicy.defaults().withMaxAttempts(2), FetchObserver.NONE)) {
                final VerificationException alone = assertThrows(VerificationException.class,
                        () -> one.fetch(ledger, in -> in.transferTo(OutputStream.nullOutputStream())));
                assertEquals(true, ArchiveStart.holdsNothingOf(one, 0x3bf, alone));
                final VerificationException withOther = assertThrows(VerificationException.class,
                        () -> two.fetch(ledger, in -> in.transferTo(OutputStream.nullOutputStream())));
                assertEquals(FailureReason.MISSING_FILE, withOther.reason(), withOther::toString);
                assertEquals(false, ArchiveStart.holdsNothingOf(two, 0x3bf, withOther), "the other may hold it");
            }
            // the state file there, the ledger file not: damaged, not a start
            lacks.clearFaults();
            lacks.on(ledger).status(404).forever();
            try (HistoryArchive one = HistoryArchive.open(List.of(lacks.url()), SourceOptions.defaults(),
                    RetryPolicy.defaults(), FetchObserver.NONE)) {
                final VerificationException e = assertThrows(VerificationException.class,
                        () -> one.fetch(ledger, in -> in.transferTo(OutputStream.nullOutputStream())));
                assertEquals(false, ArchiveStart.holdsNothingOf(one, 0x3bf, e));
            }
        }
    }
}
