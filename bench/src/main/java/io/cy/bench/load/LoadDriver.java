package io.cy.bench.load;

import java.time.Duration;

/**
 * Runs load plans against one target over one protocol: gRPC ({@link LoadGenerator}) or HTTP
 * with server-sent events ({@link SseLoadGenerator}).
 */
public interface LoadDriver {

    /**
     * Waits until the connections a run starts with are open and the target says it is ready,
     * so that no run pays for connection setup.
     *
     * @param token sent as a bearer token; null for none
     * @return null when the target is ready, else why not
     */
    String awaitReady(Duration timeout, String token) throws InterruptedException;

    /** Runs one plan to its end; the target's failures are counted in the result, never thrown. */
    LoadResult run(LoadPlan plan) throws InterruptedException;
}
