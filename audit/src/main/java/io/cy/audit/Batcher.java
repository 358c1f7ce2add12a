package io.cy.audit;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The thread that takes events from the queue in batches and appends each batch to the
 * {@link Spool}, forced to disk, in the order they were recorded. It never touches the database:
 * whatever the database does (refusing connections, hanging, dropping them in the middle of a
 * batch), an event is on disk at most {@code audit.batch_interval} plus one append after it was
 * queued, which {@link AuditConfig} keeps within {@code audit.max_unwritten}.
 *
 * <p>A batch is {@code audit.batch_size} events or what came within {@code audit.batch_interval}
 * of its first one, whichever comes first. While a batch fills, this thread sleeps and the
 * producer whose event completes it wakes it ({@link #eventQueued}): one wake-up per batch.
 * Waiting on the queue for each next event would have every call's enqueue wake this thread (a
 * futex wake-up and a context switch per event, more than the event's own cost), and looking at
 * the queue on a short tick costs a wake-up per tick even when few events come.
 *
 * <p>When a batch does not fit under {@code audit.spool_max_bytes}: while the database is up, the
 * sink is freeing space and the batch is held until it has; with the database down,
 * {@code fail_open} drops it and counts it, and {@code fail_closed} holds it, the queue fills, and
 * {@link PostgresAuditLog#isAccepting()} turns false.
 */
final class Batcher implements Runnable {

    private static final Logger logger = LoggerFactory.getLogger(Batcher.class);
    private static final long RETRY_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final AuditConfig config;
    private final BlockingQueue<AuditEvent> queue;
    private final Spool spool;
    private final DropCounter drops;
    private final BooleanSupplier databaseUp;
    private final Runnable appended;

    private volatile boolean spoolFull;
    private volatile int pendingCount;
    private volatile boolean stopping;
    private volatile Thread thread;
    /** While a batch fills, the number of events the queue must hold to complete it; 0 otherwise. */
    private final AtomicInteger wantedForBatch = new AtomicInteger();
    private final AtomicLong spooled = new AtomicLong();

    // This thread only.
    private final List<AuditEvent> pending;

    /**
     * @param databaseUp whether the database sink is writing (decides between holding and dropping
     *     a batch that does not fit)
     * @param appended run after every append, to wake the database sink
     */
    Batcher(AuditConfig config, BlockingQueue<AuditEvent> queue, Spool spool, DropCounter drops,
            BooleanSupplier databaseUp, Runnable appended) {
        this.config = config;
        this.queue = queue;
        this.spool = spool;
        this.drops = drops;
        this.databaseUp = databaseUp;
        this.appended = appended;
        this.pending = new ArrayList<>(config.batchSize());
    }

    /**
     * Called by a producer after it queued an event: wakes this thread if the queue now completes
     * the batch it is filling. A volatile read when no batch is filling; then a look at the queue's
     * size, and one wake-up per batch.
     */
    void eventQueued() {
        final int wanted = wantedForBatch.get();
        if (wanted > 0 && queue.size() >= wanted && wantedForBatch.compareAndSet(wanted, 0)) {
            wake();
        }
    }

    /** The sink deleted a segment: a held batch may fit now. */
    void spaceFreed() {
        if (spoolFull) {
            wake();
        }
    }

    /** The spool could not take the last batch, and has not taken one since. */
    boolean isSpoolFull() {
        return spoolFull;
    }

    /** Events taken from the queue and not yet on disk. */
    int pendingCount() {
        return pendingCount;
    }

    /** Events appended to the spool since start. */
    long spooled() {
        return spooled.get();
    }

    /** Asks the thread to put what the queue holds on disk and stop. */
    void stop() {
        stopping = true;
        wake();
    }

    @Override
    public void run() {
        thread = Thread.currentThread();
        try {
            while (!stopping) {
                step();
            }
        } catch (RuntimeException | Error e) {
            logger.error("audit: the batcher failed; spooling what it holds and stopping", e);
        } finally {
            finish();
        }
    }

    private void step() {
        drops.logIfDue();
        if (pending.isEmpty()) {
            takeBatch();
        }
        if (pending.isEmpty()) {
            return;
        }
        toSpool();
        if (!pending.isEmpty()) {
            // Held: the sink's next deleted segment (spaceFreed), the database coming back, or stop() wakes this thread.
            pause(RETRY_NANOS);
        }
    }

    /** Takes up to a batch from the queue, waiting for the first event and then for the batch to fill. */
    private void takeBatch() {
        final long waitNanos = config.batchInterval().toNanos();
        try {
            final AuditEvent first = queue.poll(waitNanos, TimeUnit.NANOSECONDS);
            if (first == null) {
                return;
            }
            pending.add(first);
            pendingCount = pending.size();
            final long deadline = System.nanoTime() + waitNanos;
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
            // Nothing here interrupts this thread; stop() is seen through its flag.
            logger.debug("audit: batcher interrupted; going on");
        } finally {
            pendingCount = pending.size();
        }
    }

    /** Appends what fits of the pending batch; drops the rest with fail_open and the database down. */
    private void toSpool() {
        append();
        if (pending.isEmpty()) {
            spoolFull = false;
            return;
        }
        spoolFull = true;
        // With the database up the sink is freeing space soon: hold the batch.
        if (!databaseUp.getAsBoolean() && config.onUnavailable() == AuditConfig.OnUnavailable.FAIL_OPEN) {
            drops.add(pending.size(), "the database is unavailable and the spool is full ("
                    + spool.bytes() + " of audit.spool_max_bytes " + spool.maxBytes() + ")");
            clearPending();
        }
    }

    private void append() {
        try {
            final int appendedCount = spool.append(pending);
            if (appendedCount > 0) {
                spooled.addAndGet(appendedCount);
                pending.subList(0, appendedCount).clear();
                appended.run();
            }
        } catch (IOException e) {
            logger.error("audit: cannot write to the spool in {} (audit.spool_dir): {}", spool.dir(), e.toString());
        }
        pendingCount = pending.size();
    }

    /** On stop: everything queued goes to the spool; what does not fit is dropped and counted. */
    private void finish() {
        try {
            queue.drainTo(pending);
            if (!pending.isEmpty()) {
                append();
            }
            if (!pending.isEmpty()) {
                drops.add(pending.size(), "shutting down with the spool full or failing (audit.spool_max_bytes "
                        + spool.maxBytes() + ")");
                clearPending();
            }
        } finally {
            drops.logIfDue();
        }
    }

    private void clearPending() {
        pending.clear();
        pendingCount = 0;
    }

    private void pause(long nanos) {
        if (!stopping) {
            // Backoff, not synchronisation: spaceFreed() and stop() unpark.
            LockSupport.parkNanos(this, nanos);
        }
    }

    void wake() {
        final Thread t = thread;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }
}
