package io.historystreams.service;

import io.historystreams.kafka.EmbeddedKafkaBroker;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

/** Test classes that share one real in-process KRaft broker for all their tests. */
public abstract class WithEmbeddedBroker {
    @TempDir
    protected static Path shared;
    protected static EmbeddedKafkaBroker broker;

    @BeforeAll
    public static void startBroker() {
        broker = EmbeddedKafkaBroker.start(shared.resolve("broker"), Map.of());
    }

    @AfterAll
    public static void stopBroker() {
        if (broker != null) {
            broker.close();
            broker = null;
        }
    }
}
