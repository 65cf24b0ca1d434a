package io.historystreams.service;

import io.historystreams.kafka.EmbeddedKafkaBroker;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

/** Test classes that share one real in-process KRaft broker for all their tests. */
abstract class WithEmbeddedBroker {
    @TempDir
    static Path shared;
    static EmbeddedKafkaBroker broker;

    @BeforeAll
    static void startBroker() {
        broker = EmbeddedKafkaBroker.start(shared.resolve("broker"), Map.of());
    }

    @AfterAll
    static void stopBroker() {
        if (broker != null) {
            broker.close();
            broker = null;
        }
    }
}
