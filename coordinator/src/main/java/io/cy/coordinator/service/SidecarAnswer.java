package io.cy.coordinator.service;

import io.grpc.ClientStreamTracer;
import io.grpc.Metadata;

/**
 * Tells whether a sidecar call's status was sent by the sidecar (it arrived in trailers) or made
 * up on our side of the connection (refused, reset, network closed). Only the latter is our
 * business to annotate or retry; the former is relayed untouched. One instance per sidecar call.
 */
final class SidecarAnswer extends ClientStreamTracer.Factory {

    private volatile boolean trailersReceived;

    private final ClientStreamTracer tracer = new ClientStreamTracer() {
        @Override
        public void inboundTrailers(Metadata trailers) {
            trailersReceived = true;
        }
    };

    @Override
    public ClientStreamTracer newClientStreamTracer(ClientStreamTracer.StreamInfo info, Metadata headers) {
        return tracer;
    }

    /** Whether the sidecar itself ended the call with a status. */
    boolean fromSidecar() {
        return trailersReceived;
    }
}
