package io.historystreams.service;

import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** A cluster that does not answer is named in one plain sentence, whichever command meets it first. */
class UnreachableClusterTest {
    private static String closedPort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return "127.0.0.1:" + s.getLocalPort();
        }
    }

    @Test
    void theWorkersStartSaysWhichClusterDidNotAnswer() throws Exception {
        final String bootstrap = closedPort();
        final ServiceConfig config = ServiceConfig.of(Map.of(ServiceConfig.BOOTSTRAP_SERVERS, bootstrap));
        try (Admin admin = Admin.create(HistoryStreamsService.clientProps(config, bootstrap))) {
            final IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> HistoryStreamsService.replicationFactor(config, admin, 1_000));
            // was "cannot reach the Kafka cluster to size replication: null"
            assertEquals("the Kafka cluster at " + bootstrap + " did not answer within 1 s", e.getMessage());
        }
    }

    @Test
    void theClientSaysWhichClusterDidNotAnswer() throws Exception {
        final String bootstrap = closedPort();
        final ServiceConfig config = ServiceConfig.of(Map.of(ServiceConfig.BOOTSTRAP_SERVERS, bootstrap,
                ServiceConfig.SCHEMA_REGISTRY_URL, "mock://unreachable-cluster"));
        final IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> RemotePipeline.connect(config, 1_000));
        // was "cannot reach the Kafka cluster at ...: org.apache.kafka.common.errors.TimeoutException: Timed out
        // waiting for a node assignment. Call: listTopics"
        assertEquals("the Kafka cluster at " + bootstrap + " did not answer within 1 s", e.getMessage());
    }
}
