package io.historystreams.service;

import io.historystreams.events.ChainLinkStatus;
import io.historystreams.events.CheckpointFailed;
import io.historystreams.events.CheckpointVerified;
import io.historystreams.events.serde.SchemaRegistry;
import io.historystreams.topology.Topics;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class VerdictLogTest {
    private static final String SRC = "/archives/testnet-p24-hot";

    private static CheckpointFailed failed(final String detail, final List<String> failures) {
        return CheckpointFailed.newBuilder().setCheckpoint(63).setArchive(SRC).setReason("MISSING_FILE")
                .setFile("bucket/39/a.xdr.gz").setSource(SRC).setDetail(detail).setRetryable(true).setAttempt(3)
                .setFailedAt(Instant.EPOCH).setFailures(failures).build();
    }

    @Test
    void filesThatFailedAlikeAreNamedTogetherWithTheSourceOnce() {
        // as the join stage lists them (Facts.line): two buckets missing, one corrupt
        final CheckpointFailed f = failed("incomplete: ...", List.of(
                "MISSING_FILE bucket/39/a.xdr.gz (" + SRC + "): not present in any source: " + SRC,
                "MISSING_FILE bucket/8c/b.xdr.gz (" + SRC + "): not present in any source: " + SRC,
                "BUCKET_HASH_MISMATCH bucket/9f/c.xdr.gz (" + SRC + "): hash 00ff"));
        assertEquals("checkpoint 63 (0x3f) FAILED: 3 files: MISSING_FILE bucket/39/a.xdr.gz, bucket/8c/b.xdr.gz "
                + "(2 files) from " + SRC + " (not present in any source); BUCKET_HASH_MISMATCH bucket/9f/c.xdr.gz from "
                + SRC + " (hash 00ff);", VerdictLog.failedLine(f));
    }

    @Test
    void oneFailureOrAnUnreadableListIsPrintedAsTheEventSaysIt() {
        final String one = "MISSING_FILE bucket/39/a.xdr.gz (" + SRC + "): not present in any source: " + SRC;
        assertEquals("checkpoint 63 (0x3f) FAILED: MISSING_FILE bucket/39/a.xdr.gz from " + SRC + ": gone",
                VerdictLog.failedLine(failed("gone", List.of(one))));
        assertEquals("checkpoint 63 (0x3f) FAILED: MISSING_FILE bucket/39/a.xdr.gz from " + SRC + ": both",
                VerdictLog.failedLine(failed("both", List.of(one, "something else"))));
    }

    @Test
    void verdictsReadTogetherArePrintedInChainOrder() {
        // a trial's tail printed 4223 before 4095 and 4159: each partition's verdicts came in the order read
        final Topics topics = new Topics("history.", SchemaRegistry.forUrl("mock://verdict-log-" + System.nanoTime()));
        final List<ConsumerRecord<Long, byte[]>> read = List.of(verified(topics, 4223, ChainLinkStatus.VERIFIED),
                failedRecord(topics, 4159), verified(topics, 4095, ChainLinkStatus.ARCHIVE_START),
                verified(topics, 4287, ChainLinkStatus.VERIFIED), failedRecord(topics, 4287));
        // read in two polls, the second half a hold later: held together, printed in chain order
        final VerdictLog.InChainOrder held = new VerdictLog.InChainOrder(java.time.Duration.ofSeconds(1));
        final long t0 = 1_000_000_000L;
        held.add(VerdictLog.lines(read.subList(0, 2), topics), t0);
        assertEquals(List.of(), held.due(t0 + 500_000_000L), "held");
        held.add(VerdictLog.lines(read.subList(2, read.size()), topics), t0 + 500_000_000L);
        final List<String> lines = new java.util.ArrayList<>(held.due(t0 + 1_000_000_000L));
        // due: 4223 (read first), with all held up to it; 4287, read later, waits for its own hold
        assertEquals(3, lines.size(), lines::toString);
        lines.addAll(held.due(t0 + 1_500_000_000L));
        assertEquals(5, lines.size(), lines::toString);
        assertEquals("checkpoint 4095 (0xfff) verified: ledgers 4032..4095 (the archive's start: no source holds the "
                + "checkpoint before, and the link to it is not checked)", lines.get(0));
        assertEquals("checkpoint 4159 (0x103f) FAILED: MISSING_FILE bucket/39/a.xdr.gz from " + SRC + ": gone",
                lines.get(1));
        // (its SCP file absent from every source: said, since it is not fetched again)
        assertEquals("checkpoint 4223 (0x107f) verified: ledgers 4160..4223 (without an SCP file: no source had it; "
                + "it is not fetched again)", lines.get(2));
        // of one checkpoint, in the order read: its verdict, then the failure that took it back
        assertEquals("checkpoint 4287 (0x10bf) verified: ledgers 4224..4287", lines.get(3));
        assertEquals("checkpoint 4287 (0x10bf) FAILED: MISSING_FILE bucket/39/a.xdr.gz from " + SRC + ": gone",
                lines.get(4));
    }

    private static ConsumerRecord<Long, byte[]> verified(final Topics topics, final long cp,
            final ChainLinkStatus link) {
        final byte[] h = new byte[32];
        final CheckpointVerified v = CheckpointVerified.newBuilder().setCheckpoint(cp).setArchive(SRC)
                .setFirstLedger(cp - 63).setLastLedger(cp).setLastLedgerHash(new io.historystreams.events.Hash32(h))
                .setFirstPreviousLedgerHash(new io.historystreams.events.Hash32(h))
                .setBucketListHash(new io.historystreams.events.Hash32(h)).setFiles(cp == 4223 ? List.of()
                        : List.of(io.historystreams.events.SampleEvents.fileRef(
                                io.historystreams.archive.ArchivePaths.checkpointFile(
                                        io.historystreams.archive.FileType.SCP, cp), true))).setBuckets(List.of())
                .setLedgerCount(64).setTransactionSetCount(0).setResultSetCount(0).setChainLinkedToPrevious(link)
                .setVerifiedAt(Instant.EPOCH).build();
        final String topic = topics.checkpointsVerified.name();
        return new ConsumerRecord<>(topic, 0, cp, cp, topics.checkpointsVerified.valueSerde().serializer()
                .serialize(topic, v));
    }

    private static ConsumerRecord<Long, byte[]> failedRecord(final Topics topics, final long cp) {
        final CheckpointFailed f = CheckpointFailed.newBuilder(failed("gone", List.of())).setCheckpoint(cp).build();
        final String topic = topics.checkpointFailures.name();
        return new ConsumerRecord<>(topic, 1, cp, cp, topics.checkpointFailures.valueSerde().serializer()
                .serialize(topic, f));
    }
}
