package io.historystreams.kafka;

import org.apache.kafka.clients.admin.AbortTransactionSpec;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListTransactionsOptions;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.AbstractResponse;
import org.apache.kafka.common.requests.RequestHeader;
import org.apache.kafka.common.requests.TransactionResult;
import org.apache.kafka.common.requests.WriteTxnMarkersRequest;
import org.apache.kafka.common.requests.WriteTxnMarkersResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Transactions left open on partitions for good: a broker killed while it committed one can, on its restart, mark
 * the transaction complete without writing its end marker to every partition (seen after {@code kill -9} of a
 * process with the embedded broker: the coordinator said "complete", 6 of the 22 partitions had no marker). A
 * read_committed reader of such a partition waits for ever: Kafka Streams never finished restoring, and the command
 * showed "pending" until stopped. Found as Kafka's own {@code kafka-transactions.sh find-hanging} finds them: a
 * partition's open transaction whose producer the coordinator no longer has in a transaction with that partition.
 * When the coordinator's decision for that transaction is known ({@link Outcome}), {@link #complete} writes the end
 * marker it failed to write; {@link #abort} aborts any.
 */
public final class HangingTransactions {
    private static final Logger LOG = LoggerFactory.getLogger(HangingTransactions.class);

    private HangingTransactions() {
    }

    /** How a hanging transaction ended at its coordinator, when that is certain. */
    public enum Outcome { COMMITTED, ABORTED, UNKNOWN }

    /**
     * One partition's transaction that nothing will end.
     *
     * @param outcome how its coordinator ended it: known when the coordinator has the same producer at the next
     *                epoch committing or aborting (a transaction's end bumps its producer's epoch by one), the
     *                partition missing from its list
     */
    public record Hanging(TopicPartition partition, ProducerState producer, String transactionalId,
            String coordinatorSays, Outcome outcome) {
        AbortTransactionSpec abortSpec() {
            return new AbortTransactionSpec(partition, producer.producerId(), (short) producer.producerEpoch(),
                    producer.coordinatorEpoch().orElse(-1));
        }

        @Override
        public String toString() {
            return partition + " (producer " + producer.producerId() + " epoch " + producer.producerEpoch()
                    + (transactionalId == null ? "" : ", " + transactionalId) + ": " + coordinatorSays + ")";
        }
    }

    /**
     * The hanging transactions among {@code open} (partitions' open transactions), given what the coordinators say:
     * {@code listings} by producer id, {@code descriptions} by transactional id. A transaction the coordinator has in
     * progress with the partition (ongoing, or its markers being written) is not hanging.
     */
    public static List<Hanging> classify(final Map<TopicPartition, List<ProducerState>> open,
            final Map<Long, TransactionListing> listings, final Map<String, TransactionDescription> descriptions) {
        final List<Hanging> out = new ArrayList<>();
        open.forEach((tp, producers) -> {
            for (final ProducerState p : producers) {
                if (p.currentTransactionStartOffset().isEmpty()) {
                    continue;
                }
                final TransactionListing l = listings.get(p.producerId());
                if (l == null) {
                    out.add(new Hanging(tp, p, null, "no coordinator knows the producer", Outcome.UNKNOWN));
                    continue;
                }
                final TransactionDescription d = descriptions.get(l.transactionalId());
                if (d == null) {
                    continue; // not described: nothing is concluded
                }
                final boolean inProgress = d.state() == TransactionState.ONGOING
                        || d.state() == TransactionState.PREPARE_COMMIT || d.state() == TransactionState.PREPARE_ABORT
                        || d.state() == TransactionState.PREPARE_EPOCH_FENCE;
                if (inProgress && d.producerId() == p.producerId() && d.topicPartitions().contains(tp)) {
                    continue;
                }
                if (d.producerId() == p.producerId() && d.producerEpoch() < p.producerEpoch()) {
                    continue; // the coordinator is behind what the partition saw: not concluded
                }
                out.add(new Hanging(tp, p, l.transactionalId(), "the coordinator has it " + d.state()
                        + " at epoch " + d.producerEpoch()
                        + (d.topicPartitions().contains(tp) ? "" : ", without this partition"), outcome(p, d)));
            }
        });
        return out;
    }

    /** Whether how each of {@code hanging} ended is known ({@link Hanging#outcome}). */
    public static boolean allKnown(final List<Hanging> hanging) {
        return hanging.stream().allMatch(h -> h.outcome() != Outcome.UNKNOWN);
    }

    /**
     * How the coordinator ended the partition's open transaction, when that is certain: the same producer, one epoch
     * on (the end of a transaction bumps its epoch), committing or committed (aborting or aborted). Anything else (an
     * epoch further on: later transactions came between; another producer id) is {@link Outcome#UNKNOWN}.
     */
    public static Outcome outcome(final ProducerState p, final TransactionDescription d) {
        if (d.producerId() != p.producerId() || d.producerEpoch() != p.producerEpoch() + 1) {
            return Outcome.UNKNOWN;
        }
        return switch (d.state()) {
            case COMPLETE_COMMIT, PREPARE_COMMIT -> Outcome.COMMITTED;
            case COMPLETE_ABORT, PREPARE_ABORT -> Outcome.ABORTED;
            default -> Outcome.UNKNOWN;
        };
    }

    /**
     * Finds the hanging transactions on every partition of the cluster (the embedded broker's: all ours): those seen
     * twice, {@link #SETTLE} apart. A transaction that has just completed can show its partition still open for a
     * moment after the coordinator says "complete" (its marker is being appended).
     */
    public static List<Hanging> find(final Admin admin) throws Exception {
        final List<Hanging> first = look(admin);
        if (first.isEmpty()) {
            return first;
        }
        Thread.sleep(SETTLE.toMillis());
        final Set<String> again = new HashSet<>();
        look(admin).forEach(h -> again.add(h.partition() + "/" + h.producer().producerId() + "/"
                + h.producer().producerEpoch()));
        return first.stream().filter(h -> again.contains(h.partition() + "/" + h.producer().producerId() + "/"
                + h.producer().producerEpoch())).toList();
    }

    /** How long a transaction seen hanging is given to end before it is taken for one. */
    static final java.time.Duration SETTLE = java.time.Duration.ofSeconds(3);

    private static List<Hanging> look(final Admin admin) throws Exception {
        final Set<String> topics = admin.listTopics(new org.apache.kafka.clients.admin.ListTopicsOptions()
                .listInternal(true)).names().get(30, TimeUnit.SECONDS);
        final List<TopicPartition> partitions = new ArrayList<>();
        admin.describeTopics(topics).allTopicNames().get(30, TimeUnit.SECONDS).forEach((name, d) ->
                d.partitions().forEach(p -> partitions.add(new TopicPartition(name, p.partition()))));
        final Map<TopicPartition, List<ProducerState>> open = new TreeMap<>(
                java.util.Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition));
        admin.describeProducers(partitions).all().get(30, TimeUnit.SECONDS).forEach((tp, state) -> {
            final List<ProducerState> inTxn = state.activeProducers().stream()
                    .filter(p -> p.currentTransactionStartOffset().isPresent()).toList();
            if (!inTxn.isEmpty()) {
                open.put(tp, inTxn);
            }
        });
        if (open.isEmpty()) {
            return List.of();
        }
        final Set<Long> producerIds = open.values().stream().flatMap(Collection::stream)
                .map(ProducerState::producerId).collect(Collectors.toSet());
        final Map<Long, TransactionListing> listings = new HashMap<>();
        for (final TransactionListing l : admin.listTransactions(new ListTransactionsOptions()
                .filterProducerIds(producerIds)).all().get(30, TimeUnit.SECONDS)) {
            listings.put(l.producerId(), l);
        }
        final Set<String> ids = new HashSet<>();
        listings.values().forEach(l -> ids.add(l.transactionalId()));
        final Map<String, TransactionDescription> descriptions = ids.isEmpty() ? Map.of()
                : admin.describeTransactions(ids).all().get(30, TimeUnit.SECONDS);
        return classify(open, listings, descriptions);
    }

    /** Ends {@code hanging} by aborting them on their partitions. */
    public static void abort(final Admin admin, final List<Hanging> hanging) throws Exception {
        for (final Hanging h : hanging) {
            admin.abortTransaction(h.abortSpec()).all().get(30, TimeUnit.SECONDS);
            LOG.warn("aborted the transaction left open on {}", h);
        }
    }

    /**
     * Ends {@code hanging} on their partitions as their coordinator ended them ({@link Hanging#outcome}, which must
     * be known): a commit marker for a committed one, so its records (and offsets) count as the rest of its
     * transaction did, an abort marker for an aborted one. The marker is the one its coordinator failed to write,
     * sent as Kafka's admin client sends an abort ({@code WriteTxnMarkers} to the partition's leader, {@code broker}:
     * the embedded broker, leader of every partition), which offers no commit.
     */
    public static void complete(final Admin admin, final String broker, final List<Hanging> hanging)
            throws Exception {
        for (final Hanging h : hanging) {
            switch (h.outcome()) {
                case ABORTED -> admin.abortTransaction(h.abortSpec()).all().get(30, TimeUnit.SECONDS);
                case COMMITTED -> writeMarker(broker, h, TransactionResult.COMMIT);
                default -> throw new IllegalArgumentException("how the transaction on " + h + " ended is not known");
            }
            LOG.warn("ended the transaction left open on {}: {}", h, h.outcome().name().toLowerCase(Locale.ROOT));
        }
    }

    /** Sends one {@code WriteTxnMarkers} request for {@code h} to {@code broker} ({@code host:port}, plaintext). */
    static void writeMarker(final String broker, final Hanging h, final TransactionResult result) throws IOException {
        final short version = ApiKeys.WRITE_TXN_MARKERS.latestVersion();
        final RequestHeader header = new RequestHeader(ApiKeys.WRITE_TXN_MARKERS, version,
                "history-streams-hanging-transactions", 1);
        final ByteBuffer request = new WriteTxnMarkersRequest.Builder(List.of(new WriteTxnMarkersRequest.TxnMarkerEntry(
                h.producer().producerId(), (short) h.producer().producerEpoch(),
                h.producer().coordinatorEpoch().orElse(-1), result, List.of(h.partition()), (short) 0)))
                .build(version).serializeWithHeader(header);
        final int colon = broker.lastIndexOf(':');
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(broker.substring(0, colon),
                    Integer.parseInt(broker.substring(colon + 1))), 30_000);
            socket.setSoTimeout(30_000);
            final DataOutputStream out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream()));
            final byte[] bytes = new byte[request.remaining()];
            request.get(bytes);
            out.writeInt(bytes.length);
            out.write(bytes);
            out.flush();
            final DataInputStream in = new DataInputStream(socket.getInputStream());
            final byte[] answer = new byte[in.readInt()];
            in.readFully(answer);
            final WriteTxnMarkersResponse response = (WriteTxnMarkersResponse) AbstractResponse.parseResponse(
                    ByteBuffer.wrap(answer), header);
            final Errors error = response.errorsByProducerId().getOrDefault(h.producer().producerId(), Map.of())
                    .getOrDefault(h.partition(), Errors.UNKNOWN_SERVER_ERROR);
            if (error != Errors.NONE) {
                throw new IOException("the " + result + " marker for " + h + " was refused: " + error.name() + " ("
                        + error.message() + ")");
            }
        }
    }
}
