package io.historystreams.service;

import io.historystreams.topology.HistoryTopology;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsSpec;
import org.apache.kafka.common.TopicPartition;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The pairing of application ids and topic prefixes on a cluster, checked before a pipeline starts: one application
 * (its consumer group and its state stores) processes the requests of one prefix, and one prefix's requests are
 * processed by one application. A trial with several workers found both mistakes silent: a worker with the
 * application's id and another prefix joined the group and left part of the range unassigned for good (the group
 * rebalanced every few seconds; the metrics said nothing was in progress), and a second application on the same
 * prefix verified and emitted every checkpoint and ledger a second time.
 */
final class PipelineGroups {
    /** The request topic's name after the prefix. */
    static final String REQUESTS = "checkpoint-requests";

    private PipelineGroups() {
    }

    /**
     * Throws, with what to do, when {@code appId}'s group has processed another prefix's requests, or another
     * application (a group with committed offsets on {@code requestsTopic} and the state stores of a pipeline) has
     * processed this prefix's.
     */
    static void check(final Admin admin, final String appId, final String requestsTopic) throws IOException {
        try {
            final Set<String> others = new TreeSet<>();
            for (final TopicPartition tp : admin.listConsumerGroupOffsets(appId).partitionsToOffsetAndMetadata()
                    .get(30, TimeUnit.SECONDS).keySet()) {
                if (tp.topic().endsWith(REQUESTS) && !tp.topic().equals(requestsTopic)) {
                    others.add(tp.topic());
                }
            }
            if (!others.isEmpty()) {
                throw new IOException("the application " + appId + " (--application-id) has processed the requests "
                        + "of " + String.join(", ", others) + ", not " + requestsTopic + ": all its workers must use "
                        + "one topic.prefix (a worker with another one stops part of the others' work, and the "
                        + "application's state stores hold what the other prefix verified); give this one that "
                        + "prefix, or another --application-id");
            }
            // the other pipelines: groups with a pipeline's state stores (not consumers of the topics, share groups);
            // only their offsets are asked for, however many groups a shared cluster has
            final Set<String> topics = admin.listTopics().names().get(30, TimeUnit.SECONDS);
            final Map<String, ListConsumerGroupOffsetsSpec> groups = new HashMap<>();
            for (final GroupListing g : admin.listGroups().all().get(30, TimeUnit.SECONDS)) {
                if (!g.groupId().equals(appId)
                        && topics.contains(g.groupId() + "-" + HistoryTopology.STATUS_STORE + "-changelog")) {
                    groups.put(g.groupId(), new ListConsumerGroupOffsetsSpec());
                }
            }
            if (groups.isEmpty()) {
                return;
            }
            final Set<String> sharing = new TreeSet<>();
            final var offsets = admin.listConsumerGroupOffsets(groups);
            final Set<String> uncommitted = new TreeSet<>();
            for (final String g : groups.keySet()) {
                final Map<TopicPartition, ?> committed;
                try {
                    committed = offsets.partitionsToOffsetAndMetadata(g).get(30, TimeUnit.SECONDS);
                } catch (final ExecutionException e) {
                    continue; // not a consumer group
                }
                if (committed.keySet().stream().anyMatch(tp -> tp.topic().equals(requestsTopic))) {
                    sharing.add(g);
                } else {
                    uncommitted.add(g);
                }
            }
            // and those whose workers are assigned the requests, before any is committed (a trial: a client of
            // another application id on a prefix whose workers had just started was not refused, and they did its
            // work)
            if (!uncommitted.isEmpty()) {
                final var described = admin.describeConsumerGroups(uncommitted).describedGroups();
                for (final String g : uncommitted) {
                    try {
                        if (described.get(g).get(30, TimeUnit.SECONDS).members().stream().anyMatch(m -> m.assignment()
                                .topicPartitions().stream().anyMatch(tp -> tp.topic().equals(requestsTopic)))) {
                            sharing.add(g);
                        }
                    } catch (final ExecutionException e) {
                        // not a consumer group
                    }
                }
            }
            if (!sharing.isEmpty()) {
                throw new IOException("the application" + (sharing.size() == 1 ? " " : "s ") + String.join(", ",
                        sharing) + " (--application-id) also processed the requests of " + requestsTopic + ": two "
                        + "applications on one topic.prefix verify and emit every checkpoint and ledger twice. Run "
                        + "this command with --application-id " + String.join(" or ", sharing) + ", or give it another "
                        + "topic.prefix; if that application is gone for good, delete its group (kafka-consumer-groups "
                        + "--delete --group " + sharing.iterator().next() + ")");
            }
        } catch (final ExecutionException | TimeoutException e) {
            // the cluster could not say: the check is skipped, not the start
            org.slf4j.LoggerFactory.getLogger(PipelineGroups.class).warn("cannot check which applications process "
                    + "{} ({}); starting anyway", requestsTopic, e.toString());
        } catch (final InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while checking the application's consumer group", e);
        }
    }
}
