package io.historystreams.kafka;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.AlterConfigsOptions;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.DescribeConfigsOptions;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

/**
 * Idempotent topic creation with the Kafka {@link Admin} client: creates the missing topics and leaves the existing
 * ones, except that an existing topic's {@code cleanup.policy} is set to the one asked for (a compacted topic that is
 * not compacted, or the reverse, silently loses or keeps data). Other differences are only logged.
 */
public final class TopicAdmin {

    /** Overall time allowed for one {@link #ensureTopics(Admin, Collection)} call. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

    private static final Logger LOG = LoggerFactory.getLogger(TopicAdmin.class);
    private static final long RETRY_BACKOFF_MS = 100;

    /**
     * What {@link #ensureTopics} did.
     *
     * @param created      topics this call created
     * @param existing     topics that were already there (including those another instance created meanwhile)
     * @param reconfigured existing topics whose {@code cleanup.policy} this call changed
     */
    public record Result(Set<String> created, Set<String> existing, Set<String> reconfigured) {
        public Result {
            created = Set.copyOf(created);
            existing = Set.copyOf(existing);
            reconfigured = Set.copyOf(reconfigured);
        }
    }

    private TopicAdmin() {
    }

    /** {@link #ensureTopics(Admin, Collection, Duration)} with {@link #DEFAULT_TIMEOUT}. */
    public static Result ensureTopics(final Admin admin, final Collection<TopicSpec> specs) {
        return ensureTopics(admin, specs, DEFAULT_TIMEOUT);
    }

    /**
     * Makes sure every topic in {@code specs} exists. Missing topics are created as specified; existing ones keep
     * their partitions (fewer than asked gives a WARN: adding partitions would move keys) and configs, except that a
     * differing {@code cleanup.policy} is altered to the asked one (WARN). Safe to run concurrently from several
     * instances: a {@link TopicExistsException} race counts as "already exists". Returns once created topics are
     * visible in the cluster metadata.
     *
     * @param admin   an admin client for the cluster
     * @param specs   the topics; names must be unique
     * @param timeout overall bound for the whole call
     * @return which topics were created, found, reconfigured
     * @throws TopicAdminException on a timeout or a broker-side error (e.g. a replication factor above the number of
     *                             brokers); the message names the topics and the step that failed
     */
    public static Result ensureTopics(final Admin admin, final Collection<TopicSpec> specs, final Duration timeout) {
        return ensureTopics(admin, specs, timeout, true);
    }

    /**
     * {@link #ensureTopics(Admin, Collection, Duration)}, warned of existing topics with fewer partitions than asked
     * ({@code partitionedHere}) or told at INFO: a process that only reads or writes them (a replay, a client
     * requesting checkpoints), or that asked for no count (a worker joining with the default), need not be warned (a
     * replay on a cluster warned of the pipeline topics the workers had made, which it does not process).
     */
    public static Result ensureTopics(final Admin admin, final Collection<TopicSpec> specs, final Duration timeout,
            final boolean partitionedHere) {
        final Map<String, TopicSpec> byName = byName(specs);
        if (byName.isEmpty()) {
            return new Result(Set.of(), Set.of(), Set.of());
        }
        final Deadline deadline = new Deadline(timeout);

        final Set<String> present = get(admin.listTopics(new ListTopicsOptions().listInternal(true)
                .timeoutMs(deadline.remainingMsInt())).names(), deadline, "listing topics", byName.keySet());
        final Set<String> existing = new TreeSet<>(byName.keySet());
        existing.retainAll(present);
        final Set<String> created = new TreeSet<>();

        final List<TopicSpec> missing = byName.values().stream().filter(s -> !present.contains(s.name())).toList();
        if (!missing.isEmpty()) {
            final CreateTopicsResult result = admin.createTopics(
                    missing.stream().map(TopicSpec::toNewTopic).toList(),
                    new CreateTopicsOptions().timeoutMs(deadline.remainingMsInt()));
            final Map<String, Throwable> failures = new TreeMap<>();
            for (final TopicSpec spec : missing) {
                try {
                    result.values().get(spec.name()).get(deadline.remainingMs(), TimeUnit.MILLISECONDS);
                    created.add(spec.name());
                } catch (final ExecutionException e) {
                    if (e.getCause() instanceof TopicExistsException) {
                        LOG.debug("Topic {} was created concurrently by someone else", spec.name());
                        existing.add(spec.name());
                    } else {
                        failures.put(spec.name(), e.getCause());
                    }
                } catch (final TimeoutException e) {
                    failures.put(spec.name(), e);
                } catch (final InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new TopicAdminException("interrupted while creating topics " + names(missing), e);
                }
            }
            if (!failures.isEmpty()) {
                throw new TopicAdminException("cannot create topic(s): " + failures.entrySet().stream()
                        .map(f -> f.getKey() + " (" + describe(f.getValue()) + ")")
                        .collect(Collectors.joining(", ")), failures.values().iterator().next());
            }
            if (!created.isEmpty()) {
                LOG.info("Created topic(s) {}", created.stream().map(byName::get).map(TopicAdmin::summary)
                        .collect(Collectors.joining(", ")));
            }
        }

        // every topic must be visible in the metadata (a freshly created one, or one another instance is creating)
        final Map<String, TopicDescription> descriptions = describeUntilVisible(admin, byName.keySet(), deadline);
        final Set<String> reconfigured = new TreeSet<>();
        if (!existing.isEmpty()) {
            checkPartitions(existing, byName, descriptions, partitionedHere);
            reconfigured.addAll(reconcileConfigs(admin, existing, byName, deadline));
        }
        return new Result(created, existing, reconfigured);
    }

    private static Map<String, TopicSpec> byName(final Collection<TopicSpec> specs) {
        final Map<String, TopicSpec> byName = new LinkedHashMap<>();
        for (final TopicSpec spec : specs) {
            final TopicSpec previous = byName.putIfAbsent(spec.name(), spec);
            if (previous != null && !previous.equals(spec)) {
                throw new IllegalArgumentException("topic " + spec.name() + " is specified twice, differently: "
                        + previous + " and " + spec);
            }
        }
        return byName;
    }

    private static Map<String, TopicDescription> describeUntilVisible(final Admin admin, final Set<String> names,
            final Deadline deadline) {
        final Map<String, TopicDescription> found = new TreeMap<>();
        Set<String> pending = new TreeSet<>(names);
        Throwable last = null;
        while (true) {
            final Map<String, KafkaFuture<TopicDescription>> futures = admin.describeTopics(pending,
                    new DescribeTopicsOptions().timeoutMs(deadline.remainingMsInt())).topicNameValues();
            final Set<String> stillPending = new TreeSet<>();
            for (final String name : pending) {
                try {
                    found.put(name, futures.get(name).get(deadline.remainingMs(), TimeUnit.MILLISECONDS));
                } catch (final ExecutionException e) {
                    if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) {
                        throw new TopicAdminException("cannot describe topic " + name + ": "
                                + describe(e.getCause()), e.getCause());
                    }
                    last = e.getCause();
                    stillPending.add(name);
                } catch (final TimeoutException e) {
                    last = e;
                    stillPending.add(name);
                } catch (final InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new TopicAdminException("interrupted while describing topics " + pending, e);
                }
            }
            if (stillPending.isEmpty()) {
                return found;
            }
            if (deadline.expired()) {
                throw new TopicAdminException("topic(s) " + stillPending + " not visible in the cluster metadata "
                        + "within " + deadline.total.toMillis() + " ms" + (last == null ? "" : ": " + describe(last)),
                        last);
            }
            pending = stillPending;
            sleep(RETRY_BACKOFF_MS);
        }
    }

    private static void checkPartitions(final Set<String> existing, final Map<String, TopicSpec> byName,
            final Map<String, TopicDescription> descriptions, final boolean partitionedHere) {
        // one line per (found, asked) pair, not one per topic: a run on topics an embedded worker made logged 29
        final Map<List<Integer>, Set<String>> fewer = new TreeMap<>(Comparator.comparing((List<Integer> k) -> k.get(0))
                .thenComparing(k -> k.get(1)));
        for (final String name : existing) {
            final TopicSpec spec = byName.get(name);
            final TopicDescription d = descriptions.get(name);
            final int partitions = d.partitions().size();
            if (partitions < spec.partitions()) {
                fewer.computeIfAbsent(List.of(partitions, spec.partitions()), k -> new TreeSet<>()).add(name);
            } else if (partitions > spec.partitions()) {
                LOG.info("Topic {} exists with {} partition(s), more than the {} asked for", name, partitions,
                        spec.partitions());
            }
            final int rf = d.partitions().isEmpty() ? 0 : d.partitions().get(0).replicas().size();
            if (rf != spec.replicationFactor()) {
                LOG.info("Topic {} exists with replication factor {} (asked {}); leaving it as it is", name, rf,
                        spec.replicationFactor());
            }
        }
        fewer.forEach((k, names) -> {
            final String line = "{} topic(s) exist with {} partition(s), fewer than the {} asked for; left as they are "
                    + "(adding partitions would move keys to other partitions): {}";
            if (partitionedHere) {
                LOG.warn(line, names.size(), k.get(0), k.get(1), names);
            } else {
                // (it read "fewer than the 6 asked for" to a worker given no count: a trial)
                LOG.info("{} topic(s) exist with {} partition(s), taken as they are (this process runs no pipeline, "
                        + "or was given no --partitions; {} is the count of topics it makes): {}", names.size(),
                        k.get(0), k.get(1), names);
            }
        });
    }

    private static Set<String> reconcileConfigs(final Admin admin, final Set<String> existing,
            final Map<String, TopicSpec> byName, final Deadline deadline) {
        final List<ConfigResource> resources = existing.stream()
                .map(n -> new ConfigResource(ConfigResource.Type.TOPIC, n)).toList();
        final Map<ConfigResource, Config> configs = get(admin.describeConfigs(resources,
                new DescribeConfigsOptions().timeoutMs(deadline.remainingMsInt())).all(), deadline,
                "describing topic configs", existing);
        final Map<ConfigResource, Collection<AlterConfigOp>> alterations = new LinkedHashMap<>();
        for (final ConfigResource resource : resources) {
            final TopicSpec spec = byName.get(resource.name());
            final Config config = configs.get(resource);
            final ConfigEntry policy = config.get(TopicConfig.CLEANUP_POLICY_CONFIG);
            final String actualPolicy = policy == null ? TopicConfig.CLEANUP_POLICY_DELETE : policy.value();
            if (!samePolicy(actualPolicy, spec.cleanupPolicy())) {
                LOG.warn("Topic {} has cleanup.policy={} but {} is asked for; altering it", resource.name(),
                        actualPolicy, spec.cleanupPolicy());
                alterations.put(resource, List.of(new AlterConfigOp(
                        new ConfigEntry(TopicConfig.CLEANUP_POLICY_CONFIG, spec.cleanupPolicy()),
                        AlterConfigOp.OpType.SET)));
            }
            for (final Map.Entry<String, String> asked : spec.configs().entrySet()) {
                if (asked.getKey().equals(TopicConfig.CLEANUP_POLICY_CONFIG)) {
                    continue;
                }
                final ConfigEntry entry = config.get(asked.getKey());
                final String actual = entry == null ? null : entry.value();
                if (!asked.getValue().equals(actual)) {
                    LOG.warn("Topic {} has {}={} but {} is asked for; leaving it as it is", resource.name(),
                            asked.getKey(), actual, asked.getValue());
                }
            }
        }
        if (alterations.isEmpty()) {
            return Set.of();
        }
        final Set<String> names = alterations.keySet().stream().map(ConfigResource::name)
                .collect(Collectors.toCollection(TreeSet::new));
        get(admin.incrementalAlterConfigs(alterations,
                new AlterConfigsOptions().timeoutMs(deadline.remainingMsInt())).all(), deadline,
                "altering cleanup.policy", names);
        return names;
    }

    private static boolean samePolicy(final String actual, final String asked) {
        return policySet(actual).equals(policySet(asked));
    }

    private static Set<String> policySet(final String policy) {
        return Arrays.stream(policy.split(",")).map(String::trim).filter(s -> !s.isEmpty())
                .map(String::toLowerCase).collect(Collectors.toCollection(TreeSet::new));
    }

    private static <T> T get(final KafkaFuture<T> future, final Deadline deadline, final String step,
            final Collection<String> topics) {
        try {
            return future.get(deadline.remainingMs(), TimeUnit.MILLISECONDS);
        } catch (final ExecutionException e) {
            throw new TopicAdminException(step + " failed for topic(s) " + topics + ": " + describe(e.getCause()),
                    e.getCause());
        } catch (final TimeoutException e) {
            throw new TopicAdminException(step + " for topic(s) " + topics + " timed out after "
                    + deadline.total.toMillis() + " ms (is the broker reachable?)", e);
        } catch (final InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TopicAdminException("interrupted while " + step + " for topic(s) " + topics, e);
        }
    }

    private static String describe(final Throwable t) {
        if (t instanceof org.apache.kafka.common.errors.TimeoutException) {
            return "timed out (is the broker reachable?): " + t.getMessage();
        }
        return t.getClass().getSimpleName() + ": " + t.getMessage();
    }

    private static String summary(final TopicSpec s) {
        return s.name() + " (partitions " + s.partitions() + ", rf " + s.replicationFactor()
                + (s.configs().isEmpty() ? "" : ", " + new TreeMap<>(s.configs())) + ")";
    }

    private static List<String> names(final Collection<TopicSpec> specs) {
        return specs.stream().map(TopicSpec::name).toList();
    }

    private static void sleep(final long ms) {
        try {
            Thread.sleep(ms);
        } catch (final InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TopicAdminException("interrupted while waiting for topic metadata", e);
        }
    }

    /** A fixed point in time that every step's timeout counts down to. */
    private static final class Deadline {
        private final Duration total;
        private final long endNanos;

        Deadline(final Duration total) {
            if (total.isNegative() || total.isZero()) {
                throw new IllegalArgumentException("timeout must be positive, got " + total);
            }
            this.total = total;
            this.endNanos = System.nanoTime() + total.toNanos();
        }

        long remainingMs() {
            return Math.max(1, TimeUnit.NANOSECONDS.toMillis(endNanos - System.nanoTime()));
        }

        int remainingMsInt() {
            return (int) Math.min(Integer.MAX_VALUE, remainingMs());
        }

        boolean expired() {
            return System.nanoTime() >= endNanos;
        }
    }
}
