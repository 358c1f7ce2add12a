package io.cy.coordinator.service;

import io.cy.coordinator.call.TraceIds;
import io.cy.coordinator.sidecar.Sidecar;
import io.cy.coordinator.transport.client.SidecarCall;
import io.cy.llm.proto.StreamPredictRequest;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.Status;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One sidecar call of a {@link ForwardedCall} and its listener: relays the sidecar's responses to
 * the client as bytes, asking for the next one only while the client is ready, and counts what
 * it relayed. How the call ends (a retry, the client's status) is the {@link ForwardedCall}'s
 * decision. Callbacks arrive serialised on the sidecar connection's event loop.
 */
final class SidecarAttempt implements SidecarCall.Listener {

    private static final Metadata.Key<String> CY_BACKEND = Metadata.Key.of("cy-backend", Metadata.ASCII_STRING_MARSHALLER);
    private static final Metadata.Key<String> CY_MODEL = Metadata.Key.of("cy-model", Metadata.ASCII_STRING_MARSHALLER);
    private static final Metadata.Key<String> CY_DEGRADED = Metadata.Key.of("cy-degraded", Metadata.ASCII_STRING_MARSHALLER);

    private final ForwardedCall owner;
    private final ServerCall<StreamPredictRequest, byte[]> serverCall;
    private final Sidecar sidecar;
    private final String backend;
    private final String model;
    private final SidecarCall<StreamPredictRequest> call;
    private final AtomicBoolean responseRequestPending = new AtomicBoolean();
    // Guarded by the owner.
    private int forwarded;
    // Sidecar listener thread only.
    private long messages;
    // Chunks sent on to the client (the final end-of-stream message not counted).
    private long delivered;
    private long bytesOut;
    private final long attemptStartNanos = System.nanoTime();
    private long firstMessageNanos = -1;
    private long lastMessageNanos = -1;
    private boolean endOfStream;
    private boolean headersSent;

    /**
     * @param backend and {@code model}: what serves the call, for the response headers
     */
    SidecarAttempt(ForwardedCall owner, ServerCall<StreamPredictRequest, byte[]> serverCall, Sidecar sidecar,
                   String backend, String model, SidecarCall<StreamPredictRequest> call) {
        this.owner = owner;
        this.serverCall = serverCall;
        this.sidecar = sidecar;
        this.backend = backend;
        this.model = model;
        this.call = call;
    }

    SidecarCall<StreamPredictRequest> call() {
        return call;
    }

    Sidecar sidecar() {
        return sidecar;
    }

    /** Counts one more request message handed to the sidecar; under the owner's lock. */
    void countForwarded() {
        forwarded++;
    }

    /** Whether the sidecar has had no request but the first: the attempt may be retried elsewhere. */
    boolean holdsOnlyTheFirstRequest() {
        return messages == 0 && forwarded == 1;
    }

    long delivered() {
        return delivered;
    }

    long bytesOut() {
        return bytesOut;
    }

    /** The backend the sidecar belonged to when the attempt started. */
    String backend() {
        return backend;
    }

    long firstMessageNanos() {
        return firstMessageNanos;
    }

    boolean headersSent() {
        return headersSent;
    }

    @Override
    public void onMessage(byte[] message) {
        try {
            final boolean last = ResponseFrames.isEndOfStream(message);
            // The clock is read for the first message and the last, not for every token between.
            if (messages == 0) {
                firstMessageNanos = System.nanoTime();
                lastMessageNanos = firstMessageNanos;
                owner.trace().firstChunk();
            } else if (last) {
                lastMessageNanos = System.nanoTime();
            }
            messages++;
            if (last) {
                endOfStream = true;
            }
            if (owner.isCancelled()) {
                // Never reaches the client, so it is neither counted nor charged.
                return;
            }
            if (!headersSent) {
                final Metadata headers = new Metadata();
                headers.put(TraceIds.TRACE_ID, owner.traceIdSettled());
                headers.put(CY_BACKEND, backend);
                if (!model.isEmpty()) {
                    headers.put(CY_MODEL, model);
                }
                if (owner.degraded() != null) {
                    headers.put(CY_DEGRADED, owner.degraded());
                }
                serverCall.sendHeaders(headers);
                headersSent = true;
            }
            serverCall.sendMessage(message);
            if (!last) {
                delivered++;
            }
            bytesOut += message.length;
            if (serverCall.isReady()) {
                call.request(1);
                return;
            }
            responseRequestPending.set(true);
            if (serverCall.isReady()) {
                resumeIfPending();
            }
        } catch (RuntimeException e) {
            owner.fail(e);
        }
    }

    /** The client can take more: ask the sidecar for the next response, if one is owed. */
    void resumeIfPending() {
        if (responseRequestPending.compareAndSet(true, false)) {
            call.request(1);
        }
    }

    @Override
    public void onReady() {
        owner.sidecarReady();
    }

    @Override
    public void onClose(Status status, Metadata trailers) {
        owner.trace().attemptEnded(status);
        sidecar.release();
        if (messages > 0) {
            if (!endOfStream) {
                // Ended without its last message: the span of its messages runs to the end.
                lastMessageNanos = System.nanoTime();
            }
            sidecar.latency().record(firstMessageNanos - attemptStartNanos, messages,
                    lastMessageNanos - firstMessageNanos);
        }
        owner.attemptClosed(this, status, trailers);
    }

    /** The client's status for the sidecar's: OK only for a stream that really ended. */
    Status settle(Status status) {
        if (status.isOk() && !endOfStream) {
            return Status.INTERNAL.withDescription("sidecar " + sidecar
                    + " ended the stream without an end_of_stream message after " + messages + " messages");
        }
        return Statuses.fromSidecar(sidecar, status, call.answeredBySidecar());
    }
}
