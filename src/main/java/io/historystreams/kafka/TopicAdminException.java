package io.historystreams.kafka;

/** Topics could not be created, inspected or reconfigured within the allowed time. */
public final class TopicAdminException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public TopicAdminException(final String message, final Throwable cause) {
        super(message, cause);
    }

    public TopicAdminException(final String message) {
        super(message);
    }
}
