package io.cy.bench.load;

import org.HdrHistogram.Histogram;

/** The percentiles the reports show, in nanoseconds, taken from one histogram of nanoseconds. */
public record LatencySummary(long count, long p50, long p90, long p99, long max) {

    public static final LatencySummary EMPTY = new LatencySummary(0, 0, 0, 0, 0);

    public static LatencySummary of(Histogram histogram) {
        if (histogram.getTotalCount() == 0) {
            return EMPTY;
        }
        return new LatencySummary(
                histogram.getTotalCount(),
                histogram.getValueAtPercentile(50),
                histogram.getValueAtPercentile(90),
                histogram.getValueAtPercentile(99),
                histogram.getMaxValue());
    }
}
