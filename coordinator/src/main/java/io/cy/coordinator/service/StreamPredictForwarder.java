package io.cy.coordinator.service;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.auth.Identity;
import io.cy.coordinator.routing.Routing;
import io.cy.coordinator.sidecar.SidecarPool;
import io.cy.llm.proto.StreamPredictRequest;
import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Forwards one bidi StreamPredict call to a sidecar and streams its responses back.
 *
 * <p>The first request is parsed, its trace id settled, and the call goes through its steps, each
 * a class of its own: admission ({@link CallAdmission}: validation, tenant, audit gate, quota),
 * route resolution ({@link Routing}: which backend and model, and which of the backend's
 * sidecars), then the sidecar attempt ({@link SidecarAttempt}), all driven by a
 * {@link ForwardedCall}. Responses are relayed as bytes. Each direction asks its source for the
 * next message only while its destination is ready, so a slow reader on either end slows the
 * other end instead of filling a buffer here. Cancellation, deadlines and statuses travel both
 * ways.
 */
public final class StreamPredictForwarder implements ServerCallHandler<StreamPredictRequest, byte[]> {

    final SidecarPool sidecars;
    final Routing routing;
    final CallAdmission callAdmission;
    final MethodDescriptor<StreamPredictRequest, byte[]> sidecarMethod;
    /** {@code Bearer <internal token>}, or null when none is sent. */
    final String sidecarAuthorization;
    final CallEndListener callEndListener;
    private final AtomicInteger active = new AtomicInteger();
    private volatile boolean shuttingDown;

    /**
     * @param callAdmission validation, tenant, audit gate and quota: whether a call may go on
     * @param sidecarMethod StreamPredict towards the sidecar, with responses kept as bytes
     * @param internalToken sent to sidecars as a bearer token; empty for none
     */
    public StreamPredictForwarder(SidecarPool sidecars, Routing routing, CallAdmission callAdmission,
                                  MethodDescriptor<StreamPredictRequest, byte[]> sidecarMethod,
                                  String internalToken, CallEndListener callEndListener) {
        this.sidecars = requireNonNull(sidecars, "sidecars");
        this.routing = requireNonNull(routing, "routing");
        this.callAdmission = requireNonNull(callAdmission, "callAdmission");
        this.sidecarMethod = requireNonNull(sidecarMethod, "sidecarMethod");
        this.sidecarAuthorization = requireNonNull(internalToken, "internalToken").isEmpty()
                ? null : "Bearer " + internalToken;
        this.callEndListener = requireNonNull(callEndListener, "callEndListener");
    }

    /** From now on, streams cancelled by the server are reported as ended by shutdown. */
    public void beginShutdown() {
        shuttingDown = true;
    }

    boolean isShuttingDown() {
        return shuttingDown;
    }

    /** Streams open right now. */
    public int activeCalls() {
        return active.get();
    }

    /** A call counted by {@link #startCall} has ended; once per call. */
    void callEnded() {
        active.decrementAndGet();
    }

    @Override
    public ServerCall.Listener<StreamPredictRequest> startCall(
            ServerCall<StreamPredictRequest, byte[]> call, Metadata headers) {
        final ForwardedCall forwarded = new ForwardedCall(this, call, headers, Context.current().getDeadline(),
                Identity.CURRENT.get());
        active.incrementAndGet();
        call.request(1);
        return forwarded;
    }
}
