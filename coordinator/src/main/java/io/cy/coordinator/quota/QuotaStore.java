package io.cy.coordinator.quota;

import io.cy.coordinator.config.CoordinatorConfig.QuotaPolicy;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Where tenants' usage lives. In memory today ({@link LocalQuotaStore}); a store shared by
 * several coordinators can take its place without callers changing: everything a caller needs
 * goes through this interface and the {@link Admission} it returns.
 */
public interface QuotaStore {

    /**
     * Takes a concurrency slot, one request and {@code reservedTokens} from the tenant's
     * budgets under {@code policy}, all or nothing; never blocks.
     */
    QuotaDecision tryAdmit(String tenant, QuotaPolicy policy, long promptTokens, long reservedTokens);

    /**
     * As {@link #tryAdmit}, for a caller that must not wait: a store that asks another process
     * completes the decision when it answers; one in memory has it completed already.
     */
    default CompletionStage<QuotaDecision> tryAdmitAsync(String tenant, QuotaPolicy policy, long promptTokens,
                                                         long reservedTokens) {
        return CompletableFuture.completedFuture(tryAdmit(tenant, policy, promptTokens, reservedTokens));
    }

    /** Counts a refusal decided before the budgets were asked (a ceiling, a model not allowed). */
    void countRejection(String tenant, QuotaPolicy policy, RejectionReason reason);

    /** The tenant's current usage and rejection counts, for Control {@code quota_get}. */
    Map<String, String> usage(String tenant, QuotaPolicy policy);

    /**
     * Forgets the tenant's usage (its buckets fill up again); calls in flight keep their slots.
     *
     * @throws IllegalStateException when a shared store could not be reached: nothing was reset
     */
    void reset(String tenant);

    /**
     * As {@link #usage}, for a caller that must not wait (a Control command on an event loop): a
     * shared store completes it when it answers, or within its timeout with what it knows.
     */
    default CompletionStage<Map<String, String>> usageAsync(String tenant, QuotaPolicy policy) {
        return CompletableFuture.completedFuture(usage(tenant, policy));
    }

    /**
     * As {@link #reset}, for a caller that must not wait; completes exceptionally with an
     * {@link IllegalStateException} when a shared store could not be reached.
     */
    default CompletionStage<Void> resetAsync(String tenant) {
        try {
            reset(tenant);
            return CompletableFuture.completedFuture(null);
        } catch (IllegalStateException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    int trackedTenants();

    /** Up to {@code max} of the tenants it tracks now, in no particular order. */
    default java.util.List<String> trackedTenantNames(int max) {
        return java.util.List.of();
    }

    long rejections();

    /** Figures of the store itself, beside quota_tenants and quota_rejections. */
    default Map<String, String> metrics() {
        return Map.of();
    }
}
