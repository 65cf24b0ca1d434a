package io.historystreams.events.serde;

import org.apache.avro.util.ClassSecurityValidator;

/**
 * Makes Avro trust the generated event classes. Since 1.11.4/1.12.1 Avro refuses to instantiate classes outside an
 * allow-list (system property {@value #PROPERTY}, read once when Avro's validator class loads), so the property is
 * set when absent and, if Avro has already read it, the global validator is widened to {@value #PACKAGE}.
 */
final class AvroTrust {
    static final String PROPERTY = "org.apache.avro.SERIALIZABLE_PACKAGES";
    static final String PACKAGE = "io.historystreams";

    private AvroTrust() {
    }

    static synchronized void ensureTrusted() {
        if (System.getProperty(PROPERTY) == null) {
            System.setProperty(PROPERTY, PACKAGE);
        }
        final ClassSecurityValidator.ClassSecurityPredicate current = ClassSecurityValidator.getGlobal();
        if (!current.isTrusted(AvroTrust.class)) {
            ClassSecurityValidator.setGlobal(ClassSecurityValidator.composite(current,
                    type -> type.getName().startsWith(PACKAGE + ".")));
        }
    }
}
