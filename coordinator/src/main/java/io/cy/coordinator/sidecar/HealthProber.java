package io.cy.coordinator.sidecar;

import static java.util.Objects.requireNonNull;

import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.MoreExecutors;
import io.cy.coordinator.config.CoordinatorConfig;
import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.WorkerHealthRequest;
import io.cy.llm.proto.WorkerHealthResponse;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.MetadataUtils;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Calls every sidecar's {@code Health} on an interval so that routing and the coordinator's own
 * health answer from state, never from a fan-out per call.
 */
public final class HealthProber implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(HealthProber.class);

    private final SidecarPool pool;
    private final CoordinatorConfig.HealthProbe config;
    private final Metadata headers;
    private final Runnable onChange;
    private final Runnable eachRound;
    // One thread is plenty: a probe only starts an asynchronous call.
    private final ScheduledExecutorService scheduler;

    /**
     * @param headers metadata sent with each probe (the internal token)
     * @param onChange run after any sidecar's health changed
     */
    public HealthProber(SidecarPool pool, CoordinatorConfig.HealthProbe config, Metadata headers, Runnable onChange) {
        this(pool, config, headers, onChange, () -> { });
    }

    /**
     * @param eachRound run on the prober's thread after each round of probes (model discovery);
     *     must not block for long
     */
    public HealthProber(SidecarPool pool, CoordinatorConfig.HealthProbe config, Metadata headers, Runnable onChange,
                        Runnable eachRound) {
        this.eachRound = requireNonNull(eachRound, "eachRound");
        this.pool = requireNonNull(pool, "pool");
        this.config = requireNonNull(config, "config");
        this.headers = requireNonNull(headers, "headers");
        this.onChange = requireNonNull(onChange, "onChange");
        this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            final Thread t = new Thread(r, "cy-health-prober");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Also runs {@code chore} every {@code interval} on the prober's thread, which may block (DNS
     * lookups of the sidecars' addresses); a chore that throws is logged and runs again next time.
     */
    public void every(java.time.Duration interval, Runnable chore) {
        scheduler.scheduleWithFixedDelay(() -> {
            try {
                chore.run();
            } catch (RuntimeException e) {
                logger.warn("sidecar chore failed", e);
            }
        }, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    public void start() {
        scheduler.scheduleWithFixedDelay(this::probeAll, 0, config.interval().toMillis(), TimeUnit.MILLISECONDS);
    }

    private void probeAll() {
        for (Sidecar sidecar : pool.all()) {
            try {
                probe(sidecar);
            } catch (RuntimeException e) {
                logger.warn("health probe of sidecar {} could not start", sidecar, e);
                record(sidecar, false, "probe could not start: " + e);
            }
        }
        try {
            eachRound.run();
        } catch (RuntimeException e) {
            logger.warn("after the health probes", e);
        }
        pool.closeRetired();
    }

    private void probe(Sidecar sidecar) {
        if (!sidecar.isHealthy() && sidecar.hasStreams()) {
            // Off the event loops, where a DNS lookup may block: a sidecar that moved is found again.
            sidecar.streams().refreshAddress();
        }
        for (ManagedChannel channel : sidecar.channels()) {
            if (channel.getState(true) == ConnectivityState.TRANSIENT_FAILURE) {
                // A sidecar that restarted is found again within one interval, not after grpc's
                // reconnect backoff (up to two minutes).
                channel.resetConnectBackoff();
            }
        }
        final var stub = AiInferenceGrpc.newFutureStub(sidecar.probeChannel())
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
                .withDeadlineAfter(config.timeout().toNanos(), TimeUnit.NANOSECONDS);
        Futures.addCallback(stub.health(WorkerHealthRequest.getDefaultInstance()),
                new FutureCallback<WorkerHealthResponse>() {
                    @Override
                    public void onSuccess(WorkerHealthResponse response) {
                        record(sidecar, response.getHealthy(), response.getHealthy() ? "" : "answered healthy=false");
                    }

                    @Override
                    public void onFailure(Throwable t) {
                        final Status status = Status.fromThrowable(t);
                        if (status.getCode() == Status.Code.UNAUTHENTICATED
                                || status.getCode() == Status.Code.PERMISSION_DENIED) {
                            tokenRefused(sidecar, "refused the internal token (sidecars.internal_token, "
                                    + "CY_LLM_INTERNAL_TOKEN): " + describe(status));
                        } else {
                            record(sidecar, false, describe(status));
                        }
                    }
                },
                MoreExecutors.directExecutor());
    }

    private void tokenRefused(Sidecar sidecar, String reason) {
        if (sidecar.recordTokenRefused(reason)) {
            logger.warn("sidecar {} is out of rotation: {}", sidecar, reason);
        }
        onChange.run();
    }

    private static String describe(Status status) {
        return status.getDescription() == null ? status.getCode().toString()
                : status.getCode() + ": " + status.getDescription();
    }

    private void record(Sidecar sidecar, boolean ok, String reason) {
        if (sidecar.recordProbe(ok, reason)) {
            if (ok) {
                logger.info("sidecar {} is healthy again", sidecar);
            } else {
                logger.warn("sidecar {} is unhealthy: {}", sidecar, reason);
            }
        }
        // Also after no change here: a call may have marked the sidecar unreachable meanwhile.
        onChange.run();
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
    }
}
