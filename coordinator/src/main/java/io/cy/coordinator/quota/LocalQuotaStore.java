package io.cy.coordinator.quota;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.config.CoordinatorConfig.QuotaPolicy;
import io.github.bucket4j.TimeMeter;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Usage in this process's memory. Bounded: beyond {@code maxTenants}, tenants with no call in
 * flight are forgotten (their next call starts with full buckets, which only ever errs towards
 * admitting). A tenant with a stream open is never forgotten, so its concurrency limit holds.
 */
public final class LocalQuotaStore implements QuotaStore {

    private final int maxTenants;
    private final TimeMeter time;
    private final Map<String, TenantQuota> tenants = new ConcurrentHashMap<>();

    public LocalQuotaStore(int maxTenants) {
        this(maxTenants, TimeMeter.SYSTEM_MILLISECONDS);
    }

    LocalQuotaStore(int maxTenants, TimeMeter time) {
        this.maxTenants = maxTenants;
        this.time = requireNonNull(time, "time");
    }

    @Override
    public QuotaDecision tryAdmit(String tenant, QuotaPolicy policy, long promptTokens, long reservedTokens) {
        while (true) {
            final TenantQuota quota = tenant(tenant, policy);
            final QuotaDecision decision = quota.tryAdmit(policy, promptTokens, reservedTokens);
            // Eviction may have dropped the entry while it looked idle, between the lookup and the
            // admission: a stream counted there would not count against the tenant's next calls.
            // Admit again on the entry that is tracked now; the dropped one is garbage.
            if (tenants.get(tenant) == quota) {
                return decision;
            }
        }
    }

    @Override
    public void countRejection(String tenant, QuotaPolicy policy, RejectionReason reason) {
        tenant(tenant, policy).rejectedBeforeAdmission(reason);
    }

    @Override
    public Map<String, String> usage(String tenant, QuotaPolicy policy) {
        final TenantQuota quota = tenants.get(tenant);
        return quota == null ? new TenantQuota(tenant, policy, time).usage() : quota.usage();
    }

    @Override
    public void reset(String tenant) {
        final TenantQuota quota = tenants.get(tenant);
        if (quota != null) {
            quota.reset();
        }
    }

    @Override
    public int trackedTenants() {
        return tenants.size();
    }

    @Override
    public java.util.List<String> trackedTenantNames(int max) {
        return tenants.keySet().stream().limit(max).toList();
    }

    @Override
    public long rejections() {
        long n = 0;
        for (TenantQuota quota : tenants.values()) {
            n += quota.rejections();
        }
        return n;
    }

    private TenantQuota tenant(String name, QuotaPolicy policy) {
        final TenantQuota known = tenants.get(name);
        if (known != null) {
            return known;
        }
        if (tenants.size() >= maxTenants) {
            tenants.values().removeIf(TenantQuota::isIdle);
        }
        return tenants.computeIfAbsent(name, n -> new TenantQuota(n, policy, time));
    }
}
