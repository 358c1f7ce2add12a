package io.cy.bench.jmh;

import io.cy.bench.routing.IdleSidecars;
import io.cy.coordinator.sidecar.Balance;
import io.cy.coordinator.sidecar.BalanceSettings;
import io.cy.coordinator.sidecar.RoutingKey;
import io.cy.coordinator.sidecar.LeastInFlightRouter;
import io.cy.coordinator.sidecar.Sidecar;
import io.cy.coordinator.sidecar.SidecarPool;
import io.cy.coordinator.sidecar.SidecarRouter;
import io.cy.coordinator.sidecar.SidecarRouters;
import java.util.List;
import java.util.Random;
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
 * What choosing a sidecar costs a call, per balancing policy, among {@code sidecars} sidecars with
 * a few calls in flight each. The prefix affinity table is full (10,000 prefix blocks, from
 * thousands of other prompts) and the measured prompts are 1 KiB system prompts that it has seen,
 * each with a user turn of its own, so a pick hashes the whole default prefix of 1,024 bytes.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class RoutingBenchmark {

    private static final int PROMPTS = 1024;

    @Param("64")
    public int sidecars;

    private IdleSidecars fixtures;
    private List<Sidecar> pool;
    private SidecarRouter leastInflight;
    private SidecarRouter prefixAffinity;
    private SidecarRouter sessionAffinity;
    private SidecarRouter leastLatency;
    private RoutingKey[] keys;
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        fixtures = new IdleSidecars();
        pool = fixtures.make(sidecars);
        final Random random = new Random(1);
        for (Sidecar sidecar : pool) {
            final SidecarPool one = new SidecarPool(List.of(sidecar), new LeastInFlightRouter());
            for (int i = random.nextInt(4); i > 0; i--) {
                one.acquire(List.of(), RoutingKey.NONE);
            }
            sidecar.latency().record(20_000_000L + random.nextInt(20_000_000), 16, 15 * 5_000_000L);
        }
        leastInflight = router(Balance.LEAST_INFLIGHT);
        prefixAffinity = router(Balance.PREFIX_AFFINITY);
        sessionAffinity = router(Balance.SESSION_AFFINITY);
        leastLatency = router(Balance.LEAST_LATENCY);
        // Fills the table with other prefixes first (16 blocks each), then places the measured ones.
        for (int i = 0; i < 2_000; i++) {
            prefixAffinity.pick(pool, List.of(), new RoutingKey("", systemPrompt("other", i), ""));
        }
        keys = new RoutingKey[PROMPTS];
        for (int i = 0; i < PROMPTS; i++) {
            keys[i] = new RoutingKey("tenant-" + i, systemPrompt("agent", i % 50) + "\nUser: question " + i
                    + "\nAssistant:", "");
            prefixAffinity.pick(pool, List.of(), keys[i]);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        fixtures.close();
    }

    private static String systemPrompt(String kind, int n) {
        final StringBuilder text = new StringBuilder("System: You are ").append(kind).append(' ').append(n).append('.');
        while (text.length() < 1100) {
            text.append(" Answer briefly and cite the sources you used.");
        }
        return text.toString();
    }

    private SidecarRouter router(Balance balance) {
        return SidecarRouters.create(new BalanceSettings(balance, BalanceSettings.DEFAULT_AFFINITY_PREFIX_BYTES,
                BalanceSettings.DEFAULT_BALANCE_THRESHOLD));
    }

    private RoutingKey nextKey() {
        next = (next + 1) & (PROMPTS - 1);
        return keys[next];
    }

    @Benchmark
    public Sidecar leastInflight() {
        return leastInflight.pick(pool, List.of(), nextKey());
    }

    @Benchmark
    public Sidecar prefixAffinity() {
        return prefixAffinity.pick(pool, List.of(), nextKey());
    }

    @Benchmark
    public Sidecar sessionAffinity() {
        return sessionAffinity.pick(pool, List.of(), nextKey());
    }

    @Benchmark
    public Sidecar leastLatency() {
        return leastLatency.pick(pool, List.of(), nextKey());
    }
}
