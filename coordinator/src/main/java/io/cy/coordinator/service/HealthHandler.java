package io.cy.coordinator.service;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.sidecar.SidecarPool;
import io.cy.llm.proto.WorkerHealthRequest;
import io.cy.llm.proto.WorkerHealthResponse;
import io.grpc.stub.StreamObserver;
import java.util.function.IntSupplier;

/**
 * The Health method, answered at once from the state the health prober keeps: healthy while at
 * least one sidecar is healthy and not draining.
 */
public final class HealthHandler {

    private final SidecarPool sidecars;
    private final IntSupplier inflight;
    private final java.util.function.Supplier<java.util.Map<String, String>> extraMetrics;
    private final String version;
    private final long startNanos = System.nanoTime();

    /** @param extraMetrics more metrics from other parts (quotas, audit), read on each answer */
    public HealthHandler(SidecarPool sidecars, IntSupplier inflight,
                         java.util.function.Supplier<java.util.Map<String, String>> extraMetrics, String version) {
        this.sidecars = requireNonNull(sidecars, "sidecars");
        this.extraMetrics = requireNonNull(extraMetrics, "extraMetrics");
        this.inflight = requireNonNull(inflight, "inflight");
        this.version = requireNonNull(version, "version");
    }

    public void health(WorkerHealthRequest request, StreamObserver<WorkerHealthResponse> responses) {
        final int available = sidecars.availableCount();
        responses.onNext(WorkerHealthResponse.newBuilder()
                .setHealthy(available > 0)
                .putMetrics("backend", "java")
                .putMetrics("version", version)
                .putMetrics("sidecars_healthy", sidecars.healthyCount() + "/" + sidecars.all().size())
                .putMetrics("sidecars_available", String.valueOf(available))
                .putMetrics("sidecars_ejected", String.valueOf(sidecars.ejectedCount()))
                .putMetrics("inflight", String.valueOf(inflight.getAsInt()))
                .putMetrics("queued", String.valueOf(sidecars.queued()))
                .putMetrics("uptime_s", String.valueOf((System.nanoTime() - startNanos) / 1_000_000_000L))
                .putAllMetrics(extraMetrics.get())
                .build());
        responses.onCompleted();
    }
}
