package io.historystreams.events.serde;

import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/** Resolves registry URLs to shared client instances; backs {@link SchemaRegistry#forUrl(String, Map)}. */
final class Registries {
    private static final ConcurrentMap<String, RestSchemaRegistry> REST = new ConcurrentHashMap<>();

    private Registries() {
    }

    static SchemaRegistry forUrl(final String url, final Map<String, ?> config) {
        if (url == null || url.isBlank()) {
            throw new IllegalArgumentException("schema registry URL is missing (expected mock://scope or http(s)://host:port)");
        }
        final String trimmed = url.trim();
        final String lower = trimmed.toLowerCase(Locale.ROOT);
        if (lower.startsWith(MockSchemaRegistry.SCHEME)) {
            return MockSchemaRegistry.forScope(trimmed.substring(MockSchemaRegistry.SCHEME.length()));
        }
        if (lower.startsWith(FileSchemaRegistry.SCHEME)) {
            return FileSchemaRegistry.at(java.nio.file.Path.of(java.net.URI.create(trimmed)));
        }
        if (lower.startsWith("http://") || lower.startsWith("https://")) {
            final Object userInfo = config.get(SchemaRegistry.BASIC_AUTH_USER_INFO_CONFIG);
            final String credentials = userInfo == null ? null : userInfo.toString();
            // the key holds credentials only in memory; it is never logged or printed
            final String key = trimmed + '\u0000' + (credentials == null ? "" : credentials);
            return REST.computeIfAbsent(key, k -> new RestSchemaRegistry(trimmed, credentials));
        }
        throw new IllegalArgumentException("unsupported schema registry URL scheme in '" + RestSchemaRegistry.redact(trimmed)
                + "': expected mock://scope, file:///dir, http:// or https://");
    }
}
