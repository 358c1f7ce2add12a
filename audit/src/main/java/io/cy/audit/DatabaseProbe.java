package io.cy.audit;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds out when an unreachable database is back, on its own thread, so that the sink never
 * waits for a connection attempt (up to {@code audit.connect_timeout} each, when packets to the
 * database are dropped rather than refused) and keeps draining the queue into the spool meanwhile.
 * Attempts back off from 100 ms to 5 s; a line is logged every minute the database stays away.
 */
final class DatabaseProbe implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(DatabaseProbe.class);
    private static final long MIN_BACKOFF_MILLIS = 100;
    private static final long MAX_BACKOFF_MILLIS = 5_000;
    private static final long LOG_EVERY_NANOS = TimeUnit.MINUTES.toNanos(1);

    private final DataSource dataSource;
    private final Runnable onReachable;
    private final ScheduledExecutorService executor;
    private final int validationSeconds;

    // Probe thread only, but for the flag, set by start().
    private volatile boolean running;
    private long backoffMillis;
    private long downSinceNanos;
    private long lastLogNanos;

    /** {@code onReachable} runs on the probe's thread once a connection has been made and validated. */
    DatabaseProbe(DataSource dataSource, int validationSeconds, Runnable onReachable) {
        this.dataSource = dataSource;
        this.validationSeconds = validationSeconds;
        this.onReachable = onReachable;
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            final Thread t = new Thread(r, "cy-audit-probe");
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts probing unless a probe is already under way. Any thread. */
    synchronized void start() {
        if (running || executor.isShutdown()) {
            return;
        }
        running = true;
        executor.execute(() -> {
            backoffMillis = MIN_BACKOFF_MILLIS;
            downSinceNanos = System.nanoTime();
            lastLogNanos = downSinceNanos;
            attempt();
        });
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }

    private void attempt() {
        try (Connection c = dataSource.getConnection()) {
            if (c.isValid(validationSeconds)) {
                running = false;
                onReachable.run();
                return;
            }
        } catch (SQLException | RuntimeException e) {
            final long now = System.nanoTime();
            if (now - lastLogNanos > LOG_EVERY_NANOS) {
                lastLogNanos = now;
                logger.warn("audit: database still unavailable after {} s: {}",
                        (now - downSinceNanos) / 1_000_000_000L, DatabaseSink.describe(e));
            } else {
                logger.debug("audit: database probe failed: {}", DatabaseSink.describe(e));
            }
        }
        if (executor.isShutdown()) {
            return;
        }
        try {
            executor.schedule(this::attempt, backoffMillis, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            return;
        }
        backoffMillis = Math.min(MAX_BACKOFF_MILLIS, backoffMillis * 2);
    }
}
