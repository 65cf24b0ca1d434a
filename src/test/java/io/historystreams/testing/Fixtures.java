package io.historystreams.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the shared, read-only fixture archives ({@code ../shared/fixtures/archives/<name>}). */
public final class Fixtures {
    private Fixtures() {
    }

    public static Path root() {
        final String configured = System.getProperty("fixtures.dir");
        final Path p = configured != null ? Path.of(configured) : Path.of("..", "shared", "fixtures", "archives");
        if (!Files.isDirectory(p)) {
            throw new IllegalStateException("fixture archives not found at " + p.toAbsolutePath()
                    + " (expected ../shared/fixtures/archives beside the repository)");
        }
        return p.toAbsolutePath().normalize();
    }

    public static Path archive(final String name) {
        final Path p = root().resolve(name);
        if (!Files.isDirectory(p)) {
            throw new IllegalStateException("fixture archive missing: " + p);
        }
        return p;
    }

    public static Path testnetSmall() {
        return archive("testnet-small");
    }

    public static Path pubnetGenesis() {
        return archive("pubnet-genesis");
    }

    public static Path testnetP24Hot() {
        return archive("testnet-p24-hot");
    }
}
