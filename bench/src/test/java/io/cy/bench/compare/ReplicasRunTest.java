package io.cy.bench.compare;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cy.bench.UsageException;
import io.cy.bench.load.LoadResult;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

/**
 * The replicas2 scenario's parts that need no coordinator: picking it, two runs made as one, and
 * the command counts of the Redis at 127.0.0.1:6379.
 */
class ReplicasRunTest {

    @Test
    void replicas2RunsOnlyWhenNamed() throws UsageException {
        assertThat(CompareArgs.parse(List.of()).scenarios()).extracting(Scenario::name).doesNotContain("replicas2");

        final CompareArgs named = CompareArgs.parse(List.of("--scenario", "replicas2", "--pairs", "2"));
        assertThat(named.scenarios()).extracting(Scenario::name).containsExactly("replicas2");
        assertThat(named.scenarios().get(0).kind()).isEqualTo(Scenario.Kind.REPLICAS);
        assertThat(named.scenarios().get(0).concurrency()).isEqualTo(64);
        assertThat(named.quotaRedis()).as("the default Redis applies to the scenario alone").isNull();
        assertThat(CompareArgs.parse(List.of("--quick", "--scenario", "replicas2")).scenarios()).hasSize(1);
    }

    @Test
    void twoRunsAtOnceAddTheirCallsAndCpuAndKeepEveryLatency() {
        final RunFigures a = run(100, 0, 1_000_000_000L, 1_000_000L, 50_000_000L);
        final RunFigures b = run(300, 2, 2_000_000_000L, 3_000_000L, 70_000_000L);

        final RunFigures both = ReplicasRun.together(a, b);

        assertThat(both.result().started()).isEqualTo(400);
        assertThat(both.result().succeeded()).isEqualTo(398);
        assertThat(both.result().errors()).containsEntry("UNAVAILABLE", 2L);
        assertThat(both.result().elapsedNanos()).isEqualTo(2_000_000_000L);
        assertThat(both.result().callsPerSecond()).isEqualTo(199.0);
        assertThat(both.result().ttfc().getTotalCount()).isEqualTo(400);
        // Most calls were b's, at 3 ms: so is the median of all of them.
        assertThat(both.result().ttfcSummary().p50()).isBetween(2_990_000L, 3_010_000L);
        assertThat(both.proxyCpuPerCallMicros()).isEqualTo(300.0);
        assertThat(both.proxyKernelCpuPerCallMicros()).isEqualTo(30.0);
        // The sim served both runs over the same time: one reading, not the sum.
        assertThat(both.simCpuNanos()).isEqualTo(70_000_000L);
    }

    @Test
    void theMedianOfPairsLeavesOutPairsWithoutCalls() {
        assertThat(ReplicasRun.median(List.of(2.0, Double.NaN, 4.0))).isEqualTo(3.0);
        assertThat(ReplicasRun.median(List.of(2.0, 9.0, 4.0))).isEqualTo(4.0);
        assertThat(ReplicasRun.median(List.of(Double.NaN))).isNaN();
    }

    @Test
    void commandCountsAreReadFromTheInfoOfARealRedis() throws IOException {
        final RedisCommandCounts before = RedisCommandCounts.read("redis://127.0.0.1:6379/15");
        final RedisCommandCounts after = RedisCommandCounts.read("redis://127.0.0.1:6379/15");

        // At least the two INFO commands of the first reading.
        assertThat(before.until(after).total()).isGreaterThanOrEqualTo(2);
        assertThat(after.scripts()).isGreaterThanOrEqualTo(before.scripts());
    }

    @Test
    void commandStatsLinesAreParsedByName() {
        final String info = "# Commandstats\r\ncmdstat_eval:calls=3,usec=9\r\ncmdstat_evalsha:calls=120,usec=800,"
                + "usec_per_call=6.67\r\n# Stats\r\ntotal_commands_processed:4711\r\n";

        assertThat(RedisCommandCounts.calls(info, "cmdstat_evalsha:")).isEqualTo(120);
        assertThat(RedisCommandCounts.calls(info, "cmdstat_eval:")).isEqualTo(3);
        assertThat(RedisCommandCounts.calls(info, "cmdstat_get:")).isZero();
        assertThat(RedisCommandCounts.field(info, "total_commands_processed:")).isEqualTo(4711);
    }

    @Test
    void onlyPlainRedisUrlsAreRead() {
        assertThatThrownBy(() -> RedisCommandCounts.read("rediss://:secret@example:6380/0"))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("expected: redis://host:port/db")
                .hasMessageNotContaining("secret");
    }

    private static RunFigures run(long calls, long errors, long elapsedNanos, long ttfcNanos, long simCpuNanos) {
        final Histogram ttfc = new Histogram(3);
        for (int i = 0; i < calls; i++) {
            ttfc.recordValue(ttfcNanos);
        }
        final Map<String, Long> errorCounts = errors == 0 ? Map.of() : Map.of("UNAVAILABLE", errors);
        final LoadResult result = new LoadResult(calls, calls - errors, new TreeMap<>(errorCounts), calls * 16,
                elapsedNanos, ttfc, new Histogram(3), new Histogram(3), 0, errors == 0 ? null : "UNAVAILABLE: gone");
        return new RunFigures(result, calls * 300_000L, 0, calls * 30_000L, simCpuNanos, -1, 10_000_000L);
    }
}
