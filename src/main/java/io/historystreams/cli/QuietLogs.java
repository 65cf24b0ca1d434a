package io.historystreams.cli;

import picocli.CommandLine;

/**
 * {@code --quiet} keeps the tool's INFO lines (service start and stop, topics created, stream states) off stderr too:
 * a cron job's mail held a dozen of them around the summary (a trial). Failures, warnings and the summary stay.
 */
final class QuietLogs {
    /** The loggers whose INFO lines {@code --quiet} drops. */
    static final String LOGGERS = "io.historystreams";

    private QuietLogs() {
    }

    /** Picocli's default strategy (the last command given runs), with the tool's logs at WARN while a quiet one runs. */
    static CommandLine.IExecutionStrategy strategy() {
        return parsed -> {
            CommandLine.ParseResult last = parsed;
            while (last.hasSubcommand()) {
                last = last.subcommand();
            }
            if (!last.hasMatchedOption("--quiet")
                    || !(org.slf4j.LoggerFactory.getLogger(LOGGERS) instanceof ch.qos.logback.classic.Logger l)) {
                return new CommandLine.RunLast().execute(parsed);
            }
            final ch.qos.logback.classic.Level before = l.getLevel();
            l.setLevel(ch.qos.logback.classic.Level.WARN);
            try {
                return new CommandLine.RunLast().execute(parsed);
            } finally {
                // as it was: tests run many commands in one JVM
                l.setLevel(before);
            }
        };
    }
}
