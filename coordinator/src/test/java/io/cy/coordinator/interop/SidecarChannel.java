package io.cy.coordinator.interop;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.transport.client.SidecarStreams;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** A grpc channel whose calls are {@link SidecarClientCall}s on a coordinator's {@link SidecarStreams}. */
final class SidecarChannel extends ManagedChannel {

    private final SidecarStreams streams;
    private final String authority;
    private final ScheduledExecutorService timers;
    private final CountDownLatch terminated = new CountDownLatch(1);
    private volatile boolean shutdown;

    /** @param streams closed by this channel's shutdown */
    SidecarChannel(SidecarStreams streams, String authority, ScheduledExecutorService timers) {
        this.streams = requireNonNull(streams, "streams");
        this.authority = requireNonNull(authority, "authority");
        this.timers = requireNonNull(timers, "timers");
    }

    @Override
    public <ReqT, RespT> ClientCall<ReqT, RespT> newCall(MethodDescriptor<ReqT, RespT> method,
                                                         CallOptions callOptions) {
        // The earlier of the call's and the context's deadlines, as grpc-java's channel takes.
        Deadline deadline = callOptions.getDeadline();
        final Deadline inherited = Context.current().getDeadline();
        if (inherited != null && (deadline == null || inherited.isBefore(deadline))) {
            deadline = inherited;
        }
        return new SidecarClientCall<>(streams.newCall(method, deadline), method, callOptions, deadline, timers);
    }

    @Override
    public String authority() {
        return authority;
    }

    @Override
    public ManagedChannel shutdown() {
        if (!shutdown) {
            shutdown = true;
            streams.close(Duration.ofSeconds(5));
            terminated.countDown();
        }
        return this;
    }

    @Override
    public ManagedChannel shutdownNow() {
        return shutdown();
    }

    @Override
    public boolean isShutdown() {
        return shutdown;
    }

    @Override
    public boolean isTerminated() {
        return terminated.getCount() == 0;
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
        return terminated.await(timeout, unit);
    }
}
