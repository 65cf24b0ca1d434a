package io.historystreams.testing;

import io.historystreams.cli.Main;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The command line of {@link Main} in a JVM of its own, on this test's class path: for signals and kills. */
public final class JavaMain {
    private JavaMain() {
    }

    /**
     * {@code java} of this JVM with the test forks' JIT and collector (pom.xml): C1 only, ParallelGC. A child JVM of a
     * test runs a command once, cold, where C2 compiling Kafka took more CPU than the command itself; what the tests
     * assert does not depend on the compiler.
     */
    public static List<String> java() {
        return List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:TieredStopAtLevel=1",
                "-XX:+UseParallelGC");
    }

    /** {@code java -Xmx<heap> ... Main args}. */
    public static List<String> command(final String heap, final String... args) {
        final List<String> cmd = new ArrayList<>(java());
        cmd.addAll(List.of("-Xmx" + heap, "-Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.historystreams", "-cp",
                System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        return cmd;
    }
}
