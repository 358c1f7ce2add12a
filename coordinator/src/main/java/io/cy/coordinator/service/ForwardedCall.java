package io.cy.coordinator.service;

import io.cy.coordinator.auth.CallOrigin;
import io.cy.coordinator.auth.Identity;
import io.cy.coordinator.call.TraceIds;
import io.cy.coordinator.quota.Admission;
import io.cy.coordinator.quota.QuotaDecision;
import io.cy.coordinator.quota.Quotas;
import io.cy.coordinator.routing.Resolution;
import io.cy.coordinator.routing.Route;
import io.cy.coordinator.routing.RouteTable;
import io.cy.coordinator.routing.StickyKeys;
import io.cy.coordinator.sidecar.RoutingKey;
import io.cy.coordinator.sidecar.Sidecar;
import io.cy.coordinator.tracing.CallTrace;
import io.cy.coordinator.transport.client.SidecarCall;
import io.cy.llm.proto.StreamPredictRequest;
import io.grpc.Deadline;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.Status;
import io.netty.util.internal.ThreadExecutorMap;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client call and the sidecar call(s) serving it: admission ({@link CallAdmission}), route
 * resolution ({@link io.cy.coordinator.routing.Routing}), then a {@link SidecarAttempt}, retried
 * once on another sidecar when the first could not be reached.
 *
 * <p>Threads: the client-facing listener (this) and the sidecar-facing one (the attempt) each run
 * serialised, but possibly on different threads. Once the sidecar call exists, only the attempt
 * writes to the client's call (headers, messages, close); this listener reaches the sidecar call
 * under its lock, which also guards the one retry.
 */
final class ForwardedCall extends ServerCall.Listener<StreamPredictRequest> {

    private static final Logger logger = LoggerFactory.getLogger(ForwardedCall.class);
    private static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    /** Tells the HTTP bridge (and any client) that the NOT_FOUND is about the model: OpenAI's model_not_found. */
    private static final Metadata.Key<String> CY_ERROR = Metadata.Key.of("cy-error", Metadata.ASCII_STRING_MARSHALLER);
    private static final String MODEL_NOT_FOUND = "model_not_found";

    private final StreamPredictForwarder forwarder;

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
    // Set once the first request is resolved; the call keeps it, whatever the table becomes.
    private volatile Route route;
    private RoutingKey routingKey = RoutingKey.NONE;

    // Client listener thread only.
    private int received;

    // Guarded by this: the sidecar side as seen from the client listener.
    private StreamPredictRequest first;
    private boolean halfClosed;
    // The first request waits for its quota decision; no sidecar call exists yet.
    private boolean admitting;
    private boolean ended;
    private Status overrideStatus;
    private final List<Sidecar> tried = new ArrayList<>(2);
    private final List<String> failures = new ArrayList<>(2);
    private SidecarAttempt attempt;
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

    ForwardedCall(StreamPredictForwarder forwarder, ServerCall<StreamPredictRequest, byte[]> serverCall,
                  Metadata clientHeaders, Deadline deadline, Identity identity) {
        this.forwarder = forwarder;
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
            final Status invalid = forwarder.callAdmission.check(request, identity);
            if (received == 1) {
                if (invalid != null) {
                    closeBeforeSidecar(invalid, null);
                    return;
                }
                final Status auditRefusal = forwarder.callAdmission.auditGate();
                if (auditRefusal != null) {
                    closeBeforeSidecar(auditRefusal, null);
                    return;
                }
                final String tenant = tenantOf(request);
                final RouteTable table = forwarder.routing.active();
                final String stickyKey = StickyKeys.of(table.routes().stickyKey(), tenant, request, clientHeaders);
                final Resolution resolution = forwarder.routing.resolver().resolve(table, request.getModelId(),
                        request.getAdapter(), stickyKey, request.getWorkerHint());
                if (!resolution.isResolved()) {
                    final Metadata trailers = new Metadata();
                    trailers.put(CY_ERROR, MODEL_NOT_FOUND);
                    closeBeforeSidecar(resolution.error(), trailers);
                    return;
                }
                route = resolution.route();
                routingKey = new RoutingKey(stickyKey, request.getPrompt(), request.getAdapter());
                synchronized (this) {
                    admitting = true;
                }
                // A store in another process answers later, on its thread: the event loop goes on,
                // and the call continues back on it (its sidecar connection is that loop's).
                final CompletableFuture<QuotaDecision> decision =
                        forwarder.callAdmission.admitAsync(tenant, request, route).toCompletableFuture();
                final Executor loop = ThreadExecutorMap.currentExecutor();
                if (decision.isDone() || loop == null) {
                    decision.whenComplete((quota, error) -> admitted(request, quota, error));
                } else {
                    decision.whenCompleteAsync((quota, error) -> admitted(request, quota, error), task -> {
                        try {
                            loop.execute(task);
                        } catch (RejectedExecutionException e) {
                            task.run(); // the loop is shutting down: end the call here instead
                        }
                    });
                }
                return;
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
                    attempt.call().sendMessage(rewrite(request));
                    attempt.countForwarded();
                }
            }
            requestNextFromClient();
        } catch (RuntimeException e) {
            fail(e);
        }
    }

    /** The quota's decision on the first request: the call goes on to a sidecar, or ends here. */
    private void admitted(StreamPredictRequest request, QuotaDecision quota, Throwable error) {
        try {
            if (error != null) {
                throw error instanceof RuntimeException e ? e : new IllegalStateException(error);
            }
            if (!quota.isAdmitted()) {
                quotaDecision = "rejected:" + quota.reason().key();
                closeBeforeSidecar(quota.status(), quota.trailers());
                return;
            }
            quotaDecision = "admitted";
            admission = quota.admission();
            synchronized (this) {
                admitting = false;
                if (ended) {
                    // Cancelled while the quota was asked: finish() ran before there was anything to settle.
                    settleQuota(0, false);
                    return;
                }
                first = rewrite(request);
                startAttempt();
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
                    attempt.call().halfClose();
                    return;
                }
                if (admitting) {
                    return; // the attempt the admission starts half-closes its sidecar call
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
        final SidecarAttempt current;
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
            current.call().cancel(cancelled.getDescription());
        } else {
            finish(cancelled, null, 0, 0, -1);
        }
    }

    private Status cancellationReason() {
        if (deadline != null && deadline.isExpired()) {
            return Status.DEADLINE_EXCEEDED.withDescription("client deadline exceeded");
        }
        if (forwarder.isShuttingDown()) {
            return Status.UNAVAILABLE.withDescription("coordinator shutting down: grace period over");
        }
        return Status.CANCELLED.withDescription("client cancelled");
    }

    @Override
    public void onReady() {
        final SidecarAttempt current;
        synchronized (this) {
            current = attempt;
        }
        if (current != null) {
            current.resumeIfPending();
        }
    }

    /** Ask the client for its next message once the sidecar can take it. */
    private void requestNextFromClient() {
        final SidecarAttempt current;
        synchronized (this) {
            if (ended) {
                return;
            }
            current = attempt;
        }
        if (current == null || current.call().isReady()) {
            serverCall.request(1);
            return;
        }
        clientRequestPending.set(true);
        if (current.call().isReady() && clientRequestPending.compareAndSet(true, false)) {
            serverCall.request(1);
        }
    }

    private String tenantOf(StreamPredictRequest request) {
        return CallAdmission.tenantOf(request, identity);
    }

    /** The request as the sidecar gets it: with the call's trace id, the caller's tenant and the resolved model. */
    private StreamPredictRequest rewrite(StreamPredictRequest request) {
        final String tenant = identity == null ? request.getMetadata().getTenant() : identity.tenant();
        final String model = route.model();
        if (request.getMetadata().getTraceId().equals(traceId) && request.getMetadata().getTenant().equals(tenant)
                && request.getModelId().equals(model)) {
            return request;
        }
        return request.toBuilder()
                .setModelId(model)
                .setMetadata(request.getMetadata().toBuilder().setTraceId(traceId).setTenant(tenant))
                .build();
    }

    /** Starts a sidecar call for the first request; holds the lock. */
    private void startAttempt() {
        final Sidecar sidecar = forwarder.routing.acquire(route, tried, routingKey);
        if (sidecar == null) {
            ended = true;
            final List<Sidecar> candidates = forwarder.routing.sidecarsOf(route);
            final Status status = failures.isEmpty()
                    ? Status.UNAVAILABLE.withDescription("no sidecar available"
                            + (forwarder.sidecars.backendIds().size() > 1 ? " in backend " + String.join(", ", route.backends()) : "")
                            + ": " + candidates.size() + " configured, none healthy and not draining"
                            + Statuses.reasons(candidates))
                    : Statuses.unreachable(failures);
            settleQuota(0, false);
            serverCall.close(status, trailersWithTraceId(null));
            finish(status, null, 0, 0, -1);
            return;
        }
        tried.add(sidecar);
        final SidecarCall<StreamPredictRequest> call = sidecar.streams().newCall(forwarder.sidecarMethod, deadline);
        final SidecarAttempt started = new SidecarAttempt(this, serverCall, sidecar,
                forwarder.sidecars.backendOf(sidecar), route.model(), call);
        attempt = started;
        // Counted before start(): a call that cannot connect is closed soon after start(),
        // and onClose must then see the request as held.
        started.countForwarded();
        final Metadata headers = sidecarHeaders();
        trace.attemptStarted(headers, forwarder.sidecars.backendOf(sidecar), sidecar.toString(), tried.size() > 1);
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
        if (forwarder.sidecarAuthorization != null) {
            headers.put(AUTHORIZATION, forwarder.sidecarAuthorization);
        }
        headers.put(TraceIds.TRACE_ID, traceId);
        return headers;
    }

    /** Ends the call for a reason of the coordinator's own while a sidecar call is open; holds the lock. */
    private void cancelSidecar(Status status) {
        overrideStatus = status;
        attempt.call().cancel(status.getDescription());
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

    boolean isCancelled() {
        return cancelled != null;
    }

    /** The trace id, once the first request settled it. */
    String traceIdSettled() {
        return traceId;
    }

    /** The sidecar can take more: ask the client for its next message, if one is owed. */
    void sidecarReady() {
        if (clientRequestPending.compareAndSet(true, false)) {
            serverCall.request(1);
        }
    }

    /** An attempt's sidecar call ended: retry once on another sidecar, or end the client's call. */
    void attemptClosed(SidecarAttempt closed, Status status, Metadata trailers) {
        try {
            Status outcome = null;
            if (cancelled == null && serverCall.isCancelled()) {
                // The client's cancellation reached the sidecar call through the gRPC
                // Context before onCancel ran here.
                cancelled = cancellationReason();
            }
            synchronized (this) {
                if (attempt != closed) {
                    return;
                }
                if (Statuses.isUnreachable(status, closed.call().answeredBySidecar())) {
                    closed.sidecar().markUnreachable("a call failed: " + Statuses.describe(status));
                    if (closed.holdsOnlyTheFirstRequest() && !ended) {
                        // Nothing reached the client yet and the request is still held:
                        // one transparent retry on another sidecar.
                        failures.add(Statuses.failure(closed.sidecar(), status));
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
                    outcome = closed.settle(status);
                }
            }
            // Before the client hears of the end: a client that starts its next call at
            // once must find its slot free.
            settleQuota(closed.delivered(), true);
            if (cancelled == null) {
                serverCall.close(outcome, closed.headersSent() ? trailers : trailersWithTraceId(trailers));
            }
            finish(cancelled != null ? cancelled : outcome, closed.sidecar(), closed.delivered(), closed.bytesOut(),
                    closed.firstMessageNanos());
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

    /** Something in our own code threw: end both sides with INTERNAL and keep serving. */
    void fail(RuntimeException e) {
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

    /** The call's trace, for its sidecar attempts. */
    CallTrace trace() {
        return trace;
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
        forwarder.callEnded();
        settleQuota(chunks, sidecar != null);
        final long now = System.nanoTime();
        final StreamPredictRequest r = request;
        final Route routed = route;
        try {
            final CallSummary summary = new CallSummary(
                    "StreamPredict",
                    api(),
                    traceId(),
                    CallOrigin.clientAddress(serverCall, clientHeaders),
                    startTime,
                    identity,
                    r == null ? (identity == null ? "" : identity.tenant()) : tenantOf(r),
                    routed != null ? routed.model() : r == null ? "" : r.getModelId(),
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
                    routed == null ? "" : routed.alias(),
                    sidecar != null ? forwarder.sidecars.backendOf(sidecar) : routed == null ? "" : routed.backend(),
                    routed == null ? "" : routed.note(),
                    CallOrigin.streamed(serverCall, clientHeaders));
            trace.end(summary.traceId(), summary.tenant(), summary.alias(), summary.model(), summary.backend(),
                    summary.sidecar(),
                    summary.promptTokens(), summary.chunks(), summary.timeToFirstChunkNanos(), summary.status());
            try (CallTrace.LogScope ignored = trace.logScope(summary.traceId())) {
                forwarder.callEndListener.onCallEnd(summary);
            }
        } catch (RuntimeException e) {
            logger.error("call-end listener failed", e);
        }
    }
}
