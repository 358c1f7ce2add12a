package io.cy.coordinator.sidecar;

import java.util.function.LongSupplier;

/**
 * A backend's retry budget, after Envoy's: retries stay at or below {@code percent} of the calls
 * the backend got over the last {@value #WINDOW_SECONDS} seconds, so that a failing fleet is not
 * hit twice by every call. A quiet backend may still retry: up to {@value #MIN_RETRIES} retries per
 * window are always allowed (Envoy's minimum retry concurrency plays this part), unless the
 * percent is 0, which turns retries off.
 *
 * <p>Bounded: one counter pair per second of the window, overwritten as the window moves; the
 * window is the current second and the nine before it.
 */
public final class RetryBudget {

    public static final int WINDOW_SECONDS = 10;
    public static final int MIN_RETRIES = 3;

    private final int percent;
    private final LongSupplier nanoTime;
    // Guarded by this; slot i holds second seconds[i].
    private final long[] seconds = new long[WINDOW_SECONDS];
    private final int[] calls = new int[WINDOW_SECONDS];
    private final int[] retries = new int[WINDOW_SECONDS];

    public RetryBudget(int percent) {
        this(percent, System::nanoTime);
    }

    RetryBudget(int percent, LongSupplier nanoTime) {
        if (percent < 0 || percent > 100) {
            throw new IllegalArgumentException("retry_budget_percent: " + percent + " (expected: in [0, 100])");
        }
        this.percent = percent;
        this.nanoTime = nanoTime;
        java.util.Arrays.fill(seconds, Long.MIN_VALUE);
    }

    /** Counts a call's first attempt. */
    public synchronized void recordCall() {
        calls[slot(currentSecond())]++;
    }

    /** Takes one retry from the budget; false when none is left, and then nothing is taken. */
    public synchronized boolean tryRetry() {
        if (percent == 0) {
            return false;
        }
        final long second = currentSecond();
        final int current = slot(second);
        long windowCalls = 0;
        long windowRetries = 0;
        for (int i = 0; i < WINDOW_SECONDS; i++) {
            if (second - seconds[i] < WINDOW_SECONDS) {
                windowCalls += calls[i];
                windowRetries += retries[i];
            }
        }
        if (windowRetries >= Math.max(MIN_RETRIES, windowCalls * percent / 100)) {
            return false;
        }
        retries[current]++;
        return true;
    }

    private long currentSecond() {
        return Math.floorDiv(nanoTime.getAsLong(), 1_000_000_000L);
    }

    /** The slot of {@code second}, emptied first when it still holds an older second. */
    private int slot(long second) {
        final int i = (int) Math.floorMod(second, (long) WINDOW_SECONDS);
        if (seconds[i] != second) {
            seconds[i] = second;
            calls[i] = 0;
            retries[i] = 0;
        }
        return i;
    }
}
