package io.cy.coordinator.sidecar;

import static java.util.Objects.requireNonNull;

import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The calls waiting for a backend's sidecars when every one is at its {@code max_inflight}. No
 * thread waits: a waiting call is an {@link Entry}, and whoever frees a slot (a call that ends on
 * one of the backend's sidecars) hands it to the next entry in the {@link FairQueue}'s order,
 * whose continuation then runs on the call's own executor. Bounded by {@code queue.max_length}
 * calls and {@code queue.max_wait} each.
 */
public final class BackendQueue {

    /** What a waiting call does with its turn. Called outside the queue's lock, except {@link #tryAcquire}. */
    public interface Waiter {
        /** A sidecar for this call, counted against it, or null while all are full; under the queue's lock. */
        Sidecar tryAcquire();

        /** The call's turn came and {@code sidecar} is counted against it; it releases it once. */
        void granted(Sidecar sidecar);

        /** The call waited {@code queue.max_wait} without a turn and has left the queue. */
        void expired(long waitedMillis);
    }

    /** A waiting call, to take it out when its client goes away. */
    public static final class Entry {
        private final String tenant;
        private final int priority;
        private final Waiter waiter;
        private final Executor executor;
        private final long enqueuedNanos = System.nanoTime();
        private ScheduledFuture<?> timeout;

        private Entry(String tenant, int priority, Waiter waiter, Executor executor) {
            this.tenant = tenant;
            this.priority = priority;
            this.waiter = waiter;
            this.executor = executor;
        }
    }

    private static final int RECENT_WAITS = 256;

    private final String backend;
    private final ScheduledExecutorService timer;
    private final WaitReservoir waits = new WaitReservoir(RECENT_WAITS);
    // Guarded by this.
    private final FairQueue<Entry> order = new FairQueue<>();
    /** Set while a queue's waiter acquires under that queue's lock, on the thread doing it. */
    private static final ThreadLocal<Boolean> DISPATCHING = ThreadLocal.withInitial(() -> Boolean.FALSE);

    // Written under this, read without a lock by the per-call check.
    private volatile int depth;
    private volatile CapacitySettings settings = CapacitySettings.DEFAULT;

    /**
     * @param timer runs the {@code max_wait} timeouts, and the continuations of calls that came on
     *     no event loop of their own
     */
    public BackendQueue(String backend, ScheduledExecutorService timer) {
        this.backend = requireNonNull(backend, "backend");
        this.timer = requireNonNull(timer, "timer");
    }

    public String backend() {
        return backend;
    }

    public CapacitySettings settings() {
        return settings;
    }

    void settings(CapacitySettings settings) {
        this.settings = requireNonNull(settings, "settings");
    }

    /** Calls waiting now; read without a lock. */
    public int depth() {
        return depth;
    }

    /** The median of the recent calls' waits, in milliseconds. */
    public long waitP50Millis() {
        return waits.p50();
    }

    /**
     * Queues a call, or returns null when {@code queue.max_length} calls already wait. The call's
     * turn may come at once (a slot freed meanwhile); {@code waiter} hears of it on
     * {@code executor} (null: on the timer's thread), never inside this method.
     */
    public Entry offer(String tenant, int priority, Waiter waiter, Executor executor) {
        final CapacitySettings current = settings;
        final Entry entry = new Entry(tenant, priority, waiter, executor == null ? timer : executor);
        synchronized (this) {
            if (depth >= current.maxLength()) {
                return null;
            }
            order.add(tenant, priority, entry);
            depth = order.size();
            entry.timeout = timer.schedule(() -> expire(entry), current.maxWait().toNanos(), TimeUnit.NANOSECONDS);
        }
        // A slot may have freed between the caller's failed acquire and the entry being queued.
        slotFreed();
        return entry;
    }

    /** Takes out a call that no longer waits (cancelled, deadline passed); false when its turn already came. */
    public boolean remove(Entry entry) {
        final boolean removed;
        synchronized (this) {
            removed = order.remove(entry.tenant, entry.priority, entry);
            depth = order.size();
        }
        if (removed) {
            entry.timeout.cancel(false);
        }
        return removed;
    }

    /** A slot on one of the backend's sidecars freed: the waiting calls take what they can. */
    void slotFreed() {
        if (depth == 0 || Thread.holdsLock(this)) {
            // Freed by a waiter's own acquire (a hinted sidecar given back): the loop below goes on.
            return;
        }
        if (DISPATCHING.get()) {
            // Freed while another backend's queue dispatches under its lock (a call whose route spans
            // backends gave a sidecar of this one back): taking this lock now could deadlock with a
            // thread doing the reverse, so this queue looks again on the timer's thread.
            try {
                timer.execute(this::slotFreed);
            } catch (java.util.concurrent.RejectedExecutionException shuttingDown) {
                // The pool is closing: nothing waits for a slot any more.
            }
            return;
        }
        for (;;) {
            final Entry entry;
            final Sidecar sidecar;
            synchronized (this) {
                entry = order.peek();
                if (entry == null) {
                    return;
                }
                DISPATCHING.set(Boolean.TRUE);
                try {
                    sidecar = entry.waiter.tryAcquire();
                } finally {
                    DISPATCHING.set(Boolean.FALSE);
                }
                if (sidecar == null) {
                    return;
                }
                order.poll();
                depth = order.size();
            }
            entry.timeout.cancel(false);
            waits.record(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - entry.enqueuedNanos));
            hand(entry, sidecar);
        }
    }

    private void hand(Entry entry, Sidecar sidecar) {
        try {
            entry.executor.execute(() -> entry.waiter.granted(sidecar));
        } catch (RuntimeException rejected) {
            // The call's event loop is shutting down: the slot must not be lost with it.
            sidecar.release();
        }
    }

    private void expire(Entry entry) {
        final boolean removed;
        synchronized (this) {
            removed = order.remove(entry.tenant, entry.priority, entry);
            depth = order.size();
        }
        if (!removed) {
            return;
        }
        final long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - entry.enqueuedNanos);
        waits.record(waited);
        try {
            entry.executor.execute(() -> entry.waiter.expired(waited));
        } catch (RuntimeException rejected) {
            entry.waiter.expired(waited);
        }
    }
}
