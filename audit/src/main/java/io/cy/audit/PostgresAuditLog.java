package io.cy.audit;

import static java.util.Objects.requireNonNull;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The audit log in PostgreSQL.
 *
 * <p>{@link #record} puts the event into a bounded in-memory queue ({@code audit.queue_capacity})
 * and returns: constant time, no I/O, no lock held beyond the queue's own. From there an event
 * takes two steps, each on a thread of its own: the {@link Batcher} appends it, in a batch, to the
 * local spool ({@code audit.spool_dir}), forced to disk, within {@code audit.max_unwritten} of
 * its recording; the {@link DatabaseSink} reads the spool in order, inserts each chunk into
 * PostgreSQL, and then lets the spool delete it. So a database that refuses connections, hangs
 * or drops a connection in the middle of a batch delays only the second step, and a crash of the
 * process at any point loses none of the events already on disk: they are written at the next
 * start, once each (the insert ignores event ids already in the table).
 *
 * <p>When the queue is full, the calling thread does not fall back to the spool itself, which
 * would be file I/O on the call path: the event is dropped, counted in {@code audit_dropped}, and
 * the batcher logs it (an error line at once, then at most one every ten seconds). The queue only
 * fills when the disk stalls, or when the spool is full and the batcher holds a batch. With
 * {@code fail_closed}, {@link #isAccepting()} turns false already when the queue is seven eighths
 * full, so that calls in flight find room for their events.
 */
public final class PostgresAuditLog implements AuditLog {

    private static final Logger logger = LoggerFactory.getLogger(PostgresAuditLog.class);
    private static final Duration ABANDON_WAIT = Duration.ofSeconds(10);
    private static final String AFTER_CLOSE = "recorded after the audit log was closed";

    private final AuditConfig config;
    private final ArrayBlockingQueue<AuditEvent> queue;
    private final int queueHighWater;
    private final Spool spool;
    private final HikariDataSource dataSource;
    private final Batcher batcher;
    private final Thread batcherThread;
    /** Null without a database. */
    private final DatabaseSink sink;
    private final Thread sinkThread;
    private final DropCounter drops;
    private final boolean failClosed;
    private final String spoolFullReason;
    private final String queueFullReason;
    private volatile boolean closed;

    private PostgresAuditLog(AuditConfig config, Clock clock) throws IOException {
        this.config = config;
        this.queue = new ArrayBlockingQueue<>(config.queueCapacity());
        this.queueHighWater = config.queueCapacity() - config.queueCapacity() / 8;
        this.failClosed = config.onUnavailable() == AuditConfig.OnUnavailable.FAIL_CLOSED;
        this.drops = new DropCounter("audit.on_unavailable: " + (failClosed ? "fail_closed" : "fail_open"));
        this.spoolFullReason = "the database is unavailable and the spool is full (audit.spool_max_bytes "
                + config.spoolMaxBytes() + ")";
        this.queueFullReason = "the queue is full (audit.queue_capacity " + config.queueCapacity() + ")";
        this.spool = new Spool(config.spoolDir(), config.spoolMaxBytes(), config.spoolFsync());
        try {
            this.dataSource = config.dbUrl() == null ? null : dataSource(config);
        } catch (RuntimeException e) {
            spool.close();
            throw e;
        }
        // The two threads wake each other: the batcher after an append, the sink after freeing space.
        this.sink = dataSource == null ? null
                : new DatabaseSink(config, spool, dataSource, clock, drops, this::spaceFreed);
        this.batcher = new Batcher(config, queue, spool, drops, sink == null ? () -> false : sink::isUp,
                sink == null ? () -> { } : sink::wake);
        this.batcherThread = new Thread(batcher, "cy-audit-writer");
        // close() flushes; daemon threads do not hold up a JVM that forgot to call it.
        batcherThread.setDaemon(true);
        this.sinkThread = sink == null ? null : new Thread(sink, "cy-audit-db");
        if (sinkThread != null) {
            sinkThread.setDaemon(true);
        }
    }

    /**
     * Starts the log: opens the spool (taking segments left by an earlier run for replay), then
     * starts the batcher, which appends new events to the spool, and the database sink, which
     * migrates the schema with Flyway, runs partition maintenance, and writes the spool to the
     * database in order. Returns at once. An unreachable database does not fail the
     * start: events are spooled and the database is tried again with backoff.
     *
     * @throws UncheckedIOException when the spool directory cannot be created or is in use by
     *     another process (the message names {@code audit.spool_dir})
     */
    public static PostgresAuditLog start(AuditConfig config) {
        return start(config, Clock.systemUTC());
    }

    /** As {@link #start(AuditConfig)}, with the clock that decides partition maintenance. */
    static PostgresAuditLog start(AuditConfig config, Clock clock) {
        requireNonNull(config, "config");
        final PostgresAuditLog log;
        try {
            log = new PostgresAuditLog(config, clock);
        } catch (IOException e) {
            throw new UncheckedIOException(e.getMessage(), e);
        }
        logger.info("audit: starting; {}", config);
        if (log.sink == null) {
            logger.warn("audit: no database configured (DB_URL unset): audit events go to the spool in {} "
                    + "only; set DB_URL to have them written to PostgreSQL (the spool is written then)",
                    config.spoolDir());
        } else {
            log.sinkThread.start();
        }
        log.batcherThread.start();
        return log;
    }

    @Override
    public boolean record(AuditEvent event) {
        if (event == null) {
            return false;
        }
        if (closed) {
            drops.add(1, AFTER_CLOSE);
            return false;
        }
        if (!failClosed && batcher.isSpoolFull() && !isDbUp()) {
            drops.add(1, spoolFullReason);
            return false;
        }
        if (queue.offer(event)) {
            batcher.eventQueued();
            return true;
        }
        drops.add(1, queueFullReason);
        return false;
    }

    @Override
    public boolean isAccepting() {
        if (!failClosed) {
            return true;
        }
        if (closed) {
            return false;
        }
        if (!isDbUp() && batcher.isSpoolFull()) {
            return false;
        }
        return queue.size() < queueHighWater;
    }

    @Override
    public AuditConfig.StorePrompts storePrompts() {
        return config.storePrompts();
    }

    @Override
    public Map<String, String> metrics() {
        final Map<String, String> m = new LinkedHashMap<>();
        m.put("audit_queue", Long.toString(queue.size() + (long) batcher.pendingCount()));
        m.put("audit_spool_bytes", Long.toString(spool.bytes()));
        m.put("audit_db", isDbUp() ? "up" : "down");
        m.put("audit_dropped", Long.toString(drops.total()));
        return m;
    }

    @Override
    public AuditCounts counts() {
        return new AuditCounts(sink == null ? 0 : sink.written(), batcher.spooled(), drops.total(),
                queue.size() + (long) batcher.pendingCount());
    }

    @Override
    public void close(Duration flushTimeout) {
        requireNonNull(flushTimeout, "flushTimeout");
        if (closed) {
            return;
        }
        closed = true;
        final long deadline = System.nanoTime() + flushTimeout.toNanos();
        try {
            // First everything queued to disk, then as much of the spool as the database takes in time.
            batcher.stop();
            batcherThread.join(Math.max(1, flushTimeout.toMillis()));
            if (sink != null) {
                sink.stop(deadline);
                sinkThread.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000L));
                if (sinkThread.isAlive()) {
                    // Stuck on the database: abort its connection; the rest stays in the spool.
                    logger.warn("audit: flushing took longer than {}; leaving the rest in the spool", flushTimeout);
                    sink.abandonDatabase();
                    sinkThread.join(ABANDON_WAIT.toMillis());
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        final boolean stopped = !batcherThread.isAlive() && (sinkThread == null || !sinkThread.isAlive());
        if (stopped) {
            try {
                spool.close();
            } catch (IOException e) {
                logger.error("audit: closing the spool in {} failed", spool.dir(), e);
            }
            drops.logIfDue();
        } else {
            logger.error("audit: the {} did not stop within {} after the flush timeout",
                    batcherThread.isAlive() ? "batcher" : "database sink", ABANDON_WAIT);
        }
        if (dataSource != null) {
            dataSource.close();
        }
        logger.info("audit: closed; {} written, {} spooled, {} dropped since start",
                written(), batcher.spooled(), drops.total());
    }

    /** Events in the queue, not counting the batcher's batch in hand. */
    int queued() {
        return queue.size();
    }

    /** For tests: the batcher, and its counters. */
    Batcher batcher() {
        return batcher;
    }

    /** Events written to the database since start. */
    long written() {
        return sink == null ? 0 : sink.written();
    }

    private void spaceFreed() {
        batcher.spaceFreed();
    }

    private boolean isDbUp() {
        return sink != null && sink.isUp();
    }

    private static HikariDataSource dataSource(AuditConfig config) {
        final HikariConfig hc = new HikariConfig();
        hc.setPoolName("cy-audit");
        hc.setJdbcUrl(config.dbUrl().jdbcUrl());
        if (config.dbUrl().user() != null) {
            hc.setUsername(config.dbUrl().user());
        }
        if (config.dbUrl().password() != null) {
            hc.setPassword(config.dbUrl().password());
        }
        hc.setMaximumPoolSize(config.poolSize());
        hc.setMinimumIdle(1);
        hc.setAutoCommit(true);
        // Start without the database; the sink retries while the batcher spools.
        hc.setInitializationFailTimeout(-1);
        hc.setConnectionTimeout(config.connectTimeout().toMillis());
        hc.setValidationTimeout(Math.max(250, config.connectTimeout().toMillis() / 2));
        hc.addDataSourceProperty("connectTimeout", seconds(config.connectTimeout()));
        hc.addDataSourceProperty("socketTimeout", seconds(config.writeTimeout()));
        hc.addDataSourceProperty("tcpKeepAlive", true);
        hc.addDataSourceProperty("ApplicationName", "cy-audit");
        return new HikariDataSource(hc);
    }

    private static int seconds(Duration d) {
        return (int) Math.max(1, TimeUnit.MILLISECONDS.toSeconds(d.toMillis() + 999));
    }
}
