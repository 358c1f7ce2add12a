package io.cy.coordinator.admin;

import io.cy.coordinator.service.CallEndListener;
import io.cy.coordinator.service.CallSummary;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Calls ended per sidecar, counted as they end (a map lookup and an add), turned into calls per
 * second of the last interval by {@link MetricsSampler}. Bounded: sidecars past
 * {@value #MAX_SIDECARS} addresses (DNS churn over a long run) are not counted.
 */
public final class SidecarCallCounts implements CallEndListener {

    static final int MAX_SIDECARS = 4096;

    private final ConcurrentHashMap<String, LongAdder> ended = new ConcurrentHashMap<>();
    // Touched by the sampler's thread alone.
    private Map<String, Long> lastCounts = Map.of();
    private long lastNanos;
    private volatile Map<String, Double> rates = Map.of();

    @Override
    public void onCallEnd(CallSummary summary) {
        final String sidecar = summary.sidecar();
        if (sidecar == null || sidecar.isEmpty()) {
            return;
        }
        LongAdder count = ended.get(sidecar);
        if (count == null) {
            if (ended.size() >= MAX_SIDECARS) {
                return;
            }
            count = ended.computeIfAbsent(sidecar, s -> new LongAdder());
        }
        count.increment();
    }

    /** Ends an interval at {@code nanos}; the first call only starts one. */
    synchronized void sample(long nanos) {
        final Map<String, Long> counts = new HashMap<>();
        ended.forEach((sidecar, count) -> counts.put(sidecar, count.sum()));
        if (lastNanos != 0) {
            final double seconds = Math.max(1e-3, (nanos - lastNanos) / 1e9);
            final Map<String, Double> perSecond = new HashMap<>();
            counts.forEach((sidecar, count) ->
                    perSecond.put(sidecar, (count - lastCounts.getOrDefault(sidecar, 0L)) / seconds));
            rates = Map.copyOf(perSecond);
        }
        lastCounts = counts;
        lastNanos = nanos;
    }

    /** Calls that ended on {@code sidecar} per second over the last interval. */
    public double callsPerSecond(String sidecar) {
        return rates.getOrDefault(sidecar, 0.0);
    }
}
