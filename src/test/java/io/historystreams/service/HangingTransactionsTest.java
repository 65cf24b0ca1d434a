package io.historystreams.service;

import io.historystreams.kafka.HangingTransactions;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A transaction a crash left open for good on a partition (the coordinator marked it complete without writing every
 * end marker) made every later run wait for ever: it is found as Kafka's find-hanging finds it, and a transaction
 * still in progress is not taken for one.
 */
class HangingTransactionsTest extends WithEmbeddedBroker {
    private static final TopicPartition TP = new TopicPartition("history.ledgers-downloaded", 0);

    private static ProducerState open(final long producerId, final int epoch) {
        return new ProducerState(producerId, epoch, 7, System.currentTimeMillis(), OptionalInt.of(3),
                OptionalLong.of(21));
    }

    private static TransactionDescription said(final TransactionState state, final long producerId, final int epoch,
            final Set<TopicPartition> partitions) {
        return new TransactionDescription(1, state, producerId, epoch, 10_000, OptionalLong.empty(), partitions);
    }

    @Test
    void aTransactionIsHangingWhenItsCoordinatorHasItNoLongerInProgressWithThePartition() {
        final Map<Long, TransactionListing> listing = Map.of(2L, new TransactionListing("app-1", 2L,
                TransactionState.EMPTY));
        // what the trials saw: the coordinator says Empty (the commit completed), the partition still open
        final List<HangingTransactions.Hanging> found = HangingTransactions.classify(Map.of(TP, List.of(open(2, 3))),
                listing, Map.of("app-1", said(TransactionState.EMPTY, 2, 7, Set.of())));
        assertEquals(1, found.size());
        assertEquals(TP, found.get(0).partition());
        assertTrue(found.get(0).toString().contains("producer 2 epoch 3, app-1: the coordinator has it Empty at "
                + "epoch 7, without this partition"), found.toString());
        assertEquals(1, HangingTransactions.classify(Map.of(TP, List.of(open(2, 3))), listing,
                Map.of("app-1", said(TransactionState.COMPLETE_COMMIT, 2, 3, Set.of(TP)))).size());
        // no coordinator knows the producer at all
        assertEquals(1, HangingTransactions.classify(Map.of(TP, List.of(open(9, 0))), listing, Map.of()).size());

        // in progress with the partition: its markers will come
        for (final TransactionState s : List.of(TransactionState.ONGOING, TransactionState.PREPARE_COMMIT,
                TransactionState.PREPARE_ABORT)) {
            assertEquals(List.of(), HangingTransactions.classify(Map.of(TP, List.of(open(2, 3))), listing,
                    Map.of("app-1", said(s, 2, 3, Set.of(TP)))), s.toString());
        }
        // a coordinator behind what the partition saw concludes nothing
        assertEquals(List.of(), HangingTransactions.classify(Map.of(TP, List.of(open(2, 5))), listing,
                Map.of("app-1", said(TransactionState.COMPLETE_ABORT, 2, 4, Set.of()))));
    }

    @Test
    void aTransactionInProgressOnARealBrokerIsNotHanging() throws Exception {
        final Map<String, Object> admin = Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        try (Admin a = Admin.create(admin)) {
            a.createTopics(List.of(new NewTopic("hanging-test", 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
            try (KafkaProducer<String, String> p = new KafkaProducer<>(Map.of(
                    ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                    ProducerConfig.TRANSACTIONAL_ID_CONFIG, "hanging-test-txn"),
                    new StringSerializer(), new StringSerializer())) {
                p.initTransactions();
                p.beginTransaction();
                p.send(new ProducerRecord<>("hanging-test", "k", "v")).get(30, TimeUnit.SECONDS);
                // the partition has an open transaction, which its coordinator has in progress
                final TopicPartition tp = new TopicPartition("hanging-test", 0);
                assertEquals(1, a.describeProducers(List.of(tp)).all().get(30, TimeUnit.SECONDS).get(tp)
                        .activeProducers().stream().filter(s -> s.currentTransactionStartOffset().isPresent())
                        .count());
                assertEquals(List.of(), HangingTransactions.find(a));
                p.commitTransaction();
            }
            assertEquals(List.of(), HangingTransactions.find(a));
        }
    }

    @Test
    void howTheCoordinatorEndedATransactionIsKnownOnlyForTheSameProducerOneEpochOn() {
        // a transaction's end bumps its producer's epoch by one: the trial's case was "producer 1 epoch 69, the
        // coordinator has it CompleteCommit at epoch 70, without this partition"
        final ProducerState p = open(1, 69);
        assertEquals(HangingTransactions.Outcome.COMMITTED, HangingTransactions.outcome(p,
                said(TransactionState.COMPLETE_COMMIT, 1, 70, Set.of())));
        assertEquals(HangingTransactions.Outcome.COMMITTED, HangingTransactions.outcome(p,
                said(TransactionState.PREPARE_COMMIT, 1, 70, Set.of())));
        assertEquals(HangingTransactions.Outcome.ABORTED, HangingTransactions.outcome(p,
                said(TransactionState.COMPLETE_ABORT, 1, 70, Set.of())));
        // later transactions came between, another producer, no decision, or no bump: not known
        for (final TransactionDescription d : List.of(said(TransactionState.COMPLETE_COMMIT, 1, 72, Set.of()),
                said(TransactionState.COMPLETE_COMMIT, 2, 70, Set.of()), said(TransactionState.EMPTY, 1, 70, Set.of()),
                said(TransactionState.COMPLETE_COMMIT, 1, 69, Set.of()))) {
            assertEquals(HangingTransactions.Outcome.UNKNOWN, HangingTransactions.outcome(p, d), d.toString());
        }
        final Map<Long, TransactionListing> listing = Map.of(1L, new TransactionListing("app-1", 1L,
                TransactionState.COMPLETE_COMMIT));
        assertEquals(HangingTransactions.Outcome.COMMITTED, HangingTransactions.classify(Map.of(TP, List.of(p)),
                listing, Map.of("app-1", said(TransactionState.COMPLETE_COMMIT, 1, 70, Set.of()))).get(0).outcome());
        assertEquals(HangingTransactions.Outcome.UNKNOWN, HangingTransactions.classify(Map.of(TP, List.of(open(9, 0))),
                listing, Map.of()).get(0).outcome(), "no coordinator knows the producer");
    }

    /** The last stable offset of {@code tp} (where a read_committed reader must stop) and the records it reads. */
    private long[] committedView(final TopicPartition tp) {
        try (org.apache.kafka.clients.consumer.KafkaConsumer<String, String> c =
                new org.apache.kafka.clients.consumer.KafkaConsumer<>(Map.of(
                        org.apache.kafka.clients.consumer.ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                        broker.bootstrapServers(),
                        org.apache.kafka.clients.consumer.ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"),
                        new org.apache.kafka.common.serialization.StringDeserializer(),
                        new org.apache.kafka.common.serialization.StringDeserializer())) {
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            final long stable = c.endOffsets(List.of(tp)).get(tp);
            long records = 0;
            final long deadline = System.nanoTime() + java.time.Duration.ofSeconds(5).toNanos();
            while (c.position(tp) < stable && System.nanoTime() < deadline) {
                records += c.poll(java.time.Duration.ofMillis(200)).count();
            }
            return new long[] {stable, records};
        }
    }

    @Test
    void aHangingTransactionIsEndedWithTheMarkerItsCoordinatorDecided() throws Exception {
        // a real open transaction on each of two partitions, ended by the markers the service writes for a hanging
        // one: commit (a raw WriteTxnMarkers request: the admin client offers abort only) and abort
        final Map<String, Object> admin = Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        try (Admin a = Admin.create(admin)) {
            a.createTopics(List.of(new NewTopic("ended-test", 2, (short) 1))).all().get(30, TimeUnit.SECONDS);
            final TopicPartition committed = new TopicPartition("ended-test", 0);
            final TopicPartition aborted = new TopicPartition("ended-test", 1);
            try (KafkaProducer<String, String> p = new KafkaProducer<>(Map.of(
                    ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                    ProducerConfig.TRANSACTIONAL_ID_CONFIG, "ended-test-txn"),
                    new StringSerializer(), new StringSerializer())) {
                p.initTransactions();
                p.beginTransaction();
                p.send(new ProducerRecord<>("ended-test", 0, "k", "to commit")).get(30, TimeUnit.SECONDS);
                p.send(new ProducerRecord<>("ended-test", 1, "k", "to abort")).get(30, TimeUnit.SECONDS);
                assertEquals(0, committedView(committed)[0], "open: a read_committed reader stops before it");
                final Map<TopicPartition, org.apache.kafka.clients.admin.DescribeProducersResult.PartitionProducerState>
                        states = a.describeProducers(List.of(committed, aborted)).all().get(30, TimeUnit.SECONDS);
                HangingTransactions.complete(a, broker.bootstrapServers(), List.of(
                        new HangingTransactions.Hanging(committed, states.get(committed).activeProducers().get(0),
                                "ended-test-txn", "test", HangingTransactions.Outcome.COMMITTED),
                        new HangingTransactions.Hanging(aborted, states.get(aborted).activeProducers().get(0),
                                "ended-test-txn", "test", HangingTransactions.Outcome.ABORTED)));
                // the record and its marker: readable past both, the committed record seen, the aborted one not
                assertEquals(2, committedView(committed)[0]);
                assertEquals(1, committedView(committed)[1]);
                assertEquals(2, committedView(aborted)[0]);
                assertEquals(0, committedView(aborted)[1]);
                assertTrue(a.describeProducers(List.of(committed, aborted)).all().get(30, TimeUnit.SECONDS).values()
                        .stream().flatMap(s -> s.activeProducers().stream())
                        .noneMatch(s -> s.currentTransactionStartOffset().isPresent()), "no transaction left open");
                final IllegalArgumentException unknown = org.junit.jupiter.api.Assertions.assertThrows(
                        IllegalArgumentException.class, () -> HangingTransactions.complete(a,
                                broker.bootstrapServers(), List.of(new HangingTransactions.Hanging(committed,
                                        states.get(committed).activeProducers().get(0), "ended-test-txn", "test",
                                        HangingTransactions.Outcome.UNKNOWN))));
                assertTrue(unknown.getMessage().contains("is not known"), unknown.getMessage());
            }
        }
    }
}
