package io.historystreams.events.serde;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.historystreams.events.CheckpointFailed;
import io.historystreams.events.CheckpointRequest;
import io.historystreams.events.LedgerVerified;
import io.historystreams.events.RequestReason;
import io.historystreams.events.SampleEvents;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.avro.util.ClassSecurityValidator;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class AvroSerdeTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private String scope;
    private MockSchemaRegistry registry;

    @BeforeEach
    void freshScope() {
        scope = "serde-test-" + UUID.randomUUID();
        registry = MockSchemaRegistry.forScope(scope);
    }

    @AfterEach
    void dropScope() {
        MockSchemaRegistry.dropScope(scope);
    }

    static Stream<Arguments> samples() {
        return SampleEvents.all().entrySet().stream().map(e -> Arguments.of(e.getKey(), e.getValue()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("samples")
    void everyRecordRoundTripsInConfluentLayout(final String name, final SpecificRecord record) throws IOException {
        final AvroSerde<SpecificRecord> serde = serdeFor(record);
        final byte[] wire = serde.serialize("topic-" + name.replace('/', '-'), record);

        final int id = registry.versions("topic-" + name.replace('/', '-') + "-value").get(0);
        assertEquals(1, id, "first schema in a fresh scope gets id 1");
        assertEquals(0, wire[0], "magic byte");
        assertEquals(id, ByteBuffer.wrap(wire, 1, 4).getInt(), "big-endian schema id in bytes 1..4");
        assertEquals(id, AvroSerde.schemaId(wire));
        assertArrayEquals(plainAvro(record), Arrays.copyOfRange(wire, 5, wire.length),
                "bytes after the header are the plain Avro binary encoding");

        final SpecificRecord back = serde.deserialize("any-topic", wire);
        assertEquals(record.getClass(), back.getClass());
        assertEquals(record, back, name + " must survive the round trip");
        assertEquals(record.toString(), back.toString());
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private AvroSerde<SpecificRecord> serdeFor(final SpecificRecord record) {
        return (AvroSerde<SpecificRecord>) (AvroSerde) AvroSerde.forClass(record.getClass(), registry);
    }

    private static byte[] plainAvro(final SpecificRecord record) throws IOException {
        @SuppressWarnings("unchecked")
        final SpecificDatumWriter<SpecificRecord> writer = new SpecificDatumWriter<>(
                (Class<SpecificRecord>) record.getClass());
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        writer.write(record, encoder);
        encoder.flush();
        return out.toByteArray();
    }

    /**
     * The serializer reuses a per-thread buffer and encoder: a record larger than the kept buffer, a failed
     * encoding and the records after them still come out exactly as plain Avro, each in its own array.
     */
    @Test
    void encodingsOnOneThreadDoNotLeakIntoEachOther() throws IOException {
        final LedgerVerified small = (LedgerVerified) SampleEvents.all().get("LedgerVerified/full");
        final byte[] big = new byte[3 << 20];
        new java.util.Random(7).nextBytes(big);
        final LedgerVerified large = LedgerVerified.newBuilder(small).setTransactionSetXdr(ByteBuffer.wrap(big))
                .build();
        final AvroSerde<LedgerVerified> serde = AvroSerde.forClass(LedgerVerified.class, registry);
        final byte[] first = serde.serialize("ledgers", small);
        final byte[] second = serde.serialize("ledgers", large);
        final LedgerVerified broken = LedgerVerified.newBuilder(small).build();
        broken.setArchive(null); // not nullable in the schema: the writer fails half way through the record
        assertThrows(org.apache.kafka.common.errors.SerializationException.class,
                () -> serde.serialize("ledgers", broken));
        final byte[] third = serde.serialize("ledgers", small);
        assertArrayEquals(plainAvro(small), Arrays.copyOfRange(first, 5, first.length));
        assertArrayEquals(plainAvro(large), Arrays.copyOfRange(second, 5, second.length));
        assertArrayEquals(first, third, "the same record after a large and a failed one");
        assertEquals(large, serde.deserialize("ledgers", second));
        assertEquals(small, serde.deserialize("ledgers", third));
    }

    private static CheckpointRequest request() {
        return (CheckpointRequest) SampleEvents.all().get("CheckpointRequest/full");
    }

    @Test
    void nullIsATombstoneBothWays() {
        final AvroSerde<CheckpointRequest> serde = AvroSerde.forClass(CheckpointRequest.class, registry);
        assertNull(serde.serialize("t", null));
        assertNull(serde.deserialize("t", null));
        assertTrue(registry.subjects().isEmpty(), "a tombstone must not register anything");
    }

    @Test
    void registersOncePerTopicUnderValueAndKeySubjects() {
        final CountingRegistry counting = new CountingRegistry(registry);
        final AvroSerde<CheckpointRequest> values = AvroSerde.forClass(CheckpointRequest.class, counting);
        values.serialize("requests", request());
        values.serialize("requests", request());
        values.serialize("requests", request());
        values.serialize("retries", request());
        assertEquals(2, counting.registers.get(), "one registration per topic");
        assertEquals(List.of("requests-value", "retries-value"), counting.subjects);

        final AvroSerde<CheckpointRequest> keys = AvroSerde.forClass(CheckpointRequest.class, registry, true);
        final byte[] wire = keys.serialize("requests", request());
        assertEquals(List.of(AvroSerde.schemaId(wire)), registry.versions("requests-key"));
        assertEquals(registry.versions("requests-value"), registry.versions("requests-key"),
                "the same schema has the same id under every subject");
        assertEquals(CheckpointRequest.getClassSchema(), registry.byId(AvroSerde.schemaId(wire)));
    }

    @Test
    void writerSchemaIsFetchedOncePerId() {
        final CountingRegistry counting = new CountingRegistry(registry);
        final AvroSerde<CheckpointRequest> serde = AvroSerde.forClass(CheckpointRequest.class, counting);
        final byte[] wire = serde.serialize("requests", request());
        for (int i = 0; i < 5; i++) {
            assertEquals(request(), serde.deserialize("requests", wire));
        }
        assertEquals(1, counting.lookups.get());
    }

    @Test
    void unknownSchemaIdIsAClearError() {
        final AvroSerde<CheckpointRequest> serde = AvroSerde.forClass(CheckpointRequest.class, registry);
        final byte[] wire = serde.serialize("requests", request());
        ByteBuffer.wrap(wire).putInt(1, 9999);
        final SerializationException e = assertThrows(SerializationException.class,
                () -> serde.deserialize("requests", wire));
        assertTrue(e.getMessage().contains("unknown schema id 9999"), e.getMessage());
        assertTrue(e.getCause() instanceof UnknownSchemaException);
        assertEquals(9999, ((UnknownSchemaException) e.getCause()).schemaId());
    }

    @Test
    void wrongMagicByteIsRejected() {
        final AvroSerde<CheckpointRequest> serde = AvroSerde.forClass(CheckpointRequest.class, registry);
        final byte[] wire = serde.serialize("requests", request());
        wire[0] = 1;
        final SerializationException e = assertThrows(SerializationException.class,
                () -> serde.deserialize("requests", wire));
        assertTrue(e.getMessage().contains("unknown magic byte 0x01 (not Confluent wire format)"), e.getMessage());
        final byte[] json = "{\"a\":1}".getBytes();
        assertTrue(assertThrows(SerializationException.class, () -> serde.deserialize("requests", json))
                .getMessage().contains("0x7b"));
    }

    @Test
    void shortTruncatedAndOverlongPayloadsAreRejected() {
        final AvroSerde<CheckpointRequest> serde = AvroSerde.forClass(CheckpointRequest.class, registry);
        final SerializationException tooShort = assertThrows(SerializationException.class,
                () -> serde.deserialize("requests", new byte[] {0, 0, 0}));
        assertTrue(tooShort.getMessage().contains("payload of 3 bytes") && tooShort.getMessage().contains("too short"),
                tooShort.getMessage());
        assertThrows(SerializationException.class, () -> serde.deserialize("requests", new byte[0]));

        final byte[] wire = serde.serialize("requests", request());
        final SerializationException truncated = assertThrows(SerializationException.class,
                () -> serde.deserialize("requests", Arrays.copyOf(wire, wire.length - 3)));
        assertTrue(truncated.getMessage().contains("cannot decode"), truncated.getMessage());

        final SerializationException trailing = assertThrows(SerializationException.class,
                () -> serde.deserialize("requests", Arrays.copyOf(wire, wire.length + 2)));
        assertTrue(trailing.getMessage().contains("bytes left"), trailing.getMessage());
    }

    @Test
    void aRecordOfAnotherTypeIsNotReadAsThisType() {
        final byte[] wire = AvroSerde.forClass(CheckpointFailed.class, registry)
                .serialize("failures", (CheckpointFailed) SampleEvents.all().get("CheckpointFailed/full"));
        final SerializationException e = assertThrows(SerializationException.class,
                () -> AvroSerde.forClass(CheckpointRequest.class, registry).deserialize("failures", wire));
        assertTrue(e.getMessage().contains("cannot be read as io.historystreams.events.CheckpointRequest"), e.getMessage());
        // by type, place and message, without the two schemas whole (a trial's line ran to 13,658 characters)
        assertTrue(e.getMessage().contains("READER_FIELD_MISSING_DEFAULT_VALUE at /fields/"), e.getMessage());
        assertTrue(e.getMessage().length() < 1000, e.getMessage());
    }

    @Test
    void anOlderWriterIsReadWithDefaults() throws IOException {
        // version 1 of CheckpointRequest: no networkPassphrase, no attempt, no predecessorRequested, no notFrom
        final Schema current = CheckpointRequest.getClassSchema();
        final ObjectNode v1 = (ObjectNode) JSON.readTree(current.toString());
        final ArrayNode fields = (ArrayNode) v1.get("fields");
        for (int i = fields.size() - 1; i >= 0; i--) {
            final String name = fields.get(i).get("name").asText();
            if (name.equals("networkPassphrase") || name.equals("attempt") || name.equals("predecessorRequested")
                    || name.equals("notFrom")) {
                fields.remove(i);
            }
        }
        final Schema old = new Schema.Parser().parse(v1.toString());
        assertEquals(current.getFields().size() - 4, old.getFields().size());

        final GenericRecord record = new GenericData.Record(old);
        record.put("archive", SampleEvents.ARCHIVE);
        record.put("sources", List.of("https://a.example/archive"));
        record.put("checkpoint", 191L);
        record.put("reason", new GenericData.EnumSymbol(old.getField("reason").schema(), "TAIL"));
        record.put("requestedAt", SampleEvents.AT.toEpochMilli());
        final int oldId = registry.register("requests-value", old);
        final byte[] wire = frame(oldId, old, record);

        final AvroSerde<CheckpointRequest> serde = AvroSerde.forClass(CheckpointRequest.class, registry);
        final CheckpointRequest read = serde.deserialize("requests", wire);
        assertEquals(191L, read.getCheckpoint());
        assertEquals(RequestReason.TAIL, read.getReason());
        assertEquals(SampleEvents.AT, read.getRequestedAt());
        assertEquals(0, read.getAttempt(), "missing attempt takes its default");
        assertNull(read.getNetworkPassphrase(), "missing passphrase takes its default");
        assertFalse(read.getPredecessorRequested(), "missing predecessorRequested takes its default");
        assertEquals(List.of(), read.getNotFrom(), "missing notFrom takes its default");

        // the current schema is a BACKWARD-compatible next version of the subject
        final int newId = serde.registry().register("requests-value", current);
        assertNotEquals(oldId, newId);
        assertEquals(List.of(oldId, newId), registry.versions("requests-value"));
    }

    @Test
    void aNewerWriterIsReadIgnoringNewFieldsAndMappingNewSymbolsToTheDefault() throws IOException {
        final ObjectNode v3 = (ObjectNode) JSON.readTree(CheckpointRequest.getClassSchema().toString());
        final ObjectNode priority = JSON.createObjectNode();
        priority.put("name", "priority");
        priority.put("type", "int");
        priority.put("default", 5);
        priority.put("doc", "added in a later version");
        ((ArrayNode) v3.get("fields")).add(priority);
        for (final var field : v3.get("fields")) {
            if (field.get("name").asText().equals("reason")) {
                ((ArrayNode) field.get("type").get("symbols")).add("BACKFILL");
            }
        }
        final Schema newer = new Schema.Parser().parse(v3.toString());
        final GenericRecord record = new GenericData.Record(newer);
        record.put("archive", SampleEvents.ARCHIVE);
        record.put("sources", List.of());
        record.put("networkPassphrase", SampleEvents.PASSPHRASE);
        record.put("checkpoint", 255L);
        record.put("reason", new GenericData.EnumSymbol(newer.getField("reason").schema(), "BACKFILL"));
        record.put("requestedAt", SampleEvents.AT.toEpochMilli());
        record.put("attempt", 4);
        record.put("predecessorRequested", true);
        record.put("notFrom", List.of("https://b.example/archive"));
        record.put("priority", 9);
        final byte[] wire = frame(registry.register("requests-value", newer), newer, record);

        final CheckpointRequest read = AvroSerde.forClass(CheckpointRequest.class, registry).deserialize("requests", wire);
        assertEquals(255L, read.getCheckpoint());
        assertEquals(4, read.getAttempt());
        assertTrue(read.getPredecessorRequested());
        assertEquals(List.of("https://b.example/archive"), read.getNotFrom());
        assertEquals(SampleEvents.PASSPHRASE, read.getNetworkPassphrase());
        assertEquals(RequestReason.RANGE, read.getReason(), "an unknown symbol reads as the enum default");
    }

    @Test
    void anIncompatibleWriterIsAClearError() throws IOException {
        final ObjectNode bad = (ObjectNode) JSON.readTree(CheckpointRequest.getClassSchema().toString());
        for (final var field : bad.get("fields")) {
            if (field.get("name").asText().equals("checkpoint")) {
                ((ObjectNode) field).put("type", "string");
            }
        }
        final Schema changed = new Schema.Parser().parse(bad.toString());
        final GenericRecord record = new GenericData.Record(changed);
        record.put("archive", "a");
        record.put("sources", List.of());
        record.put("checkpoint", "sixty-three");
        record.put("reason", new GenericData.EnumSymbol(changed.getField("reason").schema(), "RANGE"));
        record.put("requestedAt", 0L);
        record.put("attempt", 0);
        record.put("predecessorRequested", false);
        record.put("notFrom", List.of());
        final byte[] wire = frame(registry.register("other-value", changed), changed, record);
        final SerializationException e = assertThrows(SerializationException.class,
                () -> AvroSerde.forClass(CheckpointRequest.class, registry).deserialize("other", wire));
        assertTrue(e.getMessage().contains("cannot be read as io.historystreams.events.CheckpointRequest")
                && e.getMessage().contains("LONG not compatible with writer type: STRING"), e.getMessage());
    }

    private static byte[] frame(final int id, final Schema schema, final GenericRecord record) throws IOException {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0);
        out.write(ByteBuffer.allocate(4).putInt(id).array());
        final BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        new GenericDatumWriter<GenericRecord>(schema).write(record, encoder);
        encoder.flush();
        return out.toByteArray();
    }

    @Test
    void configureTakesTheRegistryUrlAndKeyMode() {
        final AvroSerde<CheckpointRequest> serde = new AvroSerde<>(CheckpointRequest.class);
        serde.configure(Map.of(AvroSerde.SCHEMA_REGISTRY_URL_CONFIG, "mock://" + scope), true);
        assertSame(registry, serde.registry());
        assertTrue(serde.isKey());
        final byte[] wire = serde.serialize("requests", request());
        assertEquals(List.of("requests-key"), List.copyOf(registry.subjects()));
        assertEquals(request(), serde.deserializer().deserialize("requests", wire));
        assertSame(serde, serde.serializer());
    }

    @Test
    void withoutConfigurationTheDefaultMockRegistryIsUsed() {
        final AvroSerde<CheckpointRequest> serde = new AvroSerde<>(CheckpointRequest.class);
        assertSame(SchemaRegistry.forUrl(AvroSerde.DEFAULT_SCHEMA_REGISTRY_URL), serde.registry());
        assertEquals("mock://history-streams", AvroSerde.DEFAULT_SCHEMA_REGISTRY_URL);
        assertEquals(request(), serde.deserialize("x", serde.serialize("x", request())));
    }

    @Test
    void anExplicitRegistryIsKeptByConfigure() {
        final AvroSerde<CheckpointRequest> serde = AvroSerde.forClass(CheckpointRequest.class, registry);
        serde.configure(Map.of(AvroSerde.SCHEMA_REGISTRY_URL_CONFIG, "mock://elsewhere-" + scope), false);
        assertSame(registry, serde.registry());
        MockSchemaRegistry.dropScope("elsewhere-" + scope);
    }

    @Test
    void encodingAnIncompleteRecordIsASerializationException() {
        final CheckpointRequest incomplete = new CheckpointRequest();
        incomplete.setArchive("a");
        final SerializationException e = assertThrows(SerializationException.class,
                () -> AvroSerde.forClass(CheckpointRequest.class, registry).serialize("requests", incomplete));
        assertTrue(e.getMessage().contains("cannot encode CheckpointRequest for topic 'requests'"), e.getMessage());
    }

    @Test
    void avroTrustsTheEventPackageEvenIfTheValidatorWasAlreadyLoaded() {
        assertTrue(System.getProperty(AvroTrust.PROPERTY, "").contains("io.historystreams"));
        final ClassSecurityValidator.ClassSecurityPredicate saved = ClassSecurityValidator.getGlobal();
        try {
            ClassSecurityValidator.setGlobal(ClassSecurityValidator.DEFAULT_TRUSTED_CLASSES);
            assertTrue(!ClassSecurityValidator.getGlobal().isTrusted(CheckpointRequest.class));
            AvroTrust.ensureTrusted();
            assertTrue(ClassSecurityValidator.getGlobal().isTrusted(CheckpointRequest.class));
            assertTrue(ClassSecurityValidator.getGlobal().isTrusted(String.class), "previous trust is kept");
            assertTrue(!ClassSecurityValidator.getGlobal().isTrusted(java.net.Socket.class));
        } finally {
            ClassSecurityValidator.setGlobal(saved);
        }
        assertEquals(CheckpointRequest.class, SpecificData.get().getClass(CheckpointRequest.getClassSchema()));
    }
}
