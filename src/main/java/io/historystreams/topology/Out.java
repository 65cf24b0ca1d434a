package io.historystreams.topology;

/** A record a processor forwards to one named child (a sink or the next processor). */
record Out(String child, Object key, Object value) {
}
