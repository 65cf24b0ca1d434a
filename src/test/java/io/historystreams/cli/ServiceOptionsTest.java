package io.historystreams.cli;

import io.historystreams.service.ServiceConfig;
import org.junit.jupiter.api.Test;
import io.historystreams.testing.Cli;
import io.historystreams.testing.Fixtures;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line's layer of the configuration: {@code -D key=value} and the options of their own. */
class ServiceOptionsTest {
    @Command(name = "probe")
    static final class Probe {
        @Mixin
        ServiceOptions service;
    }

    private static ServiceConfig load(final String... args) throws Exception {
        final Probe p = new Probe();
        new CommandLine(p).parseArgs(args);
        return p.service.load();
    }

    @Test
    void aSettingGivenWithDashDIsTakenEvenWhenItHasAnOptionOfItsOwn() throws Exception {
        // each of these keys has an option; -D used to be overwritten by the absent option (and the default won)
        final ServiceConfig c = load("-D", "data.dir=/tmp/elsewhere", "-D", "num.stream.threads=1", "-D",
                "http.port=0", "-D", "partitions=3", "-D", "fetch.concurrency=7", "-D", "application.id=other",
                "-D", "bootstrap.servers=kafka:9092", "-D", "schema.registry.url=mock://x", "-D", "http.bind=::1");
        assertEquals("/tmp/elsewhere", c.get(ServiceConfig.DATA_DIR));
        assertEquals("1", c.get(ServiceConfig.STREAM_THREADS));
        assertEquals("0", c.get(ServiceConfig.HTTP_PORT));
        assertEquals("3", c.get(ServiceConfig.PARTITIONS));
        assertEquals(7, c.fetchConcurrency());
        assertEquals("other", c.get(ServiceConfig.APPLICATION_ID));
        assertEquals("kafka:9092", c.get(ServiceConfig.BOOTSTRAP_SERVERS));
        assertEquals("mock://x", c.get(ServiceConfig.SCHEMA_REGISTRY_URL));
        assertEquals("::1", c.get(ServiceConfig.HTTP_BIND));
    }

    @Test
    void anOptionOfItsOwnWinsOverDashDAndDefaultsStayWhenNeitherIsGiven() throws Exception {
        final ServiceConfig both = load("--stream-threads", "3", "-D", "num.stream.threads=1", "--data-dir", "/a",
                "-D", "data.dir=/b");
        assertEquals("3", both.get(ServiceConfig.STREAM_THREADS));
        assertEquals("/a", both.get(ServiceConfig.DATA_DIR));
        final ServiceConfig none = load();
        assertEquals("2", none.get(ServiceConfig.STREAM_THREADS));
        assertEquals("./data", none.get(ServiceConfig.DATA_DIR));
        assertEquals("8080", none.get(ServiceConfig.HTTP_PORT));
    }

    @Test
    void aSettingIsSplitAtItsFirstEqualsSignAndOneWithoutIsRefusedInWords() throws Exception {
        final Probe p = new Probe();
        new CommandLine(p).parseArgs("-D", "kafka.sasl.jaas.config=a=b", "-D", "empty=");
        assertEquals(java.util.Map.of("kafka.sasl.jaas.config", "a=b", "empty", ""), p.service.settings());

        // picocli's own message read "Value for option option '--set' (KEY=VALUE) should be in KEY=VALUE format"
        final Cli.Ran ran = Cli.run("ingest", "--archive", Fixtures.pubnetGenesis().toString(), "-D", "noequals");
        assertEquals(ExitCode.COULD_NOT_RUN, ran.code(), ran.out());
        assertEquals("error: -D noequals: a setting is KEY=VALUE (for example -D fetch.concurrency=4)\n", ran.out());
        final Cli.Ran emptyKey = Cli.run("ingest", "--archive", Fixtures.pubnetGenesis().toString(), "-D", "=4");
        assertTrue(emptyKey.out().startsWith("error: -D =4: a setting is KEY=VALUE"), emptyKey.out());
        assertTrue(emptyKey.out().contains("its key is empty"), emptyKey.out());
    }
}
