package io.cy.bench.load;

/** The protocol's half of a load run: makes each call the run starts. */
interface CallFactory {

    /**
     * A new, unstarted call.
     *
     * @param slot the closed-loop worker's number, or the open-loop call's, for spreading calls
     *     over connections
     * @param startNanos when the call counts as started
     * @param onEnd runs after the run has counted the call's end
     */
    LoadCall newCall(LoadRun run, long slot, long startNanos, Runnable onEnd);
}
