package io.cy.bench.compare;

import io.cy.bench.load.LoadResult;

/**
 * The open-streams memory run: how many streams were open at once end to end, and the
 * coordinator's memory before and while they were.
 *
 * @param opened the most streams the sidecar had open at once while the coordinator held them
 * @param secondsToOpen from the first call until {@code opened} was reached
 */
record MemoryResult(
        Scenario scenario,
        String coordinator,
        int opened,
        double secondsToOpen,
        JvmMemory.Reading before,
        JvmMemory.Reading during,
        LoadResult load) {

    int streams() {
        return scenario.concurrency();
    }

    /** Heap bytes per open stream; NaN if unknown. */
    double heapPerStream() {
        return perStream(before.heapUsedBytes(), during.heapUsedBytes());
    }

    double rssPerStream() {
        return perStream(before.rssBytes(), during.rssBytes());
    }

    private double perStream(long beforeBytes, long duringBytes) {
        if (beforeBytes < 0 || duringBytes < 0 || opened == 0) {
            return Double.NaN;
        }
        return (double) (duringBytes - beforeBytes) / opened;
    }
}
