package io.historystreams.testing;

import io.historystreams.cli.Main;

import java.io.PrintWriter;
import java.io.StringWriter;

/** Runs a command line in this JVM, as {@code bin/history-streams} would, and keeps what it printed. */
public final class Cli {
    /** Exit code, and stdout and stderr together. */
    public record Ran(int code, String out) {
    }

    private Cli() {
    }

    public static Ran run(final String... args) {
        final StringWriter out = new StringWriter();
        final int code;
        try (PrintWriter pw = new PrintWriter(out, true)) {
            code = Main.run(pw, pw, args);
        }
        return new Ran(code, out.toString());
    }
}
