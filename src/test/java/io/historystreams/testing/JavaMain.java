package io.historystreams.testing;

import io.historystreams.cli.Main;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The command line of {@link Main} in a JVM of its own, on this test's class path: for signals and kills. */
public final class JavaMain {
    private JavaMain() {
    }

    /** {@code java -Xmx<heap> ... Main args}. */
    public static List<String> command(final String heap, final String... args) {
        final List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx" + heap,
                "-Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.historystreams", "-cp",
                System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        return cmd;
    }
}
