package io.cy.bench.jmh;

import io.cy.coordinator.auth.Identity;
import io.cy.coordinator.metrics.CallMetrics;
import io.cy.coordinator.metrics.ModelLabels;
import io.cy.coordinator.metrics.ObservedMetrics;
import io.cy.coordinator.metrics.TenantLabels;
import io.cy.coordinator.service.CallSummary;
import io.grpc.Status;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;

/**
 * What the metrics cost a call: everything {@link CallMetrics} does when a served call ends
 * (request counter, latency and time-to-first-token histograms, two token counters, the label
 * rules), on one thread and on two contending for the same series (the machine has two cores). The budget is 1 µs.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class CallMetricsBenchmark {

    private CallMetrics metrics;
    private CallSummary served;

    @Setup(Level.Trial)
    public void setUp() {
        metrics = new CallMetrics(ObservedMetrics.create(), ModelLabels.of(Set.of("sim")), new TenantLabels(100));
        served = new CallSummary("StreamPredict", "grpc", "4bf92f3577b34da6a3ce929d0e0e4736", "/127.0.0.1:50000",
                Instant.now(), new Identity("svc", "acme", Set.of("user"), Identity.CredentialKind.JWT, "k1"),
                "acme", "sim", "", 0, "", 5, "unix:///tmp/cy_sidecar.sock", Status.OK, 16, 640, 400_000,
                3_000_000, "admitted", false);
    }

    @Benchmark
    public void servedCall() {
        metrics.onCallEnd(served);
    }

    @Benchmark
    @Threads(2)
    public void servedCallTwoThreads() {
        metrics.onCallEnd(served);
    }
}
