package io.cy.coordinator.grpc;

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
    private final String version;
    private final long startNanos = System.nanoTime();

    public HealthHandler(SidecarPool sidecars, IntSupplier inflight, String version) {
        this.sidecars = requireNonNull(sidecars, "sidecars");
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
                .putMetrics("inflight", String.valueOf(inflight.getAsInt()))
                .putMetrics("uptime_s", String.valueOf((System.nanoTime() - startNanos) / 1_000_000_000L))
                .build());
        responses.onCompleted();
    }
}
