package io.historystreams.cli;

import io.historystreams.service.HistoryStreamsService;
import io.historystreams.service.ServiceConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code run}: a worker that processes whatever checkpoint requests arrive, until stopped. */
@Command(name = "run", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Run the pipeline as a worker until stopped (SIGTERM): it processes the requests that "
                + "ingest, tail or other producers write. Start several with the same --application-id to share "
                + "the partitions.")
public final class RunCommand implements Callable<Integer> {
    @Mixin
    ServiceOptions service;

    @Option(names = "--publish-to", paramLabel = "TARGET", description = "Publish verified checkpoints (repeatable).")
    List<String> publishTo = List.of();

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        final PrintWriter err = spec.commandLine().getErr();
        final ServiceConfig config = service.load();
        Publishing.check(config, publishTo);
        try (HistoryStreamsService svc = HistoryStreamsService.start(config, !publishTo.isEmpty());
                Publishing publishing = Publishing.start(svc, publishTo)) {
            while (!svc.closing()) {
                if (!svc.live()) {
                    err.println("error: the pipeline stopped: " + svc.fatalReason());
                    return ExitCode.COULD_NOT_RUN;
                }
                Thread.sleep(500);
            }
            return ExitCode.OK;
        }
    }
}
