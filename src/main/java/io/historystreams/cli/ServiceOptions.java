package io.historystreams.cli;

import io.historystreams.service.ServiceConfig;
import io.historystreams.topology.Topics;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Options of the commands that run the pipeline: where Kafka is, where data lives, how the service is sized. */
public final class ServiceOptions {
    @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT,...",
            description = "Kafka cluster to use. Default: an embedded single-node broker with data under --data-dir.")
    String bootstrapServers;

    @Option(names = "--data-dir", paramLabel = "DIR",
            description = "Embedded broker data, Streams state and the blob store (default ./data).")
    Path dataDir;

    @Option(names = "--application-id", paramLabel = "ID",
            description = "Kafka Streams application.id (default history-streams); instances sharing it share work.")
    String applicationId;

    @Option(names = "--config", paramLabel = "FILE",
            description = "Properties file with settings (below environment and command line).")
    Path configFile;

    @Option(names = "--partitions", paramLabel = "N",
            description = "Partitions of new pipeline topics (default " + Topics.EMBEDDED_PARTITIONS
                    + " with the embedded broker, " + Topics.DEFAULT_PARTITIONS + " on a Kafka cluster).")
    Integer partitions;

    @Option(names = "--stream-threads", paramLabel = "N", description = "Kafka Streams threads (default 2).")
    Integer streamThreads;

    @Option(names = "--fetch-concurrency", paramLabel = "N",
            description = "Files fetched at once (default: cores + 1 when the archives are on this host, 8 when "
                    + "remote); in ingest, the same setting as --concurrency: give one.")
    Integer fetchConcurrency;

    @Option(names = "--schema-registry-url", paramLabel = "URL",
            description = "Schema registry: http(s):// (Confluent REST API), file:///dir, or mock://<scope> (in-process). "
                    + "Default: file://<data-dir>/schema-registry.")
    String schemaRegistryUrl;

    @Option(names = "--http-port", paramLabel = "PORT",
            description = "Health and metrics endpoint port (default 8080; 0 picks a free port; -1 disables).")
    Integer httpPort;

    @Option(names = "--http-bind", paramLabel = "ADDR", description = "Endpoint bind address (default 127.0.0.1).")
    String httpBind;

    @Option(names = {"-D", "--set"}, paramLabel = "KEY=VALUE",
            description = "Any setting; kafka.<client setting> is passed to every Kafka client (e.g. "
                    + "-D kafka.security.protocol=SASL_SSL).")
    List<String> settings = new ArrayList<>();

    /**
     * The {@code -D} settings, split at their first '=' (a value may hold more). Parsed here, not by picocli, whose
     * message for a setting without one read "Value for option option '--set' (KEY=VALUE) should be ...".
     */
    Map<String, String> settings() {
        final Map<String, String> out = new LinkedHashMap<>();
        for (final String s : settings) {
            final int eq = s.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("-D " + s + ": a setting is KEY=VALUE (for example -D "
                        + ServiceConfig.FETCH_CONCURRENCY + "=4)" + (eq == 0 ? ", and its key is empty" : ""));
            }
            out.put(s.substring(0, eq), s.substring(eq + 1));
        }
        return out;
    }

    /**
     * The layered configuration: defaults < --config file < environment < these options. On the command line, an
     * option of its own wins over {@code -D} for the same key; an option not given leaves a {@code -D} value alone.
     */
    public ServiceConfig load() throws IOException {
        final Map<String, String> cli = new HashMap<>(settings());
        given(cli, ServiceConfig.BOOTSTRAP_SERVERS, bootstrapServers);
        given(cli, ServiceConfig.DATA_DIR, dataDir);
        given(cli, ServiceConfig.APPLICATION_ID, applicationId);
        given(cli, ServiceConfig.PARTITIONS, partitions);
        given(cli, ServiceConfig.STREAM_THREADS, streamThreads);
        given(cli, ServiceConfig.FETCH_CONCURRENCY, fetchConcurrency);
        given(cli, ServiceConfig.SCHEMA_REGISTRY_URL, schemaRegistryUrl);
        given(cli, ServiceConfig.HTTP_PORT, httpPort);
        given(cli, ServiceConfig.HTTP_BIND, httpBind);
        return ServiceConfig.load(configFile, System.getenv(), cli);
    }

    /** Sets {@code key} from its option when the option was given (a null would hide the key's -D value). */
    private static void given(final Map<String, String> cli, final String key, final Object option) {
        if (option != null) {
            cli.put(key, option.toString());
        }
    }
}
