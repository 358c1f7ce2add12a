package io.cy.bench.compare;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.cy.llm.proto.StreamPredictRequest;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class H2LoadTest {

    private static String output(String name) throws IOException {
        try (InputStream in = H2LoadTest.class.getResourceAsStream(name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void readsWhatH2loadAndBashTimesPrinted() throws IOException {
        final H2LoadResult r = H2LoadResult.parse(output("h2load-c64.txt"));

        assertThat(r.callsPerSecond()).isEqualTo(8786.67);
        assertThat(r.started()).isEqualTo(26424);
        assertThat(r.done()).isEqualTo(26360);
        assertThat(r.h2loadErrors()).isZero();
        assertThat(r.meanCallMicros()).isCloseTo(7260, within(0.01));
        assertThat(r.maxCallMicros()).isCloseTo(453_460, within(0.01));
        assertThat(r.meanFirstByteMicros()).isCloseTo(426_070, within(0.01));
        // The children's line of bash's times: 0.089 s user + 0.073 s system.
        assertThat(r.cpuNanos()).isEqualTo(162_000_000L);
        assertThat(H2LoadResult.parse(output("h2load-c1.txt")).meanCallMicros()).isEqualTo(127);
    }

    @Test
    void outputWithoutAReportIsRefusedNamingTheLine() {
        assertThatThrownBy(() -> H2LoadResult.parse("connect to 127.0.0.1 port 1 failed: Connection refused\n"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("finished in");
    }

    @Test
    void commandPostsOneGrpcCallWithItsHeaders() {
        final List<String> command = new H2Load(Path.of("/usr/bin/h2load"))
                .command(4, 16, Duration.ofSeconds(6), Path.of("/tmp/body"), "tok", 5000);

        assertThat(command.get(2)).startsWith("'/usr/bin/h2load' '-c' '4' '-m' '16' '-t' '1' '-D' '6' '-d' '/tmp/body'")
                .contains("'content-type: application/grpc'", "'te: trailers'", "'authorization: Bearer tok'")
                .contains("'http://127.0.0.1:5000/cy.llm.AiInference/StreamPredict' ; times");
    }

    @Test
    void theBodyCarriesATraceIdAsTheGatewaysRequestsDo() {
        final Scenario c1 = Scenario.full().stream().filter(s -> s.name().equals("h2c1")).findFirst().orElseThrow();

        final StreamPredictRequest request = c1.streamRequest();

        assertThat(UUID.fromString(request.getMetadata().getTraceId()).toString())
                .isEqualTo(request.getMetadata().getTraceId());
        assertThat(request.getGeneration().getMaxNewTokens()).isEqualTo(16);
    }

    @Test
    void statusesComeFromTheCoordinatorsRequestCounter() {
        final Map<String, Long> counts = StatusCounts.parse(String.join("\n",
                "# TYPE llmproxy_requests_total counter",
                "llmproxy_requests_total{api=\"grpc\",backend=\"default\",code=\"OK\",model=\"sim\"} 1200.0",
                "llmproxy_requests_total{api=\"grpc\",backend=\"none\",code=\"UNAUTHENTICATED\",model=\"unknown\"} 3.0",
                "llmproxy_requests_total{api=\"http\",backend=\"default\",code=\"OK\",model=\"sim\"} 7.0",
                "llmproxy_requests_total_created{api=\"grpc\",code=\"OK\"} 1.7E9"));

        assertThat(counts).containsExactlyInAnyOrderEntriesOf(Map.of("OK", 1200L, "UNAUTHENTICATED", 3L));
    }

    @Test
    void callsCutOffAtTheEndAreNotErrorsButOtherStatusesAre() throws IOException {
        final H2LoadResult r = H2LoadResult.parse(output("h2load-c64.txt"));
        // 64 started and never done: their cancellations are h2load stopping, not failures.
        final H2LoadRun clean = new H2LoadRun(r, 1, 0, 0, 1, -1, Map.of("OK", 26360L, "CANCELLED", 64L));
        final H2LoadRun failing = new H2LoadRun(r, 1, 0, 0, 1, -1,
                Map.of("OK", 26350L, "CANCELLED", 70L, "RESOURCE_EXHAUSTED", 4L));

        assertThat(clean.errors()).isZero();
        assertThat(failing.errors()).isEqualTo(6 + 4);
        assertThat(new H2LoadRun(r, 1, 0, 0, 1, -1, null).errors()).isEqualTo(-1);
        assertThat(H2LoadRun.difference(Map.of("OK", 10L), Map.of("OK", 25L, "CANCELLED", 2L)))
                .containsExactlyInAnyOrderEntriesOf(Map.of("OK", 15L, "CANCELLED", 2L));
    }

    private static H2LoadRun run(double callsPerSecond, double meanCallMicros, long proxyCpuNanos, long errors) {
        final H2LoadResult r = new H2LoadResult(callsPerSecond, 1000, 1000, 0, 0, 0, meanCallMicros, meanCallMicros,
                0, -1);
        return new H2LoadRun(r, proxyCpuNanos, 0, proxyCpuNanos < 0 ? -1 : proxyCpuNanos / 10, 0, -1,
                Map.of("OK", 1000L - errors, "UNAVAILABLE", errors));
    }

    @Test
    void targetsAgainstNginxInTheSameRun() {
        final Scenario c64 = Scenario.full().stream().filter(s -> s.name().equals("h2c64")).findFirst().orElseThrow();
        final Scenario c1 = Scenario.full().stream().filter(s -> s.name().equals("h2c1")).findFirst().orElseThrow();
        final H2LoadScenarioResult many = new H2LoadScenarioResult(c64, 4, 16);
        final H2LoadScenarioResult one = new H2LoadScenarioResult(c1, 1, 1);
        for (int pair = 0; pair < 2; pair++) {
            many.add("direct", run(20000, 3000, -1, 0));
            many.add("nginx", run(10000, 6000, 30_000_000, 0));
            many.add("coordinator", run(9000, 7000, 33_000_000, 0));
            one.add("direct", run(8000, 100, -1, 0));
            one.add("nginx", run(6000, 140, 60_000_000, 0));
            one.add("coordinator", run(6500, 130, 70_000_000, 1));
        }

        assertThat(many.checks("direct", "coordinator", "nginx")).containsExactly(
                new TargetChecks.Check("h2c64: coordinator CPU per call <= 1.0x nginx's", "1.10x (33.0 us vs 30.0 us)",
                        TargetChecks.Verdict.MISSED),
                new TargetChecks.Check("h2c64: no errors (statuses counted by the coordinator)", "0 errors",
                        TargetChecks.Verdict.MET));
        assertThat(one.checks("direct", "coordinator", "nginx")).containsExactly(
                new TargetChecks.Check("h2c1: added mean call time <= nginx's",
                        "0.030 ms vs 0.040 ms (at most nginx's in 2 of 2 pairs)",
                        TargetChecks.Verdict.MET),
                new TargetChecks.Check("h2c1: no errors (statuses counted by the coordinator)", "2 errors",
                        TargetChecks.Verdict.MISSED));
        assertThat(many.table("direct", 2))
                .startsWith("### h2c64: h2load, 64 in flight, 16 tokens, zero delay (h2load -c 4 -m 16, 2 pairs x 6 s)")
                .contains("| calls/s | 20000 | 10000 | 9000 | 0.50 | -10000 | 0.45 | -11000 |")
                .contains("| proxy CPU per call (us) | n/a | 30.0 | 33.0 |  |  |  |  |")
                .contains("| of which in the kernel (us) | n/a | 3.0 | 3.3 |  |  |  |  |")
                .contains("- statuses, coordinator run 1: OK 1000 (h2load: 1000 started, 1000 done)")
                .as("no database on this machine, no row for it").doesNotContain("audit database");
    }

    @Test
    void theAuditDatabaseRowShowsItsCpuPerCallWithoutARatio() {
        final Scenario c1 = Scenario.full().stream().filter(s -> s.name().equals("h2c1")).findFirst().orElseThrow();
        final H2LoadResult r = new H2LoadResult(6000, 1000, 1000, 0, 0, 0, 130, 130, 0, -1);
        final H2LoadScenarioResult one = new H2LoadScenarioResult(c1, 1, 1);
        one.add("direct", new H2LoadRun(r, -1, -1, -1, 0, 200_000, Map.of("OK", 1000L)));
        one.add("coordinator", new H2LoadRun(r, 60_000_000, 0, 6_000_000, 0, 12_500_000, Map.of("OK", 1000L)));

        assertThat(one.table("direct", 1)).contains("| audit database CPU per call (us) | 0.2 | 12.5 |  | +12.3 |");
    }
}
