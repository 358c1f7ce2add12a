package io.cy.coordinator.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The overview's samples from the call metrics as the Prometheus client keeps them: rates from
 * counter differences, percentiles from the histogram buckets filled between two ticks.
 */
class MetricsHistoryTest {

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter requests = Counter.builder().name("llmproxy_requests_total")
            .labelNames("api", "model", "backend", "code").register(registry);
    private final Histogram latency = Histogram.builder().name("llmproxy_latency_ms")
            .labelNames("api", "model", "backend").classicOnly()
            .classicUpperBounds(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000).register(registry);
    private final Histogram ttft = Histogram.builder().name("cy_ttft_seconds").labelNames("model", "backend")
            .classicOnly().classicUpperBounds(0.005, 0.01, 0.025, 0.05, 0.1, 0.25).register(registry);
    private final Counter tokens = Counter.builder().name("cy_tokens_total").labelNames("tenant", "model", "kind")
            .register(registry);
    private final MetricsHistory history = new MetricsHistory();

    private void tick(long seconds) {
        history.record(MetricsHistory.Totals.of(registry.scrape(MetricsHistory.READ), seconds * 1_000_000_000L),
                Instant.ofEpochSecond(seconds));
    }

    @Test
    void aSampleHoldsTheRatesAndPercentilesOfItsIntervalOnly() {
        // given: calls before the baseline, which no sample may count
        requests.labelValues("grpc", "sim", "a", "OK").inc(100);
        latency.labelValues("grpc", "sim", "a").observe(900);
        tick(0);

        // when: 5 s with 8 good calls over two label sets, 2 failed ones, 50 completion tokens
        requests.labelValues("grpc", "sim", "a", "OK").inc(6);
        requests.labelValues("http", "sim", "b", "OK").inc(2);
        requests.labelValues("grpc", "sim", "a", "UNAVAILABLE").inc(2);
        tokens.labelValues("t", "sim", "completion").inc(50);
        tokens.labelValues("t", "sim", "prompt").inc(1000);
        for (int i = 0; i < 50; i++) {
            latency.labelValues("grpc", "sim", "a").observe(30);   // bucket (25, 50]
            latency.labelValues("http", "sim", "b").observe(70);   // bucket (50, 100]
            ttft.labelValues("sim", "a").observe(0.02);           // bucket (0.01, 0.025]
        }
        latency.labelValues("grpc", "sim", "a").observe(400);      // bucket (250, 500]
        tick(5);

        // then
        final List<MetricsHistory.Sample> samples = history.samples();
        assertThat(samples).hasSize(1);
        final MetricsHistory.Sample s = samples.get(0);
        assertThat(s.time()).isEqualTo(Instant.ofEpochSecond(5));
        assertThat(s.callsPerSecond()).isCloseTo(2.0, within(1e-9));
        assertThat(s.errorsPerSecond()).isCloseTo(0.4, within(1e-9));
        assertThat(s.tokensPerSecond()).isCloseTo(10.0, within(1e-9));
        // 101 latencies: rank 50.5 is the last of the 50 in (25, 50]; the 900 ms one came before the baseline
        assertThat(s.latencyP50Ms()).isCloseTo(50.0, within(0.5));
        // rank 99.99 falls in (50, 100], the 400 ms one being the 101st
        assertThat(s.latencyP99Ms()).isBetween(50.0, 100.0);
        assertThat(s.ttftP50Ms()).isBetween(10.0, 25.0);
    }

    @Test
    void anIntervalWithoutCallsHasNoPercentilesAndTheRingKeepsTheLast180() {
        tick(0);
        for (int i = 1; i <= MetricsHistory.CAPACITY + 20; i++) {
            tick(i * 5L);
        }
        final List<MetricsHistory.Sample> samples = history.samples();
        assertThat(samples).hasSize(MetricsHistory.CAPACITY);
        assertThat(samples.get(0).time()).isEqualTo(Instant.ofEpochSecond(21 * 5L));
        assertThat(samples.get(samples.size() - 1).time()).isEqualTo(Instant.ofEpochSecond(200 * 5L));
        assertThat(samples.get(0).latencyP50Ms()).isNaN();
        assertThat(samples.get(0).callsPerSecond()).isZero();
    }
}
