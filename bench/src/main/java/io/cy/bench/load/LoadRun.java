package io.cy.bench.load;

import static java.util.concurrent.TimeUnit.NANOSECONDS;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Recorder;

/**
 * One load run in progress: starts calls as the plan says, and counts and times their ends.
 * The protocol (gRPC, or HTTP with server-sent events) is the {@link CallFactory}'s business; the
 * pacing and the accounting here are the same for both, so their figures compare.
 *
 * <p>Closed loop: {@code concurrency} workers, each starting its next call from the end of the
 * previous one, on whatever thread delivered that end (the connections run callbacks on their
 * event loops, so there is no hand-off per call). Open loop: one pacer thread starts calls on a
 * fixed schedule and measures each from its scheduled time, so a target that makes calls wait
 * is charged for the wait instead of quietly lowering the offered load (coordinated omission).
 *
 * <p>The run is over when every "holder" has let go: each closed-loop worker once it may start
 * no more calls, the open-loop pacer once it has issued its calls, and each open-loop call.
 */
final class LoadRun {

    static final String BAD_STREAM = "bad_stream";
    static final String UNFINISHED = "unfinished";

    static final String UNFINISHED_DESCRIPTION = UNFINISHED + ": still open after the drain timeout";

    private static final long CANCEL_GRACE_NANOS = TimeUnit.SECONDS.toNanos(10);
    /** An open-loop call starting later than this after it was due counts as a late start. */
    static final long LATE_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    private final LoadPlan plan;
    private final CallFactory calls;

    /**
     * Four significant digits: about 3 us of resolution at 50 ms. The targets compare times to
     * first chunk of about 50 ms (paced scenarios) within 0.2 ms of each other; with three digits
     * every value was rounded to a step of 33 us there, a sixth of the margin being judged.
     */
    static final int SIGNIFICANT_DIGITS = 4;

    // Recorders take values from many threads without locks; values are nanoseconds.
    private final Recorder ttfc = new Recorder(SIGNIFICANT_DIGITS);
    private final Recorder gaps = new Recorder(SIGNIFICANT_DIGITS);
    private final Recorder callTimes = new Recorder(SIGNIFICANT_DIGITS);
    private final LongAdder started = new LongAdder();
    private final LongAdder succeeded = new LongAdder();
    private final LongAdder chunks = new LongAdder();
    private final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
    private final AtomicReference<String> firstError = new AtomicReference<>();
    private final Set<LoadCall> open = ConcurrentHashMap.newKeySet();
    private final AtomicLong budget;
    private final AtomicInteger holders = new AtomicInteger();
    private final CountDownLatch done = new CountDownLatch(1);
    private final AtomicLong lastEndNanos = new AtomicLong();
    private final long durationNanos;
    private volatile boolean stopping;
    private long startNanos;
    private volatile long lateStarts;

    LoadRun(LoadPlan plan, CallFactory calls) {
        this.plan = plan;
        this.calls = calls;
        this.budget = new AtomicLong(plan.calls());
        this.durationNanos = plan.duration().toNanos();
    }

    /** Runs the plan to its end and returns what was measured. */
    LoadResult run() throws InterruptedException {
        startNanos = System.nanoTime();
        lastEndNanos.set(startNanos);
        Thread pacer = null;
        if (plan.openLoop()) {
            holders.set(1);
            pacer = new Thread(this::pace, "cy-load-pacer");
            pacer.setDaemon(true);
            pacer.start();
        } else {
            final int workers = (int) Math.min(plan.concurrency(), plan.calls());
            holders.set(workers);
            for (int w = 0; w < workers; w++) {
                new Worker(w).next();
            }
        }
        final long drainEnd = startNanos + durationNanos + plan.drainTimeout().toNanos();
        if (!done.await(Math.max(0, drainEnd - System.nanoTime()), NANOSECONDS)) {
            stopping = true;
            for (LoadCall call : open) {
                call.cancelByRun();
            }
            if (!done.await(CANCEL_GRACE_NANOS, NANOSECONDS)) {
                throw new IllegalStateException(open.size() + " calls did not end within 10 s of being cancelled");
            }
        }
        if (pacer != null) {
            pacer.join();
        }
        final Map<String, Long> errorCounts = new TreeMap<>();
        errors.forEach((status, count) -> errorCounts.put(status, count.sum()));
        return new LoadResult(started.sum(), succeeded.sum(), new TreeMap<>(errorCounts), chunks.sum(),
                lastEndNanos.get() - startNanos, ttfc.getIntervalHistogram(), gaps.getIntervalHistogram(),
                callTimes.getIntervalHistogram(), lateStarts, firstError.get());
    }

    /**
     * Times a call's chunk that arrived at {@code nowNanos}: the first against the call's start
     * (time to first chunk), the others against the chunk before (gap).
     *
     * @param chunk which chunk of the call this is, from 1
     */
    void chunk(int chunk, long startNanos, long previousChunkNanos, long nowNanos) {
        chunks.increment();
        if (chunk == 1) {
            ttfc.recordValue(nowNanos - startNanos);
        } else {
            gaps.recordValue(nowNanos - previousChunkNanos);
        }
    }

    /** Counts a call that ended well: OK, and its stream broke no rule. */
    void succeeded(LoadCall call, long endNanos) {
        open.remove(call);
        lastEndNanos.accumulateAndGet(endNanos, Math::max);
        succeeded.increment();
        callTimes.recordValue(endNanos - call.startNanos());
    }

    /**
     * Counts a call that failed.
     *
     * @param kind what the errors are counted by: a status, {@value #BAD_STREAM}, {@value #UNFINISHED}
     * @param description the kind and what went wrong, kept if it is the run's first error
     */
    void failed(LoadCall call, String kind, String description, long endNanos) {
        open.remove(call);
        lastEndNanos.accumulateAndGet(endNanos, Math::max);
        errors.computeIfAbsent(kind, k -> new LongAdder()).increment();
        firstError.compareAndSet(null, description);
    }

    /** Starts one call; {@code onEnd} runs once the call's end has been counted. */
    private void startCall(long slot, long callStartNanos, Runnable onEnd) {
        started.increment();
        final LoadCall call = calls.newCall(this, slot, callStartNanos, onEnd);
        // Added before it starts: a call can end within start() (an unreachable target).
        open.add(call);
        call.start();
    }

    private boolean claim() {
        if (stopping || System.nanoTime() - startNanos >= durationNanos) {
            return false;
        }
        return budget.getAndDecrement() > 0;
    }

    private void release() {
        if (holders.decrementAndGet() == 0) {
            done.countDown();
        }
    }

    /** The open loop: call i is due at start + i / rate, whether or not earlier calls have ended. */
    private void pace() {
        final Semaphore outstanding = new Semaphore(plan.concurrency());
        final double periodNanos = 1e9 / plan.rate();
        final Runnable onEnd = () -> {
            outstanding.release();
            release();
        };
        try {
            for (long i = 0; i < plan.calls() && !stopping; i++) {
                final long due = startNanos + (long) (i * periodNanos);
                if (due - startNanos >= durationNanos) {
                    break;
                }
                parkUntil(due);
                if (!outstanding.tryAcquire()) {
                    final long left = startNanos + durationNanos - System.nanoTime();
                    if (left <= 0 || !outstanding.tryAcquire(left, NANOSECONDS)) {
                        break;
                    }
                }
                if (System.nanoTime() - due > LATE_NANOS) {
                    lateStarts++;
                }
                holders.incrementAndGet();
                startCall(i, due, onEnd);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            release();
        }
    }

    private static void parkUntil(long nanoTime) {
        long left;
        while ((left = nanoTime - System.nanoTime()) > 0) {
            LockSupport.parkNanos(left);
        }
    }

    /** A closed-loop worker: one call at a time, the next started as soon as the previous ends. */
    private final class Worker {

        private static final int IDLE = 0;
        private static final int STARTING = 1;
        private static final int ENDED_WHILE_STARTING = 2;

        private final int slot;
        // A call can fail inside start() (an unreachable target), on this very thread: the
        // starting loop then goes on instead of recursing once per failed call.
        private final AtomicInteger state = new AtomicInteger(IDLE);

        Worker(int slot) {
            this.slot = slot;
        }

        void next() {
            while (true) {
                if (!claim()) {
                    release();
                    return;
                }
                state.set(STARTING);
                startCall(slot, System.nanoTime(), this::ended);
                if (state.compareAndSet(STARTING, IDLE)) {
                    return;
                }
                state.set(IDLE);
            }
        }

        private void ended() {
            if (!state.compareAndSet(STARTING, ENDED_WHILE_STARTING)) {
                next();
            }
        }
    }
}
