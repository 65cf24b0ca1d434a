package io.historystreams.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.SchemaParser;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class EventSchemasTest {
    private static final String NAMESPACE = "io.historystreams.events";
    private static final Path DIR = Path.of(System.getProperty("basedir", "."), "schemas");
    private static final TreeMap<String, Schema> SCHEMAS = new TreeMap<>();

    @BeforeAll
    static void parseAll() throws IOException {
        final SchemaParser parser = new SchemaParser();
        final List<Path> files;
        try (Stream<Path> s = Files.list(DIR)) {
            files = s.filter(p -> p.toString().endsWith(".avsc")).sorted().collect(Collectors.toList());
        }
        for (final Path file : files) {
            parser.parse(file);
        }
        for (final Schema schema : parser.getParsedNamedSchemas()) {
            SCHEMAS.put(schema.getName(), schema);
        }
        for (final Path file : files) {
            final String name = file.getFileName().toString().replace(".avsc", "");
            assertTrue(SCHEMAS.containsKey(name), file + " must define the type " + name + " (one type per file)");
        }
        assertEquals(files.size(), SCHEMAS.size(), "one named type per .avsc file");
    }

    @Test
    void everyTypeIsInTheNamespaceAndDocumented() {
        assertTrue(SCHEMAS.size() >= 19, "expected all records, enums and Hash32, got " + SCHEMAS.keySet());
        for (final Schema schema : SCHEMAS.values()) {
            assertEquals(NAMESPACE, schema.getNamespace(), schema.getName());
            assertNotNull(schema.getDoc(), schema.getName() + " has no doc");
            if (schema.getType() == Schema.Type.RECORD) {
                for (final Schema.Field field : schema.getFields()) {
                    assertTrue(field.doc() != null && !field.doc().isBlank(),
                            schema.getName() + "." + field.name() + " has no doc");
                }
            }
            if (schema.getType() == Schema.Type.ENUM) {
                assertNotNull(schema.getEnumDefault(), "enum " + schema.getName() + " needs a default symbol");
            }
        }
    }

    @Test
    void nullableFieldsDefaultToNull() {
        for (final Schema schema : records()) {
            for (final Schema.Field field : schema.getFields()) {
                if (field.schema().isNullable()) {
                    assertTrue(field.hasDefaultValue() && field.defaultVal() == org.apache.avro.JsonProperties.NULL_VALUE,
                            schema.getName() + "." + field.name() + " is nullable and must default to null");
                }
            }
        }
    }

    @Test
    void hashesAreTheSharedFixedType() {
        final Schema hash32 = SCHEMAS.get("Hash32");
        assertEquals(Schema.Type.FIXED, hash32.getType());
        assertEquals(32, hash32.getFixedSize());
        final Schema header = SCHEMAS.get("LedgerHeaderFact");
        for (final String f : List.of("hash", "previousLedgerHash", "txSetHash", "txSetResultHash", "bucketListHash")) {
            assertEquals(hash32, header.getField(f).schema(), "LedgerHeaderFact." + f);
        }
        assertEquals(hash32, SCHEMAS.get("FileRef").getField("sha256").schema());
        assertEquals(Schema.Type.LONG, SCHEMAS.get("CheckpointRequest").getField("checkpoint").schema().getType());
        assertEquals("timestamp-millis",
                SCHEMAS.get("CheckpointRequest").getField("requestedAt").schema().getLogicalType().getName());
    }

    @Test
    void generatedClassesMatchTheSchemaFiles() {
        final Set<String> covered = new HashSet<>();
        final List<Class<? extends SpecificRecord>> classes = new ArrayList<>(EventTypes.EVENTS);
        classes.addAll(EventTypes.STATE);
        classes.addAll(EventTypes.NESTED);
        for (final Class<? extends SpecificRecord> type : classes) {
            // the generated schema differs from the file only by the stringType=String annotation
            final String generated = SpecificData.get().getSchema(type).toString()
                    .replace("{\"type\":\"string\",\"avro.java.string\":\"String\"}", "\"string\"");
            assertEquals(SCHEMAS.get(type.getSimpleName()).toString(), generated, type.getSimpleName());
            covered.add(type.getSimpleName());
        }
        assertEquals(records().stream().map(Schema::getName).collect(Collectors.toSet()), covered,
                "EventTypes must list every record schema");
    }

    @Test
    void everyRecordHasASample() {
        final Set<String> sampled = SampleEvents.all().keySet().stream()
                .map(k -> k.contains("/") ? k.substring(0, k.indexOf('/')) : k).collect(Collectors.toSet());
        for (final Schema schema : records()) {
            assertTrue(sampled.contains(schema.getName()), "SampleEvents lacks " + schema.getName());
        }
    }

    @Test
    void readmeListsEveryRecord() throws IOException {
        final String readme = Files.readString(DIR.resolve("README.md"));
        for (final Schema schema : records()) {
            assertTrue(readme.contains("`" + schema.getName() + "`"), "schemas/README.md does not list " + schema.getName());
        }
        assertTrue(readme.contains("BACKWARD"));
    }

    @Test
    void hashesConvertBetweenHexAndBytes() {
        final String hex = "00ff" + "ab".repeat(30);
        final Hash32 h = Hashes.hash32(hex);
        assertEquals(0, h.bytes()[0]);
        assertEquals((byte) 0xff, h.bytes()[1]);
        assertEquals(hex, Hashes.hex(h));
        assertEquals(hex, Hashes.hex(Hashes.hash32(hex.toUpperCase())));
        assertThrows(IllegalArgumentException.class, () -> Hashes.hash32("abcd"));
        assertThrows(IllegalArgumentException.class, () -> Hashes.hash32("zz".repeat(32)));
        assertThrows(IllegalArgumentException.class, () -> Hashes.hash32(new byte[31]));
        final byte[] raw = new byte[32];
        final Hash32 copy = Hashes.hash32(raw);
        raw[0] = 1;
        assertEquals(0, copy.bytes()[0], "hash32(byte[]) must copy");
        assertFalse(Hashes.hex(copy).isEmpty());
    }

    private static List<Schema> records() {
        return SCHEMAS.values().stream().filter(s -> s.getType() == Schema.Type.RECORD).collect(Collectors.toList());
    }
}
