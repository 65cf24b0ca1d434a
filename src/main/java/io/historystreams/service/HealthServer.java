package io.historystreams.service;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.historystreams.events.serde.SchemaRegistry;
import io.historystreams.events.serde.SchemaRegistryException;
import io.historystreams.events.serde.UnknownSchemaException;
import org.apache.avro.Schema;

import java.io.IOException;
import java.io.OutputStream;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The operations endpoint: {@code /health/live} and {@code /health/ready} (200 or 503, from the Streams state),
 * {@code /metrics} (Prometheus text format) and, read-only, the schemas the events are written with:
 * {@code GET /schemas/ids/{id}} answers as a Confluent schema registry does ({@code {"schema": "..."}}), and
 * {@code /schemas/ids/{id}/schema} with the schema alone, so a consumer's Confluent-compatible Avro deserializer
 * pointed at this endpoint decodes the topics even when the service keeps its registry in a directory (the embedded
 * single-host default) rather than behind a registry server. Binds to loopback unless configured otherwise.
 */
public final class HealthServer implements AutoCloseable {
    /** Seconds a client may take to send its request before its connection is closed. */
    static final long MAX_REQUEST_SECONDS = 10;
    /** Seconds a response may take to be read by its client. */
    static final long MAX_RESPONSE_SECONDS = 30;
    /** Requests handled at once. */
    static final int HANDLER_THREADS = 16;

    private static final Pattern SCHEMA_BY_ID = Pattern.compile("/schemas/ids/([0-9]{1,9})(/schema)?/?");
    private static final String REGISTRY_JSON = "application/vnd.schemaregistry.v1+json";
    private static final JsonFactory JSON = new JsonFactory();

    private final HttpServer server;

    private HealthServer(final HttpServer server) {
        this.server = server;
    }

    public static HealthServer start(final String bind, final int port, final BooleanSupplier live,
            final BooleanSupplier ready, final Supplier<String> metrics, final Supplier<String> state)
            throws IOException {
        return start(bind, port, live, ready, metrics, state, null);
    }

    /** As above; with {@code schemas} (may be null: no schema paths) serving {@code /schemas/ids/{id}}. */
    public static HealthServer start(final String bind, final int port, final BooleanSupplier live,
            final BooleanSupplier ready, final Supplier<String> metrics, final Supplier<String> state,
            final SchemaRegistry schemas) throws IOException {
        // a client that sends its request slowly, or never finishes it, holds a handler thread: the JDK's server
        // closes a connection whose request takes over maxReqTime seconds (no limit by default), and the handlers
        // are a few, so one stalled probe does not block every other (read once per JVM: set before the first server)
        if (System.getProperty("sun.net.httpserver.maxReqTime") == null) {
            System.setProperty("sun.net.httpserver.maxReqTime", Long.toString(MAX_REQUEST_SECONDS));
        }
        if (System.getProperty("sun.net.httpserver.maxRspTime") == null) {
            System.setProperty("sun.net.httpserver.maxRspTime", Long.toString(MAX_RESPONSE_SECONDS));
        }
        final HttpServer s;
        try {
            s = HttpServer.create(new InetSocketAddress(bind, port), 16);
        } catch (final java.net.BindException e) {
            // the default port (8080) is often taken: say which endpoint and how to move it
            throw new java.net.BindException("cannot open the health and metrics endpoint on " + bind + ":" + port
                    + " (" + e.getMessage() + "): choose another port with --http-port or http.port (0: any free "
                    + "port, -1: no endpoint)");
        }
        s.createContext("/health/live", ex -> respond(ex, live.getAsBoolean() ? 200 : 503, state.get() + "\n",
                "text/plain"));
        s.createContext("/health/ready", ex -> respond(ex, ready.getAsBoolean() ? 200 : 503, state.get() + "\n",
                "text/plain"));
        s.createContext("/metrics", ex -> respond(ex, 200, metrics.get(), "text/plain; version=0.0.4"));
        if (schemas != null) {
            s.createContext("/schemas/", ex -> schema(ex, schemas));
        }
        s.createContext("/", ex -> respond(ex, 404, "try /health/live, /health/ready, /metrics"
                + (schemas == null ? "" : " or /schemas/ids/<id>") + "\n", "text/plain"));
        final java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
        s.setExecutor(Executors.newFixedThreadPool(HANDLER_THREADS, r -> {
            final Thread t = new Thread(r, "health-http-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        }));
        s.start();
        return new HealthServer(s);
    }

    /** {@code GET /schemas/ids/{id}[/schema]}, with the registry's status codes and error bodies. */
    private static void schema(final HttpExchange ex, final SchemaRegistry schemas) throws IOException {
        final Matcher m = SCHEMA_BY_ID.matcher(ex.getRequestURI().getPath());
        if (!m.matches()) {
            respond(ex, 404, error(404, "only GET /schemas/ids/<id> and /schemas/ids/<id>/schema are served here"),
                    REGISTRY_JSON);
            return;
        }
        if (!"GET".equals(ex.getRequestMethod())) {
            ex.getResponseHeaders().set("Allow", "GET");
            respond(ex, 405, error(405, "read-only: schemas are registered by the service"), REGISTRY_JSON);
            return;
        }
        final Schema schema;
        try {
            schema = schemas.byId(Integer.parseInt(m.group(1)));
        } catch (final UnknownSchemaException e) {
            respond(ex, 404, error(40403, "Schema " + m.group(1) + " not found"), REGISTRY_JSON);
            return;
        } catch (final SchemaRegistryException e) {
            respond(ex, 500, error(50001, "the service's schema registry failed: " + e.getMessage()), REGISTRY_JSON);
            return;
        }
        if (m.group(2) != null) {
            respond(ex, 200, schema.toString(), REGISTRY_JSON);
            return;
        }
        final StringWriter w = new StringWriter();
        try (JsonGenerator g = JSON.createGenerator(w)) {
            g.writeStartObject();
            g.writeStringField("schema", schema.toString());
            g.writeEndObject();
        }
        respond(ex, 200, w.toString(), REGISTRY_JSON);
    }

    /** A Confluent registry error body. */
    private static String error(final int code, final String message) throws IOException {
        final StringWriter w = new StringWriter();
        try (JsonGenerator g = JSON.createGenerator(w)) {
            g.writeStartObject();
            g.writeNumberField("error_code", code);
            g.writeStringField("message", message);
            g.writeEndObject();
        }
        return w.toString();
    }

    private static void respond(final HttpExchange ex, final int status, final String body, final String type)
            throws IOException {
        final byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        ex.sendResponseHeaders(status, b.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(b);
        }
    }

    public int port() {
        return server.getAddress().getPort();
    }

    public String url() {
        return "http://" + server.getAddress().getHostString() + ":" + port();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
