package io.cy.coordinator.grpc;

import io.grpc.Status;

/**
 * What happened in one call, handed to every {@link CallEndListener} when it ends.
 *
 * @param method the method's short name, e.g. {@code StreamPredict}
 * @param api {@code grpc}, or {@code http} for calls made by the HTTP bridge
 * @param sidecar the sidecar that served the call, or empty when none did
 * @param chunks response chunks delivered to the client (the final end-of-stream message excluded)
 * @param timeToFirstChunkNanos from the call's start to the first response message; -1 if none
 * @param cancelledByClient whether the client cancelled or went away
 */
public record CallSummary(
        String method,
        String api,
        String traceId,
        String peer,
        String model,
        String sidecar,
        Status status,
        long chunks,
        long timeToFirstChunkNanos,
        long durationNanos,
        boolean cancelledByClient) {}
