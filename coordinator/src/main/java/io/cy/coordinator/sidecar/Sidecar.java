package io.cy.coordinator.sidecar;

import static java.util.Objects.requireNonNull;

import io.cy.llm.transport.Endpoint;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One sidecar: its long-lived channel, the calls in flight on it, and whether it may take new
 * calls. Health changes with hysteresis: {@code unhealthyThreshold} failed probes take it out,
 * {@code healthyThreshold} good probes put it back; a refused connection takes it out at once.
 */
public final class Sidecar {

    private final Endpoint endpoint;
    private final ManagedChannel channel;
    private final int unhealthyThreshold;
    private final int healthyThreshold;
    private final AtomicInteger inflight = new AtomicInteger();

    // Written by the prober and by calls that saw a refused connection; read on every pick.
    private volatile boolean healthy = true;
    private volatile boolean draining;
    // Probe streaks; touched only under this object's lock.
    private int failures;
    private int successes;

    public Sidecar(Endpoint endpoint, ManagedChannel channel, int unhealthyThreshold, int healthyThreshold) {
        this.endpoint = requireNonNull(endpoint, "endpoint");
        this.channel = requireNonNull(channel, "channel");
        this.unhealthyThreshold = unhealthyThreshold;
        this.healthyThreshold = healthyThreshold;
    }

    public Endpoint endpoint() {
        return endpoint;
    }

    public ManagedChannel channel() {
        return channel;
    }

    public int inflight() {
        return inflight.get();
    }

    public boolean isHealthy() {
        return healthy;
    }

    public boolean isDraining() {
        return draining;
    }

    /** Whether new calls may be routed here. */
    public boolean isAvailable() {
        return healthy && !draining && channel.getState(false) != ConnectivityState.TRANSIENT_FAILURE;
    }

    public void setDraining(boolean draining) {
        this.draining = draining;
    }

    void acquire() {
        inflight.incrementAndGet();
    }

    /** Ends a call started through {@link SidecarRouter}; exactly once per call. */
    public void release() {
        inflight.decrementAndGet();
    }

    /** A call could not reach this sidecar: out of rotation until probes succeed again. */
    public synchronized void markUnreachable() {
        healthy = false;
        successes = 0;
        failures = unhealthyThreshold;
    }

    /** Records one probe result; returns true when the health state changed. */
    public synchronized boolean recordProbe(boolean ok) {
        if (ok) {
            failures = 0;
            successes++;
            if (!healthy && successes >= healthyThreshold) {
                healthy = true;
                return true;
            }
        } else {
            successes = 0;
            failures++;
            if (healthy && failures >= unhealthyThreshold) {
                healthy = false;
                return true;
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return endpoint.toString();
    }
}
