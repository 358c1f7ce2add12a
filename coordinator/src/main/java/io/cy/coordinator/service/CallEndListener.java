package io.cy.coordinator.service;

/**
 * Told about every call once it has ended, on the thread that ended it (often a Netty event
 * loop; there after the turn's flush, which sent the call's trailers):
 * implementations must not block and must not throw.
 */
@FunctionalInterface
public interface CallEndListener {
    void onCallEnd(CallSummary summary);
}
