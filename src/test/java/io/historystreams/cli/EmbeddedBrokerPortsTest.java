package io.historystreams.cli;

import io.historystreams.testing.Cli;
import io.historystreams.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.Reader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The embedded broker's ports can be fixed from the command line (a trial on a host with assigned ports:
 * {@code -D embedded.broker.port=...}, named in docs/embedded-broker.md, was ignored as an unknown setting).
 */
class EmbeddedBrokerPortsTest {
    @TempDir
    Path tmp;

    @Test
    @Timeout(120)
    void theBrokerListensOnThePortsGiven() throws Exception {
        final int broker;
        final int controller;
        try (ServerSocket a = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                ServerSocket b = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            broker = a.getLocalPort();
            controller = b.getLocalPort();
        }
        final Path data = tmp.resolve("data");
        final Cli.Ran r = Cli.run("ingest", "--archive", Fixtures.pubnetGenesis().toString(), "--data-dir",
                data.toString(), "--http-port", "-1", "--quiet", "-D", "embedded.broker.port=" + broker, "-D",
                "embedded.controller.port=" + controller);
        assertEquals(ExitCode.OK, r.code(), r.out());
        assertFalse(r.out().contains("unknown setting"), r.out());
        final Properties kept = new Properties();
        try (Reader in = Files.newBufferedReader(data.resolve("kafka").resolve("embedded-broker.properties"))) {
            kept.load(in);
        }
        assertEquals(Integer.toString(broker), kept.getProperty("broker.port"), kept::toString);
        assertEquals(Integer.toString(controller), kept.getProperty("controller.port"), kept::toString);
    }

    @Test
    void aPortOutOfRangeIsRefusedBeforeAnythingStarts() {
        final Path data = tmp.resolve("data");
        final Cli.Ran r = Cli.run("ingest", "--archive", Fixtures.pubnetGenesis().toString(), "--data-dir",
                data.toString(), "--http-port", "-1", "--quiet", "-D", "embedded.broker.port=70000");
        assertEquals(ExitCode.COULD_NOT_RUN, r.code(), r.out());
        assertTrue(r.out().contains("setting embedded.broker.port must be a port, 1 to 65535, got 70000"), r.out());
        assertFalse(Files.exists(data), "nothing made");
    }
}
