package io.historystreams.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/** Entry point: {@code history-streams <command>}. */
@Command(name = "history-streams", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Verify, ingest and publish Stellar history archives as a verified event stream.",
        subcommands = {VerifyCommand.class, IngestCommand.class, TailCommand.class, ReplayCommand.class, RunCommand.class,
            CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    public static void main(final String[] args) {
        System.exit(run(args));
    }

    /** Runs a command line and returns its exit code (no System.exit, for tests). */
    public static int run(final String... args) {
        return run(null, null, args);
    }

    /**
     * Runs a command line with the given output and error writers (null: picocli's defaults, System.out/err) and
     * returns its exit code (no System.exit, for tests that capture the output).
     */
    public static int run(final PrintWriter out, final PrintWriter err, final String... args) {
        // verify is a short batch run: build only its own command model (the service commands' models and the
        // classes they pull in cost start-up time it does not need)
        final boolean verify = args.length > 0 && "verify".equals(args[0]);
        final CommandLine cl = verify ? new CommandLine(new VerifyCommand()).setCommandName("history-streams verify")
                : new CommandLine(new Main());
        final String[] rest = verify ? java.util.Arrays.copyOfRange(args, 1, args.length) : args;
        if (out != null) {
            cl.setOut(out);
        }
        if (err != null) {
            cl.setErr(err);
        }
        cl.setExitCodeExceptionMapper(e -> ExitCode.COULD_NOT_RUN);
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("error: " + e.getMessage());
            return ExitCode.COULD_NOT_RUN;
        });
        cl.getCommandSpec().exitCodeOnInvalidInput(ExitCode.COULD_NOT_RUN);
        return cl.execute(rest);
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.err);
    }

    /** Reports the version from the jar manifest, or "dev". */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            final String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"history-streams " + (v == null ? "dev" : v)};
        }
    }
}
