package io.historystreams.topology;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The committed {@code topology-docs/} must be what {@link TopologyDocs} renders from the code. With
 * {@code -Dtopology.docs.update=true} the test rewrites the files instead of failing.
 */
class TopologyDocsTest {
    private static final Path DOCS = Paths.get(TopologyDocs.DEFAULT_DIRECTORY);
    private static final boolean UPDATE = Boolean.getBoolean("topology.docs.update");

    @Test
    void shouldMatchTheCommittedTopologyDocs() throws Exception {
        final Map<String, String> rendered = TopologyDocs.renderDefault();
        if (UPDATE) {
            TopologyDocs.write(rendered, DOCS);
        }
        for (final Map.Entry<String, String> file : rendered.entrySet()) {
            final Path path = DOCS.resolve(file.getKey());
            final String committed = Files.exists(path) ? Files.readString(path, StandardCharsets.UTF_8) : null;
            assertTrue(file.getValue().equals(committed), () -> "topology-docs/" + file.getKey() + " is stale: run `"
                    + TopologyDocs.UPDATE_COMMAND + "`");
        }
        try (Stream<Path> files = Files.list(DOCS)) {
            final TreeSet<String> present = new TreeSet<>(files.map(p -> p.getFileName().toString()).toList());
            assertEquals(new TreeSet<>(rendered.keySet()), present,
                    "topology-docs/ holds exactly the generated files");
        }
    }

    @Test
    void shouldRenderTheSameDocsEveryTime() throws Exception {
        assertEquals(TopologyDocs.renderDefault(), TopologyDocs.renderDefault());
    }

    @Test
    void shouldLinkOnlySchemasThatExist() throws Exception {
        final String topics = TopologyDocs.renderDefault().get(TopologyDocs.TOPICS_MD);
        final Matcher m = Pattern.compile("\\]\\(\\.\\./schemas/([A-Za-z]+\\.avsc)\\)").matcher(topics);
        int links = 0;
        while (m.find()) {
            links++;
            assertTrue(Files.exists(Paths.get("schemas", m.group(1))), "schemas/" + m.group(1));
        }
        assertTrue(links >= 15, "every topic links its value schema, found " + links);
    }

    @Test
    void shouldDrawEveryProcessorAndStoreOfTheTopology() throws Exception {
        final String mmd = TopologyDocs.renderDefault().get(TopologyDocs.TOPOLOGY_MMD);
        assertTrue(mmd.lines().anyMatch(l -> l.equals("flowchart LR")), mmd);
        for (final String node : new String[] {HistoryTopology.GATE, HistoryTopology.ASSEMBLER,
            HistoryTopology.FETCH_BUCKET, HistoryTopology.CHAIN, HistoryTopology.EMIT_LEDGERS, "fetch-has",
            "fetch-scp"}) {
            assertTrue(mmd.contains("[\"" + node + "\"]"), node);
        }
        for (final String store : new String[] {HistoryTopology.STATUS_STORE, HistoryTopology.ASSEMBLY_STORE,
            HistoryTopology.PENDING_BUCKETS_STORE, HistoryTopology.CHAIN_STORES.held(), "pending-ledger"}) {
            assertTrue(mmd.contains("[(\"" + store + "\")]"), store);
        }
        assertTrue(mmd.contains("p_assemble_checkpoint --> t_history_chain_inputs"), mmd);
        assertTrue(mmd.contains("p_request_gate --> t_history_chain_inputs"), mmd);
        assertTrue(mmd.contains("t_history_chain_inputs --> p_check_chain"), mmd);
        assertTrue(mmd.contains("p_check_chain --> t_history_chain_verdicts"), mmd);
        assertTrue(mmd.contains("t_history_chain_verdicts --> p_emit_ledgers"), mmd);
    }
}
