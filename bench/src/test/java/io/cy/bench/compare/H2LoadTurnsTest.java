package io.cy.bench.compare;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cy.bench.compare.CompareCommand.CompareFailure;
import io.cy.coordinator.transport.netty.Endpoint;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The turns of an h2load scenario, with h2load's runs faked: which runs each target gets, in
 * which order, with which shape, and which of them are reported.
 */
class H2LoadTurnsTest {

    private static final Duration RUN = Duration.ofSeconds(5);
    private static final Scenario H2C1 = h2load("h2c1", 1, RUN);
    private static final Scenario H2C64 = h2load("h2c64", 64, Duration.ofSeconds(3));
    private static final long CPU = 1_000_000_000L;

    private final Target direct = Target.direct("direct", Endpoint.tcp("127.0.0.1", 1));
    private final Target nginx = Target.nativeProxy("nginx", Endpoint.tcp("127.0.0.1", 2), null);
    private final Target coordinator = Target.jvm("coordinator", Endpoint.tcp("127.0.0.1", 3), null);

    /** Every run, in order. */
    private final List<Run> runs = new ArrayList<>();

    private record Run(String target, int connections, int streams, Duration length, String log) {

        boolean warmUp() {
            return log.contains("warm-up") || log.endsWith("-0");
        }
    }

    @Test
    void everyTargetIsWarmedTwiceThenThePairsRunInTurnsAndOnlyThePairsAreReported() throws Exception {
        // The coordinator's JIT is busy in its first two runs only: two settled runs follow them.
        final AtomicInteger coordinatorRuns = new AtomicInteger();
        final H2LoadScenarioResult result = turns((target, connections, streams, length, log) -> {
            final boolean busy = target == coordinator && coordinatorRuns.getAndIncrement() < 2;
            return record(target, connections, streams, length, log, busy ? CPU / 2 : 0);
        }).run(H2C1, List.of(direct, nginx, coordinator), 3);

        assertThat(runs).extracting(Run::log).containsExactly(
                "h2load-h2c1-direct-warm-up", "h2load-h2c1-direct-0",
                "h2load-h2c1-nginx-warm-up", "h2load-h2c1-nginx-0",
                "h2load-h2c1-coordinator-warm-up", "h2load-h2c1-coordinator-0",
                "h2load-h2c1-coordinator-warm-up-1", "h2load-h2c1-coordinator-warm-up-2",
                "h2load-h2c1-direct-1", "h2load-h2c1-nginx-1", "h2load-h2c1-coordinator-1",
                "h2load-h2c1-coordinator-2", "h2load-h2c1-nginx-2", "h2load-h2c1-direct-2",
                "h2load-h2c1-direct-3", "h2load-h2c1-nginx-3", "h2load-h2c1-coordinator-3");
        // Only the pairs' runs are reported, in the order they ran.
        for (Target target : List.of(direct, nginx, coordinator)) {
            assertThat(result.runs(target.name())).extracting(r -> r.h2load().done())
                    .containsExactly(1001L, 1002L, 1003L);
        }
    }

    @Test
    void oneCallAtATimeIsOneConnectionWithOneStreamAndSixtyFourInFlightAreFourConnectionsOfSixteen()
            throws Exception {
        turns((target, connections, streams, length, log) -> record(target, connections, streams, length, log, 0))
                .run(H2C1, List.of(coordinator), 1);
        turns((target, connections, streams, length, log) -> record(target, connections, streams, length, log, 0))
                .run(H2C64, List.of(coordinator), 1);

        assertThat(runs).filteredOn(r -> r.log().contains("h2c1")).allSatisfy(r -> {
            assertThat(r.connections()).isEqualTo(1);
            assertThat(r.streams()).isEqualTo(1);
        });
        assertThat(runs).filteredOn(r -> r.log().contains("h2c64")).allSatisfy(r -> {
            assertThat(r.connections()).isEqualTo(4);
            assertThat(r.streams()).isEqualTo(16);
        });
    }

    @Test
    void aNativeProxyGetsItsTwoWarmUpRunsWhateverItsFiguresSayAndAJvmRunsUntilTheLimit() throws Exception {
        // Both report a busy JIT in every run; only the JVM waits for it, until 60 s are spent.
        turns((target, connections, streams, length, log) -> record(target, connections, streams, length, log,
                CPU / 2)).run(H2C1, List.of(nginx, coordinator), 1);

        assertThat(runs).filteredOn(r -> r.warmUp() && r.target().equals("nginx")).hasSize(2);
        // Twice 5 s, then 5 s runs until 60 s are spent.
        assertThat(runs).filteredOn(r -> r.warmUp() && r.target().equals("coordinator"))
                .hasSize(12).allSatisfy(r -> assertThat(r.length()).isEqualTo(RUN));
    }

    @Test
    void aJvmsLaterWarmUpRunsAreAtMostTenSeconds() throws Exception {
        final Scenario longer = h2load("h2c1", 1, Duration.ofSeconds(15));
        final AtomicInteger coordinatorRuns = new AtomicInteger();
        turns((target, connections, streams, length, log) -> record(target, connections, streams, length, log,
                coordinatorRuns.getAndIncrement() < 2 ? CPU / 2 : 0)).run(longer, List.of(coordinator), 1);

        assertThat(runs).extracting(r -> r.length().toSeconds()).containsExactly(15L, 15L, 10L, 10L, 5L);
    }

    @Test
    void aFailedRunEndsTheScenario() {
        final H2LoadTurns turns = turns((target, connections, streams, length, log) -> {
            if (target == nginx && log.endsWith("-1")) {
                throw new CompareFailure("nginx: gone");
            }
            return record(target, connections, streams, length, log, 0);
        });

        assertThatThrownBy(() -> turns.run(H2C1, List.of(direct, nginx, coordinator), 3))
                .isInstanceOf(CompareFailure.class)
                .hasMessage("nginx: gone");
        assertThat(runs.get(runs.size() - 1).log()).isEqualTo("h2load-h2c1-direct-1");
    }

    private H2LoadTurns turns(H2LoadTurns.Meter meter) {
        return new H2LoadTurns(meter, Duration.ofSeconds(60), quietErr());
    }

    private H2LoadRun record(Target target, int connections, int streams, Duration length, String log,
                             long jitNanos) {
        final Run run = new Run(target.name(), connections, streams, length, log);
        runs.add(run);
        // A pair's run does 1000 + its pair's number of calls, a warm-up run 1000.
        final long calls = run.warmUp() ? 1000 : 1000 + Long.parseLong(log.substring(log.lastIndexOf('-') + 1));
        final H2LoadResult result = new H2LoadResult(calls / (double) length.toSeconds(), calls, calls, 0, 0, 0,
                90, 400, 1_000, CPU / 10);
        final boolean measured = target != direct;
        return new H2LoadRun(result, measured ? CPU : -1, measured ? jitNanos : -1, measured ? CPU / 10 : -1, CPU, -1,
                Map.of(H2LoadRun.OK, calls));
    }

    private static Scenario h2load(String name, int concurrency, Duration warmUp) {
        return new Scenario(name, "h2load", Scenario.Kind.H2LOAD, concurrency, 0, RUN, warmUp, 16, 0, 0,
                Scenario.PROMPT_BYTES);
    }

    private static PrintStream quietErr() {
        return new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    }
}
