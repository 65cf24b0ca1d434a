package io.historystreams.events.serde;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Kafka serde for a generated Avro class in the Confluent wire format: magic byte 0, the writer schema id as a
 * 4-byte big-endian int, then the Avro binary encoding of the record. The serializer registers the class schema
 * under {@code <topic>-value} (or {@code <topic>-key}) once per topic; the deserializer resolves any compatible
 * writer schema into the class schema. Null maps to null both ways (tombstones).
 *
 * @param <T> the generated record class
 */
public final class AvroSerde<T extends SpecificRecord> implements Serde<T>, Serializer<T>, Deserializer<T> {
    /**
     * The payload's schema id is unknown to this process's registry, or names a schema of another type there: the
     * record was written with another registry (the processes of one pipeline do not share theirs), not garbage.
     * Readers must not skip it as a bad record: every record would be skipped alike.
     */
    public static final class RegistryMismatchException extends SerializationException {
        /** What to do about it, for the operator. */
        public static final String ADVICE = "every process of a pipeline must use the same registry "
                + "(--schema-registry-url; the default is a directory under each --data-dir)";
        private static final long serialVersionUID = 1L;

        RegistryMismatchException(final String message, final Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * Avro's incompatibilities, said by type, place and message (their own text holds both schemas whole: a trial's
     * error line ran to 13,658 characters), the first three.
     */
    static String incompatibilities(final List<SchemaCompatibility.Incompatibility> all) {
        final StringBuilder b = new StringBuilder();
        for (int i = 0; i < Math.min(3, all.size()); i++) {
            final SchemaCompatibility.Incompatibility inc = all.get(i);
            b.append(i == 0 ? "" : "; ").append(inc.getType()).append(" at ").append(inc.getLocation()).append(": ")
                    .append(inc.getMessage());
        }
        return all.size() > 3 ? b + "; " + (all.size() - 3) + " more" : b.toString();
    }

    /** The registry could not be asked for a writer schema (a registry server down): transient, not the record's fault. */
    public static final class RegistryUnavailableException extends SerializationException {
        private static final long serialVersionUID = 1L;

        RegistryUnavailableException(final String message, final Throwable cause) {
            super(message, cause);
        }
    }

    /** Config key of the registry URL ({@code mock://scope} or {@code http(s)://...}). */
    public static final String SCHEMA_REGISTRY_URL_CONFIG = "schema.registry.url";
    /** Registry used when {@link #SCHEMA_REGISTRY_URL_CONFIG} is not configured. */
    public static final String DEFAULT_SCHEMA_REGISTRY_URL = SchemaRegistry.DEFAULT_URL;
    /** The first byte of every Confluent-framed payload. */
    public static final byte MAGIC_BYTE = 0;
    /** Length of magic byte plus schema id. */
    public static final int HEADER_LENGTH = 5;

    static {
        AvroTrust.ensureTrusted();
    }

    private final Class<T> type;
    private final Schema readerSchema;
    private final SpecificData model;
    private final SpecificDatumWriter<T> writer;
    private final boolean registryGiven;
    private final ConcurrentMap<String, Integer> idsByTopic = new ConcurrentHashMap<>();
    private final ConcurrentMap<Integer, SpecificDatumReader<T>> readersById = new ConcurrentHashMap<>();
    private volatile SchemaRegistry registry;
    private volatile boolean isKey;

    /** A value serde that takes its registry from {@link #configure(Map, boolean)} (default {@value #DEFAULT_SCHEMA_REGISTRY_URL}). */
    public AvroSerde(final Class<T> type) {
        this(type, null, false);
    }

    /** A value serde over {@code registry}. */
    public AvroSerde(final Class<T> type, final SchemaRegistry registry) {
        this(type, Objects.requireNonNull(registry, "registry"), false);
    }

    /** A key or value serde over {@code registry}; a null registry is taken from configuration. */
    public AvroSerde(final Class<T> type, final SchemaRegistry registry, final boolean isKey) {
        this.type = Objects.requireNonNull(type, "type");
        this.model = SpecificData.getForClass(type);
        this.readerSchema = model.getSchema(type);
        if (readerSchema == null || readerSchema.getType() != Schema.Type.RECORD) {
            throw new IllegalArgumentException(type.getName() + " is not a generated Avro record class");
        }
        this.writer = new SpecificDatumWriter<>(readerSchema, model);
        this.registry = registry;
        this.registryGiven = registry != null;
        this.isKey = isKey;
    }

    /** A value serde for {@code type} over {@code registry}. */
    public static <T extends SpecificRecord> AvroSerde<T> forClass(final Class<T> type, final SchemaRegistry registry) {
        return new AvroSerde<>(type, Objects.requireNonNull(registry, "registry"), false);
    }

    /** A key ({@code isKey}) or value serde for {@code type} over {@code registry}. */
    public static <T extends SpecificRecord> AvroSerde<T> forClass(final Class<T> type, final SchemaRegistry registry,
                                                                   final boolean isKey) {
        return new AvroSerde<>(type, Objects.requireNonNull(registry, "registry"), isKey);
    }

    /**
     * Sets key or value mode and, unless a registry was given to the constructor, the registry from
     * {@value #SCHEMA_REGISTRY_URL_CONFIG} (plus {@value SchemaRegistry#BASIC_AUTH_USER_INFO_CONFIG}).
     */
    @Override
    public void configure(final Map<String, ?> configs, final boolean isKey) {
        this.isKey = isKey;
        idsByTopic.clear();
        if (!registryGiven) {
            final Map<String, ?> config = configs == null ? Map.of() : configs;
            final Object url = config.get(SCHEMA_REGISTRY_URL_CONFIG);
            this.registry = SchemaRegistry.forUrl(url == null ? DEFAULT_SCHEMA_REGISTRY_URL : url.toString(), config);
        }
    }

    public Class<T> type() {
        return type;
    }

    /** The schema of the generated class: the writer schema of this serializer and the reader schema of this deserializer. */
    public Schema schema() {
        return readerSchema;
    }

    public boolean isKey() {
        return isKey;
    }

    public SchemaRegistry registry() {
        SchemaRegistry r = registry;
        if (r == null) {
            synchronized (this) {
                r = registry;
                if (r == null) {
                    r = SchemaRegistry.forUrl(DEFAULT_SCHEMA_REGISTRY_URL);
                    registry = r;
                }
            }
        }
        return r;
    }

    /** The registry subject for a topic: {@code <topic>-key} or {@code <topic>-value}. */
    public String subject(final String topic) {
        return topic + (isKey ? "-key" : "-value");
    }

    @Override
    public byte[] serialize(final String topic, final T data) {
        if (data == null) {
            return null;
        }
        final int id = schemaIdFor(topic);
        final Encoding enc = ENCODING.get();
        final ByteArrayOutputStream out = enc.out;
        out.reset();
        out.write(MAGIC_BYTE);
        out.write(id >>> 24);
        out.write(id >>> 16);
        out.write(id >>> 8);
        out.write(id);
        try {
            enc.encoder = EncoderFactory.get().binaryEncoder(out, enc.encoder);
            writer.write(data, enc.encoder);
            enc.encoder.flush();
            return out.toByteArray();
        } catch (final IOException | RuntimeException e) {
            enc.encoder = null; // may hold half a record
            throw new SerializationException("cannot encode " + type.getSimpleName() + " for topic '" + topic + "': "
                    + e.getMessage(), e);
        } finally {
            if (out.size() > Encoding.KEEP_AT_MOST) {
                enc.out = new ByteArrayOutputStream(Encoding.INITIAL); // a record with a large transaction set
            }
        }
    }

    /**
     * The per-thread buffer and encoder of {@link #serialize}: a record is encoded into a reused array through a
     * buffered encoder instead of into a fresh array (grown by copying) byte by byte; 10,047 ledger events of ~1.2 KB
     * each are most of what a range writes. An array grown past 1 MiB is not kept.
     */
    private static final ThreadLocal<Encoding> ENCODING = ThreadLocal.withInitial(Encoding::new);

    private static final class Encoding {
        static final int INITIAL = 4 << 10;
        static final int KEEP_AT_MOST = 1 << 20;
        ByteArrayOutputStream out = new ByteArrayOutputStream(INITIAL);
        BinaryEncoder encoder;
    }

    private int schemaIdFor(final String topic) {
        final Integer cached = idsByTopic.get(topic);
        if (cached != null) {
            return cached;
        }
        final String subject = subject(topic);
        final int id;
        try {
            id = registry().register(subject, readerSchema);
        } catch (final RuntimeException e) {
            throw new SerializationException("cannot register schema " + readerSchema.getFullName() + " under subject '"
                    + subject + "': " + e.getMessage(), e);
        }
        idsByTopic.put(topic, id);
        return id;
    }

    @Override
    public T deserialize(final String topic, final byte[] data) {
        if (data == null) {
            return null;
        }
        if (data.length < HEADER_LENGTH) {
            throw new SerializationException("payload of " + data.length + " bytes from topic '" + topic
                    + "' is too short for the Confluent wire format (needs at least " + HEADER_LENGTH
                    + ": magic byte and 4-byte schema id)");
        }
        final int id = schemaId(data);
        final SpecificDatumReader<T> reader = readerFor(id, topic);
        try {
            final BinaryDecoder decoder = DecoderFactory.get()
                    .binaryDecoder(data, HEADER_LENGTH, data.length - HEADER_LENGTH, null);
            final T record = reader.read(null, decoder);
            if (!decoder.isEnd()) {
                throw new SerializationException("payload from topic '" + topic + "' has bytes left after the "
                        + type.getSimpleName() + " record (writer schema id " + id + "): wrong schema or corrupt data");
            }
            return record;
        } catch (final SerializationException e) {
            throw e;
        } catch (final IOException | RuntimeException e) {
            throw new SerializationException("cannot decode " + (data.length - HEADER_LENGTH) + " bytes from topic '"
                    + topic + "' with writer schema id " + id + " into " + type.getSimpleName() + ": " + e, e);
        }
    }

    private SpecificDatumReader<T> readerFor(final int id, final String topic) {
        final SpecificDatumReader<T> cached = readersById.get(id);
        if (cached != null) {
            return cached;
        }
        final Schema writerSchema;
        try {
            writerSchema = registry().byId(id);
        } catch (final UnknownSchemaException e) {
            throw new RegistryMismatchException("unknown schema id " + id + " in payload from topic '" + topic + "': "
                    + e.getMessage(), e);
        } catch (final RuntimeException e) {
            throw new RegistryUnavailableException("cannot fetch writer schema id " + id + " for topic '" + topic
                    + "': " + e.getMessage(), e);
        }
        final SchemaCompatibility.SchemaPairCompatibility compatibility =
                SchemaCompatibility.checkReaderWriterCompatibility(readerSchema, writerSchema);
        if (compatibility.getType() != SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
            throw new RegistryMismatchException("writer schema id " + id + " (" + writerSchema.getFullName()
                    + ") from topic '" + topic + "' cannot be read as " + type.getName() + ": "
                    + incompatibilities(compatibility.getResult().getIncompatibilities()), null);
        }
        final SpecificDatumReader<T> reader = new SpecificDatumReader<>(writerSchema, readerSchema, model);
        final SpecificDatumReader<T> previous = readersById.putIfAbsent(id, reader);
        return previous != null ? previous : reader;
    }

    /**
     * The schema id of a Confluent-framed payload.
     *
     * @throws SerializationException when the payload is too short or does not start with magic byte 0
     */
    public static int schemaId(final byte[] payload) {
        Objects.requireNonNull(payload, "payload");
        if (payload.length < HEADER_LENGTH) {
            throw new SerializationException("payload of " + payload.length + " bytes is too short for the Confluent "
                    + "wire format (needs at least " + HEADER_LENGTH + ": magic byte and 4-byte schema id)");
        }
        if (payload[0] != MAGIC_BYTE) {
            throw new SerializationException(String.format("unknown magic byte 0x%02x (not Confluent wire format)",
                    payload[0] & 0xff));
        }
        return ByteBuffer.wrap(payload, 1, 4).getInt();
    }

    @Override
    public Serializer<T> serializer() {
        return this;
    }

    @Override
    public Deserializer<T> deserializer() {
        return this;
    }

    @Override
    public void close() {
        // the registry is shared; nothing to release
    }

    @Override
    public String toString() {
        return "AvroSerde[" + type.getSimpleName() + (isKey ? ", key" : ", value") + "]";
    }
}
