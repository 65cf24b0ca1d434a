package io.historystreams.cli;

import io.historystreams.service.HistoryStreamsService;
import io.historystreams.service.ServiceConfig;
import io.historystreams.service.WithEmbeddedBroker;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.GroupListing;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A SIGTERM closes the service under the command (its shutdown hook): the publish runners must leave their groups
 * while the broker still runs. Their members stayed in the groups for a session timeout before, and the next run on
 * the data dir waited 45 s before it published anything (found by a user trial).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PublishingCloseTest extends WithEmbeddedBroker {
    private static final String APP = "pubclose";

    @TempDir
    Path dir;

    @Test
    void aServiceClosedUnderTheCommandClosesItsPublishersFirst() throws Exception {
        final HistoryStreamsService svc = HistoryStreamsService.start(ServiceConfig.of(Map.of(
                ServiceConfig.BOOTSTRAP_SERVERS, broker.bootstrapServers(), ServiceConfig.APPLICATION_ID, APP,
                ServiceConfig.TOPIC_PREFIX, APP + ".", ServiceConfig.HTTP_PORT, "-1",
                ServiceConfig.SCHEMA_REGISTRY_URL, "mock://" + APP, ServiceConfig.DATA_DIR,
                dir.resolve("data").toString())));
        final Publishing publishing = Publishing.start(svc, List.of(dir.resolve("mirror").toString()));
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", broker.bootstrapServers()))) {
            final String group = publishGroup(admin);
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (members(admin, group) == 0 && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertEquals(1, members(admin, group), "the runner joined its group");
            // the target's counts only grow: counters with help lines (they were gauges, four without help)
            final String text = svc.metrics().scrape();
            for (final String name : List.of("history_publish_checkpoints_total", "history_publish_files_written_total",
                    "history_publish_files_skipped_total", "history_publish_bytes_total",
                    "history_publish_failures_total")) {
                assertTrue(text.contains("# TYPE " + name + " counter"), () -> name + " in\n" + text);
                assertTrue(java.util.regex.Pattern.compile("(?m)^# HELP " + name + " \\S").matcher(text).find(),
                        () -> "help of " + name);
            }
            // and where the target's root state is (a new mirror: none yet)
            assertTrue(text.contains("# TYPE history_publish_root_ledger gauge"), text);
            assertTrue(java.util.regex.Pattern.compile("(?m)^history_publish_root_ledger\\{target=\"[^\"]+\"} -1\\.0$")
                    .matcher(text).find(), text);

            svc.close(); // what the shutdown hook does on SIGTERM, while the command still holds its publishing

            assertEquals(0, members(admin, group), "the runner left its group before the service closed");
            publishing.close(); // the command's own close, after: nothing left to do
            assertTrue(svc.closing());
        }
    }

    private static String publishGroup(final Admin admin) throws Exception {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            for (final GroupListing g : admin.listGroups().all().get(10, TimeUnit.SECONDS)) {
                if (g.groupId().startsWith(APP + "-publish-")) {
                    return g.groupId();
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no publish group of " + APP);
    }

    private static int members(final Admin admin, final String group) throws Exception {
        final ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all()
                .get(10, TimeUnit.SECONDS).get(group);
        return d.members().size();
    }
}
