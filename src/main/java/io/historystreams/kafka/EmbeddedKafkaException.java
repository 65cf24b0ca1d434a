package io.historystreams.kafka;

/** The embedded Kafka broker could not be prepared, started or reached. */
public final class EmbeddedKafkaException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public EmbeddedKafkaException(final String message) {
        super(message);
    }

    public EmbeddedKafkaException(final String message, final Throwable cause) {
        super(message, cause);
    }
}
