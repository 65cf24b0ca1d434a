package io.historystreams.service;

import org.apache.kafka.streams.state.RocksDBConfigSetter;
import org.rocksdb.Options;

import java.util.Map;

/**
 * Keeps a store's RocksDB info logs to {@value #KEEP}: every start rolls the store's {@code LOG} to a
 * {@code LOG.old.<time>} file, and RocksDB keeps 1,000 of them by default. A trial's data dir gained about 55 (empty)
 * files per run across its 26 stores. The default of {@code rocksdb.config.setter}; {@code kafka.rocksdb.config.setter}
 * replaces it.
 */
public final class RocksDbLogs implements RocksDBConfigSetter {
    /** The info log files kept per store: the current one and the one before it. */
    static final int KEEP = 2;

    @Override
    public void setConfig(final String storeName, final Options options, final Map<String, Object> configs) {
        options.setKeepLogFileNum(KEEP);
    }

    @Override
    public void close(final String storeName, final Options options) {
        // nothing allocated
    }
}
