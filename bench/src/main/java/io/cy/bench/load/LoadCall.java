package io.cy.bench.load;

/** One call of a load run, whatever its protocol: what the run needs to start, time and end it. */
interface LoadCall {

    /**
     * Sends the request. The call reports its end to the run exactly once, through
     * {@link LoadRun#succeeded} or {@link LoadRun#failed}, possibly before this returns.
     */
    void start();

    /** When the call counts as started: its scheduled time in an open loop. */
    long startNanos();

    /** Ends a call still open after the drain timeout; it then counts as {@code unfinished}. */
    void cancelByRun();
}
