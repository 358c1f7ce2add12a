package io.cy.bench.compare;

import static io.cy.bench.compare.ScenarioResultTest.run;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.bench.load.LoadResult;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

class ReportTest {

    private static Scenario scenario(String name) {
        return Scenario.full().stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
    }

    private static ScenarioResult twoPairs(String name, RunFigures direct, RunFigures nginx, RunFigures coordinator) {
        final ScenarioResult s = new ScenarioResult(scenario(name));
        for (int pair = 0; pair < 2; pair++) {
            s.add("direct", direct);
            s.add("nginx", nginx);
            s.add("coordinator", coordinator);
        }
        return s;
    }

    @Test
    void tableHasAColumnPerTargetAndTheComparisonToDirect() {
        final ScenarioResult s = twoPairs("c64", run(Double.NaN, 100, 0), run(20, 110, 0), run(40, 150, 3));

        final String table = new Report("direct", List.of("coordinator")).scenarioTable(s, 2);

        assertThat(table).startsWith("### c64: ").contains("(2 pairs x 6 s)");
        assertThat(table).contains("| figure | direct | nginx | coordinator | coordinator / direct | coordinator - direct |");
        assertThat(table).contains("| time to first chunk p50 (ms) | 0.100 | 0.110 | 0.150 | 1.50 | +0.050 |");
        assertThat(table).contains("| proxy CPU per call (us) | n/a | 20.0 | 40.0 |  |  |");
        assertThat(table).contains("| of which in the JIT compiler (us) | n/a | 5.0 | 10.0 |  |  |");
        assertThat(table).contains("| of which in the kernel (us) | n/a | 2.5 | 5.0 |  |  |");
        assertThat(table).contains("| errors | 0 | 0 | 3 |  | +3 |");
        assertThat(table).contains("- errors, coordinator run 1: UNAVAILABLE=3 (first: UNAVAILABLE: gone)");
        assertThat(table).as("no database on this machine, no row for it").doesNotContain("audit database");
    }

    @Test
    void theAuditDatabaseRowShowsItsCpuPerCallWithoutARatio() {
        final ScenarioResult s = twoPairs("c1", withDatabaseCpu(run(Double.NaN, 100, 0), 0.2),
                withDatabaseCpu(run(20, 110, 0), 0.3), withDatabaseCpu(run(40, 150, 0), 12.5));

        final String table = new Report("direct", List.of("coordinator")).scenarioTable(s, 2);

        assertThat(table).contains("| audit database CPU per call (us) | 0.2 | 0.3 | 12.5 |  | +12.3 |");
    }

    /** {@code run} with the audit database's CPU at {@code micros} per call. */
    private static RunFigures withDatabaseCpu(RunFigures run, double micros) {
        return new RunFigures(run.result(), run.proxyCpuNanos(), run.proxyJitCpuNanos(), run.proxyKernelCpuNanos(),
                run.simCpuNanos(),
                (long) (micros * 1000 * run.result().started()), run.clientCpuNanos());
    }

    @Test
    void theBridgeTableComparesHttpWithGrpc() {
        final ScenarioResult s = new ScenarioResult(scenario("sse").withDescription("bridge vs gRPC, through X"));
        for (int pair = 0; pair < 2; pair++) {
            s.add("grpc", run(300, 400, 0));
            s.add("http-sse", run(450, 500, 2));
        }

        final String table = new Report("direct", List.of("coordinator"))
                .scenarioTable(s, 2, "grpc", List.of("http-sse"));

        assertThat(table).startsWith("### sse: bridge vs gRPC, through X (2 pairs x 5 s)\n");
        assertThat(table).contains("| figure | grpc | http-sse | http-sse / grpc | http-sse - grpc |\n"
                + "|---|--:|--:|--:|--:|\n");
        assertThat(table).contains("| time to first chunk p50 (ms) | 0.400 | 0.500 | 1.25 | +0.100 |");
        // Both columns go through the same coordinator: its CPU per call compares too.
        assertThat(table).contains("| proxy CPU per call (us) | 300.0 | 450.0 | 1.50 | +150.0 |");
        assertThat(table).as("no ratio of compile times").contains("| of which in the JIT compiler (us) | 75.0 | 112.5 |  | +37.5 |");
        assertThat(table).contains("| of which in the kernel (us) | 37.5 | 56.3 | 1.50 | +18.8 |");
        assertThat(table).contains("| errors | 0 | 2 |  | +2 |");
        assertThat(table).contains("- errors, http-sse run 1: UNAVAILABLE=2");
    }

    @Test
    void bridgeErrorsCountAsErrorsThroughTheCoordinator() {
        final ScenarioResult sse = new ScenarioResult(scenario("sse"));
        sse.add("grpc", run(300, 400, 0));
        sse.add("http-sse", run(450, 500, 2));

        final List<TargetChecks.Check> checks = TargetChecks.evaluate(List.of(sse), List.of(), "direct",
                "coordinator", "nginx");

        assertThat(checks).contains(new TargetChecks.Check("no errors through the coordinator in any run",
                "2 errors", TargetChecks.Verdict.MISSED));
    }

    @Test
    void bridgeTargetsCompareTheBridgeWithGrpc() {
        final ScenarioResult sse = new ScenarioResult(scenario("sse"));
        sse.add("grpc", run(300, 400, 0));
        sse.add("http-sse", run(450, 600, 0));

        final List<TargetChecks.Check> checks = TargetChecks.evaluate(List.of(sse), List.of(), "direct",
                "coordinator", "nginx");

        assertThat(checks).containsExactly(
                new TargetChecks.Check("sse: bridge CPU per call <= 2.0x gRPC's", "1.50x (450.0 us vs 300.0 us)",
                        TargetChecks.Verdict.MET),
                new TargetChecks.Check("sse: bridge added time to first chunk p50 <= 0.100 ms", "0.200 ms",
                        TargetChecks.Verdict.MISSED),
                new TargetChecks.Check("no errors through the coordinator in any run", "0 errors",
                        TargetChecks.Verdict.MET));
    }

    @Test
    void targetsMetAndMissed() {
        final ScenarioResult c64 = twoPairs("c64", run(Double.NaN, 100, 0), run(20, 100, 0), run(40, 150, 0));
        final ScenarioResult c1 = twoPairs("c1", run(Double.NaN, 100, 0), run(20, 110, 0), run(60, 250, 0));

        final List<TargetChecks.Check> checks = TargetChecks.evaluate(List.of(c1, c64), List.of(), "direct",
                "coordinator", "nginx");

        assertThat(checks).contains(
                new TargetChecks.Check("c1: coordinator CPU per call (16 tokens) <= 50.0 us",
                        "60.0 us (JIT compiler 15.0 us)",
                        TargetChecks.Verdict.MISSED),
                new TargetChecks.Check("c1: added time to first chunk p50 <= 0.100 ms", "0.150 ms",
                        TargetChecks.Verdict.MISSED),
                new TargetChecks.Check("c64: coordinator CPU per call (16 tokens) <= 50.0 us",
                        "40.0 us (JIT compiler 10.0 us)",
                        TargetChecks.Verdict.MET),
                new TargetChecks.Check("c64: coordinator CPU per call <= 1.0x nginx's", "2.00x (40.0 us vs 20.0 us)",
                        TargetChecks.Verdict.MISSED),
                new TargetChecks.Check("c1: coordinator CPU per call <= 1.5x nginx's", "3.00x (60.0 us vs 20.0 us)",
                        TargetChecks.Verdict.MISSED),
                // nginx adds 0.010 ms to the first chunk; the coordinator 0.150 ms.
                new TargetChecks.Check("c1: added time to first chunk p50 <= nginx's",
                        "0.150 ms vs 0.010 ms (at most nginx's in 0 of 2 pairs)",
                        TargetChecks.Verdict.MISSED),
                new TargetChecks.Check("no errors through the coordinator in any run", "0 errors",
                        TargetChecks.Verdict.MET));
        assertThat(checks).anySatisfy(c -> assertThat(c.target()).startsWith("c64: calls/s through vs direct"));
        assertThat(checks).noneSatisfy(c -> assertThat(c.target()).startsWith("open500"));
    }

    @Test
    void memoryTableAndTarget() {
        final Scenario mem = scenario("mem10k");
        final LoadResult load = new LoadResult(10_000, 10_000, new TreeMap<>(Map.of()), 160_000, 31_000_000_000L,
                new Histogram(3), new Histogram(3), new Histogram(3), 0, null);
        final MemoryResult m = new MemoryResult(mem, "coordinator", 10_000, 2.5,
                new JvmMemory.Reading(20L << 20, 200L << 20), new JvmMemory.Reading(70L << 20, 300L << 20), load);

        final String table = new Report("direct", List.of("coordinator")).memoryTable(m);
        final List<TargetChecks.Check> checks = TargetChecks.evaluate(List.of(), List.of(m), "direct", "coordinator", null);

        assertThat(table).contains("| streams open at once (of 10,000) | 10,000 |")
                .contains("| heap used after a full GC, before / while open (MiB) | 20.0 / 70.0 |")
                .contains("| heap per open stream (KiB) | 5.1 |")
                .contains("| RSS per open stream (KiB) | 10.2 |");
        assertThat(checks).containsExactly(new TargetChecks.Check(
                "mem10k: 10,000 concurrent open streams with a 512 MB heap, no errors",
                "10,000 open at once, 0 errors; 5.1 KiB heap, 10.2 KiB RSS per stream", TargetChecks.Verdict.MET));
    }
}
