package io.cy.audit;

import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.LocalDate;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one thread that moves events from the queue to the database, or to the spool while the
 * database cannot take them, keeping the order in which they were recorded.
 *
 * <p>Each step: take a batch from the queue (waiting up to {@code audit.batch_interval} for it to
 * fill to {@code audit.batch_size}); if the database is down and the {@link DatabaseProbe} has
 * reached it again, bring it up (migrating the schema first if that has not happened yet, then
 * partition maintenance); while the spool holds events and the database is up, replay one batch
 * from the spool; then write the new batch to the database if the spool is empty, and to the end
 * of the spool otherwise. So once anything is spooled, newer events queue up behind it in the
 * spool, and the order holds through an outage, a replay and a restart. A batch whose write
 * failed may or may not have been committed; it is spooled all the same, and the replay's
 * {@code ON CONFLICT DO NOTHING} skips what is already there.
 *
 * <p>The thread waits on the database only inside a write (bounded by {@code audit.write_timeout})
 * and for the first connection at start; reconnection attempts run on the probe's thread.
 *
 * <p>When a batch fits neither (database down, spool at its cap): with {@code fail_open} it is
 * dropped and counted; with {@code fail_closed} the writer holds it and retries, the queue fills,
 * and {@link PostgresAuditLog#isAccepting()} turns false.
 */
final class Writer implements Runnable {

    private static final Logger logger = LoggerFactory.getLogger(Writer.class);
    private static final long RETRY_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final AuditConfig config;
    private final BlockingQueue<AuditEvent> queue;
    private final Spool spool;
    /** Null when no database is configured: everything goes to the spool. */
    private final DataSource dataSource;
    private final Clock clock;
    private final DropCounter drops;
    /** Null without a database. */
    private final DatabaseProbe probe;

    private volatile boolean dbUp;
    /** Set by the probe: the database answers again. */
    private volatile boolean reachable;
    private volatile boolean spoolFull;
    private volatile int pendingCount;
    private volatile boolean stopping;
    private volatile long stopDeadlineNanos;
    private volatile boolean abandonDatabase;
    private volatile Connection inUse;
    private volatile Thread thread;
    /**
     * While a batch fills, the number of events the queue must hold to complete it; 0 otherwise.
     * The writer sleeps through {@code audit.batch_interval} and the producer whose event completes
     * the batch wakes it ({@link #eventQueued}): one wake-up per batch. Waiting on the queue for each
     * next event would have every call's enqueue wake this thread (a futex wake-up and a context
     * switch per event, more than the event's own cost), and looking at the queue on a short tick
     * costs a wake-up per tick even when few events come.
     */
    private final AtomicInteger wantedForBatch = new AtomicInteger();

    private final AtomicLong written = new AtomicLong();
    private final AtomicLong spooled = new AtomicLong();
    private final AtomicLong replayed = new AtomicLong();

    // Writer thread only.
    private final List<AuditEvent> pending;
    private final Set<YearMonth> knownPartitions = new HashSet<>();
    private boolean migrated;
    private LocalDate maintainedOn;
    private long downSinceNanos;
    /** Failed attempts to bring the database up in a row, though the probe reached it (e.g. a failing migration). */
    private int failedTries;
    private long notBeforeNanos;

    Writer(AuditConfig config, BlockingQueue<AuditEvent> queue, Spool spool, DataSource dataSource, Clock clock,
           DropCounter drops) {
        this.config = config;
        this.queue = queue;
        this.spool = spool;
        this.dataSource = dataSource;
        this.clock = clock;
        this.drops = drops;
        this.pending = new ArrayList<>(config.batchSize());
        this.probe = dataSource == null ? null : new DatabaseProbe(dataSource,
                (int) Math.max(1, config.connectTimeout().toSeconds()), () -> {
                    reachable = true;
                    wake();
                });
    }

    /**
     * Called by a producer after it queued an event: wakes the writer if the queue now completes
     * the batch it is filling. A volatile read when no batch is filling; then a look at the queue's
     * size, and one wake-up per batch.
     */
    void eventQueued() {
        final int wanted = wantedForBatch.get();
        if (wanted > 0 && queue.size() >= wanted && wantedForBatch.compareAndSet(wanted, 0)) {
            wake();
        }
    }

    boolean isDbUp() {
        return dbUp;
    }

    /** The spool could not take the last batch, and has not freed space since. */
    boolean isSpoolFull() {
        return spoolFull;
    }

    /** Events taken from the queue and not yet written or spooled. */
    int pendingCount() {
        return pendingCount;
    }

    long written() {
        return written.get();
    }

    long spooled() {
        return spooled.get();
    }

    long replayed() {
        return replayed.get();
    }

    /** Asks the writer to flush until {@code deadlineNanos} and stop; see {@link #finish}. */
    void stop(long deadlineNanos) {
        stopDeadlineNanos = deadlineNanos;
        stopping = true;
        wake();
    }

    /** Gives up on the database at once: the write in progress fails, the rest is spooled. */
    void abandonDatabase() {
        abandonDatabase = true;
        final Connection c = inUse;
        if (c != null) {
            try {
                c.abort(Runnable::run);
            } catch (SQLException | RuntimeException e) {
                logger.debug("audit: aborting the connection in use failed: {}", e.toString());
            }
        }
        wake();
    }

    @Override
    public void run() {
        thread = Thread.currentThread();
        try {
            if (dataSource == null) {
                logger.warn("audit: no database configured (DB_URL unset): audit events go to the spool in {} "
                        + "only; set DB_URL to have them written to PostgreSQL (the spool is replayed then)",
                        spool.dir());
            } else {
                // Once here, waiting for the connection: at start the queue has room to spare.
                // From now on, the probe finds out when the database is back.
                tryDatabase();
            }
            while (!stopping) {
                step();
            }
        } catch (RuntimeException | Error e) {
            logger.error("audit: the writer failed; spooling what it holds and stopping", e);
        } finally {
            finish();
        }
    }

    private void step() {
        drops.logIfDue();
        if (pending.isEmpty()) {
            takeBatch();
        }
        if (dataSource != null && !dbUp && reachable && System.nanoTime() - notBeforeNanos >= 0) {
            reachable = false;
            tryDatabase();
        }
        if (dbUp) {
            maintainIfDue();
        }
        if (dbUp && !spool.isEmpty()) {
            replayOneBatch();
        }
        if (pending.isEmpty()) {
            return;
        }
        if (dbUp && spool.isEmpty() && write(pending)) {
            clearPending();
            return;
        }
        toSpool();
        if (!pending.isEmpty()) {
            // fail_closed and nowhere to put them: hold them until the database is back (the
            // probe wakes this thread) or a replay frees spool space.
            pause(dbUp ? 0 : RETRY_NANOS);
        }
    }

    /** Takes up to a batch from the queue, waiting for the first event and then for the batch to fill. */
    private void takeBatch() {
        final boolean replayWaiting = dbUp && !spool.isEmpty();
        final long waitNanos = replayWaiting ? 0 : config.batchInterval().toNanos();
        try {
            final AuditEvent first = waitNanos == 0 ? queue.poll() : queue.poll(waitNanos, TimeUnit.NANOSECONDS);
            if (first == null) {
                return;
            }
            pending.add(first);
            pendingCount = pending.size();
            final long deadline = System.nanoTime() + (replayWaiting ? 0 : config.batchInterval().toNanos());
            while (pending.size() < config.batchSize() && !stopping) {
                queue.drainTo(pending, config.batchSize() - pending.size());
                pendingCount = pending.size();
                final long left = deadline - System.nanoTime();
                if (pending.size() >= config.batchSize() || left <= 0) {
                    break;
                }
                final int wanted = config.batchSize() - pending.size();
                wantedForBatch.set(wanted);
                // Looked at after publishing what is wanted: an event queued before that was not
                // seen by its producer's eventQueued(), but is counted here.
                if (queue.size() < wanted) {
                    // Woken by the producer that completes the batch, by stop(), or at the deadline;
                    // a spurious return just drains again.
                    LockSupport.parkNanos(this, left);
                }
                wantedForBatch.set(0);
            }
        } catch (InterruptedException e) {
            // Nothing here interrupts this thread; stop() is seen through its flag. The driver and
            // the pool must not see an interrupt during the final flush, so it is not kept.
            logger.debug("audit: writer interrupted; going on");
        } finally {
            pendingCount = pending.size();
        }
    }

    /** Migrates the schema if needed and runs partition maintenance; the database is up if both succeed. */
    private void tryDatabase() {
        try {
            if (!migrated) {
                Schema.migrate(config.dbUrl());
                migrated = true;
            }
            knownPartitions.clear();
            maintainedOn = null;
            maintainIfDue();
            if (maintainedOn != null) {
                up();
            }
        } catch (RuntimeException e) {
            // Flyway wraps the driver's exceptions.
            markDown(e);
        }
        if (!dbUp) {
            // Reachable but not usable: back off from one second to a minute between tries.
            failedTries++;
            notBeforeNanos = System.nanoTime() + RETRY_NANOS * Math.min(60, 1L << Math.min(6, failedTries - 1));
        }
    }

    private void up() {
        if (downSinceNanos != 0) {
            logger.info("audit: database reachable again after {} ms; {} bytes of spool to replay",
                    (System.nanoTime() - downSinceNanos) / 1_000_000L, spool.bytes());
        } else {
            logger.info("audit: writing to {}{}", config.dbUrl().redacted(),
                    spool.isEmpty() ? "" : "; " + spool.bytes() + " bytes of spool to replay first");
        }
        dbUp = true;
        downSinceNanos = 0;
        failedTries = 0;
    }

    private void maintainIfDue() {
        final LocalDate today = LocalDate.now(clock.withZone(ZoneOffset.UTC));
        if (today.equals(maintainedOn)) {
            return;
        }
        try (Connection c = connection()) {
            final List<String> actions =
                    Schema.maintainPartitions(c, today, config.partitionsAhead(), config.retentionDays());
            if (!actions.isEmpty()) {
                logger.info("audit: partitions: {}", String.join(", ", actions));
            }
            knownPartitions.clear();
            knownPartitions.addAll(Schema.partitions(c));
            maintainedOn = today;
        } catch (SQLException e) {
            markDown(e);
        } finally {
            inUse = null;
        }
    }

    private void replayOneBatch() {
        final Spool.Chunk chunk;
        try {
            chunk = spool.read(config.batchSize());
        } catch (IOException e) {
            logger.error("audit: cannot read the spool in {}; retrying", spool.dir(), e);
            pause(RETRY_NANOS);
            return;
        }
        if (!chunk.events.isEmpty() && !write(chunk.events)) {
            spool.rewind();
            return;
        }
        try {
            spool.commit(chunk);
            replayed.addAndGet(chunk.events.size());
            if (spool.bytes() < spool.maxBytes()) {
                spoolFull = false;
            }
            if (spool.isEmpty()) {
                logger.info("audit: spool replayed");
            }
        } catch (IOException e) {
            // Its events are in the table; replaying them again is harmless.
            logger.warn("audit: cannot delete a replayed spool segment in {}: {}", spool.dir(), e.toString());
        }
    }

    /** Writes {@code events}; false, with the database marked down, when that failed. */
    private boolean write(List<AuditEvent> events) {
        if (abandonDatabase) {
            return false;
        }
        try (Connection c = connection()) {
            ensurePartitions(c, events);
            EventTable.insert(c, events);
            written.addAndGet(events.size());
            return true;
        } catch (SQLException e) {
            if (isDataError(e)) {
                return writeOneByOne(events, e);
            }
            if ("23514".equals(e.getSQLState())) {
                // No partition for a row: one was dropped behind our back. Look again next time.
                knownPartitions.clear();
            }
            markDown(e);
            return false;
        } finally {
            inUse = null;
        }
    }

    /**
     * A batch the database refused for its content rather than a failure to reach it: written
     * row by row, and the rows it refuses are dropped and logged with their ids, so that one bad
     * event cannot hold up the log.
     */
    private boolean writeOneByOne(List<AuditEvent> events, SQLException cause) {
        logger.warn("audit: the database refused a batch ({}); writing it event by event", describe(cause));
        for (AuditEvent e : events) {
            try (Connection c = connection()) {
                EventTable.insert(c, List.of(e));
                written.incrementAndGet();
            } catch (SQLException x) {
                if (!isDataError(x)) {
                    markDown(x);
                    return false;
                }
                logger.error("audit: the database refused event {}: {}", e, describe(x));
                drops.add(1, "the database refused event " + e.eventId());
            } finally {
                inUse = null;
            }
        }
        return true;
    }

    private void ensurePartitions(Connection c, List<AuditEvent> events) throws SQLException {
        YearMonth last = null;
        for (AuditEvent e : events) {
            final YearMonth month = YearMonth.from(e.endTime().atOffset(ZoneOffset.UTC));
            if (month.equals(last)) {
                continue;
            }
            last = month;
            if (!knownPartitions.contains(month)) {
                if (Schema.ensurePartition(c, month)) {
                    logger.info("audit: created partition for {} (an event ended then)", month);
                }
                knownPartitions.add(month);
            }
        }
    }

    private void toSpool() {
        try {
            final int appended = spool.append(pending);
            spooled.addAndGet(appended);
            pending.subList(0, appended).clear();
        } catch (IOException e) {
            logger.error("audit: cannot write to the spool in {} (audit.spool_dir): {}", spool.dir(), e.toString());
        }
        pendingCount = pending.size();
        if (pending.isEmpty()) {
            spoolFull = false;
            return;
        }
        spoolFull = true;
        // With the database up the spool is being replayed and frees space soon: hold the batch.
        if (!dbUp && config.onUnavailable() == AuditConfig.OnUnavailable.FAIL_OPEN) {
            drops.add(pending.size(), "the database is unavailable and the spool is full ("
                    + spool.bytes() + " of audit.spool_max_bytes " + spool.maxBytes() + ")");
            clearPending();
        }
    }

    /** On stop: writes the queue to the database until the deadline, then spools the rest. */
    private void finish() {
        try {
            while (dataSource != null && dbUp && !abandonDatabase && spool.isEmpty()
                    && System.nanoTime() - stopDeadlineNanos < 0) {
                if (pending.isEmpty()) {
                    queue.drainTo(pending, config.batchSize());
                    if (pending.isEmpty()) {
                        break;
                    }
                }
                if (!write(pending)) {
                    break;
                }
                clearPending();
            }
            queue.drainTo(pending);
            if (!pending.isEmpty()) {
                final long spooledBefore = spooled.get();
                toSpoolAtExit();
                logger.info("audit: {} event(s) spooled at shutdown, to be written at the next start",
                        spooled.get() - spooledBefore);
            }
        } finally {
            drops.logIfDue();
            if (probe != null) {
                probe.close();
            }
            try {
                spool.close();
            } catch (IOException e) {
                logger.error("audit: closing the spool in {} failed", spool.dir(), e);
            }
        }
    }

    private void toSpoolAtExit() {
        try {
            final int appended = spool.append(pending);
            spooled.addAndGet(appended);
            pending.subList(0, appended).clear();
        } catch (IOException e) {
            logger.error("audit: cannot write to the spool in {} (audit.spool_dir): {}", spool.dir(), e.toString());
        }
        if (!pending.isEmpty()) {
            drops.add(pending.size(), "shutting down with the database unavailable and the spool full or "
                    + "failing (audit.spool_max_bytes " + spool.maxBytes() + ")");
            clearPending();
        }
    }

    private void clearPending() {
        pending.clear();
        pendingCount = 0;
    }

    private Connection connection() throws SQLException {
        final Connection c = dataSource.getConnection();
        inUse = c;
        if (abandonDatabase) {
            c.abort(Runnable::run);
        }
        return c;
    }

    /** The database failed: spool from now on, and let the probe find out when it is back. */
    private void markDown(Exception e) {
        if (dbUp || downSinceNanos == 0) {
            downSinceNanos = System.nanoTime();
            logger.warn("audit: database unavailable ({}); events go to the spool in {} until it is back",
                    describe(e), spool.dir());
        } else {
            logger.debug("audit: database still unavailable: {}", describe(e));
        }
        dbUp = false;
        reachable = false;
        probe.start();
    }

    private void pause(long nanos) {
        if (nanos > 0 && !stopping) {
            // Backoff, not synchronisation: stop() and abandonDatabase() unpark.
            LockSupport.parkNanos(this, Math.min(nanos, RETRY_NANOS));
        }
    }

    private void wake() {
        final Thread t = thread;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    /** Class 22 (data exception) and 23 (integrity) but for a missing partition: the rows, not the database. */
    private static boolean isDataError(SQLException e) {
        final String state = e.getSQLState();
        return state != null && (state.startsWith("22") || (state.startsWith("23") && !state.equals("23514")));
    }

    /**
     * One readable line for the log: the first line of the innermost SQLException's message (the
     * driver's own words, under the pool's and Flyway's wrappers) and its SQL state.
     */
    static String describe(Throwable e) {
        String state = null;
        Throwable chosen = e;
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql) {
                chosen = t;
                if (sql.getSQLState() != null) {
                    state = sql.getSQLState();
                }
            }
        }
        String message = chosen.getMessage() == null ? chosen.getClass().getSimpleName() : chosen.getMessage();
        final int newline = message.indexOf('\n');
        if (newline >= 0) {
            message = message.substring(0, newline);
        }
        return state == null ? message : message + " [" + state + "]";
    }
}
