package io.historystreams.service;

import io.historystreams.kafka.EmbeddedKafkaBroker;
import org.apache.kafka.clients.CommonClientConfigs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * What {@code ingest --client} says of its workers' cluster while it waits, when the cluster itself goes away: a
 * trial's client of a single-host {@code run} (whose embedded broker stopped with it) said nothing for minutes.
 */
class WorkerWatchTest {
    @TempDir
    Path dir;

    @Test
    @Timeout(120)
    void aClusterThatStopsAnsweringIsSaidAfterTwoLooksAndItsReturnOnce() throws Exception {
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(dir.resolve("broker"), Map.of())) {
            final String bootstrap = broker.bootstrapServers();
            final RemotePipeline remote = new RemotePipeline(Map.of(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG,
                    bootstrap), null, bootstrap, "watched", 1);
            try (RemotePipeline.WorkerWatch watch = remote.watchWorkers(Duration.ZERO)) {
                assertEquals("warning: no worker is in group watched now: the checkpoints without a verdict wait "
                        + "until a `run` worker starts (or rejoins)", watch.notice(0));
                broker.stop();
                assertNull(watch.notice(0), "one look the cluster did not answer: not said yet");
                assertEquals("warning: the Kafka cluster at " + bootstrap + " does not answer: the checkpoints "
                        + "without a verdict wait until it does and a `run` worker is in group watched (a `run` that "
                        + "embeds its broker takes the cluster with it when it stops)", watch.notice(0));
                assertNull(watch.notice(0), "said once");
                broker.restart();
                String back = null;
                for (int i = 0; i < 10 && back == null; i++) {
                    back = watch.notice(0);
                }
                assertEquals("note: the Kafka cluster at " + bootstrap + " answers again; no worker is in group "
                        + "watched: the checkpoints without a verdict wait until a `run` worker starts (or rejoins)",
                        back);
                assertNull(watch.notice(0), "said once");
            }
        }
    }
}
