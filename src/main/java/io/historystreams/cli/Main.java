package io.historystreams.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/** Entry point: {@code history-streams <command>}. */
@Command(name = "history-streams", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Verify, ingest and publish Stellar history archives as a verified event stream.",
        footer = {"", "Exit codes: 0 all requested checkpoints verified; 1 some failed or are incomplete; 2 could not "
            + "run (bad arguments, broker trouble); 3 the archive could not be reached (verify, scan, status, "
            + "ingest); 143/130 after SIGTERM/Ctrl-C (run, tail). See README.md."},
        subcommands = {VerifyCommand.class, ScanCommand.class, StatusCommand.class, IngestCommand.class,
            TailCommand.class, ReplayCommand.class, RunCommand.class, CommandLine.HelpCommand.class})
public final class Main implements java.util.concurrent.Callable<Integer> {

    public static void main(final String[] args) {
        // the tool speaks English and writes numbers that scripts read: under an Arabic or Thai locale String.format's
        // %d wrote that script's digits (checkpoint numbers in messages, summaries), a German one wrote "6,97 s", and
        // a Turkish one lower-cases 'I' to a dotless 'ı' in any library that forgets its locale
        java.util.Locale.setDefault(java.util.Locale.ROOT);
        // the embedded broker ends the process on a fatal error of its own (every log dir failed: a full disk) with
        // Kafka's code 1, which reads as "a checkpoint failed": say why, and exit as "could not run"
        org.apache.kafka.common.utils.internals.Exit.setHaltProcedure((code, message) -> {
            brokerStopped(message, "is the data dir's disk full, or the open-file limit (ulimit -n) too low? see "
                    + "the log above");
            Runtime.getRuntime().halt(ExitCode.COULD_NOT_RUN);
        });
        org.apache.kafka.common.utils.internals.Exit.setExitProcedure((code, message) -> {
            brokerStopped(message, "see the log above");
            System.exit(code == 0 ? 0 : ExitCode.COULD_NOT_RUN);
        });
        final int code = run(args);
        // System.out swallows write errors (only its flag says): output to a full disk or a closed pipe was lost while
        // the command exited 0, and a script read a verdict that nobody saw (verify >/dev/full)
        if (System.out.checkError()) {
            System.err.println("error: the output could not be written (standard output is closed, or its disk is "
                    + "full)" + (code == ExitCode.OK ? "" : "; the command's own exit code was " + code));
            System.exit(ExitCode.COULD_NOT_RUN);
        }
        System.exit(code);
    }

    private static void brokerStopped(final String message, final String hint) {
        System.err.println("error: the embedded Kafka broker stopped the process" + (message == null ? "" : ": "
                + message) + " (" + hint + ")");
        System.err.flush();
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
            cmd.getErr().println("error: " + io.historystreams.kafka.Causes.describe(e));
            return ExitCode.COULD_NOT_RUN;
        });
        cl.getCommandSpec().exitCodeOnInvalidInput(ExitCode.COULD_NOT_RUN);
        cl.setParameterExceptionHandler(Main::badArguments);
        cl.setExecutionStrategy(QuietLogs.strategy());
        final int code = cl.execute(rest);
        // each command line (the subcommands' too) has a writer of its own: flush them all before the exit looks
        cl.getOut().flush();
        cl.getSubcommands().values().forEach(c -> c.getOut().flush());
        return code;
    }

    /**
     * Bad arguments: the message, the options near a misspelt one, and where the help is, exit 2 (a trial: "--form
     * 100" was "Unknown options" and forty lines of usage, with no word of --from).
     */
    private static int badArguments(final CommandLine.ParameterException ex, final String[] args) {
        final CommandLine c = ex.getCommandLine();
        final PrintWriter w = c.getErr();
        w.println("error: " + ex.getMessage());
        final boolean suggested = CommandLine.UnmatchedArgumentException.printSuggestions(ex, w);
        if (!suggested) {
            // every option given that the command does not have (a missing --archive is said before an unknown
            // --archiv, whose name is the one to fix)
            final java.util.Set<String> names = new java.util.HashSet<>();
            c.getCommandSpec().options().forEach(o -> names.addAll(java.util.Arrays.asList(o.names())));
            for (final String a : args) {
                final String given = a.contains("=") ? a.substring(0, a.indexOf('=')) : a;
                if (!given.startsWith("--") || names.contains(given)) {
                    continue;
                }
                final java.util.List<String> near = io.historystreams.publish.ArchiveWriters.closeNames(given,
                        names.stream().filter(n -> n.startsWith("--")).toList());
                if (!near.isEmpty()) {
                    w.println("Did you mean " + String.join(" or ", near) + " (not " + given + ")?");
                }
            }
        }
        w.println("See '" + c.getCommandSpec().qualifiedName() + " --help'.");
        w.flush();
        return ExitCode.COULD_NOT_RUN;
    }

    /** No command: the usage, and "could not run" (a script that lost its arguments must not read success). */
    @Override
    public Integer call() {
        new CommandLine(this).usage(System.err);
        return ExitCode.COULD_NOT_RUN;
    }

    /** Reports the version: the jar manifest's, else the Maven build's, else "dev" (a build from an IDE). */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"history-streams " + io.historystreams.archive.HttpArchiveSource.USER_AGENT
                    .substring("history-streams/".length())};
        }
    }
}
