package io.cy.coordinator.service;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.auth.CallOrigin;
import io.cy.coordinator.auth.Identity;
import io.cy.coordinator.call.TraceIds;
import io.cy.coordinator.quota.Admission;
import io.cy.coordinator.quota.QuotaDecision;
import io.cy.coordinator.quota.Quotas;
import io.cy.coordinator.sidecar.RoutingKey;
import io.cy.coordinator.sidecar.Sidecar;
import io.cy.coordinator.tracing.CallTrace;
import io.cy.coordinator.transport.client.SidecarCall;
import io.cy.coordinator.sidecar.SidecarPool;
import io.cy.llm.proto.StreamPredictRequest;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.Status;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Forwards one bidi StreamPredict call to a sidecar and streams its responses back.
 *
 * <p>The first request is parsed and validated, its trace id settled, and only then is a sidecar
 * chosen. Responses are relayed as bytes. Each direction asks its source for the next message
 * only while its destination is ready, so a slow reader on either end slows the other end
 * instead of filling a buffer here. Cancellation, deadlines and statuses travel both ways.
 *
 * <p>Threads: the client-facing listener and the sidecar-facing listener each run serialised,
 * but on different threads. Once the sidecar call exists, only the sidecar listener writes to
 * the client's call (headers, messages, close); the client listener reaches the sidecar call
 * under the per-call lock, which also guards the one retry.
 */
public final class StreamPredictForwarder implements ServerCallHandler<StreamPredictRequest, byte[]> {

    private static final Logger logger = LoggerFactory.getLogger(StreamPredictForwarder.class);
    private static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    private final SidecarPool sidecars;
    private final RequestValidator validator;
    private final Quotas quotas;
    private final java.util.function.BooleanSupplier auditAccepting;
    private final MethodDescriptor<StreamPredictRequest, byte[]> sidecarMethod;
    private final String sidecarAuthorization;
    private final CallEndListener callEndListener;
    private final AtomicInteger active = new AtomicInteger();
    private volatile boolean shuttingDown;

    /**
     * @param sidecarMethod StreamPredict towards the sidecar, with responses kept as bytes
     * @param internalToken sent to sidecars as a bearer token; empty for none
     */
    /**
     * @param auditAccepting false while the audit log refuses events (fail_closed): new calls are
     *     refused rather than served unaudited
     */
    public StreamPredictForwarder(SidecarPool sidecars, RequestValidator validator, Quotas quotas,
                                  java.util.function.BooleanSupplier auditAccepting,
                                  MethodDescriptor<StreamPredictRequest, byte[]> sidecarMethod,
                                  String internalToken, CallEndListener callEndListener) {
        this.sidecars = requireNonNull(sidecars, "sidecars");
        this.validator = requireNonNull(validator, "validator");
        this.quotas = requireNonNull(quotas, "quotas");
        this.auditAccepting = requireNonNull(auditAccepting, "auditAccepting");
        this.sidecarMethod = requireNonNull(sidecarMethod, "sidecarMethod");
        this.sidecarAuthorization = requireNonNull(internalToken, "internalToken").isEmpty()
                ? null : "Bearer " + internalToken;
        this.callEndListener = requireNonNull(callEndListener, "callEndListener");
    }

    /** From now on, streams cancelled by the server are reported as ended by shutdown. */
    public void beginShutdown() {
        shuttingDown = true;
    }

    /** Streams open right now. */
    public int activeCalls() {
        return active.get();
    }

    @Override
    public ServerCall.Listener<StreamPredictRequest> startCall(
            ServerCall<StreamPredictRequest, byte[]> call, Metadata headers) {
        final ForwardedCall forwarded = new ForwardedCall(call, headers, Context.current().getDeadline(),
                Identity.CURRENT.get());
        active.incrementAndGet();
        call.request(1);
        return forwarded;
    }

    /** One client call and the sidecar call(s) serving it. */
    private final class ForwardedCall extends ServerCall.Listener<StreamPredictRequest> {

        private final ServerCall<StreamPredictRequest, byte[]> serverCall;
        private final Metadata clientHeaders;
        private final Deadline deadline;
        private final Identity identity;
        private final CallTrace trace = CallTrace.current();
        private final long startNanos = System.nanoTime();
        private final Instant startTime = Instant.now();
        // The first request as received, for the call's summary; and what quotas decided.
        private volatile StreamPredictRequest request;
        private volatile String quotaDecision = "none";

        // Client listener thread only.
        private int received;

        // Guarded by this: the sidecar side as seen from the client listener.
        private StreamPredictRequest first;
        private boolean halfClosed;
        private boolean ended;
        private Status overrideStatus;
        private final List<Sidecar> tried = new ArrayList<>(2);
        private final List<String> failures = new ArrayList<>(2);
        private Attempt attempt;
        // Set once admitted; settled by finish(), the one place every call ends.
        private volatile Admission admission;

        // Set once the first request is accepted; read by the sidecar listener afterwards.
        private volatile String traceId = "";
        // Set when the client's call was cancelled (by the client, its deadline or shutdown): from
        // then on nothing is written to it, and this is how the call ended.
        private volatile Status cancelled;

        // Each set when one side had to wait for the other to become ready; whoever clears it
        // first asks for the next message, so no wakeup is lost and none is doubled.
        private final AtomicBoolean clientRequestPending = new AtomicBoolean();

        ForwardedCall(ServerCall<StreamPredictRequest, byte[]> serverCall, Metadata clientHeaders, Deadline deadline,
                      Identity identity) {
            this.serverCall = serverCall;
            this.clientHeaders = clientHeaders;
            this.deadline = deadline;
            this.identity = identity;
            trace.claim();
        }

        @Override
        public void onMessage(StreamPredictRequest request) {
            try {
                received++;
                if (received == 1) {
                    this.request = request;
                    // Settled first, so that every refusal below is recorded under the call's trace id.
                    traceId = TraceIds.resolve(request.getMetadata().getTraceId(), clientHeaders);
                }
                Status invalid = validator.validate(request);
                if (invalid == null) {
                    invalid = checkTenant(request);
                }
                if (received == 1) {
                    if (invalid != null) {
                        closeBeforeSidecar(invalid, null);
                        return;
                    }
                    if (!auditAccepting.getAsBoolean()) {
                        closeBeforeSidecar(Status.UNAVAILABLE.withDescription("audit log unavailable"), null);
                        return;
                    }
                    final QuotaDecision quota = quotas.admit(tenantOf(request), request);
                    if (!quota.isAdmitted()) {
                        quotaDecision = "rejected:" + quota.reason().key();
                        closeBeforeSidecar(quota.status(), quota.trailers());
                        return;
                    }
                    quotaDecision = "admitted";
                    admission = quota.admission();
                    synchronized (this) {
                        if (ended) {
                            return;
                        }
                        first = rewrite(request);
                        startAttempt();
                    }
                } else {
                    synchronized (this) {
                        if (ended) {
                            return;
                        }
                        if (invalid != null) {
                            cancelSidecar(invalid);
                            return;
                        }
                        // The worker reads only the first message; later ones are relayed so the
                        // stream stays transparent, with the same trace id.
                        attempt.call.sendMessage(rewrite(request));
                        attempt.forwarded++;
                    }
                }
                requestNextFromClient();
            } catch (RuntimeException e) {
                fail(e);
            }
        }

        @Override
        public void onHalfClose() {
            try {
                synchronized (this) {
                    if (ended) {
                        return;
                    }
                    halfClosed = true;
                    if (attempt != null) {
                        attempt.call.halfClose();
                        return;
                    }
                }
                closeBeforeSidecar(Status.INVALID_ARGUMENT.withDescription("Empty request stream"), null);
            } catch (RuntimeException e) {
                fail(e);
            }
        }

        @Override
        public void onCancel() {
            cancelled = cancellationReason();
            final Attempt current;
            synchronized (this) {
                current = attempt;
                if (current == null) {
                    if (ended) {
                        return;
                    }
                    ended = true;
                }
            }
            if (current != null) {
                // The sidecar listener's onClose finishes the call.
                current.call.cancel(cancelled.getDescription());
            } else {
                finish(cancelled, null, 0, 0, -1);
            }
        }

        private Status cancellationReason() {
            if (deadline != null && deadline.isExpired()) {
                return Status.DEADLINE_EXCEEDED.withDescription("client deadline exceeded");
            }
            if (shuttingDown) {
                return Status.UNAVAILABLE.withDescription("coordinator shutting down: grace period over");
            }
            return Status.CANCELLED.withDescription("client cancelled");
        }

        @Override
        public void onReady() {
            final Attempt current;
            synchronized (this) {
                current = attempt;
            }
            if (current != null) {
                current.resumeIfPending();
            }
        }

        /** Ask the client for its next message once the sidecar can take it. */
        private void requestNextFromClient() {
            final Attempt current;
            synchronized (this) {
                if (ended) {
                    return;
                }
                current = attempt;
            }
            if (current == null || current.call.isReady()) {
                serverCall.request(1);
                return;
            }
            clientRequestPending.set(true);
            if (current.call.isReady() && clientRequestPending.compareAndSet(true, false)) {
                serverCall.request(1);
            }
        }

        /** Whose budget the call uses: the credential's tenant; without authentication, the request's. */
        private String tenantOf(StreamPredictRequest request) {
            if (identity != null) {
                return identity.tenant();
            }
            final String claimed = request.getMetadata().getTenant();
            return claimed.isEmpty() ? "default" : claimed;
        }

        /** PERMISSION_DENIED when the request claims another tenant than the caller's credential. */
        private Status checkTenant(StreamPredictRequest request) {
            final String claimed = request.getMetadata().getTenant();
            if (identity == null || claimed.isEmpty() || claimed.equals(identity.tenant())) {
                return null;
            }
            return Status.PERMISSION_DENIED.withDescription("metadata.tenant: '" + claimed
                    + "' does not match the authenticated tenant '" + identity.tenant() + "'");
        }

        /** The request as the sidecar gets it: with the call's trace id and the caller's tenant. */
        private StreamPredictRequest rewrite(StreamPredictRequest request) {
            final String tenant = identity == null ? request.getMetadata().getTenant() : identity.tenant();
            if (request.getMetadata().getTraceId().equals(traceId) && request.getMetadata().getTenant().equals(tenant)) {
                return request;
            }
            return request.toBuilder()
                    .setMetadata(request.getMetadata().toBuilder().setTraceId(traceId).setTenant(tenant))
                    .build();
        }

        /** Starts a sidecar call for the first request; holds the lock. */
        private void startAttempt() {
            final Sidecar sidecar = sidecars.acquire(tried, RoutingKey.NONE);
            if (sidecar == null) {
                ended = true;
                final Status status = failures.isEmpty()
                        ? Status.UNAVAILABLE.withDescription("no sidecar available: "
                                + sidecars.all().size() + " configured, none healthy and not draining"
                                + Statuses.reasons(sidecars.all()))
                        : Statuses.unreachable(failures);
                settleQuota(0, false);
                serverCall.close(status, trailersWithTraceId(null));
                finish(status, null, 0, 0, -1);
                return;
            }
            tried.add(sidecar);
            final SidecarCall<StreamPredictRequest> call = sidecar.streams().newCall(sidecarMethod, deadline);
            final Attempt started = new Attempt(sidecar, call);
            attempt = started;
            // Counted before start(): a call that cannot connect is closed soon after start(),
            // and onClose must then see the request as held.
            started.forwarded = 1;
            final Metadata headers = sidecarHeaders();
            trace.attemptStarted(headers, sidecar.toString(), tried.size() > 1);
            call.start(started, headers);
            if (attempt != started || ended) {
                // Closed inside start(): onClose already retried elsewhere or ended the call.
                return;
            }
            call.request(1);
            call.sendMessage(first);
            if (halfClosed) {
                call.halfClose();
            }
            if (cancelled != null) {
                // The client went away while this attempt was being set up (a retry).
                call.cancel(cancelled.getDescription());
            }
        }

        private Metadata sidecarHeaders() {
            // Built, never copied: nothing the client sent as credentials reaches the sidecar.
            final Metadata headers = new Metadata();
            if (sidecarAuthorization != null) {
                headers.put(AUTHORIZATION, sidecarAuthorization);
            }
            headers.put(TraceIds.TRACE_ID, traceId);
            return headers;
        }

        /** Ends the call for a reason of the coordinator's own while a sidecar call is open; holds the lock. */
        private void cancelSidecar(Status status) {
            overrideStatus = status;
            attempt.call.cancel(status.getDescription());
        }

        /** Closes the client's call before any sidecar call exists. */
        private void closeBeforeSidecar(Status status, Metadata trailers) {
            synchronized (this) {
                if (ended) {
                    return;
                }
                ended = true;
            }
            serverCall.close(status, trailersWithTraceId(trailers));
            finish(status, null, 0, 0, -1);
        }

        private Metadata trailersWithTraceId(Metadata trailers) {
            final Metadata out = new Metadata();
            if (trailers != null) {
                out.merge(trailers);
            }
            out.put(TraceIds.TRACE_ID, traceId());
            return out;
        }

        /** The call's trace id; from the headers alone when no message came to settle it. */
        private String traceId() {
            if (traceId.isEmpty()) {
                traceId = TraceIds.fromHeaders(clientHeaders);
            }
            return traceId;
        }

        /** Something in our own code threw: end both sides with INTERNAL and keep serving. */
        private void fail(RuntimeException e) {
            try (CallTrace.LogScope ignored = trace.logScope(traceId)) {
                logger.error("StreamPredict trace_id={} failed in the coordinator", traceId, e);
            }
            final Status status = Statuses.internal(e);
            synchronized (this) {
                if (ended) {
                    return;
                }
                if (attempt != null) {
                    cancelSidecar(status);
                    return;
                }
                ended = true;
            }
            try {
                serverCall.close(status, trailersWithTraceId(null));
            } catch (RuntimeException closeFailure) {
                logger.debug("closing after a failure failed too", closeFailure);
            }
            finish(status, null, 0, 0, -1);
        }

        private String api() {
            return CallOrigin.api(serverCall, clientHeaders);
        }

        /** Gives back the unused reservation; the first call of it counts, later ones do nothing. */
        private void settleQuota(long chunks, boolean promptProcessed) {
            final Admission admitted = admission;
            if (admitted != null) {
                admitted.settle(chunks, promptProcessed);
            }
        }

        private void finish(Status status, Sidecar sidecar, long chunks, long bytesOut, long firstChunkNanos) {
            active.decrementAndGet();
            settleQuota(chunks, sidecar != null);
            final long now = System.nanoTime();
            final StreamPredictRequest r = request;
            try {
                final CallSummary summary = new CallSummary(
                        "StreamPredict",
                        api(),
                        traceId(),
                        CallOrigin.clientAddress(serverCall, clientHeaders),
                        startTime,
                        identity,
                        r == null ? (identity == null ? "" : identity.tenant()) : tenantOf(r),
                        r == null ? "" : r.getModelId(),
                        r == null ? "" : r.getAdapter(),
                        r == null ? 0 : r.getPriority(),
                        r == null ? "" : r.getPrompt(),
                        r == null ? 0 : Quotas.estimatePromptTokens(r),
                        sidecar == null ? "" : sidecar.toString(),
                        status,
                        chunks,
                        bytesOut,
                        firstChunkNanos < 0 ? -1 : firstChunkNanos - startNanos,
                        now - startNanos,
                        quotaDecision,
                        cancelled != null && cancelled.getCode() == Status.Code.CANCELLED,
                        CallOrigin.streamed(serverCall, clientHeaders));
                trace.end(summary.traceId(), summary.tenant(), summary.model(), summary.sidecar(),
                        summary.promptTokens(), summary.chunks(), summary.timeToFirstChunkNanos(), summary.status());
                try (CallTrace.LogScope ignored = trace.logScope(summary.traceId())) {
                    callEndListener.onCallEnd(summary);
                }
            } catch (RuntimeException e) {
                logger.error("call-end listener failed", e);
            }
        }

        /** One sidecar call and its listener; callbacks arrive serialised on the sidecar connection's event loop. */
        private final class Attempt implements SidecarCall.Listener {

            private final Sidecar sidecar;
            private final SidecarCall<StreamPredictRequest> call;
            private final AtomicBoolean responseRequestPending = new AtomicBoolean();
            // Guarded by ForwardedCall.this.
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

            Attempt(Sidecar sidecar, SidecarCall<StreamPredictRequest> call) {
                this.sidecar = sidecar;
                this.call = call;
            }

            @Override
            public void onMessage(byte[] message) {
                try {
                    final long now = System.nanoTime();
                    if (messages == 0) {
                        firstMessageNanos = now;
                        trace.firstChunk();
                    }
                    lastMessageNanos = now;
                    messages++;
                    final boolean last = ResponseFrames.isEndOfStream(message);
                    if (last) {
                        endOfStream = true;
                    }
                    if (cancelled != null) {
                        // Never reaches the client, so it is neither counted nor charged.
                        return;
                    }
                    if (!headersSent) {
                        final Metadata headers = new Metadata();
                        headers.put(TraceIds.TRACE_ID, traceId);
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
                    fail(e);
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
                if (clientRequestPending.compareAndSet(true, false)) {
                    serverCall.request(1);
                }
            }

            @Override
            public void onClose(Status status, Metadata trailers) {
                try {
                    trace.attemptEnded(status);
                    sidecar.release();
                    if (messages > 0) {
                        sidecar.latency().record(firstMessageNanos - attemptStartNanos, messages,
                                lastMessageNanos - firstMessageNanos);
                    }
                    Status outcome = null;
                    if (cancelled == null && serverCall.isCancelled()) {
                        // The client's cancellation reached the sidecar call through the gRPC
                        // Context before onCancel ran here.
                        cancelled = cancellationReason();
                    }
                    synchronized (ForwardedCall.this) {
                        if (attempt != this) {
                            return;
                        }
                        if (Statuses.isUnreachable(status, call.answeredBySidecar())) {
                            sidecar.markUnreachable("a call failed: " + Statuses.describe(status));
                            if (messages == 0 && forwarded == 1 && !ended) {
                                // Nothing reached the client yet and the request is still held:
                                // one transparent retry on another sidecar.
                                failures.add(Statuses.failure(sidecar, status));
                                if (tried.size() < 2) {
                                    startAttempt();
                                    return;
                                }
                                outcome = Statuses.unreachable(failures);
                            }
                        }
                        ended = true;
                        if (overrideStatus != null) {
                            outcome = overrideStatus;
                        } else if (outcome == null) {
                            outcome = settle(status);
                        }
                    }
                    // Before the client hears of the end: a client that starts its next call at
                    // once must find its slot free.
                    settleQuota(delivered, true);
                    if (cancelled == null) {
                        serverCall.close(outcome, headersSent ? trailers : trailersWithTraceId(trailers));
                    }
                    finish(cancelled != null ? cancelled : outcome, sidecar, delivered, bytesOut, firstMessageNanos);
                } catch (RuntimeException e) {
                    try (CallTrace.LogScope ignored = trace.logScope(traceId)) {
                        logger.error("StreamPredict trace_id={} failed while closing", traceId, e);
                    }
                    try {
                        serverCall.close(Statuses.internal(e), new Metadata());
                    } catch (RuntimeException ignored) {
                        // Already closed; nothing more to tell the client.
                    }
                }
            }

            /** The client's status for the sidecar's: OK only for a stream that really ended. */
            private Status settle(Status status) {
                if (status.isOk() && !endOfStream) {
                    return Status.INTERNAL.withDescription("sidecar " + sidecar
                            + " ended the stream without an end_of_stream message after " + messages + " messages");
                }
                return Statuses.fromSidecar(sidecar, status, call.answeredBySidecar());
            }
        }
    }
}
