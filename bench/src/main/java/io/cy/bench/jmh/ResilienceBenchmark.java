package io.cy.bench.jmh;

import io.cy.bench.routing.IdleSidecars;
import io.cy.coordinator.sidecar.Balance;
import io.cy.coordinator.sidecar.BalanceSettings;
import io.cy.coordinator.sidecar.OutlierDetector;
import io.cy.coordinator.sidecar.OutlierSettings;
import io.cy.coordinator.sidecar.RetryBudget;
import io.cy.coordinator.sidecar.RoutingKey;
import io.cy.coordinator.sidecar.Sidecar;
import io.cy.coordinator.sidecar.SidecarRouter;
import io.cy.coordinator.sidecar.SidecarRouters;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * What outlier ejection and the retry budget add to a call: the budget's count of a call, and a
 * {@code least_inflight} pick among {@code sidecars} sidecars while one of them is ejected (the
 * only case in which a pick reads the clock), to compare with {@code RoutingBenchmark.leastInflight}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class ResilienceBenchmark {

    @Param("64")
    public int sidecars;

    private IdleSidecars fixtures;
    private List<Sidecar> pool;
    private SidecarRouter leastInflight;
    private RetryBudget budget;

    @Setup(Level.Trial)
    public void setUp() {
        fixtures = new IdleSidecars();
        pool = fixtures.make(sidecars);
        leastInflight = SidecarRouters.create(new BalanceSettings(Balance.LEAST_INFLIGHT,
                BalanceSettings.DEFAULT_AFFINITY_PREFIX_BYTES, BalanceSettings.DEFAULT_BALANCE_THRESHOLD));
        // Ejected for longer than any run.
        new OutlierDetector(new OutlierSettings(1, Duration.ofHours(1), Duration.ofHours(1), 50, 20))
                .failed(pool.get(sidecars / 2), pool, "UNAVAILABLE");
        budget = new RetryBudget(20);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        fixtures.close();
    }

    @Benchmark
    public void retryBudgetCountsACall() {
        budget.recordCall();
    }

    @Benchmark
    public Sidecar leastInflightWithOneEjected() {
        return leastInflight.pick(pool, List.of(), RoutingKey.NONE);
    }
}
