package io.cy.audit;

import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The thread that moves events from the {@link Spool} into PostgreSQL, in the order they were
 * appended: gather the chunks the spool holds, write them ({@link EventTable#insert}: one COPY),
 * commit them in the spool. A crash between the write and the commit writes the chunks again at
 * the next start: their COPY then meets the events already in the table, and the insert that
 * replaces it, {@code ON CONFLICT (event_id, end_time) DO NOTHING}, keeps each event once. Chunks
 * whose write failed may or may not have been committed by the database; they are read again all
 * the same.
 *
 * <p>One write starts at most every {@code audit.db_batch_interval}, unless {@code
 * audit.db_batch_size} events are waiting sooner; after a quiet spell the first goes at once. Why
 * not one write per batch appended: PostgreSQL's cost per row of a binary COPY falls by about a
 * quarter from 1,000 rows per statement to 5,000 (it sets up a tuple slot for each of a
 * statement's first 1,000 rows, and allocates their memory afresh), and a write per batch is one
 * per {@code audit.batch_interval} at most, a fifth of a second by default. The events wait in the
 * spool meanwhile, already on disk: the interval delays when rows can be queried, not whether
 * they are kept. Nor does it hold up a filling spool: a write never goes past the end of a
 * segment, so one starts as soon as the oldest segment is sealed, and a segment is at most an
 * eighth of {@code audit.spool_max_bytes}.
 *
 * <p>Up and down: at start, and whenever the {@link DatabaseProbe} has reached a database that
 * was down, the schema is migrated (once per process) and partitions are maintained; the database
 * is up if both succeed. Any failure to reach it marks it down: the sink stops writing, and the
 * probe, on its own thread, finds out when it is back. Since events reach the spool without this
 * thread, an insert that hangs (up to {@code audit.write_timeout}) holds up nothing but the
 * database's own copy.
 *
 * <p>Partitions: monthly, by the events' {@code end_time}; maintenance (creating months ahead,
 * dropping those past {@code audit.retention_days}) runs once a day, and a month an event falls
 * into that has no partition yet gets one before its insert.
 */
final class DatabaseSink implements Runnable {

    private static final Logger logger = LoggerFactory.getLogger(DatabaseSink.class);
    private static final long RETRY_NANOS = TimeUnit.SECONDS.toNanos(1);
    /**
     * Spool bytes after which no more chunks join a write, whatever {@code audit.db_batch_size}
     * allows: events that carry whole prompts are large, and a write holds all of them in memory.
     * The chunk that crosses it still goes, so a write holds at most this and one batch.
     */
    static final long MAX_GATHERED_BYTES = 8L << 20;

    private final AuditConfig config;
    private final Spool spool;
    private final DataSource dataSource;
    private final Clock clock;
    private final DropCounter drops;
    private final DatabaseProbe probe;
    private final Runnable spaceFreed;

    private volatile boolean dbUp;
    /** Set by the probe: the database answers again. */
    private volatile boolean reachable;
    private volatile boolean stopping;
    private volatile long stopDeadlineNanos;
    private volatile boolean abandonDatabase;
    private volatile Connection inUse;
    private volatile Thread thread;

    private final AtomicLong written = new AtomicLong();

    // This thread only.
    private final EventTable table = new EventTable();
    private final Set<YearMonth> knownPartitions = new HashSet<>();
    private boolean migrated;
    private LocalDate maintainedOn;
    private long downSinceNanos;
    /** Failed attempts to bring the database up in a row, though the probe reached it (e.g. a failing migration). */
    private int failedTries;
    private long notBeforeNanos;
    /** The events of the chunks read for the next write, in order, and their bytes in the spool. */
    private final List<AuditEvent> gathered = new ArrayList<>();
    private long gatheredBytes;
    /** The last of those chunks, whose end the write commits; null when none is gathered. */
    private Spool.Chunk lastGathered;
    /** When the last write started; long enough ago at start that the first one goes at once. */
    private long lastWriteNanos;

    /** @param spaceFreed run when a spool segment was deleted */
    DatabaseSink(AuditConfig config, Spool spool, DataSource dataSource, Clock clock, DropCounter drops,
                 Runnable spaceFreed) {
        this.config = config;
        this.spool = spool;
        this.dataSource = dataSource;
        this.clock = clock;
        this.drops = drops;
        this.spaceFreed = spaceFreed;
        this.lastWriteNanos = System.nanoTime() - config.dbBatchInterval().toNanos();
        this.probe = new DatabaseProbe(dataSource, (int) Math.max(1, config.connectTimeout().toSeconds()), () -> {
            reachable = true;
            wake();
        });
    }

    boolean isUp() {
        return dbUp;
    }

    long written() {
        return written.get();
    }

    /** Asks the sink to write what the spool holds until {@code deadlineNanos}, then stop; the rest stays in the spool. */
    void stop(long deadlineNanos) {
        stopDeadlineNanos = deadlineNanos;
        stopping = true;
        wake();
    }

    /** Gives up on the database at once: the write in progress fails, and what is left stays in the spool. */
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

    /** Wakes the sink: there is something new in the spool. */
    void wake() {
        final Thread t = thread;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    @Override
    public void run() {
        thread = Thread.currentThread();
        try {
            // From now on, the probe finds out when the database is back.
            tryDatabase();
            while (step()) {
                // Until stopped, and then until the spool is written or the deadline.
            }
        } catch (RuntimeException | Error e) {
            logger.error("audit: the database sink failed; events stay in the spool until the next start", e);
        } finally {
            probe.close();
            if (!spool.isEmpty()) {
                logger.info("audit: {} bytes of events left in the spool, to be written at the next start",
                        spool.bytes());
            }
        }
    }

    /** One step; false once stopped. */
    private boolean step() {
        if (stopping && (abandonDatabase || !dbUp || System.nanoTime() - stopDeadlineNanos >= 0)) {
            return false;
        }
        if (!dbUp) {
            if (reachable && System.nanoTime() - notBeforeNanos >= 0) {
                reachable = false;
                tryDatabase();
            } else {
                // Woken by the probe, or by stop().
                LockSupport.parkNanos(this, RETRY_NANOS);
            }
            return true;
        }
        maintainIfDue();
        if (!dbUp) {
            return true;
        }
        if (canGatherMore()) {
            final Spool.Chunk chunk;
            try {
                chunk = spool.read(config.batchSize());
            } catch (IOException e) {
                logger.error("audit: cannot read the spool in {}; retrying", spool.dir(), e);
                LockSupport.parkNanos(this, RETRY_NANOS);
                return true;
            }
            if (!chunk.isEmpty()) {
                gathered.addAll(chunk.events);
                gatheredBytes += chunk.end - chunk.start;
                lastGathered = chunk;
                return true;
            }
        }
        if (lastGathered == null) {
            if (stopping) {
                return false;
            }
            // The batcher wakes this thread after each append; a wake-up before this park is not lost.
            LockSupport.parkNanos(this, RETRY_NANOS);
            return true;
        }
        final long now = System.nanoTime();
        final long wait = lastWriteNanos + config.dbBatchInterval().toNanos() - now;
        if (wait > 0 && !stopping && canGatherMore()) {
            // Woken by the next append, to gather it, or when the interval is up.
            LockSupport.parkNanos(this, wait);
            return true;
        }
        lastWriteNanos = now;
        final Spool.Chunk last = lastGathered;
        final boolean written = gathered.isEmpty() || write(gathered);
        gathered.clear();
        gatheredBytes = 0;
        lastGathered = null;
        if (!written) {
            spool.rewind();
            return true;
        }
        try {
            // The chunks gathered follow one another in one segment: committing the last commits them all.
            spool.commit(last);
            if (last.endOfSegment) {
                spaceFreed.run();
            }
        } catch (IOException e) {
            // Its events are in the table; writing them again at the next start is harmless.
            logger.warn("audit: cannot delete a written spool segment in {}: {}", spool.dir(), e.toString());
        }
        return true;
    }

    /**
     * Whether another chunk may join the write being gathered: it fits under {@code
     * audit.db_batch_size} and {@link #MAX_GATHERED_BYTES}, and the last one did not end its
     * segment (a commit covers one segment).
     */
    private boolean canGatherMore() {
        return lastGathered == null || (!lastGathered.endOfSegment
                && gathered.size() + config.batchSize() <= config.dbBatchSize() && gatheredBytes < MAX_GATHERED_BYTES);
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
            logger.info("audit: database reachable again after {} ms; {} bytes of spool to write",
                    (System.nanoTime() - downSinceNanos) / 1_000_000L, spool.bytes());
        } else {
            logger.info("audit: writing to {}{}", config.dbUrl().redacted(),
                    spool.isEmpty() ? "" : "; " + spool.bytes() + " bytes of spool to write first");
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

    /** Writes {@code events}; false, with the database marked down, when that failed. */
    private boolean write(List<AuditEvent> events) {
        if (abandonDatabase) {
            return false;
        }
        try (Connection c = connection()) {
            ensurePartitions(c, events);
            table.insert(c, events);
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
                table.insert(c, List.of(e));
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
        // The month of the event before, as instants: most batches fall in one month, and
        // working out each event's month was a sixth of this thread's time.
        Instant monthStart = Instant.MAX;
        Instant monthEnd = Instant.MIN;
        for (AuditEvent e : events) {
            final Instant end = e.endTime();
            if (!end.isBefore(monthStart) && end.isBefore(monthEnd)) {
                continue;
            }
            final YearMonth month = YearMonth.from(end.atOffset(ZoneOffset.UTC));
            monthStart = month.atDay(1).atStartOfDay(ZoneOffset.UTC).toInstant();
            monthEnd = month.plusMonths(1).atDay(1).atStartOfDay(ZoneOffset.UTC).toInstant();
            if (!knownPartitions.contains(month)) {
                if (Schema.ensurePartition(c, month)) {
                    logger.info("audit: created partition for {} (an event ended then)", month);
                }
                knownPartitions.add(month);
            }
        }
    }

    private Connection connection() throws SQLException {
        final Connection c = dataSource.getConnection();
        inUse = c;
        if (abandonDatabase) {
            c.abort(Runnable::run);
        }
        return c;
    }

    /** The database failed: stop writing, and let the probe find out when it is back. */
    private void markDown(Exception e) {
        if (dbUp || downSinceNanos == 0) {
            downSinceNanos = System.nanoTime();
            logger.warn("audit: database unavailable ({}); events wait in the spool in {} until it is back",
                    describe(e), spool.dir());
        } else {
            logger.debug("audit: database still unavailable: {}", describe(e));
        }
        dbUp = false;
        reachable = false;
        probe.start();
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
