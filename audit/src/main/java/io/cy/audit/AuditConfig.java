package io.cy.audit;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Settings of the audit log, validated on construction with messages that name the setting
 * ({@code audit.batch_size: 0 (expected: > 0)}). Start from {@link #builder(Path)}, which holds the
 * defaults.
 *
 * @param dbUrl where to write; null when no database is configured, and events then go to the
 *     spool only
 * @param storePrompts what is kept of a call's prompt
 * @param retentionDays monthly partitions whose whole range is older than this are dropped
 * @param partitionsAhead how many months after the current one get a partition in advance
 * @param queueCapacity events held in memory between {@link AuditLog#record} and the batcher
 * @param batchSize the most events in one batch appended to the spool
 * @param batchInterval the longest an event waits in the batcher for its batch to fill up
 * @param dbBatchSize the most events in one write to the database (one COPY): the batches
 *     appended meanwhile go together, up to this many; at least {@code batchSize}
 * @param dbBatchInterval the least time between the starts of two writes to the database, unless
 *     {@code dbBatchSize} events are waiting sooner; zero writes as soon as anything waits (what
 *     waits then goes together)
 * @param maxUnwritten the longest an event may be in memory only, from its recording until it is
 *     on disk in the spool: {@code batchInterval} may take at most half of it, the rest is left
 *     for the write to disk
 * @param spoolDir where every batch is appended before it goes to the database, and where
 *     events wait while the database cannot take them
 * @param spoolMaxBytes the most the spool may hold on disk
 * @param spoolFsync whether every batch appended to the spool is forced to disk before the
 *     batcher goes on
 * @param onUnavailable what happens when events can neither be written nor spooled
 * @param poolSize connections in the pool
 * @param connectTimeout how long to wait for a connection to the database
 * @param writeTimeout how long one write may wait on the database before the connection is
 *     taken as lost (the driver's socket timeout); events keep reaching the spool meanwhile
 */
public record AuditConfig(
        DbUrl dbUrl,
        StorePrompts storePrompts,
        int retentionDays,
        int partitionsAhead,
        int queueCapacity,
        int batchSize,
        Duration batchInterval,
        int dbBatchSize,
        Duration dbBatchInterval,
        Duration maxUnwritten,
        Path spoolDir,
        long spoolMaxBytes,
        boolean spoolFsync,
        OnUnavailable onUnavailable,
        int poolSize,
        Duration connectTimeout,
        Duration writeTimeout) {

    /** Events in one COPY at most: its rows are held in memory until it ends. */
    public static final int MAX_DB_BATCH_SIZE = 1_000_000;
    /** Rows reach the database at least this often while it is up. */
    public static final Duration MAX_DB_BATCH_INTERVAL = Duration.ofMinutes(1);
    /** {@code audit.db_batch_size} unless set: enough rows per COPY that PostgreSQL's cost per statement is small. */
    public static final int DEFAULT_DB_BATCH_SIZE = 10_000;

    /** What is kept of a call's prompt: nothing (the default), its SHA-256, or the whole text. */
    public enum StorePrompts { NONE, SHA256, FULL }

    /**
     * What happens when events can neither be written to the database nor spooled (the database
     * is down and the spool is at {@code audit.spool_max_bytes}).
     */
    public enum OnUnavailable {
        /** Keep serving; such events are dropped, counted in {@code audit_dropped} and logged. */
        FAIL_OPEN,
        /** {@link AuditLog#isAccepting()} turns false, so new calls are refused rather than served unaudited. */
        FAIL_CLOSED
    }

    public AuditConfig {
        requireNonNull(storePrompts, "storePrompts");
        requireNonNull(batchInterval, "batchInterval");
        requireNonNull(dbBatchInterval, "dbBatchInterval");
        requireNonNull(maxUnwritten, "maxUnwritten");
        requireNonNull(spoolDir, "spoolDir");
        requireNonNull(onUnavailable, "onUnavailable");
        requireNonNull(connectTimeout, "connectTimeout");
        requireNonNull(writeTimeout, "writeTimeout");
        atLeast("audit.retention_days", retentionDays, 1);
        atLeast("audit.partitions_ahead", partitionsAhead, 0);
        atLeast("audit.queue_capacity", queueCapacity, 16);
        atLeast("audit.batch_size", batchSize, 1);
        if (batchSize > queueCapacity) {
            throw new IllegalArgumentException("audit.batch_size: " + batchSize
                    + " (expected: <= audit.queue_capacity " + queueCapacity + ")");
        }
        if (dbBatchSize < batchSize) {
            throw new IllegalArgumentException("audit.db_batch_size: " + dbBatchSize
                    + " (expected: >= audit.batch_size " + batchSize + ")");
        }
        atMost("audit.db_batch_size", dbBatchSize, MAX_DB_BATCH_SIZE);
        if (dbBatchInterval.isNegative() || dbBatchInterval.compareTo(MAX_DB_BATCH_INTERVAL) > 0) {
            throw new IllegalArgumentException("audit.db_batch_interval: " + dbBatchInterval
                    + " (expected: >= 0 and <= " + MAX_DB_BATCH_INTERVAL + ")");
        }
        positive("audit.batch_interval", batchInterval);
        positive("audit.max_unwritten", maxUnwritten);
        if (batchInterval.multipliedBy(2).compareTo(maxUnwritten) > 0) {
            throw new IllegalArgumentException("audit.batch_interval: " + batchInterval
                    + " (expected: <= half of audit.max_unwritten " + maxUnwritten
                    + ", the other half left for the write to disk)");
        }
        atLeast("audit.spool_max_bytes", spoolMaxBytes, 64 * 1024);
        // The sink's connection, and one to find out whether the database is back.
        atLeast("audit.pool_size", poolSize, 2);
        if (connectTimeout.compareTo(Duration.ofMillis(250)) < 0) {
            // The pool's own lower bound.
            throw new IllegalArgumentException("audit.connect_timeout: " + connectTimeout + " (expected: >= 250ms)");
        }
        if (writeTimeout.compareTo(Duration.ofSeconds(1)) < 0) {
            // The driver's socket timeout has a resolution of seconds.
            throw new IllegalArgumentException("audit.write_timeout: " + writeTimeout + " (expected: >= 1s)");
        }
    }

    /** The defaults, spooling to {@code spoolDir}, without a database. */
    public static Builder builder(Path spoolDir) {
        return new Builder(spoolDir);
    }

    /** A builder starting from these settings. */
    public Builder toBuilder() {
        return new Builder(spoolDir)
                .dbUrl(dbUrl)
                .storePrompts(storePrompts)
                .retentionDays(retentionDays)
                .partitionsAhead(partitionsAhead)
                .queueCapacity(queueCapacity)
                .batchSize(batchSize)
                .batchInterval(batchInterval)
                .dbBatchSize(dbBatchSize)
                .dbBatchInterval(dbBatchInterval)
                .maxUnwritten(maxUnwritten)
                .spoolMaxBytes(spoolMaxBytes)
                .spoolFsync(spoolFsync)
                .onUnavailable(onUnavailable)
                .poolSize(poolSize)
                .connectTimeout(connectTimeout)
                .writeTimeout(writeTimeout);
    }

    @Override
    public String toString() {
        // DbUrl prints itself without its password.
        return "AuditConfig[db=" + (dbUrl == null ? "<unset>" : dbUrl.redacted())
                + ", storePrompts=" + storePrompts + ", retentionDays=" + retentionDays
                + ", partitionsAhead=" + partitionsAhead + ", queueCapacity=" + queueCapacity
                + ", batchSize=" + batchSize + ", batchInterval=" + batchInterval + ", dbBatchSize=" + dbBatchSize
                + ", dbBatchInterval=" + dbBatchInterval + ", maxUnwritten=" + maxUnwritten
                + ", spoolDir=" + spoolDir
                + ", spoolMaxBytes=" + spoolMaxBytes + ", spoolFsync=" + spoolFsync
                + ", onUnavailable=" + onUnavailable + ", poolSize=" + poolSize
                + ", connectTimeout=" + connectTimeout + ", writeTimeout=" + writeTimeout + "]";
    }

    private static void atLeast(String setting, long value, long min) {
        if (value < min) {
            throw new IllegalArgumentException(setting + ": " + value + " (expected: >= " + min + ")");
        }
    }

    private static void atMost(String setting, long value, long max) {
        if (value > max) {
            throw new IllegalArgumentException(setting + ": " + value + " (expected: <= " + max + ")");
        }
    }

    private static void positive(String setting, Duration value) {
        if (value.isNegative() || value.isZero()) {
            throw new IllegalArgumentException(setting + ": " + value + " (expected: > 0)");
        }
    }

    /** Builds an {@link AuditConfig}; starts from the documented defaults. */
    public static final class Builder {
        private DbUrl dbUrl;
        private StorePrompts storePrompts = StorePrompts.NONE;
        private int retentionDays = 90;
        private int partitionsAhead = 2;
        private int queueCapacity = 65_536;
        private int batchSize = 1000;
        private Duration batchInterval = Duration.ofMillis(200);
        /** Null: {@link #DEFAULT_DB_BATCH_SIZE}, or {@code batchSize} if that is more. */
        private Integer dbBatchSize;
        private Duration dbBatchInterval = Duration.ofSeconds(1);
        private Duration maxUnwritten = Duration.ofSeconds(1);
        private final Path spoolDir;
        private long spoolMaxBytes = 1L << 30;
        private boolean spoolFsync = true;
        private OnUnavailable onUnavailable = OnUnavailable.FAIL_OPEN;
        private int poolSize = 4;
        private Duration connectTimeout = Duration.ofSeconds(5);
        private Duration writeTimeout = Duration.ofSeconds(5);

        private Builder(Path spoolDir) {
            this.spoolDir = requireNonNull(spoolDir, "spoolDir");
        }

        /** Null for no database. */
        public Builder dbUrl(DbUrl dbUrl) {
            this.dbUrl = dbUrl;
            return this;
        }

        public Builder storePrompts(StorePrompts storePrompts) {
            this.storePrompts = storePrompts;
            return this;
        }

        public Builder retentionDays(int retentionDays) {
            this.retentionDays = retentionDays;
            return this;
        }

        public Builder partitionsAhead(int partitionsAhead) {
            this.partitionsAhead = partitionsAhead;
            return this;
        }

        public Builder queueCapacity(int queueCapacity) {
            this.queueCapacity = queueCapacity;
            return this;
        }

        public Builder batchSize(int batchSize) {
            this.batchSize = batchSize;
            return this;
        }

        public Builder batchInterval(Duration batchInterval) {
            this.batchInterval = batchInterval;
            return this;
        }

        public Builder dbBatchSize(int dbBatchSize) {
            this.dbBatchSize = dbBatchSize;
            return this;
        }

        public Builder dbBatchInterval(Duration dbBatchInterval) {
            this.dbBatchInterval = dbBatchInterval;
            return this;
        }

        public Builder maxUnwritten(Duration maxUnwritten) {
            this.maxUnwritten = maxUnwritten;
            return this;
        }

        public Builder spoolMaxBytes(long spoolMaxBytes) {
            this.spoolMaxBytes = spoolMaxBytes;
            return this;
        }

        public Builder spoolFsync(boolean spoolFsync) {
            this.spoolFsync = spoolFsync;
            return this;
        }

        public Builder onUnavailable(OnUnavailable onUnavailable) {
            this.onUnavailable = onUnavailable;
            return this;
        }

        public Builder poolSize(int poolSize) {
            this.poolSize = poolSize;
            return this;
        }

        public Builder connectTimeout(Duration connectTimeout) {
            this.connectTimeout = connectTimeout;
            return this;
        }

        public Builder writeTimeout(Duration writeTimeout) {
            this.writeTimeout = writeTimeout;
            return this;
        }

        public AuditConfig build() {
            return new AuditConfig(dbUrl, storePrompts, retentionDays, partitionsAhead, queueCapacity, batchSize,
                    batchInterval, dbBatchSize != null ? dbBatchSize : Math.max(DEFAULT_DB_BATCH_SIZE, batchSize),
                    dbBatchInterval, maxUnwritten, spoolDir, spoolMaxBytes, spoolFsync, onUnavailable, poolSize, connectTimeout,
                    writeTimeout);
        }
    }
}
