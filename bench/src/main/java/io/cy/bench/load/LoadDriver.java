package io.cy.bench.load;

import java.time.Duration;

/**
 * Runs load plans against one target over one protocol: gRPC ({@link LoadGenerator}) or HTTP
 * with server-sent events ({@link SseLoadGenerator}).
 */
public interface LoadDriver {

    /**
     * Waits until the target says it is ready, on connections left open for the runs: every gRPC
     * channel, so that no run pays for their setup; one HTTP/1.1 connection, the others opening
     * as a run's calls need them (a warm-up run pays for them).
     *
     * @param token sent as a bearer token; null for none
     * @return null when the target is ready, else why not
     */
    String awaitReady(Duration timeout, String token) throws InterruptedException;

    /** Runs one plan to its end; the target's failures are counted in the result, never thrown. */
    LoadResult run(LoadPlan plan) throws InterruptedException;
}
