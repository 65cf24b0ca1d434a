package io.historystreams.archive;

/** The kinds of file a history archive holds. */
public enum FileType {
    HAS("history", "json"),
    LEDGER("ledger", "xdr.gz"),
    TRANSACTIONS("transactions", "xdr.gz"),
    RESULTS("results", "xdr.gz"),
    SCP("scp", "xdr.gz"),
    BUCKET("bucket", "xdr.gz");

    private final String category;
    private final String extension;

    FileType(final String category, final String extension) {
        this.category = category;
        this.extension = extension;
    }

    /** The directory and file-name prefix used in the archive layout. */
    public String category() {
        return category;
    }

    public String extension() {
        return extension;
    }

    public boolean gzipped() {
        return extension.endsWith(".gz");
    }
}
