package io.historystreams.topology;

import io.historystreams.events.serde.SchemaRegistry;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** docker-compose.yml creates exactly the pipeline's topics (it created one the code no longer had). */
class DockerComposeTopicsTest {
    @Test
    void composeCreatesExactlyThePipelinesTopics() throws Exception {
        final String compose = Files.readString(Path.of("docker-compose.yml"));
        final Set<String> created = new TreeSet<>();
        final Matcher loop = Pattern.compile("for t in ([a-z\\-\\s\\\\]+); do").matcher(compose);
        while (loop.find()) {
            for (final String t : loop.group(1).replace("\\", " ").trim().split("\\s+")) {
                created.add("history." + t);
            }
        }
        final Matcher single = Pattern.compile("--topic (history\\.[a-z\\-]+) ").matcher(compose);
        while (single.find()) {
            created.add(single.group(1));
        }
        final Set<String> expected = new TreeSet<>();
        for (final Topic<?, ?> t : new Topics("history.", SchemaRegistry.forUrl("mock://compose")).all()) {
            expected.add(t.name());
        }
        assertEquals(expected, created);
    }
}
