import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The pipeline's cost once the JVM is warm: runs `ingest` of the same range N times in one JVM, each with a fresh data
 * directory (its own embedded broker, topics and stores), and prints each run's time after the service was up and
 * the process CPU it used. The first run is the cold one `bench/run.sh` measures; the later ones show what is left
 * when the JIT has compiled the code (bench/README.md, "warm JVM").
 *
 *   java -cp target/history-streams.jar <the launcher's JVM options> bench/WarmIngest.java N ingest-arguments...
 *
 * An argument may name "{run}": it is replaced by the run's number, so that each run has its own directory (the
 * target of --publish-to, for example).
 *
 * (a single-file source program: Java compiles it in memory; bench/run.sh --only warm,warmpub runs it).
 */
public final class WarmIngest {
    public static void main(final String[] args) throws Exception {
        final int n = Integer.parseInt(args[0]);
        final com.sun.management.OperatingSystemMXBean os =
                (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        final Path base = Files.createTempDirectory("warm-ingest");
        for (int i = 0; i < n; i++) {
            final List<String> a = new ArrayList<>();
            for (final String arg : List.of(args).subList(1, args.length)) {
                a.add(arg.replace("{run}", Integer.toString(i)));
            }
            a.addAll(List.of("--data-dir", base.resolve("run-" + i).toString(), "--http-port", "-1", "--quiet"));
            final long cpu = os.getProcessCpuTime();
            final long t = System.nanoTime();
            final int rc = io.historystreams.cli.Main.run(a.toArray(new String[0]));
            System.out.printf("warm run %d: exit %d, %.2f s, %.2f s CPU%n", i, rc, (System.nanoTime() - t) / 1e9,
                    (os.getProcessCpuTime() - cpu) / 1e9);
            if (rc != 0) {
                System.exit(rc);
            }
        }
        System.exit(0);
    }
}
