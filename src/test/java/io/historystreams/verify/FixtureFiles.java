package io.historystreams.verify;

import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.FileType;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Direct reads of a fixture archive's files, for engine tests that do not need the archive access layer. */
final class FixtureFiles {
    private final Path root;

    FixtureFiles(final Path root) {
        this.root = root;
    }

    Path path(final FileType type, final long checkpoint) {
        return root.resolve(ArchivePaths.checkpointFile(type, checkpoint));
    }

    InputStream open(final FileType type, final long checkpoint) throws IOException {
        return new BufferedInputStream(Files.newInputStream(path(type, checkpoint)), 64 << 10);
    }

    byte[] bytes(final FileType type, final long checkpoint) throws IOException {
        return Files.readAllBytes(path(type, checkpoint));
    }

    Path bucket(final Hash h) {
        return root.resolve(ArchivePaths.bucket(h.hex()));
    }

    List<Long> checkpoints() throws IOException {
        final List<Long> out = new ArrayList<>();
        try (var s = Files.walk(root.resolve("history"))) {
            s.filter(p -> p.getFileName().toString().matches("history-[0-9a-f]{8}\\.json"))
                    .forEach(p -> out.add(Long.parseLong(p.getFileName().toString().substring(8, 16), 16)));
        }
        out.sort(null);
        return out;
    }
}
