package io.cy.coordinator.quota;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An admitted call's reservation: a concurrency slot and {@code reservedTokens}. Settled exactly
 * once when the call ends, whatever way it ends.
 */
public final class Admission {

    /** Where a store takes a settled reservation back. */
    interface Settlement {
        void settle(Admission admission, long chargedTokens);
    }

    private final String tenant;
    private final Settlement settlement;
    private final long promptTokens;
    private final long reservedTokens;
    private final AtomicBoolean settled = new AtomicBoolean();

    Admission(String tenant, Settlement settlement, long promptTokens, long reservedTokens) {
        this.tenant = tenant;
        this.settlement = settlement;
        this.promptTokens = promptTokens;
        this.reservedTokens = reservedTokens;
    }

    public String tenant() {
        return tenant;
    }

    public long promptTokens() {
        return promptTokens;
    }

    public long reservedTokens() {
        return reservedTokens;
    }

    /**
     * Charges {@code completionTokens}, and the prompt if a sidecar got it, never more than was
     * reserved; gives the rest of the reservation back and frees the slot. Later calls do nothing.
     */
    public void settle(long completionTokens, boolean promptProcessed) {
        if (settled.compareAndSet(false, true)) {
            final long charged = (promptProcessed ? promptTokens : 0) + Math.max(0, completionTokens);
            settlement.settle(this, Math.min(reservedTokens, charged));
        }
    }
}
