package io.historystreams.verify;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A checkpoint's failed files on one line, as {@code verify}, {@code ingest} and {@code tail} print them: failures
 * with the same reason, source and detail (an archive's missing buckets, typically) are named once with all their
 * files, and a detail that only ends by repeating the source is cut to what it adds.
 */
public final class FailureList {
    /** One failed file; {@code file} and {@code source} may be null. */
    public record Item(String reason, String file, String source, String detail) {
    }

    private FailureList() {
    }

    /** A checkpoint's failures as {@code verify} and {@code scan} print them: "checkpoint N (0xN) STATUS: ", a list. */
    public static String line(final long checkpoint, final String status, final List<VerificationException> failures) {
        final List<Item> items = new ArrayList<>();
        for (final VerificationException e : failures) {
            items.add(new Item(e.reason().name(), e.file(), e.source(), e.detail()));
        }
        return String.format("checkpoint %d (0x%x) %s: ", checkpoint, checkpoint, status) + format(items);
    }

    /** {@code REASON file[, file…][ (n files)][ from source] (detail);} for each group, separated by spaces. */
    public static String format(final List<Item> items) {
        final Map<List<String>, List<String>> grouped = new LinkedHashMap<>();
        for (final Item i : items) {
            String detail = i.detail() == null ? "" : i.detail();
            if (i.source() != null && detail.endsWith(": " + i.source())) {
                detail = detail.substring(0, detail.length() - i.source().length() - 2);
            }
            grouped.computeIfAbsent(Arrays.asList(i.reason(), i.source(), detail), k -> new ArrayList<>())
                    .add(i.file() == null ? "" : i.file());
        }
        final StringBuilder b = new StringBuilder();
        grouped.forEach((key, files) -> {
            if (b.length() > 0) {
                b.append(' ');
            }
            b.append(key.get(0)).append(' ').append(String.join(", ", files));
            if (files.size() > 1) {
                b.append(" (").append(files.size()).append(" files)");
            }
            if (key.get(1) != null) {
                b.append(" from ").append(key.get(1));
            }
            b.append(" (").append(key.get(2)).append(");");
        });
        return b.toString();
    }
}
