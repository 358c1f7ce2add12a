package io.cy.coordinator.sidecar;

import java.util.Arrays;

/** The most recent waits in a queue, a fixed number of them, for their median. */
final class WaitReservoir {

    private final long[] millis;
    private int next;
    private int count;

    WaitReservoir(int capacity) {
        this.millis = new long[capacity];
    }

    synchronized void record(long waitedMillis) {
        millis[next] = waitedMillis;
        next = (next + 1) % millis.length;
        count = Math.min(count + 1, millis.length);
    }

    /** The median of the recent waits; 0 before any. */
    synchronized long p50() {
        if (count == 0) {
            return 0;
        }
        final long[] sorted = Arrays.copyOf(millis, count);
        Arrays.sort(sorted);
        return sorted[(count - 1) / 2];
    }
}
