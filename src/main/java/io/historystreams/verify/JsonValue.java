package io.historystreams.verify;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import java.io.IOException;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small JSON tree read with Jackson's streaming parser (duplicate keys refused, depth bounded): what the HAS
 * checks need, without the start-up cost of a data-binding object mapper.
 */
final class JsonValue {
    private static final JsonFactory FACTORY = JsonFactory.builder()
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
    private static final int MAX_DEPTH = 32;

    private final Object value; // Map<String, JsonValue>, List<JsonValue>, String, BigInteger, Double, Boolean, null

    private JsonValue(final Object value) {
        this.value = value;
    }

    /** Parses a whole document; anything after it is an error. */
    static JsonValue parse(final byte[] json) throws IOException {
        try (JsonParser p = FACTORY.createParser(json)) {
            if (p.nextToken() == null) {
                throw new com.fasterxml.jackson.core.JsonParseException(p, "empty document");
            }
            final JsonValue v = read(p, 0);
            if (p.nextToken() != null) {
                throw new com.fasterxml.jackson.core.JsonParseException(p, "trailing content after the document");
            }
            return v;
        }
    }

    private static JsonValue read(final JsonParser p, final int depth) throws IOException {
        if (depth > MAX_DEPTH) {
            throw new com.fasterxml.jackson.core.JsonParseException(p, "nested deeper than " + MAX_DEPTH);
        }
        final JsonToken t = p.currentToken();
        switch (t) {
            case START_OBJECT -> {
                final Map<String, JsonValue> m = new LinkedHashMap<>();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    final String name = p.currentName();
                    p.nextToken();
                    m.put(name, read(p, depth + 1));
                }
                return new JsonValue(m);
            }
            case START_ARRAY -> {
                final List<JsonValue> l = new ArrayList<>();
                while (p.nextToken() != JsonToken.END_ARRAY) {
                    l.add(read(p, depth + 1));
                }
                return new JsonValue(l);
            }
            case VALUE_STRING -> {
                return new JsonValue(p.getText());
            }
            case VALUE_NUMBER_INT -> {
                return new JsonValue(p.getBigIntegerValue());
            }
            case VALUE_NUMBER_FLOAT -> {
                return new JsonValue(p.getDoubleValue());
            }
            case VALUE_TRUE, VALUE_FALSE -> {
                return new JsonValue(t == JsonToken.VALUE_TRUE);
            }
            case VALUE_NULL -> {
                return new JsonValue(null);
            }
            default -> throw new com.fasterxml.jackson.core.JsonParseException(p, "unexpected token " + t);
        }
    }

    /** A member of an object, or null when absent or this is not an object. */
    @SuppressWarnings("unchecked")
    JsonValue get(final String name) {
        return value instanceof Map<?, ?> m ? ((Map<String, JsonValue>) m).get(name) : null;
    }

    @SuppressWarnings("unchecked")
    JsonValue get(final int index) {
        return value instanceof List<?> l && index >= 0 && index < l.size() ? ((List<JsonValue>) l).get(index) : null;
    }

    boolean isObject() {
        return value instanceof Map;
    }

    boolean isArray() {
        return value instanceof List;
    }

    int size() {
        return value instanceof List<?> l ? l.size() : value instanceof Map<?, ?> m ? m.size() : 0;
    }

    boolean isTextual() {
        return value instanceof String;
    }

    String textValue() {
        return value instanceof String s ? s : null;
    }

    boolean isIntegralNumber() {
        return value instanceof BigInteger;
    }

    /** An integer that fits in an int. */
    boolean isInt() {
        return value instanceof BigInteger b && b.bitLength() < 32;
    }

    int intValue() {
        return value instanceof BigInteger b ? b.intValue() : 0;
    }

    long longValue() {
        return value instanceof BigInteger b ? (b.bitLength() < 64 ? b.longValue() : -1) : 0;
    }

    @Override
    public String toString() {
        if (value instanceof String s) {
            return '"' + s + '"';
        }
        return String.valueOf(value);
    }
}
