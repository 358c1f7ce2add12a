package io.cy.coordinator.interop;

import static java.util.Objects.requireNonNull;

import com.google.common.util.concurrent.MoreExecutors;
import io.cy.coordinator.transport.client.SidecarCall;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ClientStreamTracer;
import io.grpc.Deadline;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.internal.SerializingExecutor;
import java.io.ByteArrayInputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.annotation.Nullable;

/**
 * A grpc {@link ClientCall} made of a coordinator {@link SidecarCall}, so that grpc-java's interop
 * suite can drive the coordinator's HTTP/2 client. It does what grpc-java's own call does above
 * its transport, and nothing of the wire: it parses the response bytes, runs the listener on the
 * call's executor, ends the call at its deadline (a reset after the deadline is DEADLINE_EXCEEDED,
 * as in grpc-java) and tells the call's stream tracers of headers, messages and the close. The
 * sidecar call does not hand over response headers, so the listener never hears of them.
 */
final class SidecarClientCall<ReqT, RespT> extends ClientCall<ReqT, RespT> {

    private final SidecarCall<ReqT> call;
    private final MethodDescriptor<ReqT, RespT> method;
    private final CallOptions callOptions;
    @Nullable
    private final Deadline deadline;
    private final ScheduledExecutorService timers;
    private final SerializingExecutor callbacks;
    private final List<ClientStreamTracer> tracers = new ArrayList<>();
    private final AtomicInteger sent = new AtomicInteger();
    private int received;
    private volatile ScheduledFuture<?> deadlineTimer;

    SidecarClientCall(SidecarCall<ReqT> call, MethodDescriptor<ReqT, RespT> method, CallOptions callOptions,
                      @Nullable Deadline deadline, ScheduledExecutorService timers) {
        this.call = requireNonNull(call, "call");
        this.method = requireNonNull(method, "method");
        this.callOptions = requireNonNull(callOptions, "callOptions");
        this.deadline = deadline;
        this.timers = requireNonNull(timers, "timers");
        final Executor executor = callOptions.getExecutor();
        this.callbacks = new SerializingExecutor(executor == null ? MoreExecutors.directExecutor() : executor);
    }

    @Override
    public void start(Listener<RespT> listener, Metadata headers) {
        final ClientStreamTracer.StreamInfo info = ClientStreamTracer.StreamInfo.newBuilder()
                .setCallOptions(callOptions).build();
        for (ClientStreamTracer.Factory factory : callOptions.getStreamTracerFactories()) {
            tracers.add(factory.newClientStreamTracer(info, headers));
        }
        if (deadline != null) {
            deadlineTimer = timers.schedule(() -> call.cancel("deadline exceeded"),
                    Math.max(0, deadline.timeRemaining(TimeUnit.NANOSECONDS)), TimeUnit.NANOSECONDS);
        }
        call.start(new SidecarCall.Listener() {
            @Override
            public void onMessage(byte[] message) {
                callbacks.execute(() -> {
                    final int seq = received++;
                    for (ClientStreamTracer tracer : tracers) {
                        tracer.inboundMessage(seq);
                        tracer.inboundMessageRead(seq, message.length, message.length);
                    }
                    listener.onMessage(method.parseResponse(new ByteArrayInputStream(message)));
                });
            }

            @Override
            public void onReady() {
                callbacks.execute(listener::onReady);
            }

            @Override
            public void onClose(Status status, Metadata trailers) {
                if (deadlineTimer != null) {
                    deadlineTimer.cancel(false);
                }
                final Status closed = status.getCode() == Status.Code.CANCELLED && deadline != null
                        && deadline.isExpired()
                        ? Status.DEADLINE_EXCEEDED.withDescription("deadline exceeded: " + status.getDescription())
                        : status;
                callbacks.execute(() -> {
                    for (ClientStreamTracer tracer : tracers) {
                        tracer.inboundTrailers(trailers);
                        tracer.streamClosed(closed);
                    }
                    listener.onClose(closed, trailers);
                });
            }
        }, headers);
        for (ClientStreamTracer tracer : tracers) {
            tracer.outboundHeaders();
        }
    }

    @Override
    public void request(int numMessages) {
        call.request(numMessages);
    }

    @Override
    public void cancel(@Nullable String message, @Nullable Throwable cause) {
        call.cancel(message == null ? "cancelled by the client" : message);
    }

    @Override
    public void halfClose() {
        call.halfClose();
    }

    @Override
    public void sendMessage(ReqT message) {
        final int seq = sent.getAndIncrement();
        call.sendMessage(message);
        for (ClientStreamTracer tracer : tracers) {
            // The sizes are the transport's to know; -1 says they are not measured here.
            tracer.outboundMessage(seq);
            tracer.outboundMessageSent(seq, -1, -1);
        }
    }

    @Override
    public boolean isReady() {
        return call.isReady();
    }
}
