package io.cy.sim;

import static java.util.Objects.requireNonNull;

import io.cy.llm.proto.StreamPredictRequest;
import io.grpc.Metadata;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;

/**
 * What a {@link SimulatedSidecar} has seen, for assertions and benchmarks. Thread-safe.
 *
 * <p>Every StreamPredict call counts once in {@link #callsStarted()} and, when it ends, exactly
 * once in one of succeeded, failed (any error status, including rejected requests) or cancelled.
 * The counters of an ended call are updated before its status is sent, so a client that has seen
 * the status also sees the counters.
 */
public final class SimStats {

    private final LongAdder callsStarted = new LongAdder();
    private final LongAdder callsSucceeded = new LongAdder();
    private final LongAdder callsFailed = new LongAdder();
    private final LongAdder callsCancelled = new LongAdder();
    private final LongAdder chunksSent = new LongAdder();
    private final LongAdder pushbacks = new LongAdder();
    private final AtomicInteger inflight = new AtomicInteger();
    private final AtomicInteger maxInflight = new AtomicInteger();
    private volatile StreamPredictRequest lastRequest;
    private volatile Metadata lastHeaders;
    // Keyed by bare method name; the interceptor that fills it sees only the service's few methods.
    private final Map<String, Metadata> lastHeadersByMethod = new ConcurrentHashMap<>();

    // Waiters park on this monitor; producers only touch it while someone waits, so counting a
    // chunk costs one volatile read when nobody is watching.
    private final Object changed = new Object();
    private volatile int waiters;

    public long callsStarted() {
        return callsStarted.sum();
    }

    public long callsSucceeded() {
        return callsSucceeded.sum();
    }

    public long callsFailed() {
        return callsFailed.sum();
    }

    public long callsCancelled() {
        return callsCancelled.sum();
    }

    public long chunksSent() {
        return chunksSent.sum();
    }

    /** How often a producer found its call not ready and had to wait for onReady. */
    public long pushbacks() {
        return pushbacks.sum();
    }

    public int inflight() {
        return inflight.get();
    }

    public int maxInflight() {
        return maxInflight.get();
    }

    /** The first request message of the most recent StreamPredict call that sent one; null if none. */
    public StreamPredictRequest lastRequest() {
        return lastRequest;
    }

    /** The request headers of the most recent call of any method; null if none. */
    public Metadata lastHeaders() {
        return lastHeaders;
    }

    /**
     * The request headers of the most recent call of one method ({@code "StreamPredict"},
     * {@code "Control"}, {@code "Health"}); null if none. Unlike {@link #lastHeaders()}, a health
     * probe arriving in between does not replace a StreamPredict call's headers.
     */
    public Metadata lastHeaders(String bareMethodName) {
        return lastHeadersByMethod.get(bareMethodName);
    }

    public boolean awaitCancelled(long n, Duration timeout) throws InterruptedException {
        return await(s -> s.callsCancelled() >= n, timeout);
    }

    public boolean awaitPushback(Duration timeout) throws InterruptedException {
        return await(s -> s.pushbacks() >= 1, timeout);
    }

    public boolean awaitCallsStarted(long n, Duration timeout) throws InterruptedException {
        return await(s -> s.callsStarted() >= n, timeout);
    }

    /** Waits until {@code inflight() == n}. */
    public boolean awaitInflight(int n, Duration timeout) throws InterruptedException {
        return await(s -> s.inflight() == n, timeout);
    }

    /**
     * Waits until the condition holds; it is re-evaluated whenever any counter changes.
     *
     * @return whether it held before the timeout
     */
    public boolean await(Predicate<SimStats> condition, Duration timeout) throws InterruptedException {
        requireNonNull(condition, "condition");
        requireNonNull(timeout, "timeout");
        final long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (changed) {
            waiters++;
            try {
                while (!condition.test(this)) {
                    final long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        return false;
                    }
                    TimeUnit.NANOSECONDS.timedWait(changed, left);
                }
                return true;
            } finally {
                waiters--;
            }
        }
    }

    /** Zeroes the counters and forgets the last request and headers; calls in flight stay counted there. */
    public void reset() {
        callsStarted.reset();
        callsSucceeded.reset();
        callsFailed.reset();
        callsCancelled.reset();
        chunksSent.reset();
        pushbacks.reset();
        maxInflight.set(inflight.get());
        lastRequest = null;
        lastHeaders = null;
        lastHeadersByMethod.clear();
        signal();
    }

    @Override
    public String toString() {
        return "SimStats{started=" + callsStarted()
                + ", succeeded=" + callsSucceeded()
                + ", failed=" + callsFailed()
                + ", cancelled=" + callsCancelled()
                + ", chunks=" + chunksSent()
                + ", pushbacks=" + pushbacks()
                + ", inflight=" + inflight()
                + ", maxInflight=" + maxInflight()
                + '}';
    }

    void callStarted() {
        final int now = inflight.incrementAndGet();
        maxInflight.accumulateAndGet(now, Math::max);
        callsStarted.increment();
        signal();
    }

    void callSucceeded() {
        inflight.decrementAndGet();
        callsSucceeded.increment();
        signal();
    }

    void callFailed() {
        inflight.decrementAndGet();
        callsFailed.increment();
        signal();
    }

    void callCancelled() {
        inflight.decrementAndGet();
        callsCancelled.increment();
        signal();
    }

    void chunkSent() {
        chunksSent.increment();
        signal();
    }

    void pushback() {
        pushbacks.increment();
        signal();
    }

    void request(StreamPredictRequest request) {
        lastRequest = request;
        signal();
    }

    void headers(String bareMethodName, Metadata headers) {
        lastHeadersByMethod.put(bareMethodName, headers);
        lastHeaders = headers;
    }

    private void signal() {
        // Pairs with the waiter's volatile write of waiters before it tests its condition: either
        // the waiter sees this change, or this sees the waiter and wakes it.
        if (waiters > 0) {
            synchronized (changed) {
                changed.notifyAll();
            }
        }
    }
}
