package io.historystreams.verify;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.historystreams.archive.ArchivePaths;

import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A History Archive State (HAS) document, versions 1 and 2: parsed strictly, every hash checked to be 64 lowercase
 * hex characters before anything can use it as a path. Computes the bucket-list hash and the buckets to fetch.
 */
public final class HistoryArchiveState {
    public static final int LEVELS = 11;

    /** One bucket-list level: {@code curr}, {@code snap} and the merge in progress ({@code next}). */
    public record Level(Hash curr, Hash snap, int nextState, Hash nextOutput) {
    }

    private final int version;
    private final String server;
    private final long currentLedger;
    private final String networkPassphrase;
    private final List<Level> live;
    private final List<Level> hot;

    private HistoryArchiveState(final int version, final String server, final long currentLedger,
            final String networkPassphrase, final List<Level> live, final List<Level> hot) {
        this.version = version;
        this.server = server;
        this.currentLedger = currentLedger;
        this.networkPassphrase = networkPassphrase;
        this.live = live;
        this.hot = hot;
    }

    /**
     * Jackson's message with its location's source part made plain: "(start marker at [Source: REDACTED
     * (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); line: 1, column: 1])" becomes "(start marker at line
     * 1, column 1)".
     */
    static String withoutSource(final String message) {
        return message == null ? "" : message.replaceAll("\\[Source: [^;\\]]*; line: (\\d+), column: (\\d+)\\]",
                "line $1, column $2");
    }

    /** Parses and structurally validates a HAS; {@code file} names it in errors. */
    public static HistoryArchiveState parse(final byte[] json, final String file) throws VerificationException {
        final JsonValue root;
        try {
            root = JsonValue.parse(json);
        } catch (final JsonProcessingException e) {
            throw new VerificationException(FailureReason.MALFORMED_JSON, file,
                    "not valid JSON: " + withoutSource(e.getOriginalMessage()), e);
        } catch (final java.io.IOException e) {
            throw new VerificationException(FailureReason.MALFORMED_JSON, file, "unreadable JSON: " + e, e);
        }
        if (!root.isObject()) {
            throw invalid(file, "the document is not a JSON object");
        }
        final JsonValue v = root.get("version");
        if (v == null || !v.isInt() || (v.intValue() != 1 && v.intValue() != 2)) {
            throw invalid(file, "version must be 1 or 2, got " + describe(v));
        }
        final int version = v.intValue();
        final JsonValue cl = root.get("currentLedger");
        if (cl == null || !cl.isIntegralNumber() || cl.longValue() < 0 || cl.longValue() > 0xFFFFFFFFL) {
            throw invalid(file, "currentLedger must be an unsigned 32-bit integer, got " + describe(cl));
        }
        final JsonValue serverNode = root.get("server");
        if (serverNode == null || !serverNode.isTextual()) {
            // stellar-core reads version, server and currentLedger as required fields: it cannot load one without
            throw invalid(file, serverNode == null ? "no server field" : "server must be a string");
        }
        final JsonValue pass = root.get("networkPassphrase");
        if (pass != null && !pass.isTextual()) {
            throw invalid(file, "networkPassphrase must be a string");
        }
        if (version >= 2 && pass == null) {
            throw invalid(file, "version 2 requires networkPassphrase");
        }
        final List<Level> live = levels(root.get("currentBuckets"), "currentBuckets", file);
        final List<Level> hot;
        final JsonValue hotNode = root.get("hotArchiveBuckets");
        if (version >= 2) {
            if (hotNode == null) {
                throw invalid(file, "version 2 requires hotArchiveBuckets");
            }
            hot = levels(hotNode, "hotArchiveBuckets", file);
        } else {
            if (hotNode != null) {
                throw invalid(file, "hotArchiveBuckets is only allowed from version 2");
            }
            hot = List.of();
        }
        return new HistoryArchiveState(version, serverNode.textValue(), cl.longValue(),
                pass == null ? null : pass.textValue(), live, hot);
    }

    private static List<Level> levels(final JsonValue node, final String name, final String file)
            throws VerificationException {
        if (node == null || !node.isArray()) {
            throw invalid(file, name + " must be an array of " + LEVELS + " levels");
        }
        if (node.size() != LEVELS) {
            throw invalid(file, name + " has " + node.size() + " levels, exactly " + LEVELS + " required");
        }
        final List<Level> out = new ArrayList<>(LEVELS);
        for (int i = 0; i < LEVELS; i++) {
            final JsonValue level = node.get(i);
            final String where = name + "[" + i + "]";
            if (level == null || !level.isObject()) {
                throw invalid(file, where + " is not an object");
            }
            final Hash curr = hash(level.get("curr"), where + ".curr", file);
            final Hash snap = hash(level.get("snap"), where + ".snap", file);
            final JsonValue next = level.get("next");
            if (next == null || !next.isObject()) {
                throw invalid(file, where + ".next is missing");
            }
            final JsonValue stateNode = next.get("state");
            if (stateNode == null || !stateNode.isInt() || stateNode.intValue() < 0 || stateNode.intValue() > 2) {
                throw invalid(file, where + ".next.state must be 0, 1 or 2, got " + describe(stateNode));
            }
            final int state = stateNode.intValue();
            Hash output = null;
            if (state == 1) {
                output = hash(next.get("output"), where + ".next.output", file);
            } else if (state == 2) {
                hash(next.get("curr"), where + ".next.curr", file);
                hash(next.get("snap"), where + ".next.snap", file);
                final JsonValue shadow = next.get("shadow");
                if (shadow != null) {
                    if (!shadow.isArray()) {
                        throw invalid(file, where + ".next.shadow must be an array");
                    }
                    for (int s = 0; s < shadow.size(); s++) {
                        hash(shadow.get(s), where + ".next.shadow[" + s + "]", file);
                    }
                }
            }
            out.add(new Level(curr, snap, state, output));
        }
        return Collections.unmodifiableList(out);
    }

    private static Hash hash(final JsonValue node, final String where, final String file)
            throws VerificationException {
        if (node == null || !node.isTextual()) {
            throw invalid(file, where + " must be a hash string, got " + describe(node));
        }
        final String s = node.textValue();
        if (!ArchivePaths.isHash(s)) {
            throw new VerificationException(FailureReason.HOSTILE_NAME, file,
                    where + " is not 64 lowercase hex characters: " + ArchivePaths.quote(s));
        }
        return Hash.fromHex(s);
    }

    private static String describe(final JsonValue n) {
        if (n == null) {
            return "nothing";
        }
        final String s = n.toString();
        return s.length() > 60 ? s.substring(0, 60) + "..." : s;
    }

    private static VerificationException invalid(final String file, final String detail) {
        return new VerificationException(FailureReason.INVALID_HAS, file, detail);
    }

    public int version() {
        return version;
    }

    public String server() {
        return server;
    }

    public long currentLedger() {
        return currentLedger;
    }

    /** The passphrase, or null when a version-1 HAS does not carry one. */
    public String networkPassphrase() {
        return networkPassphrase;
    }

    public List<Level> liveLevels() {
        return live;
    }

    /** Hot-archive levels (version 2), empty for version 1. */
    public List<Level> hotLevels() {
        return hot;
    }

    /** v1: {@code L(live)}; v2: {@code SHA256(L(live) ‖ L(hot))}, where L hashes the levels' SHA256(curr ‖ snap). */
    public Hash bucketListHash() {
        final Hash liveHash = listHash(live);
        if (version < 2) {
            return liveHash;
        }
        final MessageDigest d = Hash.sha256();
        liveHash.writeTo(d);
        listHash(hot).writeTo(d);
        return Hash.digest(d);
    }

    private static Hash listHash(final List<Level> levels) {
        final MessageDigest outer = Hash.sha256();
        final MessageDigest inner = Hash.sha256();
        for (final Level l : levels) {
            inner.reset();
            l.curr().writeTo(inner);
            l.snap().writeTo(inner);
            outer.update(inner.digest());
        }
        return Hash.digest(outer);
    }

    /** The non-empty buckets to fetch: every curr and snap, plus next.output of state-1 merges, of both lists. */
    public Set<Hash> buckets() {
        final Set<Hash> out = new LinkedHashSet<>();
        for (final List<Level> list : List.of(live, hot)) {
            for (final Level l : list) {
                addIfNonZero(out, l.curr());
                addIfNonZero(out, l.snap());
                if (l.nextState() == 1) {
                    addIfNonZero(out, l.nextOutput());
                }
            }
        }
        return out;
    }

    private static void addIfNonZero(final Set<Hash> out, final Hash h) {
        if (h != null && !h.isZero()) {
            out.add(h);
        }
    }
}
