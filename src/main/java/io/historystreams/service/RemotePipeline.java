package io.historystreams.service;

import io.historystreams.topology.Topic;
import io.historystreams.topology.Topics;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeConsumerGroupsOptions;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

/**
 * The pipeline as seen by a process that runs none of it ({@code ingest --client}): the topics of the {@code run}
 * workers of an application on a Kafka cluster. Connecting checks, before anything is requested, what would otherwise
 * fail late or leave the command waiting for nothing: a cluster to talk to, the workers' topics on it, and a schema
 * registry the workers can read.
 *
 * @param clientProps settings for this process's clients of the workers' cluster
 * @param group       the workers' group ({@code application.id})
 * @param workers     members of that group when connecting: 0 none, -1 unknown
 */
public record RemotePipeline(Map<String, Object> clientProps, Topics topics, String bootstrapServers, String group,
        int workers) {
    private static final int ADMIN_TIMEOUT_MS = 30_000;

    /** As {@link #connect(ServiceConfig, int)}, waiting 30 s at most for the cluster. */
    public static RemotePipeline connect(final ServiceConfig config) {
        return connect(config, ADMIN_TIMEOUT_MS);
    }

    /**
     * Connects to the workers' cluster.
     *
     * @throws IllegalArgumentException the settings cannot reach any worker (no cluster given, or a schema registry
     *                                  directory that no worker uses)
     * @throws IllegalStateException    the cluster does not answer within {@code timeoutMs}, or has no topics of
     *                                  this application
     */
    static RemotePipeline connect(final ServiceConfig config, final int timeoutMs) {
        if (config.embedded()) {
            throw new IllegalArgumentException("--client needs the workers' Kafka cluster (--bootstrap-servers or "
                    + "KAFKA_BOOTSTRAP_SERVERS): an embedded broker of its own would have no worker");
        }
        final String registry = config.schemaRegistryUrl();
        if (config.directoryRegistryMissing()) {
            // a fresh directory registry would number the request schema on its own, and the workers would not
            // find that number in theirs
            throw new IllegalArgumentException("the schema registry " + registry + " does not exist: with --client, "
                    + "use the workers' registry (--schema-registry-url, or on the workers' host their --data-dir)");
        }
        final String lz4 = NativeLibraries.loadLz4WithoutDataDir();
        if (lz4 != null) {
            LoggerFactory.getLogger(RemotePipeline.class).warn("lz4-java's native library is not loaded from a copy "
                    + "of this user's ({}): lz4-java extracts it to a temp file itself, which a process killed "
                    + "(kill -9) leaves behind (150 KB)", lz4);
        }
        final String bootstrap = config.get(ServiceConfig.BOOTSTRAP_SERVERS);
        final Map<String, Object> props = HistoryStreamsService.clientProps(config, bootstrap);
        final Topics topics = HistoryStreamsService.topics(config);
        final String group = config.get(ServiceConfig.APPLICATION_ID);
        try (Admin admin = Admin.create(props)) {
            final Set<String> names = admin.listTopics(new ListTopicsOptions().timeoutMs(timeoutMs)).names()
                    .get(timeoutMs, TimeUnit.MILLISECONDS);
            final List<String> missing = Stream.of(topics.checkpointRequests, topics.checkpointsVerified,
                    topics.checkpointFailures).map(Topic::name).filter(n -> !names.contains(n)).toList();
            if (!missing.isEmpty()) {
                throw new IllegalStateException("no worker of this application has started on " + bootstrap
                        + " (topic(s) " + String.join(", ", missing) + " missing): start `history-streams run` "
                        + "with the same --application-id and topic.prefix first");
            }
            try {
                // the pairing of application id and prefix the workers are held to: a client with another pair
                // watched a group that did not serve its requests, or none, and never said so
                PipelineGroups.check(admin, group, topics.checkpointRequests.name());
                // a client with another registry than the workers' failed later, on the first verdict it read
                RegistryCheck.check(props, topics, io.historystreams.archive.Credentials.strip(registry),
                        java.time.Duration.ofMillis(Math.min(timeoutMs, 10_000)));
            } catch (final java.io.IOException e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
            return new RemotePipeline(props, topics, bootstrap, group, members(admin, group));
        } catch (final ExecutionException | TimeoutException e) {
            throw unreachable(bootstrap, timeoutMs, e);
        } catch (final InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while connecting to " + bootstrap, e);
        }
    }

    /**
     * What an admin call that failed ({@link ExecutionException}) or timed out ({@link TimeoutException}, or the admin
     * client's own timeout inside an {@code ExecutionException}) says of the cluster: that it did not answer within
     * {@code timeoutMs}, or why it cannot be reached.
     */
    static IllegalStateException unreachable(final String bootstrap, final int timeoutMs, final Exception e) {
        final Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
        if (cause instanceof TimeoutException || cause instanceof org.apache.kafka.common.errors.TimeoutException) {
            return new IllegalStateException("the Kafka cluster at " + bootstrap + " did not answer within "
                    + Math.max(1, timeoutMs / 1000) + " s", e);
        }
        return new IllegalStateException("cannot reach the Kafka cluster at " + bootstrap + ": " + cause, e);
    }

    /**
     * Watches the workers' group while the client waits, so that it says when the last worker left (a trial's client
     * only repeated its progress, with a shrinking ETA, while every worker was dead) and when one is back. Call
     * {@link WorkerWatch#notice} as often as convenient: it asks the cluster every {@code every} at most, and at once
     * when verdicts arrive while it knows of no worker.
     */
    public WorkerWatch watchWorkers(final java.time.Duration every) {
        return new WorkerWatch(this, every);
    }

    /** See {@link #watchWorkers}. */
    public static final class WorkerWatch implements AutoCloseable {
        private final RemotePipeline remote;
        private final long everyNanos;
        private Admin admin;
        private long last = System.nanoTime();
        private int workers;
        private long verdicts;
        /** The looks in a row the cluster did not answer. */
        private int unanswered;

        WorkerWatch(final RemotePipeline remote, final java.time.Duration every) {
            this.remote = remote;
            this.everyNanos = every.toNanos();
            this.workers = remote.workers();
        }

        /**
         * A line to print when the group emptied or filled again since the last look, else null.
         *
         * @param verdictsNow how many checkpoints have a verdict so far: a new one while the group was empty means a
         *                    worker is back, and the look is taken at once (a short rest of a range could end
         *                    before the next look, without the note)
         */
        public String notice(final long verdictsNow) throws InterruptedException {
            final boolean progressedWithoutWorkers = workers == 0 && verdictsNow > verdicts;
            verdicts = verdictsNow;
            if (!progressedWithoutWorkers && System.nanoTime() - last < everyNanos) {
                return null;
            }
            last = System.nanoTime();
            if (admin == null) {
                admin = Admin.create(remote.clientProps());
            }
            final int now = members(admin, remote.group(), 5_000);
            if (now < 0) {
                // the cluster could not say: said after two looks in a row, and then its workers are taken as gone
                // (a trial: a `run` with its embedded broker stopped, and its client said nothing for minutes)
                if (++unanswered != 2) {
                    return null;
                }
                workers = 0;
                return "warning: the Kafka cluster at " + remote.bootstrapServers() + " does not answer: the "
                        + "checkpoints without a verdict wait until it does and a `run` worker is in group "
                        + remote.group() + " (a `run` that embeds its broker takes the cluster with it when it stops)";
            }
            final boolean back = unanswered >= 2;
            unanswered = 0;
            final int before = workers;
            workers = now;
            if (back) {
                return now > 0 ? "note: the Kafka cluster at " + remote.bootstrapServers() + " answers again, with "
                        + now + " worker(s) in group " + remote.group()
                        : "note: the Kafka cluster at " + remote.bootstrapServers() + " answers again; no worker is in "
                        + "group " + remote.group() + ": the checkpoints without a verdict wait until a `run` worker "
                        + "starts (or rejoins)";
            }
            if (now == 0 && before != 0) {
                return "warning: no worker is in group " + remote.group() + " now: the checkpoints without a verdict "
                        + "wait until a `run` worker starts (or rejoins)";
            }
            if (now > 0 && before == 0) {
                return "note: " + now + " worker(s) in group " + remote.group() + " again";
            }
            return null;
        }

        @Override
        public void close() {
            if (admin != null) {
                admin.close(java.time.Duration.ofSeconds(5));
            }
        }
    }

    /** The worker (process) a group member's client id names: the id without its stream thread's suffix. */
    static String worker(final String clientId) {
        final int thread = clientId.lastIndexOf("-StreamThread-");
        return thread < 0 ? clientId : clientId.substring(0, thread);
    }

    /** Workers in the workers' group now; 0 when the group does not exist, -1 when the cluster cannot tell. */
    private static int members(final Admin admin, final String group) throws InterruptedException {
        return members(admin, group, ADMIN_TIMEOUT_MS);
    }

    private static int members(final Admin admin, final String group, final int timeoutMs)
            throws InterruptedException {
        try {
            // a worker's members are its stream threads' consumers ("<client id>-StreamThread-<n>-consumer"): one
            // worker with two threads was said to be "2 worker(s)"
            return (int) admin.describeConsumerGroups(List.of(group),
                            new DescribeConsumerGroupsOptions().timeoutMs(timeoutMs))
                    .describedGroups().get(group).get(timeoutMs, TimeUnit.MILLISECONDS).members().stream()
                    .map(m -> worker(m.clientId())).distinct().count();
        } catch (final ExecutionException e) {
            return e.getCause() instanceof GroupIdNotFoundException ? 0 : -1;
        } catch (final TimeoutException e) {
            return -1;
        }
    }
}
