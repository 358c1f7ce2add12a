package io.cy.audit;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Counts dropped events, and says so loudly. Counting is cheap and safe on any thread (a
 * {@link LongAdder} and one volatile write, no I/O); the batcher thread calls {@link #logIfDue}
 * on every step, which logs an error line at the first drop and then at most one every ten
 * seconds, with the number dropped since the last line and the latest reason.
 */
final class DropCounter {

    private static final Logger logger = LoggerFactory.getLogger(DropCounter.class);
    private static final long LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final LongAdder dropped = new LongAdder();
    private final String setting;
    private volatile String lastReason = "";

    // The batcher thread only (logIfDue); add() may come from the database sink too.
    private long reported;
    private long lastLogNanos;
    private boolean loggedOnce;

    /** {@code setting} is named in the log line, e.g. {@code audit.on_unavailable: fail_open}. */
    DropCounter(String setting) {
        this.setting = setting;
    }

    void add(long events, String why) {
        if (events <= 0) {
            return;
        }
        dropped.add(events);
        lastReason = why;
    }

    long total() {
        return dropped.sum();
    }

    /** Logs the drops since the last line, if there are any and the last line is ten seconds old. */
    void logIfDue() {
        final long total = dropped.sum();
        if (total == reported) {
            return;
        }
        final long now = System.nanoTime();
        if (loggedOnce && now - lastLogNanos < LOG_INTERVAL_NANOS) {
            return;
        }
        logger.error("audit: DROPPED {} event(s) ({} since start), latest because {}; {}", total - reported, total,
                lastReason, setting);
        reported = total;
        lastLogNanos = now;
        loggedOnce = true;
    }
}
