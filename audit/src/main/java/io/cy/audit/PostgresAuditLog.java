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
 * and returns: constant time, no I/O, no lock held beyond the queue's own. One background thread
 * ({@link Writer}) batches the queue into the database, or into the local spool
 * ({@code audit.spool_dir}) while the database cannot take them, and replays the spool in order
 * once it can, also after a restart.
 *
 * <p>When the queue is full, the calling thread does not fall back to the spool itself, which
 * would be file I/O on the call path: the event is dropped, counted in {@code audit_dropped}, and
 * the writer logs it (an error line at once, then at most one every ten seconds). The queue only
 * fills when the writer stalls: the writer never waits for a reconnection (a probe thread does),
 * and moves to the spool as soon as a write fails; what it can wait on is one write to a database
 * that stopped answering, at most {@code audit.write_timeout}, or a stalled disk. The queue
 * ({@code audit.queue_capacity}, 65,536 by default: three seconds at 20,000 calls a second) should
 * hold the peak rate for that long. With {@code fail_closed}, {@link #isAccepting()} turns false
 * already when the queue is seven eighths full, so that calls in flight find room for their events.
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
    private final Writer writer;
    private final Thread thread;
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
        this.writer = new Writer(config, queue, spool, dataSource, clock, drops);
        this.thread = new Thread(writer, "cy-audit-writer");
        // close() flushes; a daemon thread does not hold up a JVM that forgot to call it.
        thread.setDaemon(true);
    }

    /**
     * Starts the log: opens the spool (taking segments left by an earlier run for replay), then
     * starts the writer, which migrates the schema with Flyway, runs partition maintenance,
     * replays the spool and writes. Returns at once. An unreachable database does not fail the
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
        log.thread.start();
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
        if (!failClosed && writer.isSpoolFull() && !writer.isDbUp()) {
            drops.add(1, spoolFullReason);
            return false;
        }
        if (queue.offer(event)) {
            writer.eventQueued();
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
        if (!writer.isDbUp() && writer.isSpoolFull()) {
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
        m.put("audit_queue", Long.toString(queue.size() + (long) writer.pendingCount()));
        m.put("audit_spool_bytes", Long.toString(spool.bytes()));
        m.put("audit_db", writer.isDbUp() ? "up" : "down");
        m.put("audit_dropped", Long.toString(drops.total()));
        return m;
    }

    @Override
    public void close(Duration flushTimeout) {
        requireNonNull(flushTimeout, "flushTimeout");
        if (closed) {
            return;
        }
        closed = true;
        writer.stop(System.nanoTime() + flushTimeout.toNanos());
        try {
            thread.join(Math.max(1, flushTimeout.toMillis()));
            if (thread.isAlive()) {
                // Stuck on the database: abort its connection so the rest is spooled.
                logger.warn("audit: flushing took longer than {}; spooling the rest", flushTimeout);
                writer.abandonDatabase();
                thread.join(ABANDON_WAIT.toMillis());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            logger.error("audit: the writer did not stop within {} after the flush timeout", ABANDON_WAIT);
        }
        if (dataSource != null) {
            dataSource.close();
        }
        if (!thread.isAlive()) {
            drops.logIfDue();
        }
        logger.info("audit: closed; {} written, {} spooled, {} dropped since start",
                writer.written(), writer.spooled(), drops.total());
    }

    /** Events in the queue, not counting the writer's batch in hand. */
    int queued() {
        return queue.size();
    }

    /** For tests: the writer's counters. */
    Writer writer() {
        return writer;
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
        // Start without the database; the writer spools and retries.
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
