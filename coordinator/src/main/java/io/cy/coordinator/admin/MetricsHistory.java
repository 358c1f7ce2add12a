package io.cy.coordinator.admin;

import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * The overview's last 15 minutes: one {@link Sample} per {@link MetricsSampler} tick (5 s), at
 * most {@value #CAPACITY}, each the rates and percentiles of the interval before it, computed from
 * the differences of the call metrics' counters and histogram buckets between two ticks.
 */
public final class MetricsHistory {

    static final int CAPACITY = 180;
    /** The metrics a sample reads; the rest of the registry (JVM, Netty, gauges) is not collected. */
    static final Predicate<String> READ = name -> name.startsWith("llmproxy_requests")
            || name.startsWith("llmproxy_latency_ms") || name.startsWith("cy_ttft_seconds")
            || name.startsWith("cy_tokens");

    /**
     * One interval's figures; a percentile is NaN when no call ended in the interval.
     *
     * @param time the end of the interval
     */
    public record Sample(Instant time, double callsPerSecond, double errorsPerSecond, double tokensPerSecond,
                         double ttftP50Ms, double ttftP99Ms, double latencyP50Ms, double latencyP99Ms) {}

    /** The counters since start, as one tick read them. */
    record Totals(long nanos, double calls, double errors, double tokens, Buckets ttftSeconds, Buckets latencyMs) {

        static Totals of(MetricSnapshots snapshots, long nanos) {
            double calls = 0;
            double errors = 0;
            double tokens = 0;
            Buckets ttft = Buckets.EMPTY;
            Buckets latency = Buckets.EMPTY;
            for (MetricSnapshot snapshot : snapshots) {
                final String name = snapshot.getMetadata().getPrometheusName();
                if (snapshot instanceof CounterSnapshot counter && name.startsWith("llmproxy_requests")) {
                    for (CounterSnapshot.CounterDataPointSnapshot point : counter.getDataPoints()) {
                        calls += point.getValue();
                        if (!"OK".equals(point.getLabels().get("code"))) {
                            errors += point.getValue();
                        }
                    }
                } else if (snapshot instanceof CounterSnapshot counter && name.startsWith("cy_tokens")) {
                    for (CounterSnapshot.CounterDataPointSnapshot point : counter.getDataPoints()) {
                        if ("completion".equals(point.getLabels().get("kind"))) {
                            tokens += point.getValue();
                        }
                    }
                } else if (snapshot instanceof HistogramSnapshot histogram) {
                    Buckets sum = Buckets.EMPTY;
                    for (HistogramSnapshot.HistogramDataPointSnapshot point : histogram.getDataPoints()) {
                        sum = sum.plus(point.getClassicBuckets());
                    }
                    if (name.startsWith("cy_ttft_seconds")) {
                        ttft = sum;
                    } else if (name.startsWith("llmproxy_latency_ms")) {
                        latency = sum;
                    }
                }
            }
            return new Totals(nanos, calls, errors, tokens, ttft, latency);
        }
    }

    /** Classic histogram buckets summed over label sets: upper bounds and the count in each (not cumulative). */
    record Buckets(double[] upperBounds, long[] counts) {

        static final Buckets EMPTY = new Buckets(new double[0], new long[0]);

        Buckets plus(ClassicHistogramBuckets more) {
            if (upperBounds.length == 0) {
                final double[] bounds = new double[more.size()];
                final long[] counts = new long[more.size()];
                for (int i = 0; i < more.size(); i++) {
                    bounds[i] = more.getUpperBound(i);
                    counts[i] = more.getCount(i);
                }
                return new Buckets(bounds, counts);
            }
            final long[] sum = counts.clone();
            for (int i = 0; i < Math.min(sum.length, more.size()); i++) {
                sum[i] += more.getCount(i);
            }
            return new Buckets(upperBounds, sum);
        }

        /** What was added to each bucket since {@code before}. */
        Buckets minus(Buckets before) {
            if (before.counts.length != counts.length) {
                return this;
            }
            final long[] delta = new long[counts.length];
            for (int i = 0; i < counts.length; i++) {
                delta[i] = Math.max(0, counts[i] - before.counts[i]);
            }
            return new Buckets(upperBounds, delta);
        }

        /**
         * The {@code q} quantile as Prometheus's {@code histogram_quantile} estimates it: linear
         * within the bucket it falls in; the largest finite bound for the +Inf bucket; NaN when empty.
         */
        double quantile(double q) {
            long total = 0;
            for (long count : counts) {
                total += count;
            }
            if (total == 0) {
                return Double.NaN;
            }
            final double rank = q * total;
            long below = 0;
            for (int i = 0; i < counts.length; i++) {
                if (below + counts[i] >= rank && counts[i] > 0) {
                    final double lower = i == 0 ? 0 : upperBounds[i - 1];
                    final double upper = upperBounds[i];
                    if (Double.isInfinite(upper)) {
                        return lower;
                    }
                    return lower + (upper - lower) * (rank - below) / counts[i];
                }
                below += counts[i];
            }
            return upperBounds.length > 1 ? upperBounds[upperBounds.length - 2] : Double.NaN;
        }
    }

    private final Sample[] ring = new Sample[CAPACITY];
    private int next;
    private int size;
    private Totals last;

    /** Adds the interval since the previous tick; the first tick only sets the baseline. */
    synchronized void record(Totals now, Instant time) {
        final Totals before = last;
        last = now;
        if (before == null) {
            return;
        }
        final double seconds = Math.max(1e-3, (now.nanos() - before.nanos()) / 1e9);
        final Buckets ttft = now.ttftSeconds().minus(before.ttftSeconds());
        final Buckets latency = now.latencyMs().minus(before.latencyMs());
        ring[next] = new Sample(time,
                Math.max(0, now.calls() - before.calls()) / seconds,
                Math.max(0, now.errors() - before.errors()) / seconds,
                Math.max(0, now.tokens() - before.tokens()) / seconds,
                ttft.quantile(0.5) * 1000, ttft.quantile(0.99) * 1000,
                latency.quantile(0.5), latency.quantile(0.99));
        next = (next + 1) % CAPACITY;
        size = Math.min(CAPACITY, size + 1);
    }

    /** The samples kept, oldest first. */
    public synchronized List<Sample> samples() {
        final List<Sample> out = new ArrayList<>(size);
        for (int i = size; i > 0; i--) {
            out.add(ring[(next - i + CAPACITY) % CAPACITY]);
        }
        return out;
    }
}
