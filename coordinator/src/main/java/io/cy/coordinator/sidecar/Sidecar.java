package io.cy.coordinator.sidecar;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.transport.client.SidecarStreams;
import io.cy.coordinator.transport.netty.Endpoint;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.netty.util.concurrent.EventExecutor;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One sidecar: its long-lived channels, the calls in flight on it, and whether it may take new
 * calls. Health changes with hysteresis: {@code unhealthyThreshold} failed probes take it out,
 * {@code healthyThreshold} good probes put it back; a refused connection takes it out at once.
 *
 * <p>There is one channel per event loop, each running on its loop: a call is forwarded on the
 * channel of the loop that received it, so its messages never cross threads on the way through
 * (no task hand-off and wake-up per message in each direction).
 */
public final class Sidecar {

    private final Endpoint endpoint;
    private final ManagedChannel[] channels;
    // loops[i] runs channels[i]; empty when one channel serves every thread.
    private final EventExecutor[] loops;
    // The StreamPredict path; null for a sidecar made for routing alone (tests).
    private final SidecarStreams streams;
    private final int unhealthyThreshold;
    private final int healthyThreshold;
    private final AtomicInteger inflight = new AtomicInteger();
    // The backend's max_inflight (0: no limit) and its queue, told of every slot that frees.
    private volatile int maxInflight = CapacitySettings.UNLIMITED;
    private volatile BackendQueue queue;
    private final SidecarLatency latency = new SidecarLatency();
    private final OutlierState outlier = new OutlierState();
    // Derived from the address alone, so that every coordinator (and every restart) places keys alike.
    private final long addressHash;

    // Written by the prober and by calls that saw a refused connection; read on every pick.
    private volatile boolean healthy = true;
    private volatile boolean draining;
    // Set when the sidecar refused the internal token: every call would fail the same way.
    private volatile boolean refusesToken;
    // Why it is out of rotation; kept until it is healthy again.
    private volatile String reason = "";
    // Probe streaks; touched only under this object's lock.
    private int failures;
    private int successes;

    /** A sidecar reached through one channel, from any thread. */
    public Sidecar(Endpoint endpoint, ManagedChannel channel, int unhealthyThreshold, int healthyThreshold) {
        this(endpoint, List.of(channel), List.of(), null, unhealthyThreshold, healthyThreshold);
    }

    /**
     * A sidecar reached through one channel per event loop.
     *
     * @param channels the channels, {@code channels.get(i)} running on {@code loops.get(i)}
     * @param loops the event loops, or empty for a single channel that serves every thread
     * @param streams the connections StreamPredict calls go through; null when none are made
     */
    public Sidecar(Endpoint endpoint, List<ManagedChannel> channels, List<? extends EventExecutor> loops,
                   SidecarStreams streams, int unhealthyThreshold, int healthyThreshold) {
        this.endpoint = requireNonNull(endpoint, "endpoint");
        this.channels = requireNonNull(channels, "channels").toArray(new ManagedChannel[0]);
        this.loops = requireNonNull(loops, "loops").toArray(new EventExecutor[0]);
        if (this.channels.length == 0) {
            throw new IllegalArgumentException("channels: empty (expected: at least one)");
        }
        if (this.loops.length != 0 && this.loops.length != this.channels.length) {
            throw new IllegalArgumentException("loops: " + this.loops.length + " (expected: 0 or "
                    + this.channels.length + ", one per channel)");
        }
        this.streams = streams;
        this.unhealthyThreshold = unhealthyThreshold;
        this.healthyThreshold = healthyThreshold;
        this.addressHash = Hashing.mix(endpoint.toString().hashCode());
    }

    public Endpoint endpoint() {
        return endpoint;
    }

    /** The channel to use from the calling thread: its event loop's own, else the first. */
    public ManagedChannel channel() {
        for (int i = 0; i < loops.length; i++) {
            if (loops[i].inEventLoop()) {
                return channels[i];
            }
        }
        return channels[0];
    }

    /** The event loop the calling thread runs, among this sidecar's; null on any other thread. */
    public EventExecutor currentLoop() {
        for (EventExecutor loop : loops) {
            if (loop.inEventLoop()) {
                return loop;
            }
        }
        return null;
    }

    /** The connections StreamPredict calls go through. */
    public SidecarStreams streams() {
        if (streams == null) {
            throw new IllegalStateException("sidecar " + endpoint + " has no stream connections");
        }
        return streams;
    }

    boolean hasStreams() {
        return streams != null;
    }

    /** Every channel to this sidecar, to reset or close them all. */
    public List<ManagedChannel> channels() {
        return List.of(channels);
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

    /**
     * The channel health probes go through, so its state is the freshest word on whether the
     * sidecar can be reached.
     */
    public ManagedChannel probeChannel() {
        return channels[0];
    }

    /** Whether new calls may be routed here. Asked for every sidecar on every pick: no lookups. */
    public boolean isAvailable() {
        return healthy && !draining && channels[0].getState(false) != ConnectivityState.TRANSIENT_FAILURE;
    }

    /**
     * Whether its last probe was refused for the internal token (UNAUTHENTICATED or
     * PERMISSION_DENIED). Such a sidecar is not even tried when no other is available: unlike a
     * sidecar whose probes may lag behind its recovery, it would refuse every call.
     */
    public boolean refusesToken() {
        return refusesToken;
    }

    /** Why the sidecar is out of rotation (the last failed probe or call); empty while it is healthy. */
    public String reason() {
        return healthy ? "" : reason;
    }

    public void setDraining(boolean draining) {
        this.draining = draining;
    }

    void acquire() {
        inflight.incrementAndGet();
    }

    /** Counts a call against it unless it is at its {@code max_inflight}; false when it is full. */
    boolean tryAcquire() {
        final int limit = maxInflight;
        if (limit == CapacitySettings.UNLIMITED) {
            inflight.incrementAndGet();
            return true;
        }
        for (;;) {
            final int current = inflight.get();
            if (current >= limit) {
                return false;
            }
            if (inflight.compareAndSet(current, current + 1)) {
                return true;
            }
        }
    }

    /** Whether it has its {@code max_inflight} calls in flight. */
    public boolean isFull() {
        final int limit = maxInflight;
        return limit != CapacitySettings.UNLIMITED && inflight.get() >= limit;
    }

    public int maxInflight() {
        return maxInflight;
    }

    void capacity(int maxInflight, BackendQueue queue) {
        this.maxInflight = maxInflight;
        this.queue = queue;
    }

    /** A well-mixed hash of the address, for the policies that hash calls onto sidecars. */
    long addressHash() {
        return addressHash;
    }

    /** Moving averages of the time to first token and per output token of its calls. */
    public SidecarLatency latency() {
        return latency;
    }

    /**
     * Whether it is ejected as an outlier ({@link OutlierDetector}) now. Read against the clock,
     * so an ejection ends when its time is up without anything running then.
     */
    public boolean isEjected() {
        return outlier.isEjected();
    }

    /** Until when it is ejected, or null when it is not. */
    public java.time.Instant ejectedUntil() {
        final OutlierState.Ejection ejection = outlier.ejection(System.nanoTime());
        return ejection == null ? null : ejection.until();
    }

    /**
     * Why it was last ejected, such as {@code 5 consecutive failures: UNAVAILABLE}, whether or not
     * that ejection is still in force; empty when it never was.
     */
    public String lastEjectionReason() {
        return outlier.lastEjectionReason();
    }

    OutlierState outlier() {
        return outlier;
    }

    /** Ends a call started through {@link SidecarRouter}; exactly once per call. */
    public void release() {
        inflight.decrementAndGet();
        final BackendQueue waiting = queue;
        if (waiting != null) {
            waiting.slotFreed();
        }
    }

    /** A call could not reach this sidecar: out of rotation until probes succeed again. */
    public synchronized void markUnreachable(String why) {
        healthy = false;
        successes = 0;
        failures = unhealthyThreshold;
        reason = why;
    }

    /**
     * The sidecar refused the internal token: out of rotation at once, without the hysteresis of
     * {@link #recordProbe}, until probes succeed again. Returns true when the health state changed.
     */
    public synchronized boolean recordTokenRefused(String why) {
        refusesToken = true;
        reason = why;
        successes = 0;
        failures = Math.max(failures, unhealthyThreshold);
        final boolean changed = healthy;
        healthy = false;
        return changed;
    }

    /** Records one probe result, and why it failed; returns true when the health state changed. */
    public synchronized boolean recordProbe(boolean ok, String why) {
        if (ok) {
            refusesToken = false;
            failures = 0;
            successes++;
            if (!healthy && successes >= healthyThreshold) {
                healthy = true;
                return true;
            }
        } else {
            reason = why;
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
