package io.historystreams.events.serde;

import java.util.Map;
import org.apache.avro.Schema;

/**
 * A schema registry client: registers writer schemas under a subject and resolves schema ids back to schemas.
 * Implementations cache both directions, so repeated calls for the same schema or id are cheap.
 */
public interface SchemaRegistry {

    /** The registry used when none is configured: an in-process mock scoped to this application. */
    String DEFAULT_URL = "mock://history-streams";

    /** Config key for {@code user:password} basic-auth credentials (as in the Confluent clients). */
    String BASIC_AUTH_USER_INFO_CONFIG = "basic.auth.user.info";

    /**
     * Registers {@code schema} under {@code subject} and returns its id. Idempotent: registering the same schema
     * again returns the same id.
     *
     * @throws SchemaRegistryException when the registry refuses the schema or cannot be reached
     */
    int register(String subject, Schema schema);

    /**
     * Returns the schema with the given id.
     *
     * @throws UnknownSchemaException when the registry has no schema with that id
     * @throws SchemaRegistryException when the registry cannot be reached or answers nonsense
     */
    Schema byId(int id);

    /** Same as {@link #forUrl(String, Map)} with no further configuration. */
    static SchemaRegistry forUrl(final String url) {
        return forUrl(url, Map.of());
    }

    /**
     * Returns the registry client for a URL: {@code mock://scope} gives the in-process {@link MockSchemaRegistry}
     * of that scope (the same instance for the same scope), {@code http(s)://[user:pass@]host:port[/path]} a
     * {@link RestSchemaRegistry} (one shared client per URL and credentials). Credentials may also come from
     * {@value #BASIC_AUTH_USER_INFO_CONFIG} in {@code config}.
     *
     * @throws IllegalArgumentException for a missing URL or an unsupported scheme
     */
    static SchemaRegistry forUrl(final String url, final Map<String, ?> config) {
        return Registries.forUrl(url, config == null ? Map.of() : config);
    }
}
