package io.cy.coordinator.service;

import io.cy.coordinator.auth.Identity;
import io.grpc.Status;
import java.time.Instant;

/**
 * What happened in one call, handed to every {@link CallEndListener} when it ends.
 *
 * @param method the method's short name, e.g. {@code StreamPredict}
 * @param api {@code grpc}, or {@code http} for calls made by the HTTP bridge
 * @param identity the authenticated caller; null when authentication is off
 * @param tenant whose quota the call used
 * @param model the model id forwarded (the request's when it was not resolved); empty when no request arrived
 * @param prompt the request's prompt, for an audit log configured to keep it; empty when none
 * @param sidecar the sidecar that served the call, or empty when none did
 * @param chunks response chunks delivered to the client (the final end-of-stream message excluded)
 * @param bytesOut response bytes delivered to the client
 * @param timeToFirstChunkNanos from the call's start to the first response message; -1 if none
 * @param quotaDecision {@code admitted}, {@code rejected:<reason>}, or {@code none} when not asked
 * @param cancelledByClient whether the client cancelled or went away
 * @param alias the alias the request named ({@code default} for an empty model id); empty when none
 * @param backend the backend that served the call, or that was chosen for it; empty when none
 * @param note what the access log should add, e.g. that {@code worker_hint} was ignored; empty when nothing
 * @param stream whether the client reads the answer as a stream: false only for HTTP requests without
 *     {@code stream: true}
 * @param degraded the {@code cy-degraded} value when the alias's degrade policy applied; empty when not
 */
public record CallSummary(
        String method,
        String api,
        String traceId,
        String peer,
        Instant startTime,
        Identity identity,
        String tenant,
        String model,
        String adapter,
        int priority,
        String prompt,
        long promptTokens,
        String sidecar,
        Status status,
        long chunks,
        long bytesOut,
        long timeToFirstChunkNanos,
        long durationNanos,
        String quotaDecision,
        boolean cancelledByClient,
        String alias,
        String backend,
        String note,
        boolean stream,
        String degraded) {

    /** A summary of a routed call that was not degraded. */
    public CallSummary(String method, String api, String traceId, String peer, Instant startTime, Identity identity,
                       String tenant, String model, String adapter, int priority, String prompt, long promptTokens,
                       String sidecar, Status status, long chunks, long bytesOut, long timeToFirstChunkNanos,
                       long durationNanos, String quotaDecision, boolean cancelledByClient, String alias,
                       String backend, String note, boolean stream) {
        this(method, api, traceId, peer, startTime, identity, tenant, model, adapter, priority, prompt, promptTokens,
                sidecar, status, chunks, bytesOut, timeToFirstChunkNanos, durationNanos, quotaDecision,
                cancelledByClient, alias, backend, note, stream, "");
    }

    /** A summary of a streamed call that was not routed. */
    public CallSummary(String method, String api, String traceId, String peer, Instant startTime, Identity identity,
                       String tenant, String model, String adapter, int priority, String prompt, long promptTokens,
                       String sidecar, Status status, long chunks, long bytesOut, long timeToFirstChunkNanos,
                       long durationNanos, String quotaDecision, boolean cancelledByClient) {
        this(method, api, traceId, peer, startTime, identity, tenant, model, adapter, priority, prompt, promptTokens,
                sidecar, status, chunks, bytesOut, timeToFirstChunkNanos, durationNanos, quotaDecision,
                cancelledByClient, "", "", "", true, "");
    }

    /** A call refused before any handler ran (authentication): no caller, no request, no time spent. */
    public static CallSummary refusedAtStart(String fullMethodName, String api, String traceId, String peer,
                                             Status status) {
        final int slash = fullMethodName.lastIndexOf('/');
        return new CallSummary(slash < 0 ? fullMethodName : fullMethodName.substring(slash + 1), api, traceId, peer,
                Instant.now(), null, "", "", "", 0, "", 0, "", status, 0, 0, -1, 0, "none", false);
    }
}
