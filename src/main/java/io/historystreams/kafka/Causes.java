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

    /**
     * An exception's message as an operator reads it. A file system error's own message is often the path alone
     * ({@code AccessDeniedException}, {@code FileAlreadyExistsException}, {@code NoSuchFileException} carry no
     * reason): it is given as "path: reason", the reason in words; any other exception as its message, or its class
     * when it has none.
     */
    public static String describe(final Throwable e) {
        if (e instanceof java.nio.file.FileSystemException f && f.getFile() != null) {
            final String reason = f.getReason() != null ? f.getReason()
                    : f instanceof java.nio.file.AccessDeniedException ? "permission denied"
                    : f instanceof java.nio.file.FileAlreadyExistsException ? "already exists"
                    : f instanceof java.nio.file.NoSuchFileException ? "no such file or directory"
                    : f instanceof java.nio.file.NotDirectoryException ? "not a directory"
                    : f instanceof java.nio.file.DirectoryNotEmptyException ? "directory not empty"
                    : f.getClass().getSimpleName();
            return f.getFile() + (f.getOtherFile() == null ? "" : " -> " + f.getOtherFile()) + ": " + reason;
        }
        final String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }
}
