package io.historystreams.events.serde;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.historystreams.events.CheckpointFailed;
import io.historystreams.events.CheckpointRequest;
import io.historystreams.events.SampleEvents;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class RestSchemaRegistryTest {
    private static final Schema REQUEST = CheckpointRequest.getClassSchema();
    private static final Schema FAILED = CheckpointFailed.getClassSchema();

    private TestSchemaRegistryServer server;

    @BeforeEach
    void start() throws Exception {
        server = new TestSchemaRegistryServer();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void aHostNameJavasClientCannotReachIsRefusedWithTheReason() {
        // it failed at the first request as "unsupported URI http://reg_host:19356/subjects/..."
        final IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(
                IllegalArgumentException.class, () -> new RestSchemaRegistry("http://reg_host:19356"));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("(reg_host: an underscore?)"),
                e.getMessage());
    }

    @Test
    void registerReturnsTheIdAndIsCached() {
        final RestSchemaRegistry client = new RestSchemaRegistry(server.url());
        assertEquals(1, client.register("requests-value", REQUEST));
        assertEquals(1, client.register("requests-value", REQUEST));
        assertEquals(1, server.registerCalls.get(), "the second registration is served from the cache");
        assertEquals(2, client.register("failures-value", FAILED));
        assertEquals(List.of("requests-value", "failures-value"), server.registeredSubjects);

        final RestSchemaRegistry other = new RestSchemaRegistry(server.url() + "/");
        assertEquals(1, other.register("requests-value", REQUEST), "the registry itself is idempotent");
        assertEquals(3, server.registerCalls.get());
        assertEquals(server.url(), other.baseUrl());
    }

    @Test
    void lookupByIdIsCached() {
        final RestSchemaRegistry producer = new RestSchemaRegistry(server.url());
        final int id = producer.register("requests-value", REQUEST);
        assertEquals(REQUEST, producer.byId(id));
        assertEquals(0, server.lookupCalls.get(), "a registered schema is known by id without asking");

        final RestSchemaRegistry consumer = new RestSchemaRegistry(server.url());
        assertEquals(REQUEST, consumer.byId(id));
        assertEquals(1, server.lookupCalls.get());
        final int before = server.totalCalls.get();
        assertEquals(REQUEST, consumer.byId(id));
        assertEquals(before, server.totalCalls.get(), "the second lookup makes no HTTP call");
    }

    @Test
    void unknownIdIsUnknownSchemaException() {
        final RestSchemaRegistry client = new RestSchemaRegistry(server.url());
        final UnknownSchemaException e = assertThrows(UnknownSchemaException.class, () -> client.byId(42));
        assertEquals(42, e.schemaId());
        assertTrue(e.getMessage().contains("unknown schema id 42") && e.getMessage().contains("40403"), e.getMessage());
        assertThrows(UnknownSchemaException.class, () -> client.byId(42));
        assertEquals(2, server.lookupCalls.get(), "a miss is not cached: the schema may be registered later");
    }

    @Test
    void subjectsAreUrlEncoded() {
        final RestSchemaRegistry client = new RestSchemaRegistry(server.url());
        client.register("odd topic/name-value", REQUEST);
        assertEquals(List.of("odd topic/name-value"), server.registeredSubjects);
    }

    @Test
    void basicAuthFromTheUrlOrConfigAndNeverInMessages() throws Exception {
        try (TestSchemaRegistryServer secured = new TestSchemaRegistryServer("alice:s3cr+t")) {
            final String host = "127.0.0.1:" + secured.port();
            final RestSchemaRegistry fromUrl = new RestSchemaRegistry("http://alice:s3cr%2Bt@" + host);
            assertEquals(1, fromUrl.register("requests-value", REQUEST));
            assertEquals("Basic " + Base64.getEncoder().encodeToString("alice:s3cr+t".getBytes(StandardCharsets.UTF_8)),
                    secured.lastAuthorization);
            assertFalse(fromUrl.toString().contains("s3cr"), fromUrl.toString());
            assertEquals("http://" + host, fromUrl.baseUrl());

            final SchemaRegistry fromConfig = SchemaRegistry.forUrl("http://" + host,
                    Map.of(SchemaRegistry.BASIC_AUTH_USER_INFO_CONFIG, "alice:s3cr+t"));
            assertEquals(REQUEST, fromConfig.byId(1));

            final RestSchemaRegistry wrong = new RestSchemaRegistry("http://alice:wrong-pass@" + host);
            final SchemaRegistryException e = assertThrows(SchemaRegistryException.class, () -> wrong.byId(1));
            assertTrue(e.getMessage().contains("HTTP 401") && e.getMessage().contains("credentials"), e.getMessage());
            assertFalse(e.getMessage().contains("wrong-pass"), e.getMessage());

            final RestSchemaRegistry none = new RestSchemaRegistry("http://" + host);
            assertThrows(SchemaRegistryException.class, () -> none.register("x-value", REQUEST));
        }
    }

    @Test
    void serverErrorsAreClearAndNotCached() {
        final RestSchemaRegistry client = new RestSchemaRegistry(server.url());
        server.failNextWith = 500;
        final SchemaRegistryException e = assertThrows(SchemaRegistryException.class,
                () -> client.register("requests-value", REQUEST));
        assertTrue(e.getMessage().contains("HTTP 500") && e.getMessage().contains("50001")
                && e.getMessage().contains("backend data store") && e.getMessage().contains("/subjects/requests-value/versions"),
                e.getMessage());
        assertEquals(1, client.register("requests-value", REQUEST), "the next attempt goes through");
    }

    @Test
    void somethingThatIsNotARegistryIsNamed() {
        final RestSchemaRegistry client = new RestSchemaRegistry(server.url() + "/not-a-registry");
        final SchemaRegistryException e = assertThrows(SchemaRegistryException.class, () -> client.byId(1));
        assertFalse(e instanceof UnknownSchemaException, "a bare 404 is not an unknown id");
        assertTrue(e.getMessage().contains("HTTP 404") && e.getMessage().contains("a schema registry?"), e.getMessage());
    }

    @Test
    void anUnreachableRegistryIsAClearError() throws Exception {
        final int port;
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = socket.getLocalPort();
        }
        final RestSchemaRegistry client = new RestSchemaRegistry("http://127.0.0.1:" + port, null, Duration.ofSeconds(5));
        final SchemaRegistryException e = assertThrows(SchemaRegistryException.class, () -> client.byId(1));
        assertTrue(e.getMessage().contains("cannot reach schema registry at http://127.0.0.1:" + port), e.getMessage());
    }

    @Test
    void invalidUrlsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new RestSchemaRegistry("mock://x"));
        assertThrows(IllegalArgumentException.class, () -> new RestSchemaRegistry("http:///nohost"));
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new RestSchemaRegistry("http://127.0.0.1:1", "no-colon"));
        assertTrue(e.getMessage().contains("user:password"), e.getMessage());
    }

    @Test
    void serdesRoundTripThroughTheRealRegistry() {
        final AvroSerde<CheckpointRequest> producer = new AvroSerde<>(CheckpointRequest.class);
        producer.configure(Map.of(AvroSerde.SCHEMA_REGISTRY_URL_CONFIG, server.url() + "/"), false);
        assertInstanceOf(RestSchemaRegistry.class, producer.registry());
        final AvroSerde<CheckpointRequest> consumer =
                AvroSerde.forClass(CheckpointRequest.class, new RestSchemaRegistry(server.url()));
        final CheckpointRequest request = (CheckpointRequest) SampleEvents.all().get("CheckpointRequest/full");

        final byte[] first = producer.serialize("requests", request);
        assertEquals(request, consumer.deserialize("requests", first));
        final int calls = server.totalCalls.get();
        for (int i = 0; i < 3; i++) {
            assertEquals(request, consumer.deserialize("requests", producer.serialize("requests", request)));
        }
        assertEquals(calls, server.totalCalls.get(), "ids and schemas are cached on both sides");
        assertTrue(server.registeredSubjects.contains("requests-value"));

        final byte[] unknown = first.clone();
        unknown[4] = 99;
        final SerializationException e = assertThrows(SerializationException.class,
                () -> consumer.deserialize("requests", unknown));
        assertTrue(e.getMessage().contains("unknown schema id 99"), e.getMessage());
    }
}
