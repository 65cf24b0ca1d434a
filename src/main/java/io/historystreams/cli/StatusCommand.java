package io.historystreams.cli;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.Checkpoint;
import io.historystreams.archive.FetchObserver;
import io.historystreams.archive.HistoryArchive;
import io.historystreams.verify.FailureReason;
import io.historystreams.verify.HasVerifier;
import io.historystreams.verify.HistoryArchiveState;
import io.historystreams.verify.VerificationException;
import io.historystreams.verify.VerificationLimits;
import io.historystreams.verify.VerificationReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;

/**
 * {@code status}: what each source of an archive says it holds, from its root state, and whether that state's own
 * checkpoint file is there: the look at an archive before a {@code verify}, {@code scan} or {@code tail} of it.
 */
@Command(name = "status", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Show each source's root state (.well-known/stellar-history.json): its current ledger and "
                + "checkpoint, network, server and state-file version, and whether that checkpoint's state file is "
                + "there. Exit 0: every source read, one network, each root's state file there; 1: a source could "
                + "not be read, the sources name different networks, or a root names a checkpoint whose state file "
                + "is missing; 2: could not run; 3: no source answered (connections refused, timeouts, 5xx).")
public final class StatusCommand implements Callable<Integer> {
    @Mixin
    ArchiveOptions archive;

    @Option(names = "--report", paramLabel = "FILE", description = "Write a JSON report to FILE: each source's root "
            + "(roots[]: source, read, currentLedger, checkpoint, hex, network, server, version, buckets, stateFile "
            + "PRESENT / MISSING / UNREADABLE, stateFileDetail; or reason and detail), warnings, notes, and summary "
            + "(sourcesRead, oneArchive and checkpointsApart: null when not known, behind, error when no source "
            + "answered, exitCode).")
    Path report;

    @Spec
    CommandSpec spec;

    /** What one source's root state said, the line that says it, and for the report: null fields when not read. */
    private record Root(String source, HistoryArchiveState state, long checkpoint, String stateFile,
            String stateFileDetail, String reason, String detail, String line) {
    }

    /** Source {@code name}'s root state and whether its checkpoint's state file is there, from it alone. */
    private Root lookAt(final HistoryArchive look, final List<String> names, final String name) {
        final Set<String> others = new HashSet<>(names);
        others.remove(name);
        final HistoryArchiveState root;
        try {
            root = look.fetch(ArchivePaths.WELL_KNOWN, in -> HasVerifier.verify(in, ArchivePaths.WELL_KNOWN, -1,
                    archive.networkPassphrase, VerificationLimits.defaults()), others).value();
        } catch (final VerificationException e) {
            return new Root(name, null, -1, null, null, e.reason().name(), e.detail(), name + ": cannot read its "
                    + "root state: " + e.reason() + " " + ArchivePaths.WELL_KNOWN + ": " + e.detail());
        }
        final long cp = Checkpoint.containing(Math.max(1, root.currentLedger()));
        String own;
        String stateFile = "PRESENT";
        String stateFileDetail = null;
        try {
            look.exists(ArchivePaths.has(cp), others);
            own = "its state file is there";
        } catch (final VerificationException e) {
            own = e.reason() == FailureReason.MISSING_FILE ? "its state file " + ArchivePaths.has(cp)
                    + " is MISSING (the root is ahead of the files)" : "its state file cannot be looked up: "
                    + e.reason() + " " + e.detail();
            stateFile = e.reason() == FailureReason.MISSING_FILE ? "MISSING" : "UNREADABLE";
            stateFileDetail = e.reason() + " " + e.detail();
        }
        return new Root(name, root, cp, stateFile, stateFileDetail, null, null, String.format("%s: current ledger "
                + "%d (checkpoint 0x%x), %s, server %s, state file version %d, %d buckets named; %s", name,
                root.currentLedger(), cp, root.networkPassphrase() == null ? "no network named (a version-1 state "
                        + "file" + (archive.networkPassphrase == null ? ")"
                                : ", so --network-passphrase is not checked against it)")
                        : "network \"" + root.networkPassphrase() + "\"",
                root.server() == null ? "not named" : "\"" + root.server() + "\"", root.version(),
                root.buckets().size(), own));
    }

    @Override
    public Integer call() {
        final PrintWriter out = spec.commandLine().getOut();
        final long startedMillis = System.currentTimeMillis();
        if (report != null) {
            try {
                VerificationReport.checkWritable(report);
            } catch (final IOException e) {
                spec.commandLine().getErr().println("error: " + e.getMessage());
                return ExitCode.COULD_NOT_RUN;
            }
        }
        // every line said, for the report's warnings and notes
        final List<String> said = new ArrayList<>();
        final List<Root> read = new ArrayList<>();
        try (HistoryArchive ha = archive.open(FetchObserver.NONE)) {
            final List<String> names = ha.sourceNames();
            final Map<String, HistoryArchiveState> roots = new LinkedHashMap<>();
            // a mirror that hangs is asked once (each retry cost its read timeout: 3 minutes, a trial); failures that
            // come at once are tried again as any read's are (a trial: one refused connection failed the look, exit 3,
            // where "after every retry" was documented)
            final HistoryArchive look = ha.retryingQuickFailuresOnly();
            boolean bad = false;
            int unreachable = 0;
            // the sources looked at all at once (a trial: two dead ones, each retried, took 8 s one after the other);
            // said in their order
            final java.util.concurrent.ExecutorService asking = java.util.concurrent.Executors.newCachedThreadPool(
                    r -> {
                        final Thread t = new Thread(r, "status");
                        t.setDaemon(true);
                        return t;
                    });
            final List<java.util.concurrent.Future<Root>> looks = new ArrayList<>();
            try {
                for (final String name : names) {
                    looks.add(asking.submit(() -> lookAt(look, names, name)));
                }
                for (final java.util.concurrent.Future<Root> f : looks) {
                    final Root r;
                    try {
                        r = f.get();
                    } catch (final java.util.concurrent.ExecutionException e) {
                        throw e.getCause() instanceof RuntimeException re ? re
                                : new IllegalStateException(e.getCause());
                    } catch (final InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IllegalStateException("interrupted", e);
                    }
                    read.add(r);
                    out.println(r.line());
                    if (r.state() == null) {
                        bad = true;
                        if (FailureReason.FETCH_FAILED.name().equals(r.reason())) {
                            unreachable++;
                        }
                        continue;
                    }
                    roots.put(r.source(), r.state());
                    bad |= !"PRESENT".equals(r.stateFile());
                }
            } finally {
                asking.shutdownNow();
            }
            final TreeSet<Long> ledgers = new TreeSet<>();
            roots.values().forEach(r -> ledgers.add(r.currentLedger()));
            // whether the sources are one archive: null when not known (a source not read, or nothing to compare
            // them by; a trial's report said true with no source read)
            Boolean oneArchive = roots.size() == names.size() ? Boolean.TRUE : null;
            try {
                // the start's check that the sources are mirrors of one archive (one network, and the same state
                // file for the checkpoint of the lower root), of the root states read above: one not read is said
                // above (the check's own words for it, "its files are checked as they come", are for a run)
                final ArchiveOptions.SourcesAgree agree = roots.size() < 2 ? ArchiveOptions.SourcesAgree.NONE
                        : ArchiveOptions.compare(ha, List.copyOf(roots.keySet()), List.copyOf(roots.values()),
                                List.of());
                agree.warnings().forEach(out::println);
                said.addAll(agree.warnings());
                if (agree.uncompared() > 0) {
                    // not shown to be one archive: not a clean status either
                    oneArchive = null;
                    bad = true;
                }
            } catch (final IllegalArgumentException e) {
                out.println("warning: " + e.getMessage());
                said.add("warning: " + e.getMessage());
                oneArchive = false;
                bad = true;
            }
            List<String> behind = List.of();
            // null when not known: fewer than two roots read, or the roots of two archives (a trial read 0)
            Long apart = roots.size() < 2 || Boolean.FALSE.equals(oneArchive) ? null : 0L;
            if (!Boolean.FALSE.equals(oneArchive) && ledgers.size() > 1) {
                apart = (Checkpoint.containing(ledgers.last()) - Checkpoint.containing(ledgers.first()))
                        / Checkpoint.FREQUENCY;
                // named (a trial: "a mirror behind the others", which?)
                behind = roots.entrySet().stream()
                        .filter(e -> e.getValue().currentLedger() < ledgers.last()).map(Map.Entry::getKey).toList();
                final String note = String.format("note: the sources' roots are %d checkpoint(s) apart (ledgers "
                        + "%d..%d): behind the others: %s", apart, ledgers.first(), ledgers.last(),
                        String.join(", ", behind));
                out.println(note);
                said.add(note);
            }
            out.flush();
            // no source answered: an outage, not a damaged archive (a cron job tells them apart, as verify's)
            final int code = unreachable == names.size() ? ExitCode.ARCHIVE_UNREACHABLE
                    : bad ? ExitCode.VERIFICATION_FAILED : ExitCode.OK;
            if (report != null) {
                try {
                    writeReport(names, read, said, oneArchive, behind, apart, code, startedMillis);
                } catch (final IOException e) {
                    spec.commandLine().getErr().println("error: " + e.getMessage());
                    return ExitCode.COULD_NOT_RUN;
                }
            }
            return code;
        }
    }

    /**
     * The report ({@code --report}): what was printed, for a script (a trial's alerting read status's lines with
     * {@code grep}).
     */
    private void writeReport(final List<String> sources, final List<Root> read, final List<String> said,
            final Boolean oneArchive, final List<String> behind, final Long apart, final int code,
            final long startedMillis) throws IOException {
        try (OutputStream os = VerificationReport.openPartial(report);
                JsonGenerator g = new JsonFactory().createGenerator(os, JsonEncoding.UTF8).useDefaultPrettyPrinter()) {
            VerificationReport.writeStart(g, "status", java.time.Instant.ofEpochMilli(startedMillis).toString(),
                    sources);
            VerificationReport.writeWarnings(g, said);
            g.writeArrayFieldStart("roots");
            for (final Root r : read) {
                g.writeStartObject();
                g.writeStringField("source", r.source());
                g.writeBooleanField("read", r.state() != null);
                if (r.state() == null) {
                    g.writeStringField("reason", r.reason());
                    g.writeStringField("detail", r.detail());
                } else {
                    final HistoryArchiveState st = r.state();
                    g.writeNumberField("currentLedger", st.currentLedger());
                    g.writeNumberField("checkpoint", r.checkpoint());
                    g.writeStringField("hex", "0x" + Long.toHexString(r.checkpoint()));
                    g.writeStringField("network", st.networkPassphrase());
                    g.writeStringField("server", st.server());
                    g.writeNumberField("version", st.version());
                    g.writeNumberField("buckets", st.buckets().size());
                    g.writeStringField("stateFile", r.stateFile());
                    if (r.stateFileDetail() != null) {
                        g.writeStringField("stateFileDetail", r.stateFileDetail());
                    }
                }
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeObjectFieldStart("summary");
            g.writeNumberField("sources", sources.size());
            g.writeNumberField("sourcesRead", read.stream().filter(r -> r.state() != null).count());
            if (oneArchive == null) {
                g.writeNullField("oneArchive");
            } else {
                g.writeBooleanField("oneArchive", oneArchive);
            }
            g.writeArrayFieldStart("behind");
            for (final String b : behind) {
                g.writeString(b);
            }
            g.writeEndArray();
            if (apart == null) {
                g.writeNullField("checkpointsApart");
            } else {
                g.writeNumberField("checkpointsApart", apart);
            }
            if (code == ExitCode.ARCHIVE_UNREACHABLE) {
                // (as the other commands' exit-3 reports: a trial's script looked for it)
                g.writeStringField("error", "no source answered its root state");
            }
            g.writeNumberField("exitCode", code);
            g.writeNumberField("elapsedMillis", Math.max(0, System.currentTimeMillis() - startedMillis));
            g.writeStringField("finishedAt", VerificationReport.now());
            g.writeEndObject();
            g.writeEndObject();
        }
        VerificationReport.moveIntoPlace(report);
    }
}
