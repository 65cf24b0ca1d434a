package io.historystreams.events;

import java.util.List;
import org.apache.avro.specific.SpecificRecord;

/** The generated event record classes, for code that needs all of them (topic registries, schema checks). */
public final class EventTypes {
    /** Records that travel on topics as values. */
    public static final List<Class<? extends SpecificRecord>> EVENTS = List.of(
            CheckpointRequest.class,
            BucketRequest.class,
            HasDownloaded.class,
            LedgerHeadersDownloaded.class,
            TransactionsDownloaded.class,
            ResultsDownloaded.class,
            ScpDownloaded.class,
            BucketVerified.class,
            CheckpointVerified.class,
            ChainInput.class,
            CheckpointFailed.class,
            LedgerVerified.class,
            CheckpointPublished.class,
            DeadLetter.class);

    /** Records that only appear nested inside events. */
    public static final List<Class<? extends SpecificRecord>> NESTED = List.of(
            FileRef.class,
            LedgerHeaderFact.class,
            LedgerSetHash.class);

    /** Records kept only in state stores (changelogged, never on a topic of their own). */
    public static final List<Class<? extends SpecificRecord>> STATE = List.of(
            CheckpointAssembly.class);

    private EventTypes() {
    }
}
