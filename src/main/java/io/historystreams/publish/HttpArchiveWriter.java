package io.historystreams.publish;

import io.historystreams.archive.ArchivePaths;

import java.io.IOException;
import java.io.InputStream;
import io.historystreams.archive.Urls;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Publishes to a WebDAV-style HTTP target (e.g. nginx with {@code dav_methods PUT MOVE} and
 * {@code create_full_put_path on}): {@code PUT <root>/<path>.tmp-<random>}, then {@code MOVE} it to the final name
 * with {@code Overwrite: T}; or a plain PUT when {@code atomicMove} is off (for servers that publish a PUT whole).
 * Basic auth comes from the URL's userinfo, which never appears in {@link #name()} or in messages.
 */
public final class HttpArchiveWriter implements ArchiveWriter {
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);
    public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofMinutes(5);
    private static final long MAX_ROOT_STATE = 16L << 20;

    private final String base;
    private final String name;
    private final String authorization;
    private final boolean atomicMove;
    private final Duration requestTimeout;
    private final HttpClient client;

    /** A writer with default timeouts that PUTs to a temporary name and MOVEs it into place. */
    public HttpArchiveWriter(final URI root) {
        this(root, true, DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT);
    }

    public HttpArchiveWriter(final URI root, final boolean atomicMove, final Duration connectTimeout,
            final Duration requestTimeout) {
        final String scheme = root.getScheme() == null ? "" : root.getScheme().toLowerCase(java.util.Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new IllegalArgumentException("not an http(s) URL: " + redactedScheme(root));
        }
        if (Urls.host(root) == null) {
            throw new IllegalArgumentException("URL has no host: " + redactedScheme(root));
        }

        if (root.getRawQuery() != null || root.getRawFragment() != null) {
            throw new IllegalArgumentException("a target URL must not have a query or fragment");
        }
        String path = root.getRawPath() == null || root.getRawPath().isEmpty() ? "/" : root.getRawPath();
        if (!path.endsWith("/")) {
            path += "/";
        }
        final String hostPort = Urls.hostAndPort(root);
        this.base = scheme + "://" + hostPort + path;
        Urls.requireJavaHttpHost(base); // else each request failed, retried until given up
        this.name = base;
        final String userInfo = Urls.rawUserInfo(root);
        if (userInfo != null) {
            final String decoded = URLDecoder.decode(userInfo.replace("+", "%2B"), StandardCharsets.UTF_8);
            this.authorization = "Basic "
                    + Base64.getEncoder().encodeToString(decoded.getBytes(StandardCharsets.UTF_8));
        } else {
            this.authorization = null;
        }
        this.atomicMove = atomicMove;
        this.requestTimeout = requestTimeout;
        this.client = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(connectTimeout)
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public boolean exists(final String path) throws PublishException {
        TargetPath.require(path);
        final HttpResponse<Void> r = send(request(path).method("HEAD", HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.discarding(), "HEAD", path);
        if (r.statusCode() == 200) {
            return true;
        }
        if (r.statusCode() == 404 || r.statusCode() == 410) {
            return false;
        }
        throw statusError("HEAD", path, r);
    }

    @Override
    public void put(final String path, final Path localFile) throws PublishException {
        TargetPath.require(path);
        final HttpRequest.BodyPublisher body;
        try {
            body = HttpRequest.BodyPublishers.ofFile(localFile);
        } catch (IOException e) {
            throw new PublishException(name + ": cannot publish " + path + ": cannot read " + localFile + ": " + e,
                    false, e);
        }
        upload(path, body);
    }

    @Override
    public Optional<byte[]> readSmall(final String path) throws PublishException {
        TargetPath.require(path);
        final HttpResponse<InputStream> r = send(request(path).GET().build(),
                HttpResponse.BodyHandlers.ofInputStream(), "GET", path);
        try (InputStream in = r.body()) {
            if (r.statusCode() == 404 || r.statusCode() == 410) {
                return Optional.empty();
            }
            if (r.statusCode() != 200) {
                throw statusError("GET", path, r);
            }
            final byte[] bytes = in.readNBytes((int) MAX_ROOT_STATE + 1);
            if (bytes.length > MAX_ROOT_STATE) {
                throw new PublishException(name + ": " + path + " is larger than " + MAX_ROOT_STATE + " bytes",
                        false, null);
            }
            return Optional.of(bytes);
        } catch (IOException e) {
            if (e instanceof PublishException pe) {
                throw pe;
            }
            throw new PublishException(name + ": GET " + path + ": body cut short: " + e, true, e);
        }
    }

    @Override
    public void putRootState(final byte[] json) throws PublishException {
        upload(ArchivePaths.WELL_KNOWN, HttpRequest.BodyPublishers.ofByteArray(json));
    }

    private void upload(final String path, final HttpRequest.BodyPublisher body) throws PublishException {
        if (!atomicMove) {
            expectSuccess("PUT", path, send(request(path).PUT(body).build(), HttpResponse.BodyHandlers.ofString(),
                    "PUT", path));
            return;
        }
        final String tmp = path + ".tmp-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
        boolean moved = false;
        try {
            expectSuccess("PUT", tmp, send(request(tmp).PUT(body).build(), HttpResponse.BodyHandlers.ofString(),
                    "PUT", tmp));
            final HttpRequest move = request(tmp)
                    .method("MOVE", HttpRequest.BodyPublishers.noBody())
                    .header("Destination", base + path)
                    .header("Overwrite", "T")
                    .build();
            expectSuccess("MOVE", tmp + " -> " + path, send(move, HttpResponse.BodyHandlers.ofString(), "MOVE", tmp));
            moved = true;
        } finally {
            if (!moved) {
                deleteQuietly(tmp);
            }
        }
    }

    private void deleteQuietly(final String tmp) {
        try {
            client.send(request(tmp).timeout(Duration.ofSeconds(10)).DELETE().build(),
                    HttpResponse.BodyHandlers.discarding());
        } catch (IOException e) {
            // best effort: a leftover temporary has a name exists() never asks for
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private HttpRequest.Builder request(final String path) {
        final HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(requestTimeout);
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return b;
    }

    private <T> HttpResponse<T> send(final HttpRequest request, final HttpResponse.BodyHandler<T> handler,
            final String method, final String path) throws PublishException {
        try {
            return client.send(request, handler);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PublishException(name + ": " + method + " " + path + " interrupted", false, e);
        } catch (IOException e) {
            throw new PublishException(name + ": " + method + " " + path + " failed: " + reason(e, request.uri()),
                    true, e);
        }
    }

    /** What went wrong, said plainly: the JDK's client says only "java.net.ConnectException" for an unknown host. */
    static String reason(final IOException e, final URI uri) {
        if (io.historystreams.kafka.Causes.find(e, java.nio.channels.UnresolvedAddressException.class,
                java.net.UnknownHostException.class) != null) {
            return "cannot resolve host " + Urls.host(uri) + " (" + e.getClass().getSimpleName() + ")";
        }
        final Throwable root = io.historystreams.kafka.Causes.root(e);
        return e.getMessage() == null && root != e ? e + " (" + root + ")" : e.toString();
    }

    private void expectSuccess(final String method, final String what, final HttpResponse<?> r)
            throws PublishException {
        if (r.statusCode() < 200 || r.statusCode() > 299) {
            throw statusError(method, what, r);
        }
    }

    private PublishException statusError(final String method, final String what, final HttpResponse<?> r) {
        final int code = r.statusCode();
        final boolean retryable = code >= 500 || code == 408 || code == 429;
        String detail = "";
        if (r.body() instanceof String s && !s.isBlank()) {
            final String t = s.strip().replaceAll("\\s+", " ");
            detail = ": " + (t.length() > 200 ? t.substring(0, 200) + "..." : t);
        }
        return new PublishException(name + ": " + method + " " + what + " answered HTTP " + code
                + (retryable ? " (retryable)" : "") + detail, retryable, retryAfter(r), null);
    }

    private static Duration retryAfter(final HttpResponse<?> r) {
        final Optional<String> v = r.headers().firstValue("Retry-After");
        if (v.isEmpty()) {
            return null;
        }
        try {
            return Duration.ofSeconds(Math.max(0, Long.parseLong(v.get().trim())));
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static String redactedScheme(final URI u) {
        return u.getScheme() + "://" + (Urls.host(u) == null ? "?" : Urls.host(u)) + "/...";
    }
}
