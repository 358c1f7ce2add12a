package io.cy.coordinator.admin;

import static java.util.Objects.requireNonNull;

import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the call metrics every {@link #INTERVAL} on a thread of its own into the console's
 * {@link MetricsHistory} and {@link SidecarCallCounts}: the console's charts cost the calls
 * nothing beyond the counters they update anyway.
 */
public final class MetricsSampler implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(MetricsSampler.class);
    public static final Duration INTERVAL = Duration.ofSeconds(5);

    private final PrometheusRegistry registry;
    private final MetricsHistory history;
    private final SidecarCallCounts sidecarCalls;
    private final Clock clock;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(runnable -> {
        final Thread thread = new Thread(runnable, "cy-console-sampler");
        thread.setDaemon(true);
        return thread;
    });

    private MetricsSampler(PrometheusRegistry registry, MetricsHistory history, SidecarCallCounts sidecarCalls,
                           Clock clock) {
        this.registry = registry;
        this.history = history;
        this.sidecarCalls = sidecarCalls;
        this.clock = clock;
    }

    /** Takes the first reading now (the baseline), then one every {@link #INTERVAL}. */
    public static MetricsSampler start(PrometheusRegistry registry, MetricsHistory history,
                                       SidecarCallCounts sidecarCalls, Clock clock) {
        final MetricsSampler sampler = new MetricsSampler(requireNonNull(registry, "registry"),
                requireNonNull(history, "history"), requireNonNull(sidecarCalls, "sidecarCalls"),
                requireNonNull(clock, "clock"));
        sampler.timer.scheduleAtFixedRate(sampler::sample, 0, INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        return sampler;
    }

    private void sample() {
        try {
            final long nanos = System.nanoTime();
            history.record(MetricsHistory.Totals.of(registry.scrape(MetricsHistory.READ), nanos), clock.instant());
            sidecarCalls.sample(nanos);
        } catch (RuntimeException e) {
            // A failed tick must not end the schedule: the next one tries again.
            logger.warn("console metrics sample failed", e);
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
