package io.historystreams.service;

import io.historystreams.events.CheckpointFailed;
import io.historystreams.events.CheckpointVerified;
import io.historystreams.events.SampleEvents;
import io.historystreams.events.serde.SchemaRegistry;
import io.historystreams.topology.Topics;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a waiting command makes of the verdicts on a real broker. A failure given after a checkpoint's verified event
 * revokes it (the chain check found later that it does not link to its predecessor as verified): a trial's ingest
 * reported such a checkpoint VERIFIED and exited 0, whichever of the two it read first.
 */
class OutcomeWatcherTest extends WithEmbeddedBroker {
    @Test
    void aFailureGivenAfterAVerdictRevokesItAndItIsAskedForAgainOnce() throws Exception {
        final Topics topics = topics("w.");
        final Map<String, Object> client = client();
        final long t = System.currentTimeMillis();
        // 0x7f: verified, then revoked in this run; 0xbf: failed, then verified (a tailed checkpoint whose files came
        // late); 0xff: the revocation written before the verdict it revokes; 0x13f: revoked before this run, so this
        // run's verdict decides
        send(client, topics, List.of(verified(0x7f, t), failed(0x7f, t + 1000), failed(0xbf, t - 5000),
                verified(0xbf, t), failed(0xff, t + 2000), verified(0xff, t), verified(0x13f, t - 10_000),
                failed(0x13f, t - 5000)));
        final Map<String, Object> props = Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        try (OutcomeWatcher w = new OutcomeWatcher(props, topics, List.of(0x7fL, 0xbfL, 0xffL, 0x13fL), t - 1)) {
            // taken back in this run (whichever record is read first): pending again, to be asked for again once
            final List<Long> takenBack = new java.util.ArrayList<>();
            final long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while ((takenBack.size() < 2 || w.verifiedCount() < 1) && System.nanoTime() < deadline) {
                w.poll(Duration.ofMillis(200));
                takenBack.addAll(w.takeTakenBack());
            }
            w.poll(Duration.ofMillis(500));
            takenBack.addAll(w.takeTakenBack());
            assertEquals(List.of(0x7fL, 0xffL), takenBack);
            assertEquals(List.of(), List.copyOf(w.failed().keySet()));
            assertEquals(OutcomeWatcher.Status.PENDING, w.status(0x7f));
            assertEquals(OutcomeWatcher.Status.PENDING, w.status(0xff));
            assertEquals(OutcomeWatcher.Status.VERIFIED, w.status(0xbf));
            assertEquals(OutcomeWatcher.Status.PENDING, w.status(0x13f));
            assertFalse(w.done());

            // asked for again: 0x7f fails (its verdict now), 0xff and 0x13f are verified
            send(client, topics, List.of(failed(0x7f, t + 3000), verified(0xff, t + 3000),
                    verified(0x13f, t + 3000)));
            final long again = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (!w.done() && System.nanoTime() < again) {
                w.poll(Duration.ofMillis(200));
                assertEquals(List.of(), w.takeTakenBack());
            }
            assertEquals(List.of(0x7fL), List.copyOf(w.failed().keySet()));
            assertTrue(w.failed().get(0x7fL).getDetail().contains("changed after"), w.failed().toString());
            assertEquals(OutcomeWatcher.Status.VERIFIED, w.status(0xff));
            assertEquals(OutcomeWatcher.Status.VERIFIED, w.status(0x13f));
            assertEquals(3, w.verifiedCount());
        }
    }

    @Test
    void checkpointsOutsideTheRangeTakenBackInThisRunAreNamedUntilVerifiedAgain() throws Exception {
        // a backfill's checkpoint verified now takes back checkpoints after its range that an earlier run verified
        // (a trial: its ingest said nothing of them and exited 0)
        final Topics topics = topics("o.");
        final Map<String, Object> client = client();
        final long t = System.currentTimeMillis();
        // 0x7f wanted and verified; 0xbf taken back in this run; 0xff taken back, then verified again; 0x13f taken
        // back before this run; 0x17f failed in this run without being taken back (another run's checkpoint); 0x1bf
        // an attempt failed on its link, its failure still to come
        send(client, topics, List.of(verified(0x7f, t), verified(0xbf, t - 10_000), takenBack(0xbf, t + 1000),
                takenBack(0xff, t + 1000), verified(0xff, t + 2000), takenBack(0x13f, t - 5000),
                failed(0x17f, t + 1000),
                new Attempt(failed(0x1bf, t + 1000))));
        final Map<String, Object> props = Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        try (OutcomeWatcher w = new OutcomeWatcher(props, topics, List.of(0x7fL), t - 1)) {
            pollWhile(w, () -> !w.done() || !w.mayTakeBack() || w.takenBackOutside().size() < 1);
            w.poll(Duration.ofMillis(500));
            assertEquals(List.of(0xbfL), w.takenBackOutside());
            assertTrue(w.done());
            assertTrue(w.mayTakeBack(), "0x1bf's verdict is still to come");
            send(client, topics, List.of(failed(0x1bf, t + 2000)));
            pollWhile(w, w::mayTakeBack);
            assertFalse(w.mayTakeBack());
            assertEquals(List.of(0xbfL), w.takenBackOutside());
        }
    }

    @Test
    void aCheckpointFailedOnceSinceItsPredecessorWasVerifiedAgainMayStillBeAskedForAgain() throws Exception {
        // 0xbf verified, taken back, then verified again (another copy); 0xff failed on its link before that, then
        // once after it: its attempts ran out on the copy taken back, and the chain check asks for it again once more
        // (a trial's run ended at that failure, and reported FAILED a checkpoint verified a second later)
        final Topics topics = topics("a.");
        final Map<String, Object> client = client();
        final long t = System.currentTimeMillis();
        send(client, topics, List.of(verified(0xbf, t), takenBack(0xbf, t + 1000), failed(0xff, t + 1100)));
        final Map<String, Object> props = Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        try (OutcomeWatcher w = new OutcomeWatcher(props, topics, List.of(0xbfL, 0xffL), t - 1)) {
            final List<Long> takenBack = new java.util.ArrayList<>();
            final long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (takenBack.size() < 2 && System.nanoTime() < deadline) {
                w.poll(Duration.ofMillis(200));
                takenBack.addAll(w.takeTakenBack());
            }
            assertEquals(List.of(0xbfL, 0xffL), takenBack);
            send(client, topics, List.of(verified(0xbf, t + 2000), failed(0xff, t + 3000)));
            pollWhile(w, () -> !w.done());
            assertTrue(w.done());
            assertEquals(List.of(0xffL), List.copyOf(w.failed().keySet()));
            assertTrue(w.mayTakeBack(), "0xff failed once since 0xbf was verified again: it may be asked for again");
            // its second failure since is its verdict
            send(client, topics, List.of(failed(0xff, t + 4000)));
            pollWhile(w, w::mayTakeBack);
            assertFalse(w.mayTakeBack());
            assertEquals(OutcomeWatcher.Status.FAILED, w.status(0xff));
            assertEquals(OutcomeWatcher.Status.VERIFIED, w.status(0xbf));
        }
    }

    /** Polls {@code w} while {@code condition} holds, for 20 s at most. */
    private static void pollWhile(final OutcomeWatcher w, final java.util.function.BooleanSupplier condition) {
        final long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (condition.getAsBoolean() && System.nanoTime() < deadline) {
            w.poll(Duration.ofMillis(200));
        }
    }

    private Map<String, Object> client() {
        return Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    }

    /** The outcome topics under {@code prefix}, created with one partition each. */
    private Topics topics(final String prefix) throws Exception {
        final Topics topics = new Topics(prefix, SchemaRegistry.forUrl("mock://watch-" + UUID.randomUUID()));
        try (Admin admin = Admin.create(client())) {
            admin.createTopics(List.of(new NewTopic(topics.checkpointsVerified.name(), 1, (short) 1),
                    new NewTopic(topics.checkpointFailures.name(), 1, (short) 1),
                    new NewTopic(topics.attemptFailures.name(), 1, (short) 1))).all().get();
        }
        return topics;
    }

    /** A failed attempt (to be retried), as the attempt failures topic holds it. */
    private record Attempt(CheckpointFailed failure) {
    }

    private static void send(final Map<String, Object> client, final Topics topics, final List<Object> records) {
        final Map<String, Object> p = new java.util.HashMap<>(client);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        try (KafkaProducer<Long, byte[]> producer = new KafkaProducer<>(p,
                new org.apache.kafka.common.serialization.LongSerializer(),
                new org.apache.kafka.common.serialization.ByteArraySerializer())) {
            for (final Object r : records) {
                if (r instanceof CheckpointVerified v) {
                    producer.send(new ProducerRecord<>(topics.checkpointsVerified.name(), v.getCheckpoint(),
                            topics.checkpointsVerified.valueSerde().serializer().serialize(
                                    topics.checkpointsVerified.name(), v)));
                } else if (r instanceof Attempt a) {
                    producer.send(new ProducerRecord<>(topics.attemptFailures.name(), a.failure().getCheckpoint(),
                            topics.attemptFailures.valueSerde().serializer().serialize(
                                    topics.attemptFailures.name(), a.failure())));
                } else {
                    final CheckpointFailed f = (CheckpointFailed) r;
                    producer.send(new ProducerRecord<>(topics.checkpointFailures.name(), f.getCheckpoint(),
                            topics.checkpointFailures.valueSerde().serializer().serialize(
                                    topics.checkpointFailures.name(), f)));
                }
            }
        }
    }

    private static CheckpointVerified verified(final long cp, final long at) {
        return CheckpointVerified.newBuilder((CheckpointVerified) SampleEvents.all().get("CheckpointVerified/full"))
                .setCheckpoint(cp).setFirstLedger(cp - 63).setLastLedger(cp).setVerifiedAt(Instant.ofEpochMilli(at))
                .build();
    }

    private static CheckpointFailed takenBack(final long cp, final long at) {
        return CheckpointFailed.newBuilder(failed(cp, at)).setTakesBack(true).build();
    }

    private static CheckpointFailed failed(final long cp, final long at) {
        return CheckpointFailed.newBuilder((CheckpointFailed) SampleEvents.all().get("CheckpointFailed/full"))
                .setCheckpoint(cp).setReason("CHAIN_LINK_BROKEN").setDetail("ledger " + (cp - 63)
                        + " previousLedgerHash 00 does not match the previous checkpoint's verified last ledger (11), "
                        + "which changed after this checkpoint was verified").setFailedAt(Instant.ofEpochMilli(at))
                .build();
    }
}
