package io.historystreams.cli;

import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.Checkpoint;
import io.historystreams.archive.FetchObserver;
import io.historystreams.archive.HistoryArchive;
import io.historystreams.verify.FailureReason;
import io.historystreams.verify.HasVerifier;
import io.historystreams.verify.HistoryArchiveState;
import io.historystreams.verify.VerificationException;
import io.historystreams.verify.VerificationLimits;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
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

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        final PrintWriter out = spec.commandLine().getOut();
        try (HistoryArchive ha = archive.open(FetchObserver.NONE)) {
            final List<String> names = ha.sourceNames();
            final Map<String, HistoryArchiveState> roots = new LinkedHashMap<>();
            // one attempt each: a mirror that hangs cost every retry's read timeout (3 minutes, a trial)
            final HistoryArchive once = ha.withRetryPolicy(ha.retryPolicy().withMaxAttempts(1));
            boolean bad = false;
            int unreachable = 0;
            for (final String name : names) {
                final Set<String> others = new HashSet<>(names);
                others.remove(name);
                final HistoryArchiveState root;
                try {
                    root = once.fetch(ArchivePaths.WELL_KNOWN, in -> HasVerifier.verify(in, ArchivePaths.WELL_KNOWN,
                            -1, archive.networkPassphrase, VerificationLimits.defaults()), others).value();
                } catch (final VerificationException e) {
                    out.println(name + ": cannot read its root state: " + e.reason() + " " + ArchivePaths.WELL_KNOWN
                            + ": " + e.detail());
                    bad = true;
                    if (e.reason() == FailureReason.FETCH_FAILED) {
                        unreachable++;
                    }
                    continue;
                }
                roots.put(name, root);
                final long cp = Checkpoint.containing(Math.max(1, root.currentLedger()));
                String own;
                try {
                    once.exists(ArchivePaths.has(cp), others);
                    own = "its state file is there";
                } catch (final VerificationException e) {
                    own = e.reason() == FailureReason.MISSING_FILE ? "its state file " + ArchivePaths.has(cp)
                            + " is MISSING (the root is ahead of the files)" : "its state file cannot be looked up: "
                            + e.reason() + " " + e.detail();
                    bad = true;
                }
                out.printf("%s: current ledger %d (checkpoint 0x%x), %s, server %s, state file version %d, %d buckets"
                        + " named; %s%n", name, root.currentLedger(), cp, root.networkPassphrase() == null
                                ? "no network named (a version-1 state file" + (archive.networkPassphrase == null
                                        ? ")" : ", so --network-passphrase is not checked against it)")
                                : "network \"" + root.networkPassphrase() + "\"",
                        root.server() == null ? "not named" : "\"" + root.server() + "\"", root.version(),
                        root.buckets().size(), own);
            }
            final TreeSet<Long> ledgers = new TreeSet<>();
            roots.values().forEach(r -> ledgers.add(r.currentLedger()));
            boolean oneArchive = true;
            try {
                // the start's check that the sources are mirrors of one archive: one network, and the same state
                // file for the checkpoint of the lower root
                final ArchiveOptions.SourcesAgree agree = ArchiveOptions.sourcesAgree(ha);
                agree.warnings().forEach(out::println);
                if (agree.uncompared() > 0) {
                    // not shown to be one archive: not a clean status either
                    oneArchive = false;
                    bad = true;
                }
            } catch (final IllegalArgumentException e) {
                out.println("warning: " + e.getMessage());
                oneArchive = false;
                bad = true;
            }
            if (oneArchive && ledgers.size() > 1) {
                // named (a trial: "a mirror behind the others", which?)
                final List<String> behind = roots.entrySet().stream()
                        .filter(e -> e.getValue().currentLedger() < ledgers.last()).map(Map.Entry::getKey).toList();
                out.printf("note: the sources' roots are %d checkpoint(s) apart (ledgers %d..%d): behind the others: "
                        + "%s%n", (Checkpoint.containing(ledgers.last()) - Checkpoint.containing(ledgers.first()))
                        / Checkpoint.FREQUENCY, ledgers.first(), ledgers.last(), String.join(", ", behind));
            }
            out.flush();
            if (unreachable == names.size()) {
                // no source answered: an outage, not a damaged archive (a cron job tells them apart, as verify's)
                return ExitCode.ARCHIVE_UNREACHABLE;
            }
            return bad ? ExitCode.VERIFICATION_FAILED : ExitCode.OK;
        }
    }
}
