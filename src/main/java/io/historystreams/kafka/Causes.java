package io.historystreams.kafka;

/**
 * Looks through an exception's causes: Kafka's clients and Kafka Streams wrap the error that matters (a fenced
 * producer, a deserializer's failure) in exceptions of their own.
 */
public final class Causes {
    private Causes() {
    }

    /** The first of {@code e} and its causes that is one of {@code types}, or null. */
    public static Throwable find(final Throwable e, final Class<?>... types) {
        for (Throwable c = e; c != null; c = c.getCause() == c ? null : c.getCause()) {
            for (final Class<?> t : types) {
                if (t.isInstance(c)) {
                    return c;
                }
            }
        }
        return null;
    }

    /** The innermost cause of {@code e} ({@code e} itself when it has none). */
    public static Throwable root(final Throwable e) {
        Throwable last = e;
        for (Throwable c = e; c != null; c = c.getCause() == c ? null : c.getCause()) {
            last = c;
        }
        return last;
    }
}
