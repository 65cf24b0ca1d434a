package io.historystreams.events.serde;

/** A schema registry refused a request, could not be reached, or answered something that is not a schema. */
public class SchemaRegistryException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public SchemaRegistryException(final String message) {
        super(message);
    }

    public SchemaRegistryException(final String message, final Throwable cause) {
        super(message, cause);
    }
}
