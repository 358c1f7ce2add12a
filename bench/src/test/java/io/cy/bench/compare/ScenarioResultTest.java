package io.cy.bench.compare;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.cy.bench.load.LoadResult;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

class ScenarioResultTest {

    /** A run of 1,000 calls whose proxy spent {@code cpuMicrosPerCall} each and whose ttfc p50 is {@code ttfcMicros}. */
    static RunFigures run(double cpuMicrosPerCall, long ttfcMicros, long errors) {
        final Histogram ttfc = new Histogram(3);
        ttfc.recordValueWithCount(ttfcMicros * 1000, 1000);
        final Map<String, Long> errorCounts = errors == 0 ? Map.of() : Map.of("UNAVAILABLE", errors);
        final LoadResult result = new LoadResult(1000, 1000 - errors, new TreeMap<>(errorCounts), 16_000,
                1_000_000_000L, ttfc, new Histogram(3), new Histogram(3), 0, errors == 0 ? null : "UNAVAILABLE: gone");
        final long cpuNanos = Double.isNaN(cpuMicrosPerCall) ? -1 : (long) (cpuMicrosPerCall * 1000 * 1000);
        // A quarter of the proxy's CPU in the JIT compiler, as early in a run on two cores.
        return new RunFigures(result, cpuNanos, cpuNanos < 0 ? -1 : cpuNanos / 4, cpuNanos < 0 ? -1 : cpuNanos / 8,
                1_000_000, -1, 2_000_000);
    }

    /** A c1 result of {@code runs} taken in turns: the first to {@code targets}' first, and so on, pair after pair. */
    static ScenarioResult inTurns(List<String> targets, RunFigures... runs) {
        final ScenarioResult s = new ScenarioResult(Scenario.full().get(0));
        for (int i = 0; i < runs.length; i++) {
            s.add(targets.get(i % targets.size()), runs[i]);
        }
        return s;
    }

    @Test
    void medianOverRuns() {
        assertThat(ScenarioResult.median(new double[] {3, 1, 2})).isEqualTo(2);
        assertThat(ScenarioResult.median(new double[] {4, 1, 3, 2})).isEqualTo(2.5);
        assertThat(ScenarioResult.median(new double[] {Double.NaN, 5})).isEqualTo(5);
        assertThat(ScenarioResult.median(new double[] {Double.NaN})).isNaN();
        assertThat(ScenarioResult.median(new double[0])).isNaN();
    }

    @Test
    void ratiosAndDifferencesAreTakenWithinEachPair() {
        // The machine slows down over the run; each pair is still 10 % apart.
        final ScenarioResult s = inTurns(List.of("direct", "proxy"),
                run(10, 100, 0), run(11, 110, 0),
                run(20, 200, 0), run(22, 220, 0),
                run(40, 400, 0), run(44, 440, 0));

        assertThat(s.targets()).containsExactly("direct", "proxy");
        assertThat(s.median("proxy", Figure.PROXY_CPU)).isCloseTo(22, within(1e-9));
        assertThat(s.medianRatio("proxy", "direct", Figure.PROXY_CPU)).isCloseTo(1.1, within(1e-9));
        assertThat(s.medianRatio("proxy", "direct", Figure.TTFC_P50)).isCloseTo(1.1, within(0.002));
        // Differences per pair: 0.010, 0.020, 0.040 ms; the median is the middle one.
        assertThat(s.medianAdded("proxy", "direct", Figure.TTFC_P50)).isCloseTo(0.020, within(0.0002));
    }

    @Test
    void pairTallyCountsThePairsWhereOneTargetWasAtMostTheOther() {
        // The proxy's first chunk: ahead of nginx's in the first pair, level in the second,
        // behind in the third.
        final ScenarioResult s = inTurns(List.of("direct", "nginx", "proxy"),
                run(10, 100, 0), run(10, 200, 0), run(10, 150, 0),
                run(10, 100, 0), run(10, 200, 0), run(10, 200, 0),
                run(10, 100, 0), run(10, 200, 0), run(10, 260, 0));

        assertThat(s.atMostInPairs("proxy", "nginx", "direct", Figure.TTFC_P50))
                .isEqualTo(new ScenarioResult.PairTally(2, 3));
        assertThat(s.atMostInPairs("nginx", "proxy", "direct", Figure.TTFC_P50).describe("the proxy"))
                .isEqualTo("at most the proxy's in 2 of 3 pairs");
        assertThat(new ScenarioResult.PairTally(1, 1).describe("nginx")).isEqualTo("at most nginx's in 1 of 1 pair");
    }

    @Test
    void pairTallyLeavesOutThePairsTheMediansOfAddedTimeLeaveOut() {
        // Pair 1 counts (1 <= 2); pair 2: the target lacks the figure; pair 3: the base lacks it;
        // pair 4: direct lacks it, so neither has an added time there, though 1 <= 2; pair 5:
        // direct has no run.
        final List<Double> target = List.of(1.0, Double.NaN, 3.0, 1.0, 1.0);
        final List<Double> base = List.of(2.0, 2.0, Double.NaN, 2.0, 2.0);
        final List<Double> direct = List.of(0.5, 0.5, 0.5, Double.NaN);

        assertThat(ScenarioResult.PairTally.of(target, base, direct, Double::doubleValue))
                .isEqualTo(new ScenarioResult.PairTally(1, 1));
    }

    @Test
    void perCallCpu() {
        final RunFigures r = run(37.5, 100, 0);

        assertThat(r.proxyCpuPerCallMicros()).isCloseTo(37.5, within(1e-9));
        assertThat(r.simCpuPerCallMicros()).isCloseTo(1, within(1e-9));
        assertThat(r.clientCpuPerCallMicros()).isCloseTo(2, within(1e-9));
        assertThat(new RunFigures(r.result(), -1, -1, -1, -1, -1, -1).proxyCpuPerCallMicros()).isNaN();
    }
}
