package io.historystreams.events.serde;

import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * A schema registry kept in a directory ({@code file:///path}): ids survive restarts and are shared by every process
 * using the same directory, which is what the embedded single-host default needs (records written by one run are
 * read by the next). Ids are claimed by creating {@code ids/<n>.avsc} exclusively, so concurrent processes never
 * hand out one id twice. Every file appears complete or not at all (written under a temporary name, then linked or
 * renamed into place), so a process killed while registering leaves nothing a later one misreads. A cluster spread
 * over several hosts should use a real registry (http(s)://) instead.
 */
public final class FileSchemaRegistry implements SchemaRegistry {
    static final String SCHEME = "file://";
    private static final ConcurrentMap<Path, FileSchemaRegistry> DIRS = new ConcurrentHashMap<>();

    private final Path ids;
    private final Path bySchema;
    private final Path subjects;
    private final Map<Integer, Schema> cacheById = new ConcurrentHashMap<>();
    private final Map<String, Integer> cacheBySubjectAndText = new ConcurrentHashMap<>();

    private FileSchemaRegistry(final Path root) {
        this.ids = root.resolve("ids");
        this.bySchema = root.resolve("by-schema");
        this.subjects = root.resolve("subjects");
        try {
            Files.createDirectories(ids);
            Files.createDirectories(bySchema);
            Files.createDirectories(subjects);
        } catch (final IOException e) {
            throw new SchemaRegistryException("cannot create the schema registry directory " + root + ": " + e, e);
        }
    }

    /** The registry kept in {@code dir} (one client per directory in the JVM). */
    public static FileSchemaRegistry at(final Path dir) {
        return DIRS.computeIfAbsent(dir.toAbsolutePath().normalize(), FileSchemaRegistry::new);
    }

    @Override
    public synchronized int register(final String subject, final Schema schema) {
        Objects.requireNonNull(subject, "subject");
        final String text = schema.toString();
        final String key = subject + '\u0000' + text;
        final Integer cached = cacheBySubjectAndText.get(key);
        if (cached != null) {
            return cached;
        }
        try {
            final int id = idFor(text);
            final Path subjectDir = subjects.resolve(sha256(subject));
            Files.createDirectories(subjectDir);
            final Path version = subjectDir.resolve(Integer.toString(id));
            if (!Files.exists(version)) {
                final Integer latest = latestVersion(subjectDir);
                if (latest != null) {
                    final SchemaCompatibility.SchemaPairCompatibility c =
                            SchemaCompatibility.checkReaderWriterCompatibility(schema, byId(latest));
                    if (c.getType() != SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
                        throw new SchemaRegistryException("schema for subject '" + subject + "' is not BACKWARD "
                                + "compatible with its latest version (id " + latest + ")");
                    }
                }
                Files.writeString(version, subject);
            }
            cacheBySubjectAndText.put(key, id);
            return id;
        } catch (final IOException e) {
            throw new SchemaRegistryException("schema registry " + ids.getParent() + ": " + e, e);
        }
    }

    private Integer latestVersion(final Path subjectDir) throws IOException {
        try (var s = Files.list(subjectDir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.matches("\\d+")).map(Integer::valueOf)
                    .max(Integer::compare).orElse(null);
        }
    }

    /** The id of a schema text, claiming the next free id when it is new. */
    private int idFor(final String text) throws IOException {
        final Path link = bySchema.resolve(sha256(text));
        if (Files.exists(link)) {
            final String known = Files.readString(link).trim();
            if (known.matches("\\d{1,9}")) {
                return Integer.parseInt(known);
            }
            // not a number: written by a registry before writes were atomic and killed mid-write; the id files
            // below still tell the id
        }
        final Path tmp = temporary(ids, text);
        try {
            for (int id = 1; ; id++) {
                final Path file = ids.resolve(id + ".avsc");
                try {
                    Files.createLink(file, tmp); // exclusive, and the file is complete the moment it exists
                } catch (final FileAlreadyExistsException e) {
                    if (Files.readString(file).equals(text)) {
                        writeAtomically(link, Integer.toString(id));
                        return id; // registered before (by another process, or by one killed before its link)
                    }
                    continue;
                }
                writeAtomically(link, Integer.toString(id));
                return id;
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** {@code text} in a new temporary file of {@code dir}. */
    private static Path temporary(final Path dir, final String text) throws IOException {
        final Path tmp = Files.createTempFile(dir, ".", ".tmp");
        Files.writeString(tmp, text);
        return tmp;
    }

    private static void writeAtomically(final Path target, final String text) throws IOException {
        final Path tmp = temporary(target.getParent(), text);
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    @Override
    public Schema byId(final int id) {
        final Schema cached = cacheById.get(id);
        if (cached != null) {
            return cached;
        }
        try {
            final Schema s = new Schema.Parser().parse(Files.readString(ids.resolve(id + ".avsc")));
            cacheById.put(id, s);
            return s;
        } catch (final NoSuchFileException e) {
            throw new UnknownSchemaException(id, "unknown schema id " + id + " in " + SCHEME + ids.getParent());
        } catch (final IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String sha256(final String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (final NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The {@code file://} URL that {@link SchemaRegistry#forUrl(String)} resolves to this registry. */
    public String url() {
        return ids.getParent().toUri().toString();
    }

    @Override
    public String toString() {
        return "FileSchemaRegistry[" + SCHEME + ids.getParent() + "]";
    }
}
