package io.historystreams.topology;

import io.historystreams.events.DeadLetter;
import io.historystreams.events.serde.AvroSerde;
import io.historystreams.kafka.Causes;
import io.historystreams.events.serde.FileSchemaRegistry;
import io.historystreams.events.serde.MockSchemaRegistry;
import io.historystreams.events.serde.RestSchemaRegistry;
import io.historystreams.events.serde.SchemaRegistry;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.DeserializationExceptionHandler;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProcessingExceptionHandler;
import org.apache.kafka.streams.errors.ProductionExceptionHandler;
import org.apache.kafka.streams.processor.api.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;

/**
 * Sends records that hit an unexpected error to the dead-letter topic as typed {@link DeadLetter} records, through
 * the Kafka Streams 4.x exception handlers and their dead-letter-queue responses (KIP-1034), then lets processing
 * continue. Expected failures (a bad file, a broken chain) never come here: they are failure events.
 */
public final class DeadLetterHandlers {
    /** Streams config naming the dead-letter topic; Kafka's own handlers read it too. */
    public static final String TOPIC_CONFIG = StreamsConfig.ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG;
    /** Streams config naming the schema registry the {@link DeadLetter} serializer registers with. */
    public static final String REGISTRY_URL_CONFIG = AvroSerde.SCHEMA_REGISTRY_URL_CONFIG;

    private static final Logger LOG = LoggerFactory.getLogger(DeadLetterHandlers.class);

    private DeadLetterHandlers() {
    }

    /**
     * Installs the three handlers into Streams properties and passes them the dead-letter topic of {@code topics}
     * and its registry URL ({@value #REGISTRY_URL_CONFIG}; an explicitly set URL is kept).
     */
    public static void configure(final Properties streamsProps, final Topics topics) {
        streamsProps.put(StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG, Deserialization.class.getName());
        streamsProps.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_CLASS_CONFIG, Processing.class.getName());
        streamsProps.put(StreamsConfig.PRODUCTION_EXCEPTION_HANDLER_CLASS_CONFIG, Production.class.getName());
        streamsProps.put(TOPIC_CONFIG, topics.deadLetters.name());
        if (streamsProps.get(REGISTRY_URL_CONFIG) == null) {
            streamsProps.put(REGISTRY_URL_CONFIG, registryUrl(topics.registry()));
        }
    }

    /** The URL that resolves to {@code registry} through {@link SchemaRegistry#forUrl(String)}. */
    static String registryUrl(final SchemaRegistry registry) {
        if (registry instanceof MockSchemaRegistry mock) {
            return "mock://" + mock.scope();
        }
        if (registry instanceof RestSchemaRegistry rest) {
            return rest.baseUrl();
        }
        if (registry instanceof FileSchemaRegistry file) {
            return file.url();
        }
        throw new IllegalArgumentException("cannot tell the URL of schema registry " + registry + ": set "
                + REGISTRY_URL_CONFIG + " in the Streams properties");
    }

    /**
     * Builds dead-letter records from what a handler knows. Created by each handler's {@code configure} from the
     * Streams config map, since Kafka instantiates handlers by class name.
     */
    static final class DeadLetters {
        /** The largest record value a dead letter carries (the rest of the letter says why it failed). */
        static final int MAX_VALUE_BYTES = 1 << 20;
        private final String topic;
        private final AvroSerde<DeadLetter> serde;

        DeadLetters(final String topic, final SchemaRegistry registry) {
            this.topic = Objects.requireNonNull(topic, "topic");
            this.serde = AvroSerde.forClass(DeadLetter.class, registry);
        }

        static DeadLetters fromConfig(final Map<String, ?> configs) {
            final Object topic = configs.get(TOPIC_CONFIG);
            if (topic == null || topic.toString().isBlank()) {
                throw new IllegalArgumentException(TOPIC_CONFIG + " is not set: call DeadLetterHandlers.configure");
            }
            final Object url = configs.get(REGISTRY_URL_CONFIG);
            return new DeadLetters(topic.toString(), SchemaRegistry.forUrl(
                    url == null ? SchemaRegistry.DEFAULT_URL : url.toString(), configs));
        }

        String topic() {
            return topic;
        }

        /** The dead letter of the record in {@code context}, keyed by its raw key; empty when it cannot be encoded. */
        Optional<ProducerRecord<byte[], byte[]>> of(final ErrorHandlerContext context, final byte[] key,
                final byte[] value, final Exception error, final String what) {
            // a value too large to be sent (what failed, maybe) would fail the dead letter too, and stop the pipeline
            final boolean omitted = value != null && value.length > MAX_VALUE_BYTES;
            final DeadLetter letter = DeadLetter.newBuilder()
                    .setTopic(context.topic() == null ? "" : context.topic())
                    .setPartition(context.partition())
                    .setOffset(context.offset())
                    .setProcessor(context.processorNodeId())
                    .setErrorClass(error.getClass().getName())
                    .setErrorMessage(omitted ? error.getMessage() + " (the record's value, " + value.length
                            + " bytes, is left out of this dead letter)" : error.getMessage())
                    .setKey(key == null ? null : ByteBuffer.wrap(key))
                    .setValue(value == null || omitted ? null : ByteBuffer.wrap(value))
                    .setFailedAt(Instant.ofEpochMilli(System.currentTimeMillis()))
                    .build();
            try {
                final byte[] bytes = serde.serialize(topic, letter);
                LOG.warn("{}: record {}-{}@{} at node {} dead-lettered to {}: {}", what, letter.getTopic(),
                        letter.getPartition(), letter.getOffset(), letter.getProcessor(), topic, error.toString());
                return Optional.of(new ProducerRecord<>(topic, null, key, bytes, context.headers()));
            } catch (final RuntimeException e) {
                LOG.error("{}: record {}-{}@{} at node {} cannot be dead-lettered to {} ({}): stopping", what,
                        letter.getTopic(), letter.getPartition(), letter.getOffset(), letter.getProcessor(), topic,
                        e.toString(), error);
                return Optional.empty();
            }
        }
    }

    /**
     * Dead-letters records whose key or value cannot be deserialized (garbage bytes, a corrupt payload) and skips them.
     * A record written with another schema registry (an id this process's registry does not know, or knows as another
     * type) or one whose schema the registry cannot serve now is not skipped: the pipeline stops on it, with an
     * error that says so, and the record stays on its topic for a process that can read it. Skipping it lost every
     * request of a process that had its own registry (a second --data-dir on one cluster) without an error.
     */
    public static final class Deserialization implements DeserializationExceptionHandler {
        private DeadLetters deadLetters;

        @Override
        public void configure(final Map<String, ?> configs) {
            deadLetters = DeadLetters.fromConfig(configs);
        }

        @Override
        public Response handleError(final ErrorHandlerContext context, final ConsumerRecord<byte[], byte[]> record,
                final Exception exception) {
            final Throwable registry = Causes.find(exception, AvroSerde.RegistryMismatchException.class,
                    AvroSerde.RegistryUnavailableException.class);
            if (registry instanceof AvroSerde.RegistryMismatchException) {
                LOG.error("a record on {} (partition {}, offset {}) was written with another schema registry: {}. {}. "
                        + "The pipeline stops; the record stays on the topic", record.topic(), record.partition(),
                        record.offset(), registry.getMessage(), AvroSerde.RegistryMismatchException.ADVICE);
                return Response.fail();
            }
            if (registry != null) {
                LOG.error("a record on {} (partition {}, offset {}) cannot be read now: {}", record.topic(),
                        record.partition(), record.offset(), registry.getMessage());
                return Response.fail();
            }
            return deadLetters.of(context, record.key(), record.value(), exception, "undeserializable record")
                    .map(r -> Response.resume(List.of(r))).orElseGet(Response::fail);
        }
    }

    /**
     * Dead-letters the source record of an unexpected processor or punctuator exception and continues; a
     * {@link io.historystreams.blob.BlobStoreFailure} (this process's disk, not the record) stops the pipeline, and so
     * does a state store entry written with another schema registry (a worker with another registry had the task
     * before): a trial's worker dead-lettered 290 such records, and 24 checkpoints never had a verdict.
     */
    public static final class Processing implements ProcessingExceptionHandler {
        private DeadLetters deadLetters;

        @Override
        public void configure(final Map<String, ?> configs) {
            deadLetters = DeadLetters.fromConfig(configs);
        }

        @Override
        public Response handleError(final ErrorHandlerContext context, final Record<?, ?> record,
                final Exception exception) {
            if (Causes.find(exception, io.historystreams.blob.BlobStoreFailure.class) != null) {
                return Response.fail();
            }
            final Throwable registry = Causes.find(exception, AvroSerde.RegistryMismatchException.class);
            if (registry != null) {
                LOG.error("a record at node {} (from {}, partition {}, offset {}) met a stored entry written with "
                        + "another schema registry: {}. {}. The pipeline stops", context.processorNodeId(),
                        context.topic(), context.partition(), context.offset(), registry.getMessage(),
                        AvroSerde.RegistryMismatchException.ADVICE);
                return Response.fail();
            }
            return deadLetters.of(context, context.sourceRawKey(), context.sourceRawValue(), exception,
                    "processing failure").map(r -> Response.resume(List.of(r))).orElseGet(Response::fail);
        }
    }

    /**
     * Retries retriable send errors; dead-letters the source record of any other send or serialization error (a
     * record too large, a value that cannot be encoded) and continues.
     */
    public static final class Production implements ProductionExceptionHandler {
        private DeadLetters deadLetters;

        @Override
        public void configure(final Map<String, ?> configs) {
            deadLetters = DeadLetters.fromConfig(configs);
        }

        @Override
        public Response handleError(final ErrorHandlerContext context, final ProducerRecord<byte[], byte[]> record,
                final Exception exception) {
            if (exception instanceof RetriableException) {
                return Response.retry();
            }
            return deadLetters.of(context, context.sourceRawKey(), context.sourceRawValue(), exception,
                    "sending to " + record.topic() + " failed").map(r -> Response.resume(List.of(r)))
                    .orElseGet(Response::fail);
        }

        @Override
        @SuppressWarnings("rawtypes")
        public Response handleSerializationError(final ErrorHandlerContext context, final ProducerRecord record,
                final Exception exception, final SerializationExceptionOrigin origin) {
            final String what = "serializing the " + origin.name().toLowerCase(Locale.ROOT) + " for "
                    + record.topic() + " failed";
            return deadLetters.of(context, context.sourceRawKey(), context.sourceRawValue(), exception, what)
                    .map(r -> Response.resume(List.of(r))).orElseGet(Response::fail);
        }
    }
}
