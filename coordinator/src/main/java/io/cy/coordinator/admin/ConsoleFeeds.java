package io.cy.coordinator.admin;

import io.cy.coordinator.service.CallEndListener;
import io.cy.coordinator.service.CallSummary;

/**
 * What every call's end gives the console: its sidecar's count and, when there is no audit
 * database to read recent calls from, a row in the ring of recent calls.
 */
public final class ConsoleFeeds implements CallEndListener {

    private final SidecarCallCounts sidecarCalls = new SidecarCallCounts();
    private final RecentCalls recentCalls;

    /** @param keepRecentCalls whether to keep the last calls in memory (no audit database) */
    public ConsoleFeeds(boolean keepRecentCalls) {
        this.recentCalls = keepRecentCalls ? new RecentCalls() : null;
    }

    @Override
    public void onCallEnd(CallSummary summary) {
        sidecarCalls.onCallEnd(summary);
        if (recentCalls != null) {
            recentCalls.onCallEnd(summary);
        }
    }

    SidecarCallCounts sidecarCalls() {
        return sidecarCalls;
    }

    /** The ring of recent calls; an empty one when calls are read from the audit log. */
    RecentCalls recentCalls() {
        return recentCalls == null ? new RecentCalls() : recentCalls;
    }
}
