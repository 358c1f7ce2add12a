package io.cy.coordinator.metrics;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The {@code tenant} label: the tenant's name for the first {@code metrics.max_tenants} tenants
 * seen since start, {@code other} for every tenant after them. A tenant keeps the label it got
 * first, so its series never change name.
 */
public final class TenantLabels {

    public static final String OTHER = "other";

    private final int max;
    private final ConcurrentHashMap<String, String> labels = new ConcurrentHashMap<>();
    private final AtomicInteger named = new AtomicInteger();

    public TenantLabels(int max) {
        if (max < 0) {
            throw new IllegalArgumentException("max: " + max + " (expected: >= 0)");
        }
        this.max = max;
    }

    public String label(String tenant) {
        if (tenant == null || tenant.isEmpty()) {
            return "";
        }
        final String known = labels.get(tenant);
        if (known != null) {
            return known;
        }
        if (labels.size() >= max * 2L + 1024) {
            // Tenants beyond the cap are not remembered one by one either: memory stays bounded.
            return OTHER;
        }
        return labels.computeIfAbsent(tenant, t -> named.getAndIncrement() < max ? t : OTHER);
    }
}
