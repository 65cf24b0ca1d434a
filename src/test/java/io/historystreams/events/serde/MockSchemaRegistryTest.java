package io.historystreams.events.serde;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.historystreams.events.CheckpointFailed;
import io.historystreams.events.CheckpointRequest;
import java.util.List;
import java.util.Set;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class MockSchemaRegistryTest {
    private static final String SCOPE = "mock-registry-test";

    @AfterEach
    void drop() {
        MockSchemaRegistry.dropScope(SCOPE);
        MockSchemaRegistry.dropScope(SCOPE + "-other");
    }

    @Test
    void forUrlGivesOneInstancePerScope() {
        final SchemaRegistry a = SchemaRegistry.forUrl("mock://" + SCOPE);
        assertInstanceOf(MockSchemaRegistry.class, a);
        assertSame(a, SchemaRegistry.forUrl("mock://" + SCOPE));
        assertSame(a, MockSchemaRegistry.forScope(SCOPE));
        assertSame(a, SchemaRegistry.forUrl("MOCK://" + SCOPE));
        assertNotSame(a, SchemaRegistry.forUrl("mock://" + SCOPE + "-other"));
        assertEquals(SCOPE, ((MockSchemaRegistry) a).scope());
    }

    @Test
    void idsStartAtOneAndAreGlobalWithinTheScope() {
        final MockSchemaRegistry r = MockSchemaRegistry.forScope(SCOPE);
        assertEquals(1, r.register("requests-value", CheckpointRequest.getClassSchema()));
        assertEquals(1, r.register("requests-value", CheckpointRequest.getClassSchema()), "idempotent");
        assertEquals(2, r.register("failures-value", CheckpointFailed.getClassSchema()));
        assertEquals(1, r.register("retries-value", CheckpointRequest.getClassSchema()), "same schema, same id");
        assertEquals(List.of(1), r.versions("requests-value"));
        assertEquals(Set.of("requests-value", "failures-value", "retries-value"), r.subjects());
        assertEquals(CheckpointFailed.getClassSchema(), r.byId(2));

        final MockSchemaRegistry other = MockSchemaRegistry.forScope(SCOPE + "-other");
        assertEquals(1, other.register("failures-value", CheckpointFailed.getClassSchema()), "scopes are independent");
    }

    @Test
    void unknownIdNamesTheIdAndScope() {
        final MockSchemaRegistry r = MockSchemaRegistry.forScope(SCOPE);
        final UnknownSchemaException e = assertThrows(UnknownSchemaException.class, () -> r.byId(77));
        assertEquals(77, e.schemaId());
        assertTrue(e.getMessage().contains("unknown schema id 77") && e.getMessage().contains(SCOPE), e.getMessage());
    }

    @Test
    void incompatibleNewVersionsAreRefused() {
        final MockSchemaRegistry r = MockSchemaRegistry.forScope(SCOPE);
        final Schema v1 = SchemaBuilder.record("Thing").namespace("x").fields().requiredLong("a").endRecord();
        final Schema v2 = SchemaBuilder.record("Thing").namespace("x").fields().requiredLong("a")
                .name("b").type().intType().intDefault(0).endRecord();
        final Schema v3 = SchemaBuilder.record("Thing").namespace("x").fields().requiredLong("a")
                .requiredInt("b").requiredString("c").endRecord();
        assertEquals(1, r.register("things-value", v1));
        assertEquals(2, r.register("things-value", v2), "adding a field with a default is backward compatible");
        final SchemaRegistryException e = assertThrows(SchemaRegistryException.class,
                () -> r.register("things-value", v3));
        assertTrue(e.getMessage().contains("not BACKWARD compatible") && e.getMessage().contains("things-value"),
                e.getMessage());
        assertEquals(List.of(1, 2), r.versions("things-value"));
    }

    @Test
    void unsupportedUrlsAreRefused() {
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SchemaRegistry.forUrl("ftp://user:secret@host/"));
        assertTrue(e.getMessage().contains("unsupported") && !e.getMessage().contains("secret"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SchemaRegistry.forUrl(" "));
        assertInstanceOf(RestSchemaRegistry.class, SchemaRegistry.forUrl("http://127.0.0.1:1"));
        assertSame(SchemaRegistry.forUrl("http://127.0.0.1:1"), SchemaRegistry.forUrl("http://127.0.0.1:1"));
    }
}
