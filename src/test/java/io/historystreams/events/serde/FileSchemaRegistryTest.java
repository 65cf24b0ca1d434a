package io.historystreams.events.serde;

import io.historystreams.events.CheckpointPublished;
import io.historystreams.events.CheckpointRequest;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/** The directory registry of the embedded default: stable ids, and nothing a killed process leaves is misread. */
class FileSchemaRegistryTest {
    @TempDir
    Path tmp;

    private static final Schema A = CheckpointPublished.getClassSchema();
    private static final Schema B = CheckpointRequest.getClassSchema();

    @Test
    void idsAreStableAndShared() {
        final FileSchemaRegistry r = FileSchemaRegistry.at(tmp.resolve("reg"));
        final int a = r.register("t-value", A);
        assertEquals(a, r.register("t-value", A));
        assertEquals(a, r.register("other-value", A), "one id per schema text, whatever the subject");
        final int b = r.register("u-value", B);
        assertNotEquals(a, b);
        assertEquals(A, r.byId(a));
        assertEquals(B, r.byId(b));
    }

    /** Killed while writing the schema-to-id link (as a registry did before its writes were atomic). */
    @Test
    void anEmptyLinkLeftByAKilledProcessIsRecoveredFromTheIdFiles() throws Exception {
        final Path dir = tmp.resolve("killed-link");
        Files.createDirectories(dir.resolve("ids"));
        Files.createDirectories(dir.resolve("by-schema"));
        Files.writeString(dir.resolve("ids/1.avsc"), A.toString());
        Files.writeString(dir.resolve("by-schema").resolve(sha256(A.toString())), "");
        final FileSchemaRegistry r = FileSchemaRegistry.at(dir);
        assertEquals(1, r.register("killed3.checkpoints-published-value", A));
        assertEquals("1", Files.readString(dir.resolve("by-schema").resolve(sha256(A.toString()))).trim(),
                "the link is repaired");
        assertEquals(A, r.byId(1));
    }

    /** Killed after claiming an id file but before its text was written. */
    @Test
    void anEmptyIdFileLeftByAKilledProcessIsSkipped() throws Exception {
        final Path dir = tmp.resolve("killed-id");
        Files.createDirectories(dir.resolve("ids"));
        Files.writeString(dir.resolve("ids/1.avsc"), "");
        final FileSchemaRegistry r = FileSchemaRegistry.at(dir);
        final int id = r.register("t-value", A);
        assertEquals(2, id);
        assertEquals(A, r.byId(id));
        try (var files = Files.list(dir.resolve("ids"))) {
            assertEquals(0, files.filter(p -> p.getFileName().toString().endsWith(".tmp")).count(),
                    "no temporary left behind");
        }
    }

    private static String sha256(final String s) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    }
}
