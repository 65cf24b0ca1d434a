package io.historystreams.events.serde;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;

/**
 * An in-process schema registry, one per scope ({@code mock://scope}), shared by every client of that scope in the
 * JVM like the Confluent mock. Ids start at 1 and are global within the scope; the same schema text always gets the
 * same id. Registering a new version under a subject enforces BACKWARD compatibility with the latest version, as
 * the real registry does by default.
 */
public final class MockSchemaRegistry implements SchemaRegistry {
    static final String SCHEME = "mock://";

    private static final ConcurrentMap<String, MockSchemaRegistry> SCOPES = new ConcurrentHashMap<>();

    private final String scope;
    private final Map<String, Integer> idsBySchemaText = new HashMap<>();
    private final Map<Integer, Schema> schemasById = new HashMap<>();
    private final Map<String, List<Integer>> versionsBySubject = new HashMap<>();

    private MockSchemaRegistry(final String scope) {
        this.scope = scope;
    }

    /** The registry of {@code scope}, created on first use; the same instance for the same scope. */
    public static MockSchemaRegistry forScope(final String scope) {
        Objects.requireNonNull(scope, "scope");
        return SCOPES.computeIfAbsent(scope, MockSchemaRegistry::new);
    }

    /** Forgets a scope (tests): the next {@link #forScope(String)} starts empty with ids from 1. */
    public static void dropScope(final String scope) {
        SCOPES.remove(scope);
    }

    public String scope() {
        return scope;
    }

    @Override
    public synchronized int register(final String subject, final Schema schema) {
        Objects.requireNonNull(subject, "subject");
        Objects.requireNonNull(schema, "schema");
        final String text = schema.toString();
        final Integer existing = idsBySchemaText.get(text);
        final List<Integer> versions = versionsBySubject.computeIfAbsent(subject, s -> new ArrayList<>());
        if (existing != null && versions.contains(existing)) {
            return existing;
        }
        if (!versions.isEmpty()) {
            final int latestId = versions.get(versions.size() - 1);
            final SchemaCompatibility.SchemaPairCompatibility result =
                    SchemaCompatibility.checkReaderWriterCompatibility(schema, schemasById.get(latestId));
            if (result.getType() != SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
                throw new SchemaRegistryException("schema for subject '" + subject + "' in mock://" + scope
                        + " is not BACKWARD compatible with version " + versions.size() + " (id " + latestId + "): "
                        + result.getResult().getIncompatibilities());
            }
        }
        final int id = existing != null ? existing : schemasById.size() + 1;
        if (existing == null) {
            idsBySchemaText.put(text, id);
            schemasById.put(id, new Schema.Parser().parse(text));
        }
        versions.add(id);
        return id;
    }

    @Override
    public synchronized Schema byId(final int id) {
        final Schema schema = schemasById.get(id);
        if (schema == null) {
            throw new UnknownSchemaException(id, "unknown schema id " + id + " in mock://" + scope
                    + " (" + schemasById.size() + " schemas registered)");
        }
        return schema;
    }

    /** Schema ids registered under {@code subject}, oldest version first; empty for an unknown subject. */
    public synchronized List<Integer> versions(final String subject) {
        return List.copyOf(versionsBySubject.getOrDefault(subject, List.of()));
    }

    /** Subjects with at least one version. */
    public synchronized Set<String> subjects() {
        final Set<String> subjects = new TreeSet<>();
        versionsBySubject.forEach((s, v) -> {
            if (!v.isEmpty()) {
                subjects.add(s);
            }
        });
        return subjects;
    }

    @Override
    public String toString() {
        return "MockSchemaRegistry[" + SCHEME + scope + "]";
    }
}
