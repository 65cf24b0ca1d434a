package io.historystreams.topology;

import io.historystreams.archive.FetchObserver;
import io.historystreams.archive.RetryPolicy;
import io.historystreams.archive.SourceOptions;
import io.historystreams.blob.LocalBlobStore;
import io.historystreams.events.CheckpointFailed;
import io.historystreams.events.DeadLetter;
import io.historystreams.events.serde.SchemaRegistry;
import io.historystreams.verify.VerificationLimits;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.LongSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProcessingExceptionHandler;
import org.apache.kafka.streams.errors.ProductionExceptionHandler;
import org.apache.kafka.streams.processor.TaskId;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Unexpected errors become typed dead letters on {@code history.dead-letters}, and processing goes on. */
class DeadLetterHandlersTest {
    private static final String TESTNET = "Test SDF Network ; September 2015";

    @TempDir
    Path dir;

    @Test
    void shouldPassTheFileRegistryOfTheEmbeddedDefaultToTheHandlers() {
        // the embedded default keeps the registry in a directory; the handlers must resolve the same registry
        final SchemaRegistry file = SchemaRegistry.forUrl(dir.resolve("registry dir").toUri().toString());
        final Properties props = new Properties();
        DeadLetterHandlers.configure(props, new Topics("history.", file));
        assertTrue(file == SchemaRegistry.forUrl((String) props.get(DeadLetterHandlers.REGISTRY_URL_CONFIG)));
    }

    /** A driver's settings, with the handlers of {@code topics} installed. */
    /** The real topology in a test driver, with the dead-letter handlers as the service configures them. */
    private TopologyTestDriver driver(final Topics topics, final PipelineContext ctx) {
        final Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "dlq");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        props.put(StreamsConfig.STATE_DIR_CONFIG, dir.resolve("state").toString());
        DeadLetterHandlers.configure(props, topics);
        return new TopologyTestDriver(HistoryTopology.build(topics, HistoryTopology.Settings.defaults(), ctx), props);
    }

    /** A pipeline context that gives up on a file at once. */
    private PipelineContext context() throws java.io.IOException {
        return new PipelineContext(new LocalBlobStore(dir.resolve("blobs")), 2, SourceOptions.defaults(),
                new RetryPolicy(1, Duration.ofMillis(5), Duration.ofMillis(5), Duration.ofMillis(5)),
                VerificationLimits.defaults(), FetchObserver.NONE);
    }

    /** The request topic, written as raw bytes (anything, framed or not). */
    private static TestInputTopic<Long, byte[]> rawRequests(final TopologyTestDriver driver, final Topics topics) {
        return driver.createInputTopic(topics.checkpointRequests.name(), new LongSerializer(),
                new ByteArraySerializer());
    }

    private static TestOutputTopic<byte[], DeadLetter> deadLetters(final TopologyTestDriver driver,
            final Topics topics) {
        return driver.createOutputTopic(topics.deadLetters.name(), topics.deadLetters.keySerde().deserializer(),
                topics.deadLetters.valueSerde().deserializer());
    }

    @Test
    void shouldDeadLetterGarbageRequestsAndKeepProcessing() throws Exception {
        final Topics topics = new Topics("history.", SchemaRegistry.forUrl("mock://dlq-" + UUID.randomUUID()));
        try (PipelineContext ctx = context(); TopologyTestDriver driver = driver(topics, ctx)) {
            final TestInputTopic<Long, byte[]> raw = rawRequests(driver, topics);
            final TestOutputTopic<byte[], DeadLetter> deadLetters = deadLetters(driver, topics);
            final TestOutputTopic<Long, CheckpointFailed> failures = driver.createOutputTopic(
                    topics.checkpointFailures.name(), topics.checkpointFailures.keySerde().deserializer(),
                    topics.checkpointFailures.valueSerde().deserializer());

            // Given two records that are not in the Confluent wire format
            final byte[] garbage = "not avro at all".getBytes(StandardCharsets.UTF_8);
            final byte[] shortGarbage = {7, 1};
            raw.pipeInput(63L, garbage);
            raw.pipeInput(127L, shortGarbage);

            // Then each becomes a dead letter with its raw bytes and the deserialization error
            final List<TestRecord<byte[], DeadLetter>> letters = deadLetters.readRecordsToList();
            assertEquals(2, letters.size(), () -> "dead letters: " + letters);
            final DeadLetter first = letters.get(0).value();
            assertEquals("history.checkpoint-requests", first.getTopic());
            assertEquals(0, first.getPartition());
            assertEquals(0L, first.getOffset());
            assertEquals("checkpoint-requests-source", first.getProcessor());
            assertEquals("org.apache.kafka.common.errors.SerializationException", first.getErrorClass());
            assertTrue(first.getErrorMessage().contains("magic byte"), first.getErrorMessage());
            assertArrayEquals(garbage, bytes(first.getValue()));
            assertArrayEquals(new LongSerializer().serialize("t", 63L), bytes(first.getKey()));
            assertArrayEquals(new LongSerializer().serialize("t", 63L), letters.get(0).key());
            assertEquals(1L, letters.get(1).value().getOffset());
            assertArrayEquals(shortGarbage, bytes(letters.get(1).value().getValue()));
            assertTrue(letters.get(1).value().getErrorMessage().contains("too short"));

            // When a valid request names an archive that does not exist
            final Path missing = dir.resolve("no-such-archive");
            driver.createInputTopic(topics.checkpointRequests.name(), topics.checkpointRequests.keySerde()
                    .serializer(), topics.checkpointRequests.valueSerde().serializer())
                    .pipeInput(191L, PipelineHarness.requestFor(missing.toString(), 191, TESTNET));

            // Then it ends as an ordinary failure event, not as a dead letter
            final List<CheckpointFailed> failed = new ArrayList<>();
            final long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (failed.isEmpty() && System.nanoTime() < deadline) {
                driver.advanceWallClockTime(Duration.ofMillis(20));
                failed.addAll(failures.readValuesToList());
                Thread.sleep(5);
            }
            assertEquals(1, failed.size(), "one failure event for checkpoint 191");
            assertEquals(191L, failed.get(0).getCheckpoint());
            assertTrue(deadLetters.isEmpty(), "no dead letter for an expected failure");
        }
    }

    @Test
    void aRecordWrittenWithAnotherRegistryStopsThePipelineInsteadOfBeingSkipped() throws Exception {
        // what a process with its own registry (another --data-dir on one cluster) read: a valid request, framed
        // with an id that this registry does not know
        final Topics topics = new Topics("history.", SchemaRegistry.forUrl("mock://dlq-" + UUID.randomUUID()));
        final Topics other = new Topics("history.", SchemaRegistry.forUrl("mock://other-" + UUID.randomUUID()));
        other.deadLetters.valueSerde().serializer().serialize("x", DeadLetter.newBuilder().setTopic("t")
                .setPartition(0).setOffset(0).setProcessor("p").setErrorClass("e").setErrorMessage("m")
                .setFailedAt(java.time.Instant.EPOCH).build()); // takes id 1 in the other registry: ids now differ
        final byte[] foreign = other.checkpointRequests.valueSerde().serializer().serialize("history.checkpoint-requests",
                PipelineHarness.requestFor(dir.toString(), 63, TESTNET));
        try (PipelineContext ctx = context(); TopologyTestDriver driver = driver(topics, ctx)) {
            final TestInputTopic<Long, byte[]> raw = rawRequests(driver, topics);
            final TestOutputTopic<byte[], DeadLetter> deadLetters = deadLetters(driver, topics);
            final Exception e = org.junit.jupiter.api.Assertions.assertThrows(Exception.class,
                    () -> raw.pipeInput(63L, foreign));
            assertTrue(io.historystreams.kafka.Causes.find(e,
                    io.historystreams.events.serde.AvroSerde.RegistryMismatchException.class) != null,
                    () -> "stopped on the registry mismatch: " + e);
            assertTrue(deadLetters.isEmpty(), "not skipped as a dead letter");
        }
    }

    @Test
    void shouldDeadLetterProcessingAndProductionErrorsFromTheHandlerContext() {
        final String scope = "dlq-direct-" + UUID.randomUUID();
        final Topics topics = new Topics("history.", SchemaRegistry.forUrl("mock://" + scope));
        final Properties props = new Properties();
        DeadLetterHandlers.configure(props, topics);
        assertEquals("history.dead-letters", props.get(StreamsConfig.ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG));
        assertEquals("mock://" + scope, props.get("schema.registry.url"));
        final Map<String, Object> config = new HashMap<>();
        props.forEach((k, v) -> config.put(k.toString(), v));

        final byte[] key = {0, 0, 0, 0, 0, 0, 0, 63};
        final byte[] value = {0, 0, 0, 0, 1, 42};
        final ErrorHandlerContext context = new FixedContext(key, value);

        final DeadLetterHandlers.Processing processing = new DeadLetterHandlers.Processing();
        processing.configure(config);
        final ProcessingExceptionHandler.Response p = processing.handleError(context,
                new Record<>(63L, "x", 0L), new IllegalStateException("boom"));
        assertEquals(ProcessingExceptionHandler.Result.RESUME, p.result());
        final DeadLetter pl = decode(topics, p.deadLetterQueueRecords());
        assertEquals("assemble-checkpoint", pl.getProcessor());
        assertEquals("java.lang.IllegalStateException", pl.getErrorClass());
        assertEquals("boom", pl.getErrorMessage());
        assertEquals("history.has-downloaded", pl.getTopic());
        assertEquals(3, pl.getPartition());
        assertEquals(17L, pl.getOffset());
        assertArrayEquals(value, bytes(pl.getValue()));
        // a state store entry written with another registry (another worker had the task): the pipeline stops, where a
        // trial's worker dead-lettered 290 records and left 24 checkpoints without a verdict for good
        final RuntimeException mismatch = org.junit.jupiter.api.Assertions.assertThrows(
                io.historystreams.events.serde.AvroSerde.RegistryMismatchException.class,
                () -> io.historystreams.events.serde.AvroSerde.forClass(
                        io.historystreams.events.CheckpointAssembly.class,
                        SchemaRegistry.forUrl("mock://" + scope + "-other")).deserialize(
                                "history-checkpoint-assembly-changelog", new byte[] {0, 0, 0, 0, 99, 0}));
        assertEquals(ProcessingExceptionHandler.Result.FAIL, processing.handleError(context,
                new Record<>(63L, "x", 0L), new org.apache.kafka.streams.errors.StreamsException(mismatch)).result());

        final DeadLetterHandlers.Production production = new DeadLetterHandlers.Production();
        production.configure(config);
        final ProducerRecord<byte[], byte[]> out = new ProducerRecord<>("history.chain-verdicts", key, value);
        assertEquals(ProductionExceptionHandler.Result.RETRY,
                production.handleError(context, out, new TimeoutException("slow")).result());
        final ProductionExceptionHandler.Response tooLarge = production.handleError(context, out,
                new RecordTooLargeException("too large"));
        assertEquals(ProductionExceptionHandler.Result.RESUME, tooLarge.result());
        assertEquals(RecordTooLargeException.class.getName(),
                decode(topics, tooLarge.deadLetterQueueRecords()).getErrorClass());
        final ProductionExceptionHandler.Response serialization = production.handleSerializationError(context,
                new ProducerRecord<>("history.chain-verdicts", 63L, "x"), new ClassCastException("not a record"),
                ProductionExceptionHandler.SerializationExceptionOrigin.VALUE);
        assertEquals(ProductionExceptionHandler.Result.RESUME, serialization.result());
        assertArrayEquals(key, bytes(decode(topics, serialization.deadLetterQueueRecords()).getKey()),
                "the dead letter keeps the source key");

        // a value too large to send would fail its dead letter too, which stopped the pipeline: it is left out
        final byte[] huge = new byte[DeadLetterHandlers.DeadLetters.MAX_VALUE_BYTES + 1];
        final ProductionExceptionHandler.Response hugeOut = production.handleError(new FixedContext(key, huge),
                new ProducerRecord<>("history.ledgers-verified", key, huge), new RecordTooLargeException("20 MB"));
        assertEquals(ProductionExceptionHandler.Result.RESUME, hugeOut.result());
        final DeadLetter hl = decode(topics, hugeOut.deadLetterQueueRecords());
        assertEquals(null, hl.getValue());
        assertEquals("20 MB (the record's value, " + huge.length + " bytes, is left out of this dead letter)",
                hl.getErrorMessage());
        assertTrue(hugeOut.deadLetterQueueRecords().get(0).value().length < 4096);
    }

    @Test
    void shouldRefuseToRunWithoutTheDeadLetterTopic() {
        final DeadLetterHandlers.Deserialization handler = new DeadLetterHandlers.Deserialization();
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> handler.configure(Map.of()));
        assertTrue(e.getMessage().contains(StreamsConfig.ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG));
    }

    private static DeadLetter decode(final Topics topics, final List<ProducerRecord<byte[], byte[]>> records) {
        assertEquals(1, records.size());
        final ProducerRecord<byte[], byte[]> r = records.get(0);
        assertEquals(topics.deadLetters.name(), r.topic());
        assertNotNull(r.value());
        return topics.deadLetters.valueSerde().deserializer().deserialize(r.topic(), r.value());
    }

    private static byte[] bytes(final ByteBuffer b) {
        final ByteBuffer copy = b.duplicate();
        final byte[] out = new byte[copy.remaining()];
        copy.get(out);
        return out;
    }

    /** The context of a record of {@code history.has-downloaded} that failed in {@code assemble-checkpoint}. */
    private record FixedContext(byte[] sourceRawKey, byte[] sourceRawValue) implements ErrorHandlerContext {
        @Override
        public String topic() {
            return "history.has-downloaded";
        }

        @Override
        public int partition() {
            return 3;
        }

        @Override
        public long offset() {
            return 17;
        }

        @Override
        public Headers headers() {
            return new RecordHeaders();
        }

        @Override
        public String processorNodeId() {
            return HistoryTopology.ASSEMBLER;
        }

        @Override
        public TaskId taskId() {
            return new TaskId(2, 3);
        }

        @Override
        public long timestamp() {
            return 0;
        }
    }
}
