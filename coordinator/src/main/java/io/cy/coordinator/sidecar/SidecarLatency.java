package io.cy.coordinator.sidecar;

/**
 * Exponentially weighted moving averages of a sidecar's time to first token and time per output
 * token, fed by every call that got an answer and read by latency-aware routing. Written and read
 * without a lock: a lost update among racing calls only delays the average by one sample.
 */
public final class SidecarLatency {

    // The weight of a new sample: about the last 10 calls dominate.
    private static final double ALPHA = 0.1;

    // Nanoseconds; NaN until the first sample.
    private volatile double firstTokenNanos = Double.NaN;
    private volatile double perTokenNanos = Double.NaN;

    /**
     * Records one call: {@code firstTokenNanos} from the sidecar call's start to its first message,
     * and, when it streamed more than one token, the mean time between the first and the last.
     */
    public void record(long firstTokenNanos, long tokens, long streamNanos) {
        if (firstTokenNanos < 0) {
            return;
        }
        this.firstTokenNanos = blend(this.firstTokenNanos, firstTokenNanos);
        if (tokens > 1 && streamNanos >= 0) {
            this.perTokenNanos = blend(this.perTokenNanos, (double) streamNanos / (tokens - 1));
        }
    }

    /** The average time to first token in nanoseconds, or NaN before any call. */
    public double firstTokenNanos() {
        return firstTokenNanos;
    }

    /** The average time per output token in nanoseconds, or NaN before a call of two tokens. */
    public double perTokenNanos() {
        return perTokenNanos;
    }

    private static double blend(double average, double sample) {
        return Double.isNaN(average) ? sample : average + ALPHA * (sample - average);
    }
}
