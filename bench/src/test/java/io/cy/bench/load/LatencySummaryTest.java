package io.cy.bench.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

class LatencySummaryTest {

    @Test
    void percentilesOfKnownValues() {
        final Histogram histogram = new Histogram(3);
        // 1 ms, 2 ms, ..., 1000 ms, in nanoseconds.
        for (long ms = 1; ms <= 1000; ms++) {
            histogram.recordValue(ms * 1_000_000);
        }

        final LatencySummary s = LatencySummary.of(histogram);

        assertThat(s.count()).isEqualTo(1000);
        // Three significant digits: each value within 0.1 %.
        assertThat((double) s.p50()).isCloseTo(500e6, within(0.5e6));
        assertThat((double) s.p90()).isCloseTo(900e6, within(0.9e6));
        assertThat((double) s.p99()).isCloseTo(990e6, within(1e6));
        assertThat((double) s.max()).isCloseTo(1000e6, within(1e6));
    }

    @Test
    void skewedDistribution() {
        final Histogram histogram = new Histogram(3);
        histogram.recordValueWithCount(100_000, 985);   // 0.1 ms
        histogram.recordValueWithCount(5_000_000, 14);  // 5 ms
        histogram.recordValue(80_000_000);               // one 80 ms outlier

        final LatencySummary s = LatencySummary.of(histogram);

        assertThat((double) s.p50()).isCloseTo(100_000, within(100.0));
        assertThat((double) s.p90()).isCloseTo(100_000, within(100.0));
        assertThat((double) s.p99()).isCloseTo(5_000_000, within(5_000.0));
        assertThat((double) s.max()).isCloseTo(80_000_000, within(80_000.0));
    }

    @Test
    void emptyHistogramIsAllZero() {
        assertThat(LatencySummary.of(new Histogram(3))).isEqualTo(LatencySummary.EMPTY);
    }
}
