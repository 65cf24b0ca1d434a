package io.historystreams.cli;

import io.historystreams.archive.FetchObserver;
import io.historystreams.archive.HistoryArchive;
import io.historystreams.kafka.Causes;
import io.historystreams.service.HistoryStreamsService;
import io.historystreams.service.ServiceConfig;
import io.historystreams.service.Tailer;
import io.historystreams.service.VerdictLog;
import io.historystreams.verify.VerificationException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** {@code tail}: follows an archive's root state and verifies each new checkpoint, until stopped. */
@Command(name = "tail", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Poll the archive's .well-known/stellar-history.json and request every new checkpoint; runs "
                + "until stopped (SIGTERM/Ctrl-C). The last requested checkpoint is remembered in Kafka.")
public final class TailCommand implements Callable<Integer> {
    @Mixin
    ArchiveOptions archive;

    @Mixin
    ServiceOptions service;

    double intervalSeconds = 10;

    /** The command this option belongs to (for its error). */
    @Spec
    CommandSpec spec;

    @Option(names = "--interval", defaultValue = "10", paramLabel = "SECONDS",
            description = "Poll interval, 0.1 or more (default: ${DEFAULT-VALUE} s).")
    void interval(final double seconds) {
        // 0 or less polled about 20 times a second (the loop's floor), not what anyone asks for
        // Infinity polled once and never again
        if (!(seconds >= 0.1) || seconds > 86_400) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--interval must be 0.1 s or more, and a "
                    + "day at most, not " + seconds);
        }
        intervalSeconds = seconds;
    }

    Long from;

    @Option(names = "--from", paramLabel = "L",
            description = "On the first run for this archive, start at the checkpoint containing L (default: the "
                    + "archive's current checkpoint).")
    void from(final long ledger) {
        // a negative one was taken as "not given" without a word (ingest, verify and replay refuse it)
        if (ledger < 0 || ledger > 0xffffffffL) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--from must be a ledger number, 0 to "
                    + 0xffffffffL + ", not " + ledger);
        }
        from = ledger;
    }

    @Option(names = "--publish-to", paramLabel = "TARGET", description = "Publish verified checkpoints (repeatable).")
    List<String> publishTo = List.of();

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(TailCommand.class);

    private final CountDownLatch stop = new CountDownLatch(1);

    /** Asks a running tail to stop (what SIGTERM does). */
    public void stop() {
        stop.countDown();
    }

    /** A producer fenced by a newer one with its transactional id (said by either exception, or under a wrapper). */
    public static boolean fenced(final Throwable e) {
        return Causes.find(e, org.apache.kafka.common.errors.ProducerFencedException.class,
                org.apache.kafka.common.errors.InvalidProducerEpochException.class) != null;
    }

    @Override
    public Integer call() throws Exception {
        final PrintWriter err = spec.commandLine().getErr();
        final ServiceConfig config = archive.applyTo(service.load(), spec.commandLine().getParseResult());
        final Thread hook = new Thread(this::stop, "tail-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        Publishing.check(config, publishTo);
        archive.requireApart(config, publishTo);
        // as ingest and verify do, before anything starts: mirrors of one archive only
        final HistoryArchive probe = archive.open(io.historystreams.archive.FetchObserver.NONE, config);
        try {
            ArchiveOptions.sourcesAgree(probe).warnings().forEach(err::println);
        } catch (final Exception | Error e) {
            probe.close();
            throw e;
        }
        // the probe is kept open while the tail runs: whether its sources are down is known to the pipeline and the
        // polls then (closed first, its failures were forgotten, and a hanging mirror cost them a read timeout again)
        try (HistoryArchive keptOpen = probe;
                HistoryStreamsService svc = HistoryStreamsService.start(config, !publishTo.isEmpty());
                // before anything is published or requested: the pipeline holds this archive's history (a testnet
                // reset on the same URL had a tail's verdicts of the earlier generation stand for the new one's)
                Publishing publishing = Publishing.start(PipelineArchive.require(svc, probe,
                        archive.passphrase()), publishTo);
                HistoryArchive ha = archive.open(svc.metrics(), config);
                Tailer tailer = new Tailer(ha, archive.requestSources(), archive.passphrase(), svc.topics(),
                        svc.clientProps(), config.get(ServiceConfig.APPLICATION_ID) + "-tailer",
                        from == null ? -1 : from);
                // each checkpoint's verdict, as the pipeline commits it (without it only /metrics told)
                VerdictLog verdicts = VerdictLog.start(svc.clientProps(), svc.topics(), spec.commandLine().getOut())) {
            tailer.bindMetrics(svc.metrics().registry());
            final long interval = (long) (intervalSeconds * 1000);
            do {
                if (!svc.live()) {
                    err.println("error: the pipeline stopped: " + svc.fatalReason());
                    return ExitCode.COULD_NOT_RUN;
                }
                try {
                    tailer.pollOnce();
                } catch (final VerificationException e) {
                    if (e.reason() == io.historystreams.verify.FailureReason.WRONG_NETWORK) {
                        // not an archive that is down but a setting (or an archive) of another network: every poll
                        // said the same for ever, and every checkpoint would fail as another network's
                        err.println("error: the archive's root state names another network than the one tailed: "
                                + e.getMessage() + ". Give the archive's own --network-passphrase (or none: the root "
                                + "state's is taken), or the archive of this network");
                        return ExitCode.COULD_NOT_RUN;
                    }
                    // a log event (level, date), as the pipeline's own failures are: what alerting on the log sees
                    LOG.warn("cannot read the archive's root state (tried again at the next poll): {}", e.toString());
                } catch (final org.apache.kafka.common.KafkaException e) {
                    if (!fenced(e)) {
                        throw e;
                    }
                    // the tailer's transactional id is the application's: a second tail took it over
                    err.println("error: another tail of application " + config.get(ServiceConfig.APPLICATION_ID)
                            + " started and took over (" + e.getMessage() + "); this one stops. Run one tail per "
                            + "application id (--application-id) and topic prefix");
                    return ExitCode.COULD_NOT_RUN;
                }
            } while (!stop.await(interval, TimeUnit.MILLISECONDS) && !svc.closing());
            return ExitCode.OK;
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (final IllegalStateException e) {
                // already shutting down
            }
        }
    }
}
