package io.historystreams.events.serde;

/** The registry has no schema with the requested id (the Confluent registry answers 404 / error code 40403). */
public final class UnknownSchemaException extends SchemaRegistryException {
    private static final long serialVersionUID = 1L;

    private final int schemaId;

    public UnknownSchemaException(final int schemaId, final String message) {
        super(message);
        this.schemaId = schemaId;
    }

    /** The id that was looked up. */
    public int schemaId() {
        return schemaId;
    }
}
