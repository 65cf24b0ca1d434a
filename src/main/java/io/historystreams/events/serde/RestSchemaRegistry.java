package io.historystreams.events.serde;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.apache.avro.Schema;
import org.apache.avro.SchemaParseException;

/**
 * A client of the Confluent Schema Registry REST API over {@code java.net.http}: registers schemas with
 * {@code POST /subjects/{subject}/versions} and resolves ids with {@code GET /schemas/ids/{id}}. Both directions are
 * cached for the life of the client. Basic-auth credentials come from {@code user:pass@} in the URL or from an
 * explicit {@code user:pass} string; they are never part of messages or {@link #toString()}.
 */
public final class RestSchemaRegistry implements SchemaRegistry {
    /** Media type of the registry API. */
    public static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
    /** Error code the registry sends with 404 for an unknown schema id. */
    public static final int SCHEMA_NOT_FOUND = 40403;
    /** Default connect and request timeout. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

    private static final ObjectMapper JSON = new ObjectMapper();

    private final String baseUrl;
    private final String authorization;
    private final Duration timeout;
    private final HttpClient http;
    private final ConcurrentMap<String, ConcurrentMap<String, Integer>> idsBySubject = new ConcurrentHashMap<>();
    private final ConcurrentMap<Integer, Schema> schemasById = new ConcurrentHashMap<>();

    /** A client for {@code url}, with credentials from the URL's user info when present. */
    public RestSchemaRegistry(final String url) {
        this(url, null, DEFAULT_TIMEOUT);
    }

    /** A client for {@code url}; {@code userInfo} ({@code user:pass}), when not null, overrides URL credentials. */
    public RestSchemaRegistry(final String url, final String userInfo) {
        this(url, userInfo, DEFAULT_TIMEOUT);
    }

    public RestSchemaRegistry(final String url, final String userInfo, final Duration timeout) {
        Objects.requireNonNull(url, "url");
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        final URI uri;
        try {
            uri = new URI(url.trim());
        } catch (final java.net.URISyntaxException e) {
            throw new IllegalArgumentException("invalid schema registry URL '" + redact(url) + "': " + e.getReason());
        }
        final String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new IllegalArgumentException("schema registry URL '" + redact(url) + "' must start with http:// or https://");
        }
        if (io.historystreams.archive.Urls.host(uri) == null) {
            throw new IllegalArgumentException("schema registry URL '" + redact(url) + "' has no host");
        }

        final String path = uri.getRawPath() == null ? "" : uri.getRawPath().replaceAll("/+$", "");
        this.baseUrl = scheme + "://" + io.historystreams.archive.Urls.hostAndPort(uri) + path;
        try {
            io.historystreams.archive.Urls.requireJavaHttpHost(baseUrl);
        } catch (final IllegalArgumentException e) {
            throw new IllegalArgumentException("schema registry URL '" + redact(url) + "': " + e.getMessage());
        }
        final String rawUserInfo = io.historystreams.archive.Urls.rawUserInfo(uri);
        final String credentials = userInfo != null ? userInfo : rawUserInfo == null ? null
                : java.net.URLDecoder.decode(rawUserInfo.replace("+", "%2B"), java.nio.charset.StandardCharsets.UTF_8);
        if (credentials != null && !credentials.contains(":")) {
            throw new IllegalArgumentException("schema registry credentials must have the form user:password");
        }
        this.authorization = credentials == null ? null
                : "Basic " + Base64.getEncoder().encodeToString(credentials.getBytes(StandardCharsets.UTF_8));
        this.http = HttpClient.newBuilder().connectTimeout(timeout).followRedirects(HttpClient.Redirect.NORMAL).build();
    }

    /** The registry base URL without credentials. */
    public String baseUrl() {
        return baseUrl;
    }

    @Override
    public int register(final String subject, final Schema schema) {
        Objects.requireNonNull(subject, "subject");
        Objects.requireNonNull(schema, "schema");
        final String text = schema.toString();
        final ConcurrentMap<String, Integer> ids = idsBySubject.computeIfAbsent(subject, s -> new ConcurrentHashMap<>());
        final Integer cached = ids.get(text);
        if (cached != null) {
            return cached;
        }
        final String body;
        try {
            body = JSON.writeValueAsString(Map.of("schema", text));
        } catch (final JsonProcessingException e) {
            throw new SchemaRegistryException("cannot encode schema " + schema.getFullName() + " as JSON", e);
        }
        final String path = "/subjects/" + encodeSegment(subject) + "/versions";
        final HttpRequest request = request(path)
                .header("Content-Type", CONTENT_TYPE)
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8))
                .build();
        final JsonNode answer = call("POST", path, request, -1);
        final JsonNode id = answer.get("id");
        if (id == null || !id.canConvertToInt()) {
            throw new SchemaRegistryException("schema registry at " + baseUrl + " answered POST " + path
                    + " without an integer \"id\": " + abbreviate(answer.toString()));
        }
        final int value = id.intValue();
        ids.put(text, value);
        schemasById.putIfAbsent(value, schema);
        return value;
    }

    @Override
    public Schema byId(final int id) {
        final Schema cached = schemasById.get(id);
        if (cached != null) {
            return cached;
        }
        final String path = "/schemas/ids/" + id;
        final JsonNode answer = call("GET", path, request(path).GET().build(), id);
        final JsonNode type = answer.get("schemaType");
        if (type != null && !type.isNull() && !"AVRO".equalsIgnoreCase(type.asText())) {
            throw new SchemaRegistryException("schema id " + id + " at " + baseUrl + " is a " + type.asText()
                    + " schema, not Avro");
        }
        final JsonNode text = answer.get("schema");
        if (text == null || !text.isTextual()) {
            throw new SchemaRegistryException("schema registry at " + baseUrl + " answered GET " + path
                    + " without a \"schema\" string: " + abbreviate(answer.toString()));
        }
        final Schema schema;
        try {
            schema = new Schema.Parser().parse(text.asText());
        } catch (final SchemaParseException e) {
            throw new SchemaRegistryException("schema id " + id + " at " + baseUrl + " is not a valid Avro schema: "
                    + e.getMessage(), e);
        }
        final Schema previous = schemasById.putIfAbsent(id, schema);
        return previous != null ? previous : schema;
    }

    private HttpRequest.Builder request(final String path) {
        final HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(baseUrl + path))
                .timeout(timeout)
                .header("Accept", CONTENT_TYPE + ", application/json");
        if (authorization != null) {
            builder.header("Authorization", authorization);
        }
        return builder;
    }

    /** Sends a request and returns the JSON body of a 2xx answer; {@code lookedUpId} >= 0 maps 40403 to unknown. */
    private JsonNode call(final String method, final String path, final HttpRequest request, final int lookedUpId) {
        final HttpResponse<String> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (final IOException e) {
            throw new SchemaRegistryException("cannot reach schema registry at " + baseUrl + " (" + method + " " + path
                    + "): " + e, e);
        } catch (final InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SchemaRegistryException("interrupted while calling schema registry at " + baseUrl
                    + " (" + method + " " + path + ")", e);
        }
        final int status = response.statusCode();
        final JsonNode json = parse(response.body());
        if (status / 100 == 2) {
            if (json == null || !json.isObject()) {
                throw new SchemaRegistryException("schema registry at " + baseUrl + " answered " + method + " " + path
                        + " with HTTP " + status + " but no JSON object: " + abbreviate(response.body()));
            }
            return json;
        }
        final int errorCode = json != null && json.has("error_code") ? json.get("error_code").asInt(-1) : -1;
        final String message = io.historystreams.archive.ArchivePaths.printable(abbreviate(
                json != null && json.hasNonNull("message") ? json.get("message").asText() : response.body()));
        if (lookedUpId >= 0 && status == 404 && errorCode == SCHEMA_NOT_FOUND) {
            throw new UnknownSchemaException(lookedUpId, "unknown schema id " + lookedUpId + " at " + baseUrl
                    + " (HTTP 404, error_code 40403: " + message + ")");
        }
        final String hint = switch (status) {
            case 401, 403 -> " (check the basic-auth credentials)";
            case 404 -> errorCode < 0 ? " (is " + baseUrl + " a schema registry?)" : "";
            case 409 -> " (schema is incompatible with the subject's compatibility level)";
            case 422 -> " (schema is invalid)";
            default -> "";
        };
        throw new SchemaRegistryException("schema registry at " + baseUrl + " answered " + method + " " + path
                + " with HTTP " + status + (errorCode >= 0 ? ", error_code " + errorCode : "") + ": " + message + hint);
    }

    private static JsonNode parse(final String body) {
        if (body == null || body.isBlank()) {
            return null;
        }
        try {
            return JSON.readTree(body);
        } catch (final JsonProcessingException e) {
            return null;
        }
    }

    private static String encodeSegment(final String segment) {
        return URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static String abbreviate(final String text) {
        if (text == null) {
            return "<empty body>";
        }
        return text.length() <= 300 ? text : text.substring(0, 300) + "...";
    }

    /** Removes {@code user:pass@} from a URL for messages. */
    static String redact(final String url) {
        return url == null ? "null" : url.replaceFirst("^([A-Za-z][A-Za-z0-9+.-]*://)[^/@]*@", "$1***@");
    }

    @Override
    public String toString() {
        return "RestSchemaRegistry[" + baseUrl + (authorization != null ? ", basic auth" : "") + "]";
    }
}
