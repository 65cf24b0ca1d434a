package io.historystreams.service;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.historystreams.archive.Checkpoint;
import io.historystreams.events.LedgerVerified;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.DecoderFactory;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A downstream consumer as the README describes it, using none of this project's classes to read: a plain Kafka
 * consumer (read committed) of {@code ledgers-verified}, the writer schema of each record fetched by its id from the
 * service's operations endpoint ({@code GET /schemas/ids/{id}}, the Confluent registry API) while the service keeps
 * its registry in a directory (the embedded default), and Avro's generic reader. What it reads must be the verified
 * ledgers: each once, each hash the SHA-256 of its header, each linked to the previous one.
 */
class DownstreamConsumerTest extends WithEmbeddedBroker {
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void aPlainConsumerDecodesAndChecksTheLedgerEventsWithTheSchemasTheEndpointServes() throws Exception {
        final String app = "downstream";
        final List<Long> range = Checkpoint.range(1, 10 * 64 - 1); // checkpoints 63..639: ledgers 1..639
        final Map<String, String> settings = Map.of(ServiceConfig.BOOTSTRAP_SERVERS, broker.bootstrapServers(),
                ServiceConfig.APPLICATION_ID, app, ServiceConfig.TOPIC_PREFIX, app + ".",
                ServiceConfig.DATA_DIR, dir.resolve("data").toString(), ServiceConfig.HTTP_PORT, "0");
        try (HistoryStreamsService svc = HistoryStreamsService.start(ServiceConfig.of(settings))) {
            assertTrue(svc.config().schemaRegistryUrl().startsWith("file:"),
                    "the default registry is a directory: " + svc.config().schemaRegistryUrl());
            ServiceIntegrationTest.request(svc, range);
            try (OutcomeWatcher w = new OutcomeWatcher(svc.clientProps(), svc.topics(), range, 0)) {
                final long end = System.nanoTime() + Duration.ofSeconds(120).toNanos();
                while (!w.done() && System.nanoTime() < end) {
                    w.poll(Duration.ofMillis(200));
                }
                assertEquals(range.size(), w.verifiedCount(), "failed: " + w.failed());
            }
            final String endpoint = svc.health().url();

            // the consumer: bytes in, nothing of ours
            final Map<String, Object> props = new HashMap<>();
            props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
            props.put(ConsumerConfig.GROUP_ID_CONFIG, "a-downstream-consumer");
            props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            final Map<Integer, Schema> writerSchemas = new HashMap<>();
            final TreeMap<Long, GenericRecord> ledgers = new TreeMap<>();
            int records = 0;
            try (KafkaConsumer<Long, byte[]> consumer = new KafkaConsumer<>(props, new LongDeserializer(),
                    new ByteArrayDeserializer())) {
                consumer.subscribe(List.of(app + ".ledgers-verified"));
                final long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (ledgers.size() < 639 && System.nanoTime() < end) {
                    for (final ConsumerRecord<Long, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                        records++;
                        final ByteBuffer b = ByteBuffer.wrap(r.value());
                        assertEquals(0, b.get(), "Confluent wire format: magic byte 0");
                        final int id = b.getInt();
                        final Schema writer = writerSchemas.computeIfAbsent(id, i -> schemaById(endpoint, i));
                        final GenericRecord l = new GenericDatumReader<GenericRecord>(writer).read(null,
                                DecoderFactory.get().binaryDecoder(r.value(), 5, r.value().length - 5, null));
                        assertEquals(r.key(), l.get("ledgerSeq"), "keyed by ledger sequence");
                        ledgers.put((Long) l.get("ledgerSeq"), l);
                    }
                }
            }
            assertEquals(639, records, "each ledger once (read committed)");
            assertEquals(1L, ledgers.firstKey());
            assertEquals(639L, ledgers.lastKey());
            assertEquals(639, ledgers.size());
            final MessageDigest sha = MessageDigest.getInstance("SHA-256");
            byte[] previous = new byte[32]; // the genesis ledger's previousLedgerHash: all zero
            for (final GenericRecord l : ledgers.values()) {
                final byte[] hash = ((GenericData.Fixed) l.get("hash")).bytes();
                final ByteBuffer header = (ByteBuffer) l.get("headerXdr");
                final byte[] headerBytes = new byte[header.remaining()];
                header.get(headerBytes);
                assertArrayEquals(hash, sha.digest(headerBytes), "hash = SHA-256(headerXdr) of " + l.get("ledgerSeq"));
                assertArrayEquals(previous, ((GenericData.Fixed) l.get("previousLedgerHash")).bytes(),
                        "ledger " + l.get("ledgerSeq") + " links to the one before");
                previous = hash;
            }
            // the schema a consumer gets is the one the events are written with
            assertEquals(1, writerSchemas.size());
            assertEquals(LedgerVerified.getClassSchema(), writerSchemas.values().iterator().next());

            // the same schema alone, and the registry's answers for what is not there
            final int id = writerSchemas.keySet().iterator().next();
            final HttpResponse<String> bare = get(endpoint + "/schemas/ids/" + id + "/schema");
            assertEquals(200, bare.statusCode());
            assertEquals(LedgerVerified.getClassSchema(), new Schema.Parser().parse(bare.body()));
            final HttpResponse<String> unknown = get(endpoint + "/schemas/ids/999999");
            assertEquals(404, unknown.statusCode());
            assertEquals(40403, JSON.readTree(unknown.body()).get("error_code").asInt(), unknown.body());
            assertEquals(404, get(endpoint + "/schemas/ids/abc").statusCode());
            final HttpResponse<String> post = HTTP.send(HttpRequest.newBuilder(URI.create(endpoint + "/schemas/ids/"
                    + id)).POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(405, post.statusCode(), "read-only");
        }
    }

    private static Schema schemaById(final String endpoint, final int id) {
        try {
            final HttpResponse<String> r = get(endpoint + "/schemas/ids/" + id);
            assertEquals(200, r.statusCode(), r.body());
            assertTrue(r.headers().firstValue("Content-Type").orElse("").contains("schemaregistry"));
            final JsonNode body = JSON.readTree(r.body());
            return new Schema.Parser().parse(body.get("schema").asText());
        } catch (final Exception e) {
            throw new AssertionError("GET /schemas/ids/" + id + ": " + e, e);
        }
    }

    private static HttpResponse<String> get(final String url) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
