package io.cy.coordinator.service;

import io.cy.coordinator.auth.CallOrigin;
import io.cy.coordinator.auth.Identity;
import io.cy.coordinator.call.TraceIds;
import io.cy.coordinator.quota.Admission;
import io.cy.coordinator.quota.QuotaDecision;
import io.cy.coordinator.quota.Quotas;
import io.cy.coordinator.routing.Degrade;
import io.cy.coordinator.routing.Resolution;
import io.cy.coordinator.routing.Route;
import io.cy.coordinator.routing.RouteTable;
import io.cy.coordinator.routing.RouteTarget;
import io.cy.coordinator.routing.StickyKeys;
import io.cy.coordinator.sidecar.BackendQueue;
import io.cy.coordinator.sidecar.OutlierDetector;
import io.cy.coordinator.sidecar.RetryBudget;
import io.cy.coordinator.sidecar.RoutingKey;
import io.cy.coordinator.sidecar.Sidecar;
import io.cy.coordinator.tracing.CallTrace;
import io.cy.coordinator.transport.client.SidecarCall;
import io.cy.llm.proto.StreamPredictRequest;
import io.grpc.Deadline;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.Status;
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
 * once on another sidecar of the same backend when the first failed with UNAVAILABLE before its
 * first response (gRFC A6: the call commits to a sidecar with its first response), within the
 * backend's {@link RetryBudget}.
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
    // The event loop that started the call and reads its requests; null on another thread
    // (in-process calls): where the call continues after an asynchronous quota decision.
    private final Executor loop;
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
    // The backend of the first attempt, which a retry stays in; null until then.
    private String attemptBackend;
    // The cy-degraded value once the alias's degrade policy applied; guarded by this, read after.
    private volatile String degraded;
    // Set while the call waits in its backend's queue.
    private BackendQueue queuedIn;
    private BackendQueue.Entry queued;
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
        this.loop = forwarder.sidecars.currentLoop();
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
                if (queued != null) {
                    // Sent with the first request once the call's turn comes.
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
                leaveQueue();
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
            if (current == null && queued != null) {
                // Asked for once the call leaves the queue for a sidecar.
                clientRequestPending.set(true);
                return;
            }
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

    /**
     * Retries on another sidecar of the first attempt's backend when its retry budget allows;
     * holds the lock. Returns false, having started nothing, when there is no such sidecar or no
     * budget left.
     */
    private boolean retry() {
        final Sidecar sidecar = forwarder.routing.acquireIn(route, attemptBackend, tried, routingKey);
        if (sidecar == null) {
            return false;
        }
        final RetryBudget budget = route.table().retryBudget(attemptBackend);
        if (budget != null && !budget.tryRetry()) {
            sidecar.release();
            logger.debug("StreamPredict trace_id={}: no retry, backend {} is out of retry budget", traceId, attemptBackend);
            return false;
        }
        startOn(sidecar);
        return true;
    }

    /**
     * Starts a sidecar call for the first request, or, while every sidecar of the backend is at its
     * {@code max_inflight}, queues the call until one frees; holds the lock.
     */
    private void startAttempt() {
        final BackendQueue queue = tried.isEmpty() ? forwarder.sidecars.queue(route.backend()) : null;
        final boolean limited = queue != null && queue.settings().isLimited();
        // Calls already waiting go first: a new one joins them rather than take a freed slot.
        Sidecar sidecar = limited && queue.depth() > 0 && anyFull() ? null : acquireWithinCapacity();
        if (sidecar != null && !sidecar.isAvailable() && tried.isEmpty() && degrades()) {
            // Routing's last resort, a sidecar out of rotation: an alias with a degrade policy has a better one.
            sidecar.release();
            sidecar = null;
        }
        if (sidecar == null && limited && anyFull()) {
            enqueue(queue);
            return;
        }
        if (sidecar == null) {
            final List<Sidecar> candidates = forwarder.routing.sidecarsOf(route);
            final Status status = failures.isEmpty()
                    ? Status.UNAVAILABLE.withDescription("no sidecar available"
                            + (forwarder.sidecars.backendIds().size() > 1 ? " in backend " + String.join(", ", route.backends()) : "")
                            + ": " + candidates.size() + " configured, none healthy, not draining and not ejected"
                            + Statuses.reasons(candidates))
                    : Statuses.unreachable(failures);
            if (failures.isEmpty() && degrade(allEjected(candidates) ? Degrade.Reason.ALL_EJECTED
                    : Degrade.Reason.NO_HEALTHY_SIDECAR, status, null)) {
                return;
            }
            ended = true;
            settleQuota(0, false);
            serverCall.close(status, trailersWithTraceId(null));
            finishAfterTheTurn(status, null, 0, 0, -1);
            return;
        }
        startOn(sidecar);
    }

    private static boolean allEjected(List<Sidecar> sidecars) {
        for (Sidecar sidecar : sidecars) {
            if (!sidecar.isEjected()) {
                return false;
            }
        }
        return !sidecars.isEmpty();
    }

    /**
     * Applies the alias's degrade policy to a call its target cannot serve; holds the lock. Returns
     * false when the policy is off (or no fallback could take the call): the caller refuses it with
     * {@code status}, as without a policy.
     */
    private boolean degrade(Degrade.Reason reason, Status status, Metadata trailers) {
        if (!tried.isEmpty() || degraded != null || route.alias().isEmpty()) {
            return false;
        }
        final Degrade policy = route.table().routes().degradeOf(route.alias());
        final String from = route.backend() + "/" + route.model();
        switch (policy.mode()) {
            case FALLBACK:
                for (RouteTarget target : policy.fallback()) {
                    final Route fallback = new Route(route.table(), route.alias(), List.of(target.backend()),
                            target.model().isEmpty() ? route.model() : target.model(), route.adapter(), null, route.note());
                    final Sidecar sidecar = forwarder.routing.acquire(fallback, tried, routingKey);
                    if (sidecar != null && !sidecar.isAvailable()) {
                        // A fallback is for a call that would not be served: one out of rotation would not either.
                        sidecar.release();
                        continue;
                    }
                    if (sidecar != null) {
                        degraded = "fallback; from=" + from + "; to=" + target.backend() + "/" + fallback.model()
                                + "; reason=" + reason.key();
                        route = fallback;
                        first = rewrite(first);
                        startOn(sidecar);
                        return true;
                    }
                }
                return false;
            case REJECT:
                ended = true;
                degraded = "reject; from=" + from + "; reason=" + reason.key();
                final Metadata pushback = trailers != null ? trailers : QueueRefusal.unavailable();
                settleQuota(0, false);
                serverCall.close(status, trailersWithTraceId(pushback));
                finishAfterTheTurn(status, null, 0, 0, -1);
                return true;
            default:
                return false;
        }
    }

    /** Whether the alias's degrade policy is fallback or reject. */
    private boolean degrades() {
        return !route.alias().isEmpty() && route.table().routes().degradeOf(route.alias()).mode() != Degrade.Mode.OFF;
    }

    /** The {@code cy-degraded} value when the alias's degrade policy applied to this call, else null. */
    String degraded() {
        return degraded;
    }

    /**
     * A sidecar counted against this call, or null. A sidecar out of rotation, which routing tries
     * when no other is left, is not worth more than a wait for a full one that is healthy.
     */
    private Sidecar acquireWithinCapacity() {
        final Sidecar sidecar = forwarder.routing.acquire(route, tried, routingKey);
        if (sidecar != null && !sidecar.isAvailable() && anyFull()) {
            sidecar.release();
            return null;
        }
        return sidecar;
    }

    /** Whether a sidecar the route may use is in rotation but at its max_inflight. */
    private boolean anyFull() {
        for (String backend : route.backends()) {
            for (Sidecar sidecar : forwarder.sidecars.backend(backend)) {
                if (sidecar.isFull() && sidecar.isAvailable() && !sidecar.isDraining()) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Queues the call; holds the lock. */
    private void enqueue(BackendQueue queue) {
        final StreamPredictRequest r = request;
        final BackendQueue.Entry entry = queue.offer(tenantOf(r), r.getPriority(), new QueuedTurn(queue),
                forwarder.sidecars.currentLoop());
        if (entry == null) {
            final QueueRefusal refusal = QueueRefusal.full(queue);
            if (degrade(Degrade.Reason.QUEUE_FULL, refusal.status(), refusal.trailers())) {
                return;
            }
            ended = true;
            settleQuota(0, false);
            serverCall.close(refusal.status(), trailersWithTraceId(refusal.trailers()));
            finishAfterTheTurn(refusal.status(), null, 0, 0, -1);
            return;
        }
        queuedIn = queue;
        queued = entry;
    }

    /** Takes the call out of its queue, if it waits there; holds the lock. */
    private void leaveQueue() {
        if (queued != null) {
            // When its turn came meanwhile, the grant finds the call ended and gives the slot back.
            queuedIn.remove(queued);
            queued = null;
        }
    }

    /** The call's turn in its backend's queue. */
    private final class QueuedTurn implements BackendQueue.Waiter {
        private final BackendQueue queue;

        QueuedTurn(BackendQueue queue) {
            this.queue = queue;
        }

        @Override
        public Sidecar tryAcquire() {
            return acquireWithinCapacity();
        }

        @Override
        public void granted(Sidecar sidecar) {
            try {
                synchronized (ForwardedCall.this) {
                    queued = null;
                    if (!ended) {
                        startOn(sidecar);
                        sidecar = null;
                    }
                }
                if (sidecar != null) {
                    sidecar.release();
                    return;
                }
                if (clientRequestPending.compareAndSet(true, false)) {
                    requestNextFromClient();
                }
            } catch (RuntimeException e) {
                fail(e);
            }
        }

        @Override
        public void expired(long waitedMillis) {
            final QueueRefusal refusal = QueueRefusal.waitedTooLong(queue, waitedMillis);
            final boolean fellBack;
            synchronized (ForwardedCall.this) {
                if (ended) {
                    return;
                }
                queued = null;
                fellBack = degrade(Degrade.Reason.QUEUE_FULL, refusal.status(), refusal.trailers());
                if (!fellBack) {
                    ended = true;
                }
            }
            if (fellBack) {
                if (clientRequestPending.compareAndSet(true, false)) {
                    requestNextFromClient();
                }
                return;
            }
            settleQuota(0, false);
            serverCall.close(refusal.status(), trailersWithTraceId(refusal.trailers()));
            finishAfterTheTurn(refusal.status(), null, 0, 0, -1);
        }
    }

    /** Starts the sidecar call on {@code sidecar}, counted against this call; holds the lock. */
    private void startOn(Sidecar sidecar) {
        final String backend = forwarder.sidecars.backendOf(sidecar);
        if (tried.isEmpty()) {
            // The first attempt: a retry stays in its backend, and counts against its budget.
            attemptBackend = backend;
            final RetryBudget budget = route.table().retryBudget(attemptBackend);
            if (budget != null) {
                budget.recordCall();
            }
        }
        tried.add(sidecar);
        final SidecarCall<StreamPredictRequest> call = sidecar.streams().newCall(forwarder.sidecarMethod, deadline);
        final SidecarAttempt started = new SidecarAttempt(this, serverCall, sidecar, backend, route.model(), call);
        attempt = started;
        // Counted before start(): a call that cannot connect is closed soon after start(),
        // and onClose must then see the request as held.
        started.countForwarded();
        final Metadata headers = sidecarHeaders();
        trace.attemptStarted(headers, backend, sidecar.toString(), tried.size() > 1);
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
        finishAfterTheTurn(status, null, 0, 0, -1);
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
            // Whether the sidecar could have read the prompt: not when its connection failed before any answer.
            boolean promptProcessed = true;
            if (cancelled == null && serverCall.isCancelled()) {
                // The client's cancellation reached the sidecar call through the gRPC
                // Context before onCancel ran here.
                cancelled = cancellationReason();
            }
            synchronized (this) {
                if (attempt != closed) {
                    return;
                }
                recordOutcome(closed, status);
                final boolean unreachable = Statuses.isUnreachable(status, closed.call().answeredBySidecar());
                if (unreachable) {
                    closed.sidecar().markUnreachable("a call failed: " + Statuses.describe(status));
                    promptProcessed = closed.firstMessageNanos() >= 0;
                }
                if (Statuses.isRetriable(status) && closed.holdsOnlyTheFirstRequest() && !ended
                        && cancelled == null && overrideStatus == null) {
                    // Nothing reached the client yet and the request is still held: one
                    // transparent retry on another sidecar of the same backend.
                    failures.add(Statuses.failure(closed.sidecar(), status));
                    if (tried.size() < 2 && retry()) {
                        return;
                    }
                    if (unreachable || failures.size() > 1) {
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
            settleQuota(closed.delivered(), promptProcessed);
            if (cancelled == null) {
                serverCall.close(outcome, closed.headersSent() ? trailers : trailersWithTraceId(trailers));
            }
            finishAfterTheTurn(cancelled != null ? cancelled : outcome, closed.sidecar(), closed.delivered(),
                    closed.bytesOut(), closed.firstMessageNanos());
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

    /**
     * Tells the backend's outlier detector how the attempt ended; holds the lock. A call the
     * client ended (cancel, deadline) or the coordinator ended says nothing about the sidecar.
     */
    private void recordOutcome(SidecarAttempt closed, Status status) {
        if (cancelled != null || overrideStatus != null || (deadline != null && deadline.isExpired())) {
            return;
        }
        final String backend = closed.backend();
        final OutlierDetector detector = route.table().outliers(backend);
        if (detector == null) {
            return;
        }
        final Status settled = closed.settle(status);
        if (settled.isOk()) {
            detector.succeeded(closed.sidecar());
            return;
        }
        final String failure = Statuses.outlierFailure(settled, closed.firstMessageNanos() < 0);
        if (failure != null) {
            detector.failed(closed.sidecar(), forwarder.sidecars.backend(backend), failure);
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
            leaveQueue();
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

    /** The prompt's estimated tokens: as quotas counted them when they did, which saves counting again. */
    private long promptTokens(StreamPredictRequest r) {
        final Admission admitted = admission;
        if (admitted != null && admitted.promptTokens() > 0) {
            return admitted.promptTokens();
        }
        return r == null ? 0 : Quotas.estimatePromptTokens(r);
    }

    /**
     * {@link #finish} once the client's call was closed: on the event loop, after the turn's flush.
     * The trailers just written go out with that flush, and the call's bookkeeping (audit, metrics,
     * access log, trace) would otherwise run before it, on the client's time; grpc-java likewise
     * tells a call's observers of its end once the trailers are written. The call's duration still
     * ends here. Anything the client must find settled when it starts its next call (its quota) is
     * settled before the close.
     */
    private void finishAfterTheTurn(Status status, Sidecar sidecar, long chunks, long bytesOut, long firstChunkNanos) {
        final long endNanos = System.nanoTime();
        if (loop == null) {
            finish(status, sidecar, chunks, bytesOut, firstChunkNanos, endNanos);
            return;
        }
        try {
            // Closed on this loop, the turn's flush is already queued (by the close's write or one
            // before it), so it runs first.
            loop.execute(() -> finish(status, sidecar, chunks, bytesOut, firstChunkNanos, endNanos));
        } catch (RejectedExecutionException e) {
            finish(status, sidecar, chunks, bytesOut, firstChunkNanos, endNanos); // the loop is gone: record it here
        }
    }

    private void finish(Status status, Sidecar sidecar, long chunks, long bytesOut, long firstChunkNanos) {
        finish(status, sidecar, chunks, bytesOut, firstChunkNanos, System.nanoTime());
    }

    private void finish(Status status, Sidecar sidecar, long chunks, long bytesOut, long firstChunkNanos,
                        long now) {
        forwarder.callEnded();
        settleQuota(chunks, sidecar != null);
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
                    promptTokens(r),
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
                    CallOrigin.streamed(serverCall, clientHeaders),
                    degraded == null ? "" : degraded);
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
