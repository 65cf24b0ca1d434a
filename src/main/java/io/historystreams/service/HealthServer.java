package io.historystreams.service;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The operations endpoint: {@code /health/live} and {@code /health/ready} (200 or 503, from the Streams state) and
 * {@code /metrics} (Prometheus text format). Binds to loopback unless configured otherwise.
 */
public final class HealthServer implements AutoCloseable {
    private final HttpServer server;

    private HealthServer(final HttpServer server) {
        this.server = server;
    }

    public static HealthServer start(final String bind, final int port, final BooleanSupplier live,
            final BooleanSupplier ready, final Supplier<String> metrics, final Supplier<String> state)
            throws IOException {
        final HttpServer s = HttpServer.create(new InetSocketAddress(bind, port), 16);
        s.createContext("/health/live", ex -> respond(ex, live.getAsBoolean() ? 200 : 503, state.get() + "\n",
                "text/plain"));
        s.createContext("/health/ready", ex -> respond(ex, ready.getAsBoolean() ? 200 : 503, state.get() + "\n",
                "text/plain"));
        s.createContext("/metrics", ex -> respond(ex, 200, metrics.get(), "text/plain; version=0.0.4"));
        s.createContext("/", ex -> respond(ex, 404, "try /health/live, /health/ready or /metrics\n", "text/plain"));
        s.setExecutor(Executors.newSingleThreadExecutor(r -> {
            final Thread t = new Thread(r, "health-http");
            t.setDaemon(true);
            return t;
        }));
        s.start();
        return new HealthServer(s);
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
