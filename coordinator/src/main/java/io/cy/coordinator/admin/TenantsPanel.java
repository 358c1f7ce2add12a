package io.cy.coordinator.admin;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cy.coordinator.quota.Quotas;
import java.util.List;
import java.util.Map;

/**
 * {@code GET /admin/api/tenants}: per tenant (those with a policy of their own and those the
 * quota store tracks, at most {@value #MAX_TENANTS}) its limits, its usage against them and its
 * refusals by reason, as {@code quota_get} reports them.
 */
final class TenantsPanel implements Panel {

    static final int MAX_TENANTS = 500;
    /**
     * With a shared store each tenant's usage is a round trip to Redis: past this much time the
     * rest are left out (and {@code truncated} set) rather than holding the admin thread.
     */
    static final long MAX_READ_NANOS = 3_000_000_000L;
    private static final String LIMIT = "limit.";
    private static final String REJECTED = "usage.rejected.";
    private static final String USAGE = "usage.";

    private final Quotas quotas;

    TenantsPanel(Quotas quotas) {
        this.quotas = requireNonNull(quotas, "quotas");
    }

    @Override
    public ObjectNode read(Map<String, String> query) {
        final ObjectNode out = JsonNodeFactory.instance.objectNode();
        final List<String> names = quotas.tenants(MAX_TENANTS + 1);
        final List<String> shown = names.subList(0, Math.min(MAX_TENANTS, names.size()));
        final ArrayNode tenants = out.putArray("tenants");
        final long start = System.nanoTime();
        for (String name : shown) {
            if (System.nanoTime() - start > MAX_READ_NANOS) {
                break;
            }
            final ObjectNode tenant = tenants.addObject();
            final ObjectNode limits = JsonNodeFactory.instance.objectNode();
            final ObjectNode usage = JsonNodeFactory.instance.objectNode();
            final ObjectNode refusals = JsonNodeFactory.instance.objectNode();
            tenant.put("tenant", name);
            quotas.describe(name).forEach((key, value) -> {
                if (key.equals("policy")) {
                    tenant.put("policy", value);
                } else if (key.startsWith(LIMIT)) {
                    limits.put(key.substring(LIMIT.length()), value);
                } else if (key.startsWith(REJECTED)) {
                    refusals.put(key.substring(REJECTED.length()), number(value));
                } else if (key.startsWith(USAGE)) {
                    usage.put(key.substring(USAGE.length()), value);
                }
            });
            tenant.set("limits", limits);
            tenant.set("usage", usage);
            tenant.set("refusals", refusals);
        }
        out.put("truncated", names.size() > tenants.size());
        return out;
    }

    private static long number(String value) {
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
