package io.historystreams.archive;

import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.MalformedURLException;
import java.net.ProtocolException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Base64;
import java.util.Locale;
import java.util.Objects;
import java.util.Properties;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLPeerUnverifiedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An archive served over HTTP(S), read with {@link HttpURLConnection}: real socket connect and read (idle) timeouts,
 * keep-alive reuse, TLS verified by the JDK's default trust store, redirects followed by hand (to http(s) only,
 * credentials dropped when the origin changes). One attempt per {@link #open}; retries belong to
 * {@link HistoryArchive}.
 *
 * <p>Keep-alive: the JDK keeps at most {@code http.maxConnections} idle connections per host (default 5). Unless
 * already configured, loading this class raises it to {@value #MAX_IDLE_CONNECTIONS} so that ~16 parallel fetches
 * reuse their connections; the property is read once per JVM, so set it on the command line to change it.
 */
public final class HttpArchiveSource implements ArchiveSource {
    private static final Logger LOG = LoggerFactory.getLogger(HttpArchiveSource.class);
    /** Idle keep-alive connections per host this class asks the JDK to keep. */
    public static final int MAX_IDLE_CONNECTIONS = 32;
    /** The User-Agent sent with every request: {@code history-streams/<version>}. */
    public static final String USER_AGENT = "history-streams/" + version();
    private static final int MAX_REDIRECTS = 5;
    private static final int MAX_ERROR_BODY = 64 * 1024;

    /**
     * The requests waiting for their status line and headers, with their deadlines (see {@link #open}): a thread
     * looks every {@value #DEADLINE_TICK_MILLIS} ms and disconnects those past it. (A timer task per request cost a
     * wake-up of the timer thread per request: a few percent of {@code verify}.)
     */
    private static final java.util.Map<HttpURLConnection, Deadline> AWAITING =
            new java.util.concurrent.ConcurrentHashMap<>();
    private static final long DEADLINE_TICK_MILLIS = 250;

    /** When a request must have its answer, whether it was ended for missing it, and the source that made it. */
    private record Deadline(long atNanos, java.util.concurrent.atomic.AtomicBoolean late, HttpArchiveSource source) {
    }

    static {
        final Thread sweeper = new Thread(() -> {
            while (true) {
                try {
                    Thread.sleep(DEADLINE_TICK_MILLIS);
                } catch (final InterruptedException e) {
                    return;
                }
                final long now = System.nanoTime();
                AWAITING.forEach((conn, d) -> {
                    if (now - d.atNanos() > 0 && d.late().compareAndSet(false, true)) {
                        conn.disconnect();
                    }
                });
            }
        }, "http-answer-deadline");
        sweeper.setDaemon(true);
        sweeper.start();
        if (System.getProperty("http.maxConnections") == null) {
            System.setProperty("http.maxConnections", Integer.toString(MAX_IDLE_CONNECTIONS));
        }
    }

    private final URI root;
    private final String name;
    private final String authorization;
    private final String query;
    private final int connectMillis;
    private final int readMillis;
    private final Duration lowSpeedWindow;

    /**
     * A source for an {@code http://} or {@code https://} root. Userinfo in the URL becomes HTTP Basic credentials
     * (sent only to the root's origin); a query string is appended to every request. Neither is ever printed.
     */
    public HttpArchiveSource(final String rootUrl, final SourceOptions options) {
        Objects.requireNonNull(rootUrl, "rootUrl");
        Objects.requireNonNull(options, "options");
        final URI uri;
        try {
            uri = new URI(rootUrl.trim());
        } catch (final URISyntaxException e) {
            throw new IllegalArgumentException("not a valid archive URL: " + redact(rootUrl), null);
        }
        final String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new IllegalArgumentException("not an http(s) URL: " + redact(rootUrl));
        }
        final String host = Urls.host(uri); // also a host name with an underscore, a password with a raw '@'
        if (host == null) {
            throw new IllegalArgumentException("archive URL has no host: " + redact(rootUrl));
        }
        final String hostAndPort;
        try {
            hostAndPort = Urls.hostAndPort(uri);
        } catch (final IllegalArgumentException e) {
            throw new IllegalArgumentException("not a valid archive URL: " + redact(rootUrl) + ": " + e.getMessage(),
                    null);
        }
        String rootPath = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
        if (!rootPath.endsWith("/")) {
            rootPath = rootPath + "/";
        }
        try {
            this.root = new URI(scheme + "://" + hostAndPort + rootPath).normalize();
        } catch (final URISyntaxException e) {
            throw new IllegalArgumentException("not a valid archive URL: " + redact(rootUrl), null);
        }
        this.name = root.toString();
        final String userInfo = Urls.rawUserInfo(uri);
        this.authorization = userInfo == null ? null
                : "Basic " + Base64.getEncoder().encodeToString(
                        decodePercent(userInfo).getBytes(StandardCharsets.UTF_8));
        this.query = uri.getRawQuery();
        this.connectMillis = SourceOptions.millis(options.connectTimeout());
        this.readMillis = SourceOptions.millis(options.readTimeout());
        // a body that averages under 1 KiB/s over a read timeout (at least 10 s) fails as a stalled one would
        this.lowSpeedWindow = options.readTimeout().compareTo(Duration.ofSeconds(10)) < 0
                ? Duration.ofSeconds(10) : options.readTimeout();
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Body open(final String path) throws FetchException {
        return request(path, false);
    }

    /**
     * A {@code HEAD} request: what {@link #open} would answer, without the body (the connection is kept alive). A
     * server that does not allow {@code HEAD} (405, 501) is asked with {@code GET}s from then on, their bodies left
     * unread (a trial's server refused every {@code HEAD}: every file scanned was "refused"); one failing with a 5xx
     * is asked again with a {@code GET} at once (see {@link #getInstead}).
     */
    @Override
    public Body head(final String path) throws FetchException {
        if (!headRefused) {
            final Body body;
            try {
                body = request(path, true);
            } catch (final HeadServerError e) {
                return getInstead(path, e);
            }
            if (body != null) {
                return body;
            }
            headRefused = true;
        }
        return ArchiveSource.super.head(path);
    }

    /**
     * The file asked with a {@code GET} (its body unread) after its {@code HEAD} failed with a 5xx: a trial's server
     * answered 500 to every {@code HEAD} for buckets while it served them, and a scan retried each with backoffs
     * (318 s). The {@code GET}'s answer stands (served, not present, refused); when it fails too, the
     * {@code HEAD}'s failure does. Not after a 5xx with a {@code Retry-After}, which asks for a wait. After
     * {@link #HEAD_FAILURES_BEFORE_GETS} such answers, {@code GET}s from then on.
     */
    private Body getInstead(final String path, final HeadServerError headFailure) throws FetchException {
        final Body body;
        try {
            body = ArchiveSource.super.head(path);
        } catch (final FetchException.Transient e) {
            throw headFailure.failure;
        } catch (final FetchException e) {
            headFailedGetAnswered(headFailure);
            throw e;
        }
        headFailedGetAnswered(headFailure);
        return body;
    }

    private void headFailedGetAnswered(final HeadServerError headFailure) {
        if (headServerErrors.incrementAndGet() == HEAD_FAILURES_BEFORE_GETS) {
            headRefused = true;
            LOG.warn("{} answers HEAD with {} where GET answers ({} files): it is asked with GETs from now on, their "
                    + "bodies left unread", name, headFailure.statusLine, HEAD_FAILURES_BEFORE_GETS);
        }
    }

    /** The {@code HEAD}s failed with a 5xx that a {@code GET} answered, before the source is asked with GETs only. */
    static final int HEAD_FAILURES_BEFORE_GETS = 3;

    /** Whether the server answered a {@code HEAD} with 405 or 501, or failed them where {@code GET}s answered. */
    private volatile boolean headRefused;

    @Override
    public boolean headsAskedWithGets() {
        return headRefused;
    }
    private final java.util.concurrent.atomic.AtomicInteger headServerErrors =
            new java.util.concurrent.atomic.AtomicInteger();

    /** A {@code HEAD} answered with a 5xx: {@code failure} is what it throws unless a {@code GET} answers. */
    private static final class HeadServerError extends FetchException {
        private static final long serialVersionUID = 1L;
        private final transient FetchException.Transient failure;
        private final String statusLine;

        HeadServerError(final FetchException.Transient failure, final String statusLine) {
            super(failure.source(), failure.path(), statusLine + " to HEAD", null);
            this.failure = failure;
            this.statusLine = statusLine;
        }
    }

    /** One request; a {@code HEAD} that the server does not allow (405, 501) returns null. */
    private Body request(final String path, final boolean head) throws FetchException {
        RelativePath.require(name, path);
        URI target = root.resolve(path);
        if (query != null) {
            target = URI.create(target + "?" + query);
        }
        for (int redirects = 0; ; redirects++) {
            final HttpURLConnection conn = connect(path, target, head);
            final int status;
            // the read timeout is an idle timeout: a server sending its headers a byte at a time never trips it, so
            // the status line and headers must come within the connect and read timeouts together
            final java.util.concurrent.atomic.AtomicBoolean late = new java.util.concurrent.atomic.AtomicBoolean();
            AWAITING.put(conn, new Deadline(System.nanoTime() + ((long) connectMillis + readMillis) * 1_000_000L,
                    late, this));
            IOException failure = null;
            int code = -1;
            try {
                code = conn.getResponseCode();
            } catch (final IOException e) {
                conn.disconnect();
                failure = e;
            } finally {
                AWAITING.remove(conn);
            }
            if (late.get()) {
                conn.disconnect();
                throw new FetchException.Transient(name, path, "no complete answer (status line and headers) "
                        + "within " + (connectMillis + readMillis) / 1000.0 + " s", null, failure, true);
            }
            if (failure != null) {
                throw openFailure(path, failure);
            }
            status = code;
            if (status == HttpURLConnection.HTTP_OK || status == HttpURLConnection.HTTP_NOT_AUTHORITATIVE) {
                if (head) {
                    final long declared = conn.getContentLengthLong();
                    discard(conn);
                    return new Body(InputStream.nullInputStream(), declared);
                }
                return body(path, conn);
            }
            if (isRedirect(status)) {
                final String location = conn.getHeaderField("Location");
                discard(conn);
                if (redirects >= MAX_REDIRECTS) {
                    throw new FetchException.Refused(name, path, "more than " + MAX_REDIRECTS + " redirects", null);
                }
                target = redirectTarget(path, target, status, location);
                continue;
            }
            if (head && (status == HttpURLConnection.HTTP_BAD_METHOD
                    || status == HttpURLConnection.HTTP_NOT_IMPLEMENTED)) {
                discard(conn);
                return null;
            }
            final String retryAfter = conn.getHeaderField("Retry-After");
            // after a redirect, the answer is the other server's: say which, and whether the credentials went there
            final String statusLine = "HTTP " + status + reasonPhrase(conn) + (redirects == 0 ? ""
                    : " at " + redact(target.toString()) + " (redirected" + (authorization != null
                            && !sameOrigin(target, root) ? "; the archive URL's credentials are not sent to another "
                            + "origin" : "") + ")");
            discard(conn);
            if (status == HttpURLConnection.HTTP_NOT_FOUND || status == HttpURLConnection.HTTP_GONE) {
                throw new FetchException.NotPresent(name, path, statusLine);
            }
            if (status == HttpURLConnection.HTTP_FORBIDDEN && !path.equals(ArchivePaths.WELL_KNOWN)) {
                // S3 answers 403, not 404, for a key that is not there when the reader may not list the bucket (a
                // public archive that allows GetObject only): absent, like a 404, so an absent SCP file is no
                // failure and a file a live archive has not uploaded yet is tried again. A 403 for the root state
                // stays a refusal (a private archive read without its credentials).
                throw new FetchException.NotPresent(name, path, statusLine + " (taken as absent: S3 answers 403 for "
                        + "a missing object when the reader may not list the bucket)");
            }
            if (status >= 500 || status == HttpURLConnection.HTTP_CLIENT_TIMEOUT || status == 429) {
                final Duration after = parseRetryAfter(retryAfter, Instant.now());
                final FetchException.Transient failed = new FetchException.Transient(name, path,
                        statusLine + (after == null ? "" : " (Retry-After " + after.toMillis() + " ms)"), after, null);
                // (not with a Retry-After: the server asked for a wait)
                throw head && status >= 500 && after == null ? new HeadServerError(failed, statusLine) : failed;
            }
            throw new FetchException.Refused(name, path, statusLine, null);
        }
    }

    private HttpURLConnection connect(final String path, final URI target, final boolean head)
            throws FetchException {
        final HttpURLConnection conn;
        try {
            conn = (HttpURLConnection) toUrl(target).openConnection();
        } catch (final IOException e) {
            throw openFailure(path, e);
        }
        conn.setConnectTimeout(connectMillis);
        conn.setReadTimeout(readMillis);
        conn.setInstanceFollowRedirects(false);
        conn.setUseCaches(false);
        conn.setRequestProperty("User-Agent", USER_AGENT);
        conn.setRequestProperty("Accept-Encoding", "identity");
        if (authorization != null && sameOrigin(target, root)) {
            conn.setRequestProperty("Authorization", authorization);
        }
        try {
            conn.setRequestMethod(head ? "HEAD" : "GET");
        } catch (final ProtocolException e) {
            throw new IllegalStateException(e);
        }
        return conn;
    }

    private Body body(final String path, final HttpURLConnection conn) throws FetchException {
        final long declared = conn.getContentLengthLong();
        final InputStream in;
        try {
            in = conn.getInputStream();
        } catch (final IOException e) {
            conn.disconnect();
            throw openFailure(path, e);
        }
        // A body abandoned half way, or broken, must not go back to the keep-alive cache.
        return new Body(new BodyStream(in, name, path, declared, conn::disconnect, lowSpeedWindow), declared,
                encodingNote(conn.getContentEncoding()));
    }

    /**
     * The hint for a body sent with a content encoding, which is not undone (none is asked for, and the archive's
     * files are read as stored): a JSON file or bucket uploaded with {@code Content-Encoding: gzip} (S3 object
     * metadata) arrives compressed and fails its checks. Null for none or {@code identity}.
     */
    static String encodingNote(final String contentEncoding) {
        if (contentEncoding == null || contentEncoding.isBlank()
                || contentEncoding.trim().equalsIgnoreCase("identity")) {
            return null;
        }
        return "the server sent it with Content-Encoding: " + ArchivePaths.printable(contentEncoding.trim())
                + ", which is not undone: archive files must be served as stored (on S3, the object's "
                + "Content-Encoding metadata)";
    }

    private URI redirectTarget(final String path, final URI from, final int status, final String location)
            throws FetchException {
        if (location == null || location.isBlank()) {
            throw new FetchException.Refused(name, path, "HTTP " + status + " without a Location", null);
        }
        final URI to;
        try {
            to = from.resolve(new URI(location.trim()));
        } catch (final URISyntaxException | IllegalArgumentException e) {
            throw new FetchException.Refused(name, path, "HTTP " + status + " to an invalid Location "
                    + ArchivePaths.quote(redact(location)), null);
        }
        final String scheme = to.getScheme() == null ? "" : to.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new FetchException.Refused(name, path, "HTTP " + status + " redirect to a non-http(s) URL "
                    + ArchivePaths.quote(redact(to.toString())), null);
        }
        if (Urls.host(to) == null) {
            throw new FetchException.Refused(name, path, "HTTP " + status + " redirect without a host", null);
        }
        try {
            Urls.port(to);
        } catch (final IllegalArgumentException e) {
            throw new FetchException.Refused(name, path, "HTTP " + status + " to an invalid Location "
                    + ArchivePaths.quote(redact(location)) + ": " + e.getMessage(), null);
        }
        return to;
    }

    private FetchException openFailure(final String path, final IOException e) {
        if (e instanceof SSLHandshakeException || e instanceof SSLPeerUnverifiedException) {
            return new FetchException.Refused(name, path, "TLS failure: " + BodyStream.describe(e), e);
        }
        if (e instanceof javax.net.ssl.SSLException
                && io.historystreams.kafka.Causes.find(e, java.security.GeneralSecurityException.class) != null) {
            // the JVM's TLS set-up (a trust store that cannot be read, e.g. without its password): no retry helps
            return new FetchException.Refused(name, path, "TLS set-up failure (the JVM's trust store?): "
                    + BodyStream.describe(e), e);
        }
        if (e instanceof MalformedURLException) {
            return new FetchException.Refused(name, path, "bad URL: " + BodyStream.describe(e), e);
        }
        // Connection refused or reset, timeouts, DNS failures, a server that hung up: another try may work.
        return new FetchException.Transient(name, path, BodyStream.describe(e), null, e);
    }

    /** Reads and closes an error or redirect body so the connection can go back to the keep-alive cache. */
    private static void discard(final HttpURLConnection conn) {
        try {
            InputStream err = conn.getErrorStream();
            if (err == null && conn.getResponseCode() < 400) {
                err = conn.getInputStream();
            }
            if (err != null) {
                try (InputStream in = err) {
                    final byte[] buf = new byte[8192];
                    long total = 0;
                    int n;
                    while (total < MAX_ERROR_BODY && (n = in.read(buf)) >= 0) {
                        total += n;
                    }
                    if (total >= MAX_ERROR_BODY) {
                        conn.disconnect();
                    }
                }
            }
        } catch (final IOException e) {
            conn.disconnect();
        }
    }

    private static String reasonPhrase(final HttpURLConnection conn) {
        try {
            final String m = conn.getResponseMessage();
            return m == null || m.isBlank() ? "" : " " + ArchivePaths.quote(m.strip()).replace("\"", "");
        } catch (final IOException e) {
            return "";
        }
    }

    private static boolean isRedirect(final int status) {
        return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
    }

    private static boolean sameOrigin(final URI a, final URI b) {
        return a.getScheme().equalsIgnoreCase(b.getScheme()) && Urls.host(a).equalsIgnoreCase(Urls.host(b))
                && effectivePort(a) == effectivePort(b);
    }

    private static int effectivePort(final URI u) {
        if (Urls.port(u) >= 0) {
            return Urls.port(u);
        }
        return u.getScheme().equalsIgnoreCase("https") ? 443 : 80;
    }

    private static URL toUrl(final URI uri) throws MalformedURLException {
        return uri.toURL();
    }

    /**
     * Parses a Retry-After value: delta-seconds or an HTTP-date (relative to {@code now}; a date in the past means
     * zero). Returns null when absent or unparseable.
     */
    static Duration parseRetryAfter(final String value, final Instant now) {
        if (value == null || value.isBlank()) {
            return null;
        }
        final String v = value.strip();
        if (v.chars().allMatch(c -> c >= '0' && c <= '9')) {
            if (v.length() > 9) {
                return Duration.ofSeconds(999_999_999L);
            }
            return Duration.ofSeconds(Long.parseLong(v));
        }
        try {
            final Instant at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
            final Duration d = Duration.between(now, at);
            return d.isNegative() ? Duration.ZERO : d;
        } catch (final DateTimeParseException e) {
            return null;
        }
    }

    /** A URL with userinfo and query removed, for messages. */
    static String redact(final String url) {
        if (url == null) {
            return "null";
        }
        String s = url;
        final int q = s.indexOf('?');
        if (q >= 0) {
            s = s.substring(0, q);
        }
        final int scheme = s.indexOf("://");
        if (scheme >= 0) {
            final int hostStart = scheme + 3;
            final int slash = s.indexOf('/', hostStart);
            final int at = s.lastIndexOf('@', slash < 0 ? s.length() - 1 : slash);
            if (at >= hostStart) {
                s = s.substring(0, hostStart) + s.substring(at + 1);
            }
        }
        return s;
    }

    private static String decodePercent(final String raw) {
        return java.net.URLDecoder.decode(raw.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    private static String version() {
        final Package p = HttpArchiveSource.class.getPackage();
        if (p != null && p.getImplementationVersion() != null) {
            return p.getImplementationVersion();
        }
        try (InputStream in = HttpArchiveSource.class.getResourceAsStream(
                "/META-INF/maven/io.historystreams/history-streams/pom.properties")) {
            if (in != null) {
                final Properties props = new Properties();
                props.load(in);
                final String v = props.getProperty("version");
                if (v != null && !v.isBlank()) {
                    return v.strip();
                }
            }
        } catch (final IOException | IllegalArgumentException e) {
            // fall through to the placeholder
        }
        return "dev";
    }

    /**
     * Disconnects this source's requests still waiting for their answer (status line and headers): neither an interrupt
     * nor a pool's shutdown ends such a wait (a stop waited 10 s for one, past {@code shutdown.timeout.seconds}). A read
     * of a body that stalls ends at the read timeout: the JDK's client lets a disconnect wait for it. The source stays
     * usable.
     */
    @Override
    public void close() {
        AWAITING.forEach((conn, d) -> {
            if (d.source() == this) {
                conn.disconnect();
            }
        });
    }

    @Override
    public String toString() {
        return name;
    }
}
