package io.historystreams.cli;

import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.Checkpoint;
import io.historystreams.archive.HistoryArchive;
import io.historystreams.events.CheckpointVerified;
import io.historystreams.events.Hashes;
import io.historystreams.service.HistoryStreamsService;
import io.historystreams.service.OutcomeWatcher;
import io.historystreams.topology.Topics;
import io.historystreams.verify.HasVerifier;
import io.historystreams.verify.HistoryArchiveState;
import io.historystreams.verify.VerificationException;
import io.historystreams.verify.VerificationLimits;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Whether a pipeline (a data dir and topic prefix, or a cluster's application id and prefix) holds the history of the
 * archive a command is given: {@code ingest} and {@code tail} ask before they request or publish anything.
 */
final class PipelineArchive {
    private PipelineArchive() {
    }

    /** How long the check of the pipeline's earliest verdicts against the archive ({@link #other}) reads. */
    private static final Duration SAMPLE_WAIT = Duration.ofSeconds(5);

    /** How many of the pipeline's earliest verdicts {@link #other} compares with the archive's state files. */
    private static final int SAMPLES_COMPARED = 3;

    /**
     * Why the pipeline (a data dir and topic prefix, or a cluster's application id and prefix) holds another
     * archive's history than the one given, or null when nothing says so. A checkpoint verified before is not read
     * again (the gate answers it from its store), so another network's or another testnet generation's verdicts were
     * reported as this archive's, and published to a new target (a trial: a pubnet archive's ingest on a testnet data
     * dir said "2 verified" and gave a new mirror 33 testnet checkpoints; a testnet reset on the same URL would not
     * even be warned of). Compared: the network of the pipeline's earliest verdicts (the first of each partition) and
     * the archive's, when both name one; and the bucket list hash of up to {@link #SAMPLES_COMPARED} of them with the
     * archive's state files of the same checkpoints. Refused only when every state file compared differs (a forged
     * copy's verdict, taken back since, differs alone); state files the archive does not hold compare nothing.
     */
    static String other(final HistoryArchive archive, final Map<String, Object> clientProps,
            final Topics topics, final String passphrase, final long current, final boolean cluster) {
        final List<CheckpointVerified> samples;
        try (OutcomeWatcher w = new OutcomeWatcher(clientProps, topics, List.of(), 0)) {
            samples = new java.util.ArrayList<>(w.firstVerified(SAMPLE_WAIT));
        }
        samples.sort(java.util.Comparator.comparingLong(CheckpointVerified::getCheckpoint));
        final String remedy = cluster ? "a pipeline (application id and topic prefix) holds one archive's history: "
                + "verify this archive with workers of another --application-id and topic.prefix"
                : "a data dir (and topic prefix) holds one archive's history: give this archive another --data-dir";
        for (final CheckpointVerified v : samples) {
            final String network = v.getNetworkPassphrase() == null ? null : v.getNetworkPassphrase().toString();
            if (network != null && passphrase != null && !network.equals(passphrase)) {
                return String.format("this %s verified checkpoint %d (0x%x) of the network %s (from %s), and the "
                        + "archive given is of the network %s; %s", cluster ? "pipeline" : "data dir",
                        v.getCheckpoint(), v.getCheckpoint(), ArchivePaths.quote(network), String.join(", ",
                                sourcesOf(v)), ArchivePaths.quote(passphrase), remedy);
            }
        }
        String first = null;
        int compared = 0;
        for (final CheckpointVerified v : samples) {
            if (compared == SAMPLES_COMPARED || current >= 0 && v.getCheckpoint() > Checkpoint.containing(current)) {
                break;
            }
            final String path = ArchivePaths.has(v.getCheckpoint());
            final HistoryArchiveState has;
            try {
                has = archive.fetch(path, in -> HasVerifier.verify(in, path, v.getCheckpoint(), null,
                        VerificationLimits.defaults())).value();
            } catch (final VerificationException e) {
                continue; // not held, or not readable now: compares nothing
            }
            compared++;
            final String verified = Hashes.hex(v.getBucketListHash());
            final String theirs = has.bucketListHash().hex();
            if (verified.equals(theirs)) {
                return null;
            }
            if (first == null) {
                first = String.format("this %s verified checkpoint %d (0x%x) from %s, whose bucket list hash was %s; "
                        + "the archive given has %s for it (%s): another network, or another generation of testnet "
                        + "(reset since); %s", cluster ? "pipeline" : "data dir", v.getCheckpoint(), v.getCheckpoint(),
                        String.join(", ", sourcesOf(v)), verified.substring(0, 12), theirs.substring(0, 12), path,
                        remedy);
            }
        }
        return first;
    }

    /**
     * {@code svc} once {@link #other} found nothing (for a resource list: {@code tail}); an
     * {@link IllegalArgumentException} with what it found otherwise (exit 2).
     */
    static HistoryStreamsService require(final HistoryStreamsService svc, final HistoryArchive archive,
            final String passphrase) {
        final String other = other(archive, svc.clientProps(), svc.topics(), passphrase, -1, false);
        if (other != null) {
            throw new IllegalArgumentException(other);
        }
        return svc;
    }

    /** The sources that served a verified checkpoint's files. */
    private static List<String> sourcesOf(final CheckpointVerified v) {
        return v.getFiles().stream().map(f -> f.getSource()).filter(java.util.Objects::nonNull).map(Object::toString)
                .distinct().sorted().toList();
    }
}
