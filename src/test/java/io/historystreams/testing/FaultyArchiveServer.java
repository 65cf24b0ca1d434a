package io.historystreams.testing;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * A real HTTP/1.1 server on 127.0.0.1 (ephemeral port) that serves a directory (a fixture archive) with keep-alive,
 * and injects faults scripted per path: error statuses with headers, connection resets, truncated or trickled bodies,
 * hung requests, flipped bytes, replaced bodies, dropped connections, delays. Written on raw sockets, one thread per
 * connection, so that every fault is possible; {@link #close()} stops every thread and closes every connection.
 *
 * <p>Scripting: {@code server.on("bucket/ab/...").status(503, "Retry-After", "1").reset().truncate(100)} queues
 * three faults consumed one request at a time, after which the path is served normally; {@link Script#forever()}
 * makes the last fault permanent. Rules match an exact path, a prefix or a regex (archive-relative, no leading
 * slash); the first rule (in the order they were added) with a fault left serves the request.
 *
 * <p>Fault catalogue (see {@link Fault}): {@code status}, {@code reset}, {@code truncate}, {@code trickle},
 * {@code hang}, {@code flipByte}, {@code body}, {@code drop}, {@code delay}.
 */
public final class FaultyArchiveServer implements AutoCloseable {
    private static final int MAX_LINE = 8192;
    private static final int MAX_HEADERS = 100;
    private static final int IDLE_TIMEOUT_MILLIS = 30_000;

    private final ServerSocket serverSocket;
    private final Thread acceptor;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private final Set<Thread> threads = ConcurrentHashMap.newKeySet();
    private final List<Rule> rules = new CopyOnWriteArrayList<>();
    private final Map<String, byte[]> overlays = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> requestCounts = new ConcurrentHashMap<>();
    private final AtomicInteger totalRequests = new AtomicInteger();
    private final Map<String, AtomicInteger> getCounts = new ConcurrentHashMap<>();
    private final AtomicInteger connections = new AtomicInteger();
    private final AtomicInteger faultsServed = new AtomicInteger();
    private final AtomicLong threadIds = new AtomicLong();
    private final CountDownLatch closing = new CountDownLatch(1);
    private final List<String> requestLog = Collections.synchronizedList(new ArrayList<>());
    private volatile Path root;
    private volatile boolean closed;
    private volatile Map<String, String> lastRequestHeaders = Map.of();
    private final java.util.Set<String> held = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final Object holdLock = new Object();

    private FaultyArchiveServer(final Path root) throws IOException {
        this.root = root == null ? null : root.toAbsolutePath().normalize();
        this.serverSocket = new ServerSocket();
        serverSocket.setReuseAddress(true);
        serverSocket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        this.acceptor = new Thread(this::acceptLoop, "faulty-archive-server-" + port() + "-accept");
        acceptor.setDaemon(true);
        threads.add(acceptor);
        acceptor.start();
    }

    /** Starts a server for {@code root} (may be null: then only overlays are served). */
    public static FaultyArchiveServer start(final Path root) throws IOException {
        return new FaultyArchiveServer(root);
    }

    /**
     * Answers no request for {@code path} until {@link #release()}: a run that needs the file stops part-way, however
     * fast the machine, for tests that act in the middle of one. Only the requests for that file wait; a file held
     * before is answered from then on.
     */
    public void hold(final String path) {
        synchronized (holdLock) {
            held.clear();
            held.add(strip(path));
        }
    }

    /**
     * Holds the transactions file of {@code checkpoint} ({@link #hold(String)}): no checkpoint from it on is verified
     * before {@link #release()}, since each links to the one before, while the ones before it are.
     */
    public void holdCheckpoint(final long checkpoint) {
        hold(transactionsOf(checkpoint));
    }

    /**
     * Holds the transactions file of each of {@code checkpoints} until {@link #releaseCheckpoint} of it: a test that
     * stops runs part-way several times holds each run's stop from the start (a run may fetch files of checkpoints far
     * ahead of those it verifies, and a file fetched once is not asked for again).
     */
    public void holdCheckpoints(final long... checkpoints) {
        synchronized (holdLock) {
            held.clear();
            for (final long cp : checkpoints) {
                held.add(strip(transactionsOf(cp)));
            }
        }
    }

    /** Answers the transactions file of {@code checkpoint}, held by {@link #holdCheckpoints}. */
    public void releaseCheckpoint(final long checkpoint) {
        synchronized (holdLock) {
            held.remove(strip(transactionsOf(checkpoint)));
            holdLock.notifyAll();
        }
    }

    private static String transactionsOf(final long checkpoint) {
        return io.historystreams.archive.ArchivePaths.checkpointFile(io.historystreams.archive.FileType.TRANSACTIONS,
                checkpoint);
    }

    /** Answers every file held by {@link #hold(String)}, the requests waiting included. */
    public void release() {
        synchronized (holdLock) {
            held.clear();
            holdLock.notifyAll();
        }
    }

    public int port() {
        return serverSocket.getLocalPort();
    }

    /** The archive root URL, ending in '/'. */
    public String url() {
        return "http://127.0.0.1:" + port() + "/";
    }

    /** Serves another directory from now on. */
    public void setRoot(final Path newRoot) {
        this.root = newRoot == null ? null : newRoot.toAbsolutePath().normalize();
    }

    public Path root() {
        return root;
    }

    /** Serves {@code content} at {@code path} (replacing a file of the root, or adding one). */
    public void overlay(final String path, final byte[] content) {
        overlays.put(strip(path), content.clone());
    }

    public void removeOverlay(final String path) {
        overlays.remove(strip(path));
    }

    /** Scripts faults for one exact path. */
    public Script on(final String path) {
        final String p = strip(path);
        return addRule("path " + p, p::equals);
    }

    /** Scripts faults for every path starting with {@code prefix}. */
    public Script onPrefix(final String prefix) {
        final String p = strip(prefix);
        return addRule("prefix " + p, s -> s.startsWith(p));
    }

    /** Scripts faults for every path matching {@code regex} (whole path). */
    public Script onRegex(final String regex) {
        final Pattern pattern = Pattern.compile(regex);
        return addRule("regex " + regex, s -> pattern.matcher(s).matches());
    }

    private volatile boolean refuseHead;
    private volatile int headStatus;
    private volatile java.util.function.Predicate<String> headFailing = p -> false;

    /** Answers every {@code HEAD} with 405 from now on, as some servers do. */
    public void refuseHead() {
        refuseHead = true;
    }

    /** Answers every {@code HEAD} of a path matching {@code paths} with {@code status} from now on (GETs served). */
    public void failHead(final int status, final java.util.function.Predicate<String> paths) {
        headStatus = status;
        headFailing = paths;
    }

    /** Forgets every scripted fault (counters are kept). */
    public void clearFaults() {
        rules.clear();
    }

    /** Requests received for {@code path} (faulted ones included). */
    public int requests(final String path) {
        final AtomicInteger c = requestCounts.get(strip(path));
        return c == null ? 0 : c.get();
    }

    /** The paths asked for with a request that is not a {@code HEAD} (a GET: the body sent), and how often. */
    public Map<String, Integer> bodiesRequested() {
        final Map<String, Integer> out = new java.util.TreeMap<>();
        getCounts.forEach((path, n) -> out.put(path, n.get()));
        return out;
    }

    public int totalRequests() {
        return totalRequests.get();
    }

    /** TCP connections accepted so far (shows keep-alive reuse). */
    public int connectionsAccepted() {
        return connections.get();
    }

    /** Faults served so far. */
    public int faultsServed() {
        return faultsServed.get();
    }

    /** "METHOD path -> outcome" for every request, in arrival order. */
    public List<String> requestLog() {
        synchronized (requestLog) {
            return List.copyOf(requestLog);
        }
    }

    /** Server threads still alive (the acceptor and connection threads); 0 after {@link #close()}. */
    public int liveThreads() {
        int n = 0;
        for (final Thread t : threads) {
            if (t.isAlive()) {
                n++;
            }
        }
        return n;
    }

    /** Headers of the latest request, names in lower case. */
    public Map<String, String> lastRequestHeaders() {
        return lastRequestHeaders;
    }

    /** Connections currently open. */
    public int openConnections() {
        return sockets.size();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        closing.countDown();
        try {
            serverSocket.close();
        } catch (final IOException e) {
            // closing anyway
        }
        for (final Socket s : sockets) {
            closeQuietly(s);
        }
        for (final Thread t : threads) {
            t.interrupt();
        }
        final long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        for (final Thread t : threads) {
            final long left = deadline - System.nanoTime();
            if (left > 0) {
                try {
                    t.join(Math.max(1, left / 1_000_000));
                } catch (final InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    private Script addRule(final String description, final Predicate<String> matcher) {
        final Rule rule = new Rule(description, matcher);
        rules.add(rule);
        return new Script(rule);
    }

    private Fault nextFault(final String path) {
        for (final Rule rule : rules) {
            if (rule.matcher.test(path)) {
                final Fault f = rule.poll();
                if (f != null) {
                    return f;
                }
            }
        }
        return null;
    }

    private void acceptLoop() {
        while (!closed) {
            final Socket socket;
            try {
                socket = serverSocket.accept();
            } catch (final IOException e) {
                if (closed) {
                    return;
                }
                continue;
            }
            connections.incrementAndGet();
            sockets.add(socket);
            if (closed) {
                closeQuietly(socket);
                sockets.remove(socket);
                return;
            }
            final Thread t = new Thread(() -> serveConnection(socket),
                    "faulty-archive-server-" + port() + "-conn-" + threadIds.incrementAndGet());
            t.setDaemon(true);
            threads.add(t);
            threads.removeIf(x -> !x.isAlive() && x != acceptor && x.getState() == Thread.State.TERMINATED);
            t.start();
        }
    }

    private void serveConnection(final Socket socket) {
        try (socket) {
            socket.setSoTimeout(IDLE_TIMEOUT_MILLIS);
            socket.setTcpNoDelay(true);
            final InputStream in = new BufferedInputStream(socket.getInputStream());
            final OutputStream out = new BufferedOutputStream(socket.getOutputStream(), 64 * 1024);
            while (!closed) {
                final Request req = readRequest(in);
                if (req == null) {
                    return;
                }
                totalRequests.incrementAndGet();
                lastRequestHeaders = req.headers;
                requestCounts.computeIfAbsent(req.path, k -> new AtomicInteger()).incrementAndGet();
                if (!req.head) {
                    getCounts.computeIfAbsent(req.path, k -> new AtomicInteger()).incrementAndGet();
                }
                final boolean keepAlive = respond(socket, out, req);
                out.flush();
                if (!keepAlive) {
                    return;
                }
            }
        } catch (final IOException e) {
            // client went away, reset, idle timeout, or server closing
        } catch (final InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            sockets.remove(socket);
        }
    }

    /** Waits while {@code path} is held by {@link #hold(String)}. */
    private void awaitRelease(final String path) throws InterruptedException {
        synchronized (holdLock) {
            while (held.contains(path) && !closed) {
                holdLock.wait(100);
            }
        }
    }

    /** Answers one request; returns whether the connection stays open. */
    private boolean respond(final Socket socket, final OutputStream out, final Request req)
            throws IOException, InterruptedException {
        if (!req.method.equals("GET") && !(req.method.equals("HEAD") && !refuseHead)) {
            log(req, "405");
            sendStatus(out, req, 405, Map.of("Allow", "GET, HEAD"), req.keepAlive);
            return req.keepAlive;
        }
        if (req.method.equals("HEAD") && headFailing.test(req.path)) {
            log(req, String.valueOf(headStatus));
            sendStatus(out, req, headStatus, Map.of(), req.keepAlive);
            return req.keepAlive;
        }
        awaitRelease(req.path);
        final Fault fault = nextFault(req.path);
        if (fault != null) {
            faultsServed.incrementAndGet();
            log(req, fault.toString());
        }
        if (fault instanceof Fault.Status s) {
            sendStatus(out, req, s.code(), s.headers(), req.keepAlive);
            return req.keepAlive;
        }
        if (fault instanceof Fault.Hang) {
            out.flush();
            closing.await();
            return false;
        }
        if (fault instanceof Fault.Drop) {
            return false;
        }
        if (fault instanceof Fault.Delay d) {
            Thread.sleep(d.delay().toMillis());
        }
        final byte[] content = fault instanceof Fault.Body b ? b.content().clone() : null;
        final Path file = content == null ? resolve(req.path) : null;
        final byte[] overlay = content == null ? overlays.get(req.path) : null;
        if (content == null && overlay == null && file == null) {
            if (fault == null) {
                log(req, "404");
            }
            sendStatus(out, req, 404, Map.of(), req.keepAlive);
            return req.keepAlive;
        }
        if (fault == null) {
            log(req, "200");
        }
        if (fault == null || fault instanceof Fault.Delay) {
            if (content == null && overlay == null) {
                final long size = Files.size(file);
                sendHeaders(out, 200, Map.of(), size, req.keepAlive);
                if (!req.head) {
                    try (InputStream body = Files.newInputStream(file)) {
                        body.transferTo(out);
                    }
                }
                return req.keepAlive;
            }
        }
        byte[] bytes = content != null ? content : overlay != null ? overlay : Files.readAllBytes(file);
        if (fault instanceof Fault.FlipByte f && bytes.length > 0) {
            bytes = bytes.clone();
            final long at = f.offset() < 0 ? bytes.length + f.offset() : Math.min(f.offset(), bytes.length - 1);
            final int i = (int) Math.max(0, at);
            bytes[i] = (byte) (bytes[i] ^ 0xFF);
        }
        if (fault instanceof Fault.Truncate t) {
            sendHeaders(out, 200, Map.of(), bytes.length, true);
            if (!req.head) {
                out.write(bytes, 0, (int) Math.min(bytes.length, Math.max(0, t.bytes())));
            }
            out.flush();
            return false;
        }
        if (fault instanceof Fault.Reset r) {
            sendHeaders(out, 200, Map.of(), bytes.length, true);
            final long n = r.afterBytes() < 0 ? bytes.length / 2 : Math.min(bytes.length, r.afterBytes());
            if (!req.head) {
                out.write(bytes, 0, (int) n);
            }
            out.flush();
            socket.setSoLinger(true, 0);
            socket.close();
            return false;
        }
        sendHeaders(out, 200, fault instanceof Fault.Body b ? b.headers() : Map.of(), bytes.length, req.keepAlive);
        if (req.head) {
            return req.keepAlive;
        }
        if (fault instanceof Fault.Trickle t) {
            trickle(out, bytes, t.bytesPerSecond());
        } else {
            out.write(bytes);
        }
        return req.keepAlive;
    }

    private void trickle(final OutputStream out, final byte[] bytes, final int bytesPerSecond)
            throws IOException, InterruptedException {
        final int perTick = Math.max(1, bytesPerSecond / 10);
        final long tickNanos = Duration.ofSeconds(1).toNanos() * perTick / Math.max(1, bytesPerSecond);
        int sent = 0;
        while (sent < bytes.length) {
            if (closed) {
                throw new IOException("server closing");
            }
            final int n = Math.min(perTick, bytes.length - sent);
            out.write(bytes, sent, n);
            out.flush();
            sent += n;
            if (sent < bytes.length && closing.await(tickNanos, java.util.concurrent.TimeUnit.NANOSECONDS)) {
                throw new IOException("server closing");
            }
        }
    }

    private Path resolve(final String path) {
        final Path r = root;
        if (r == null || path.isEmpty()) {
            return null;
        }
        final Path p = r.resolve(path).normalize();
        if (!p.startsWith(r) || !Files.isRegularFile(p)) {
            return null;
        }
        return p;
    }

    private void log(final Request req, final String outcome) {
        requestLog.add(req.method + " " + req.path + " -> " + outcome);
    }

    private static void sendStatus(final OutputStream out, final Request req, final int code,
            final Map<String, String> headers, final boolean keepAlive) throws IOException {
        final byte[] body = (code + " " + reason(code) + " (FaultyArchiveServer)\n").getBytes(StandardCharsets.UTF_8);
        final Map<String, String> h = new LinkedHashMap<>(headers);
        h.putIfAbsent("Content-Type", "text/plain; charset=utf-8");
        sendHeaders(out, code, h, body.length, keepAlive);
        if (!req.head) {
            out.write(body);
        }
    }

    private static void sendHeaders(final OutputStream out, final int code, final Map<String, String> headers,
            final long contentLength, final boolean keepAlive) throws IOException {
        final StringBuilder b = new StringBuilder();
        b.append("HTTP/1.1 ").append(code).append(' ').append(reason(code)).append("\r\n");
        b.append("Server: FaultyArchiveServer\r\n");
        boolean hasType = false;
        for (final Map.Entry<String, String> e : headers.entrySet()) {
            b.append(e.getKey()).append(": ").append(e.getValue()).append("\r\n");
            hasType |= e.getKey().equalsIgnoreCase("Content-Type");
        }
        if (!hasType) {
            b.append("Content-Type: application/octet-stream\r\n");
        }
        b.append("Content-Length: ").append(contentLength).append("\r\n");
        b.append("Connection: ").append(keepAlive ? "keep-alive" : "close").append("\r\n\r\n");
        out.write(b.toString().getBytes(StandardCharsets.ISO_8859_1));
    }

    private static String reason(final int code) {
        return switch (code) {
            case 200 -> "OK";
            case 301 -> "Moved Permanently";
            case 302 -> "Found";
            case 307 -> "Temporary Redirect";
            case 308 -> "Permanent Redirect";
            case 400 -> "Bad Request";
            case 401 -> "Unauthorized";
            case 403 -> "Forbidden";
            case 404 -> "Not Found";
            case 405 -> "Method Not Allowed";
            case 408 -> "Request Timeout";
            case 410 -> "Gone";
            case 429 -> "Too Many Requests";
            case 500 -> "Internal Server Error";
            case 502 -> "Bad Gateway";
            case 503 -> "Service Unavailable";
            case 504 -> "Gateway Timeout";
            default -> "Status";
        };
    }

    /** Reads one request head (and skips a body); null when the client closed the connection between requests. */
    private static Request readRequest(final InputStream in) throws IOException {
        String line = readLine(in);
        while (line != null && line.isEmpty()) {
            line = readLine(in);
        }
        if (line == null) {
            return null;
        }
        final String[] parts = line.split(" ");
        if (parts.length != 3) {
            throw new IOException("bad request line");
        }
        final Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 0; ; i++) {
            final String h = readLine(in);
            if (h == null) {
                throw new IOException("connection closed inside the request head");
            }
            if (h.isEmpty()) {
                break;
            }
            if (i >= MAX_HEADERS) {
                throw new IOException("too many headers");
            }
            final int colon = h.indexOf(':');
            if (colon > 0) {
                headers.put(h.substring(0, colon).trim().toLowerCase(Locale.ROOT), h.substring(colon + 1).trim());
            }
        }
        final String length = headers.get("content-length");
        if (length != null) {
            in.skipNBytes(Long.parseLong(length));
        }
        final String connection = headers.getOrDefault("connection", "").toLowerCase(Locale.ROOT);
        final boolean http11 = parts[2].equals("HTTP/1.1");
        final boolean keepAlive = http11 ? !connection.contains("close") : connection.contains("keep-alive");
        String target = parts[1];
        final int q = target.indexOf('?');
        if (q >= 0) {
            target = target.substring(0, q);
        }
        final String path = strip(URLDecoder.decode(target.replace("+", "%2B"), StandardCharsets.UTF_8));
        final String method = parts[0].toUpperCase(Locale.ROOT);
        return new Request(method, path, method.equals("HEAD"), keepAlive, Collections.unmodifiableMap(headers));
    }

    private static String readLine(final InputStream in) throws IOException {
        final ByteArrayOutputStream b = new ByteArrayOutputStream(128);
        while (true) {
            final int c;
            try {
                c = in.read();
            } catch (final SocketException | InterruptedIOException e) {
                if (b.size() == 0) {
                    return null;
                }
                throw e;
            }
            if (c < 0) {
                return b.size() == 0 ? null : b.toString(StandardCharsets.ISO_8859_1);
            }
            if (c == '\n') {
                final byte[] bytes = b.toByteArray();
                final int n = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
                return new String(bytes, 0, n, StandardCharsets.ISO_8859_1);
            }
            if (b.size() >= MAX_LINE) {
                throw new IOException("request line too long");
            }
            b.write(c);
        }
    }

    private static String strip(final String path) {
        String p = Objects.requireNonNull(path, "path");
        while (p.startsWith("/")) {
            p = p.substring(1);
        }
        return p;
    }

    private static void closeQuietly(final Socket s) {
        try {
            s.close();
        } catch (final IOException e) {
            // already closed
        }
    }

    private record Request(String method, String path, boolean head, boolean keepAlive, Map<String, String> headers) {
    }

    /** A queue of faults for the paths one rule matches, consumed one request at a time. */
    private static final class Rule {
        private final String description;
        private final Predicate<String> matcher;
        private final Deque<Fault> queue = new ArrayDeque<>();
        private Fault forever;

        Rule(final String description, final Predicate<String> matcher) {
            this.description = description;
            this.matcher = matcher;
        }

        synchronized Fault poll() {
            final Fault f = queue.poll();
            return f != null ? f : forever;
        }

        synchronized void add(final Fault f) {
            queue.add(f);
        }

        synchronized void repeatLast(final int extra) {
            final Fault last = queue.peekLast();
            if (last == null) {
                throw new IllegalStateException("no fault to repeat for " + description);
            }
            for (int i = 0; i < extra; i++) {
                queue.add(last);
            }
        }

        synchronized void foreverLast() {
            final Fault last = queue.pollLast();
            if (last == null) {
                throw new IllegalStateException("no fault to make permanent for " + description);
            }
            forever = last;
        }
    }

    /**
     * A gzip bomb: a tiny gzip body (about 1/1000 of the size) that decompresses to {@code uncompressedBytes}: a
     * valid-looking XDR record mark claiming a record just under {@code recordBytes}, then zeros. Serve it with
     * {@code on(path).body(gzipBomb(...)).forever()}.
     */
    public static byte[] gzipBomb(final long uncompressedBytes, final int recordBytes) {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (java.util.zip.GZIPOutputStream gz = new java.util.zip.GZIPOutputStream(bytes, 1 << 16)) {
            final int mark = 0x80000000 | (recordBytes & 0x7FFFFFFF);
            gz.write(new byte[] {(byte) (mark >>> 24), (byte) (mark >>> 16), (byte) (mark >>> 8), (byte) mark});
            final byte[] zeros = new byte[1 << 20];
            long left = uncompressedBytes - 4;
            while (left > 0) {
                final int n = (int) Math.min(zeros.length, left);
                gz.write(zeros, 0, n);
                left -= n;
            }
        } catch (final IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /**
     * A copy of a HAS (JSON bytes) whose first {@code "curr"} bucket names are replaced by {@code hostileNames} in
     * order (for example {@code "../../../../etc/passwd"}, {@code "/etc/shadow"}, a name with a NUL or non-hex
     * characters). Serve it with {@code on(path).body(...).forever()} or {@link #overlay}.
     */
    public static byte[] hasWithBucketNames(final byte[] has, final String... hostileNames) {
        String json = new String(has, StandardCharsets.UTF_8);
        final java.util.regex.Matcher m = Pattern.compile("\"curr\"\\s*:\\s*\"([0-9a-f]{64})\"").matcher(json);
        final StringBuilder out = new StringBuilder();
        int i = 0;
        while (m.find()) {
            final String replacement = i < hostileNames.length
                    ? "\"curr\": \"" + hostileNames[i++].replace("\\", "\\\\").replace("\"", "\\\"")
                            .replace("\u0000", "\\u0000") + "\""
                    : m.group();
            m.appendReplacement(out, java.util.regex.Matcher.quoteReplacement(replacement));
        }
        m.appendTail(out);
        if (i < hostileNames.length) {
            throw new IllegalArgumentException("the HAS has only " + i + " curr buckets");
        }
        return out.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** The fluent script of one rule: each call queues one fault. */
    public static final class Script {
        private final Rule rule;

        private Script(final Rule rule) {
            this.rule = rule;
        }

        /** Queues any fault. */
        public Script then(final Fault fault) {
            rule.add(Objects.requireNonNull(fault, "fault"));
            return this;
        }

        /** An error status with header name/value pairs, e.g. {@code status(429, "Retry-After", "1")}. */
        public Script status(final int code, final String... headerPairs) {
            return then(Fault.status(code, headerPairs));
        }

        /** Headers and half the body, then a TCP reset. */
        public Script reset() {
            return then(new Fault.Reset(-1));
        }

        /** Headers and {@code afterBytes} of the body, then a TCP reset. */
        public Script reset(final long afterBytes) {
            return then(new Fault.Reset(afterBytes));
        }

        /** The full Content-Length declared, {@code bytes} sent, then a clean close. */
        public Script truncate(final long bytes) {
            return then(new Fault.Truncate(bytes));
        }

        /** The body sent at {@code bytesPerSecond}. */
        public Script trickle(final int bytesPerSecond) {
            return then(new Fault.Trickle(bytesPerSecond));
        }

        /** Reads the request and never answers, until the server closes. */
        public Script hang() {
            return then(new Fault.Hang());
        }

        /** The body with the byte at {@code offset} inverted (negative: from the end). */
        public Script flipByte(final long offset) {
            return then(new Fault.FlipByte(offset));
        }

        /**
         * {@code content} instead of the file (also for paths the root does not have), with the response headers
         * given as name, value pairs.
         */
        public Script body(final byte[] content, final String... headerPairs) {
            return then(new Fault.Body(content.clone(), Fault.pairs(headerPairs)));
        }

        /**
         * Closes the connection without any answer. Note: HttpURLConnection silently repeats a GET once when a
         * reused keep-alive connection closes like this, so a single drop may never reach the caller.
         */
        public Script drop() {
            return then(new Fault.Drop());
        }

        /** Normal service after {@code delay}. */
        public Script delay(final Duration delay) {
            return then(new Fault.Delay(delay));
        }

        /** Queues the last fault {@code n - 1} more times (so it is served n times). */
        public Script times(final int n) {
            if (n < 1) {
                throw new IllegalArgumentException("times must be at least 1");
            }
            rule.repeatLast(n - 1);
            return this;
        }

        /** Serves the last queued fault for every request after the queue before it is consumed. */
        public Script forever() {
            rule.foreverLast();
            return this;
        }
    }

    /** The fault catalogue. */
    public sealed interface Fault {
        /** An error status with extra headers. */
        record Status(int code, Map<String, String> headers) implements Fault {
            public Status {
                headers = Collections.unmodifiableMap(new LinkedHashMap<>(headers));
            }

            @Override
            public String toString() {
                return "status " + code + (headers.isEmpty() ? "" : " " + headers);
            }
        }

        /** Headers and {@code afterBytes} of the body (negative: half), then RST. */
        record Reset(long afterBytes) implements Fault {
        }

        /** Full Content-Length declared, {@code bytes} sent, then FIN. */
        record Truncate(long bytes) implements Fault {
        }

        record Trickle(int bytesPerSecond) implements Fault {
            public Trickle {
                if (bytesPerSecond < 1) {
                    throw new IllegalArgumentException("bytesPerSecond must be positive");
                }
            }
        }

        record Hang() implements Fault {
        }

        record FlipByte(long offset) implements Fault {
        }

        record Body(byte[] content, Map<String, String> headers) implements Fault {
            public Body {
                headers = Map.copyOf(headers);
            }

            @Override
            public String toString() {
                return "body " + content.length + " bytes" + (headers.isEmpty() ? "" : " " + headers);
            }

            @Override
            public boolean equals(final Object o) {
                return o instanceof Body b && Arrays.equals(content, b.content) && headers.equals(b.headers);
            }

            @Override
            public int hashCode() {
                return Arrays.hashCode(content) * 31 + headers.hashCode();
            }
        }

        record Drop() implements Fault {
        }

        record Delay(Duration delay) implements Fault {
        }

        static Fault status(final int code, final String... headerPairs) {
            return new Status(code, pairs(headerPairs));
        }

        static Map<String, String> pairs(final String... headerPairs) {
            if (headerPairs.length % 2 != 0) {
                throw new IllegalArgumentException("headers come in name/value pairs");
            }
            final Map<String, String> h = new LinkedHashMap<>();
            for (int i = 0; i < headerPairs.length; i += 2) {
                h.put(headerPairs[i], headerPairs[i + 1]);
            }
            return h;
        }
    }
}
