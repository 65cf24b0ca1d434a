package io.historystreams.events.serde;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.avro.Schema;
import org.apache.avro.SchemaParseException;

/**
 * A tiny but real Confluent-compatible schema registry on 127.0.0.1 for tests: {@code POST /subjects/{s}/versions},
 * {@code GET /schemas/ids/{id}}, optional basic auth, injectable failures, request counters.
 */
final class TestSchemaRegistryServer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";

    final AtomicInteger registerCalls = new AtomicInteger();
    final AtomicInteger lookupCalls = new AtomicInteger();
    final AtomicInteger totalCalls = new AtomicInteger();
    final List<String> registeredSubjects = new ArrayList<>();
    volatile String lastAuthorization;
    volatile int failNextWith;

    private final HttpServer server;
    private final String requiredAuthorization;
    private final Map<String, Integer> idsBySchema = new HashMap<>();
    private final Map<Integer, String> schemasById = new HashMap<>();

    TestSchemaRegistryServer() throws IOException {
        this(null);
    }

    /** @param userInfo {@code user:pass} required in basic auth, or null for none */
    TestSchemaRegistryServer(final String userInfo) throws IOException {
        this.requiredAuthorization = userInfo == null ? null
                : "Basic " + Base64.getEncoder().encodeToString(userInfo.getBytes(StandardCharsets.UTF_8));
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    int port() {
        return server.getAddress().getPort();
    }

    private void handle(final HttpExchange ex) throws IOException {
        try (ex) {
            totalCalls.incrementAndGet();
            lastAuthorization = ex.getRequestHeaders().getFirst("Authorization");
            if (requiredAuthorization != null && !requiredAuthorization.equals(lastAuthorization)) {
                error(ex, 401, 40101, "Unauthorized");
                return;
            }
            if (failNextWith != 0) {
                final int status = failNextWith;
                failNextWith = 0;
                error(ex, status, status * 100 + 1, "Error in the backend data store");
                return;
            }
            final String[] parts = ex.getRequestURI().getRawPath().split("/");
            final String method = ex.getRequestMethod();
            if (method.equals("POST") && parts.length == 4 && parts[1].equals("subjects") && parts[3].equals("versions")) {
                register(ex, URLDecoder.decode(parts[2], StandardCharsets.UTF_8));
            } else if (method.equals("GET") && parts.length == 4 && parts[1].equals("schemas") && parts[2].equals("ids")) {
                lookup(ex, Integer.parseInt(parts[3]));
            } else {
                send(ex, 404, "<html>Not Found</html>", "text/html");
            }
        }
    }

    private void register(final HttpExchange ex, final String subject) throws IOException {
        registerCalls.incrementAndGet();
        final String type = ex.getRequestHeaders().getFirst("Content-Type");
        if (type == null || !type.startsWith(CONTENT_TYPE)) {
            error(ex, 415, 415, "Unsupported Media Type: " + type);
            return;
        }
        final JsonNode body = JSON.readTree(ex.getRequestBody());
        final String text = body.path("schema").asText(null);
        try {
            new Schema.Parser().parse(text);
        } catch (final SchemaParseException | NullPointerException e) {
            error(ex, 422, 42201, "Invalid schema");
            return;
        }
        final int id;
        synchronized (this) {
            registeredSubjects.add(subject);
            id = idsBySchema.computeIfAbsent(text, t -> idsBySchema.size() + 1);
            schemasById.put(id, text);
        }
        final ObjectNode answer = JSON.createObjectNode().put("id", id);
        send(ex, 200, answer.toString(), CONTENT_TYPE);
    }

    private void lookup(final HttpExchange ex, final int id) throws IOException {
        lookupCalls.incrementAndGet();
        final String text;
        synchronized (this) {
            text = schemasById.get(id);
        }
        if (text == null) {
            error(ex, 404, 40403, "Schema " + id + " not found");
            return;
        }
        send(ex, 200, JSON.createObjectNode().put("schema", text).toString(), CONTENT_TYPE);
    }

    private static void error(final HttpExchange ex, final int status, final int code, final String message)
            throws IOException {
        send(ex, status, JSON.createObjectNode().put("error_code", code).put("message", message).toString(), CONTENT_TYPE);
    }

    private static void send(final HttpExchange ex, final int status, final String body, final String type)
            throws IOException {
        final byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        ex.sendResponseHeaders(status, bytes.length);
        ex.getResponseBody().write(bytes);
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
