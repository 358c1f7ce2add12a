package io.cy.coordinator.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.service.CallSummary;
import io.grpc.Status;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import java.time.Instant;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** {@code cy_degraded_total{alias, mode}} counts the calls an alias's degrade policy applied to. */
class DegradedMetricTest {

    private final ObservedMetrics metrics = ObservedMetrics.create();
    private final CallMetrics calls = new CallMetrics(metrics, ModelLabels.of(Set.of("default", "qwen2.5-0.5b")),
            new TenantLabels(10));

    private static CallSummary call(String alias, String degraded, Status status) {
        return new CallSummary("StreamPredict", "grpc", "t", "peer", Instant.now(), null, "acme", "qwen2.5-0.5b", "", 0,
                "", 3, "unix:///b.sock", status, 2, 10, 1_000_000, 2_000_000, "admitted", false, alias, "cpu-b", "",
                true, degraded);
    }

    private double degraded(String alias, String mode) {
        return metrics.registry().scrape().stream()
                .filter(snapshot -> snapshot.getMetadata().getPrometheusName().equals("cy_degraded"))
                .flatMap(snapshot -> ((CounterSnapshot) snapshot).getDataPoints().stream())
                .filter(point -> point.getLabels().equals(Labels.of("alias", alias, "mode", mode)))
                .mapToDouble(CounterSnapshot.CounterDataPointSnapshot::getValue)
                .findFirst().orElse(0);
    }

    @Test
    void countsEachDegradedCallByAliasAndMode() {
        calls.onCallEnd(call("default", "fallback; from=gpu-a/qwen2.5-7b; to=cpu-b/qwen2.5-0.5b; reason=no_healthy_sidecar",
                Status.OK));
        calls.onCallEnd(call("default", "fallback; from=gpu-a/qwen2.5-7b; to=cpu-b/qwen2.5-0.5b; reason=queue_full",
                Status.OK));
        calls.onCallEnd(call("default", "reject; from=gpu-a/qwen2.5-7b; reason=all_ejected", Status.UNAVAILABLE));
        calls.onCallEnd(call("default", "", Status.OK));
        // An alias the coordinator does not know is not a label of its own.
        calls.onCallEnd(call("made-up", "reject; from=x/y; reason=queue_full", Status.RESOURCE_EXHAUSTED));

        assertThat(degraded("default", "fallback")).isEqualTo(2);
        assertThat(degraded("default", "reject")).isEqualTo(1);
        assertThat(degraded("unknown", "reject")).isEqualTo(1);
    }
}
