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
}
