package io.cy.bench.compare;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cy.bench.compare.CompareCommand.CompareFailure;
import io.cy.bench.load.LoadPlan;
import io.cy.bench.load.LoadResult;
import io.cy.coordinator.transport.netty.Endpoint;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The turns of a load scenario, with connections and runs faked: which connections each run
 * uses, when they close, and how many warm-up runs each kind of target gets.
 */
class ScenarioTurnsTest {

    private static final Duration WARM_UP = Duration.ofSeconds(20);
    private static final Duration RUN = Duration.ofSeconds(5);
    private static final Scenario C1 = new Scenario("c1", "one at a time", Scenario.Kind.LOAD, 1, 0, RUN, WARM_UP,
            16, 0, 0, Scenario.PROMPT_BYTES);
    private static final long CPU = 1_000_000_000L;

    private final Target direct = Target.direct("direct", Endpoint.tcp("127.0.0.1", 1));
    private final Target nginx = Target.nativeProxy("nginx", Endpoint.tcp("127.0.0.1", 2), null);
    private final Target coordinator = Target.jvm("coordinator", Endpoint.tcp("127.0.0.1", 3), null);

    /** What the fake connector opened, and how often each was closed. */
    private final Map<Connected, AtomicInteger> closes = new IdentityHashMap<>();
    private final List<String> connects = new ArrayList<>();
    /** Every run, in order: target, warm-up or run, and the connections it used. */
    private final List<Run> runs = new ArrayList<>();

    private record Run(String target, boolean warmUp, Duration length, Connected connections, int closedBefore) {}

    @Test
    void eachTargetConnectsOnceAndKeepsItsConnectionsThroughItsWarmUpAndThePairs() throws Exception {
        // The coordinator's JIT is busy in its first warm-up run only: two settled runs follow.
        final AtomicInteger coordinatorRuns = new AtomicInteger();
        final ScenarioResult result = turns((connections, plan, target) -> {
            final boolean busy = target == coordinator && coordinatorRuns.getAndIncrement() == 0;
            return record(connections, plan, target, busy ? CPU / 2 : 0);
        }).run(C1, List.of(direct, nginx, coordinator), 3, "token");

        assertThat(connects).containsExactly("direct", "nginx", "coordinator");
        assertThat(runs).extracting(r -> r.target() + (r.warmUp() ? " warm-up" : "")).containsExactly(
                "direct warm-up", "nginx warm-up", "coordinator warm-up", "coordinator warm-up",
                "coordinator warm-up",
                "direct", "nginx", "coordinator",
                "coordinator", "nginx", "direct",
                "direct", "nginx", "coordinator");
        for (Target target : List.of(direct, nginx, coordinator)) {
            assertThat(runs.stream().filter(r -> r.target().equals(target.name())).map(Run::connections).distinct())
                    .as("the connections of %s's runs", target.name())
                    .hasSize(1);
            assertThat(result.runs(target.name())).hasSize(3);
        }
        assertThat(runs).allSatisfy(r -> assertThat(r.closedBefore()).as("closed before a run").isZero());
        assertThat(closes.values()).hasSize(3).allSatisfy(n -> assertThat(n).hasValue(1));
    }

    @Test
    void aNativeProxyGetsOneWarmUpRunWhateverItsFiguresSayAndAJvmRunsUntilTheLimit() throws Exception {
        // Both report a busy JIT in every run; only the JVM waits for it, until 60 s are spent.
        turns((connections, plan, target) -> record(connections, plan, target, CPU / 2))
                .run(C1, List.of(nginx, coordinator), 1, "token");

        assertThat(runs.stream().filter(Run::warmUp).map(r -> r.target() + " " + r.length().toSeconds() + " s"))
                .containsExactly("nginx 20 s", "coordinator 20 s", "coordinator 10 s", "coordinator 10 s",
                        "coordinator 10 s", "coordinator 10 s");
    }

    @Test
    void afterALongFirstWarmUpRunAJvmHasRoomForTwoSettledRunsWithinTheLimit() throws Exception {
        // The bridge scenario's 30 s: busy, then settled, then settled again, all within 60 s.
        final Scenario sse = new Scenario("sse", "one at a time", Scenario.Kind.BRIDGE, 1, 0, RUN,
                Duration.ofSeconds(30), 16, 0, 0, Scenario.PROMPT_BYTES);
        final AtomicInteger coordinatorRuns = new AtomicInteger();
        turns((connections, plan, target) -> record(connections, plan, target,
                coordinatorRuns.getAndIncrement() == 0 ? CPU / 2 : 0))
                .run(sse, List.of(coordinator), 1, "token");

        assertThat(runs.stream().filter(Run::warmUp).map(r -> r.length().toSeconds()))
                .containsExactly(30L, 10L, 10L);
    }

    @Test
    void oneCallAtATimeEachProxysSystemCallsAreCountedAfterThePairsInARunOfTheirOwnAndAFailedCountLeftOut(
            @TempDir Path dir) throws Exception {
        // Any process will do for the proxies': the counter here is a fake that reads none.
        final ChildProcess process = ChildProcess.start("sleep", List.of("sleep", "60"), Map.of(), dir,
                dir.resolve("sleep.log"));
        try {
            final Target nginxProxy = Target.nativeProxy("nginx", Endpoint.tcp("127.0.0.1", 2), process);
            final Target jvm = Target.jvm("coordinator", Endpoint.tcp("127.0.0.1", 3), process);
            final List<String> counted = new ArrayList<>();
            final ScenarioResult result = new ScenarioTurns((target, concurrency, channels) -> connect(target),
                    (connections, plan, target) -> record(connections, plan, target, 0),
                    (connections, plan, target) -> {
                        final long pairRuns = runs.stream().filter(r -> !r.warmUp()).count();
                        final Connected pairs = runs.stream().filter(r -> r.target().equals(target.name()))
                                .reduce((first, second) -> second).orElseThrow().connections();
                        counted.add(target.name() + " " + plan.duration().toSeconds() + " s after " + pairRuns
                                + " runs" + (connections == pairs ? ", on the pairs' connections" : ""));
                        // perf could not count nginx's: the scenario goes on without it.
                        return target == nginxProxy ? null
                                : new SystemCalls.PerCall(target.name(), 1000, Map.of(SystemCalls.ALL, 6000L));
                    }, Duration.ofSeconds(60), quietErr()).run(C1, List.of(direct, nginxProxy, jvm), 2, "token");

            assertThat(counted).containsExactly(
                    "nginx 3 s after 6 runs, on the pairs' connections",
                    "coordinator 3 s after 6 runs, on the pairs' connections");
            assertThat(result.systemCalls()).extracting(SystemCalls.PerCall::target).containsExactly("coordinator");
            assertThat(result.runs("nginx")).as("the counted run is not one of the pairs'").hasSize(2);
        } finally {
            process.stop(Duration.ofSeconds(5));
        }
    }

    @Test
    void withManyCallsAtOnceNoSystemCallsAreCounted(@TempDir Path dir) throws Exception {
        final Scenario c64 = new Scenario("c64", "64 at a time", Scenario.Kind.LOAD, 64, 0, RUN, WARM_UP, 16, 0, 0,
                Scenario.PROMPT_BYTES);
        final ChildProcess process = ChildProcess.start("sleep", List.of("sleep", "60"), Map.of(), dir,
                dir.resolve("sleep.log"));
        try {
            final Target nginxProxy = Target.nativeProxy("nginx", Endpoint.tcp("127.0.0.1", 2), process);
            final List<String> counted = new ArrayList<>();
            final ScenarioResult result = new ScenarioTurns((target, concurrency, channels) -> connect(target),
                    (connections, plan, target) -> record(connections, plan, target, 0),
                    (connections, plan, target) -> {
                        counted.add(target.name());
                        return new SystemCalls.PerCall(target.name(), 1000, Map.of());
                    }, Duration.ofSeconds(60), quietErr()).run(c64, List.of(direct, nginxProxy), 1, "token");

            assertThat(counted).isEmpty();
            assertThat(result.systemCalls()).isEmpty();
        } finally {
            process.stop(Duration.ofSeconds(5));
        }
    }

    @Test
    void theConnectionsOpenedBeforeAFailureAreClosed() {
        final ScenarioTurns turns = new ScenarioTurns((target, concurrency, channels) -> {
            if (target == coordinator) {
                throw new CompareFailure("coordinator: refused");
            }
            return connect(target);
        }, (connections, plan, target) -> record(connections, plan, target, 0), null, Duration.ofSeconds(60),
                quietErr());

        assertThatThrownBy(() -> turns.run(C1, List.of(direct, nginx, coordinator), 3, "token"))
                .isInstanceOf(CompareFailure.class)
                .hasMessage("coordinator: refused");
        assertThat(closes.values()).hasSize(2).allSatisfy(n -> assertThat(n).hasValue(1));
    }

    @Test
    void aFailedRunClosesEveryTargetsConnections() {
        final ScenarioTurns turns = turns((connections, plan, target) -> {
            if (target == nginx && plan.duration().equals(RUN)) {
                throw new CompareFailure("nginx: gone");
            }
            return record(connections, plan, target, 0);
        });

        assertThatThrownBy(() -> turns.run(C1, List.of(direct, nginx, coordinator), 3, "token"))
                .isInstanceOf(CompareFailure.class);
        assertThat(closes.values()).hasSize(3).allSatisfy(n -> assertThat(n).hasValue(1));
    }

    private ScenarioTurns turns(ScenarioTurns.Meter meter) {
        return new ScenarioTurns((target, concurrency, channels) -> connect(target), meter, null,
                Duration.ofSeconds(60), quietErr());
    }

    private Connected connect(Target target) {
        connects.add(target.name());
        final AtomicInteger closed = new AtomicInteger();
        final Connected connections = new Connected(null, closed::incrementAndGet);
        closes.put(connections, closed);
        return connections;
    }

    private RunFigures record(Connected connections, LoadPlan plan, Target target, long jitNanos) {
        runs.add(new Run(target.name(), !plan.duration().equals(RUN), plan.duration(), connections,
                closes.get(connections).get()));
        final Histogram latencies = new Histogram(3);
        latencies.recordValue(100_000);
        final LoadResult result = new LoadResult(1000, 1000, new TreeMap<>(), 16_000, RUN.toNanos(), latencies,
                latencies, latencies, 0, null);
        return new RunFigures(result, target == direct ? -1 : CPU, target == direct ? -1 : jitNanos,
                target == direct ? -1 : CPU / 10, CPU, -1, CPU);
    }

    private static PrintStream quietErr() {
        return new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    }
}
