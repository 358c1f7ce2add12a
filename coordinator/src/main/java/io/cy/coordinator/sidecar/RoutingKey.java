package io.cy.coordinator.sidecar;

import static java.util.Objects.requireNonNull;

/**
 * What a call offers the policies that choose its sidecar within a backend: its sticky key
 * (tenant or session, for session affinity), its prompt (for prefix affinity) and the LoRA
 * adapter it asks for. Empty strings when unknown; a policy that needs a field it lacks falls
 * back to the least loaded sidecar.
 */
public record RoutingKey(String stickyKey, String prompt, String adapter) {

    public static final RoutingKey NONE = new RoutingKey("", "", "");

    public RoutingKey {
        requireNonNull(stickyKey, "stickyKey");
        requireNonNull(prompt, "prompt");
        requireNonNull(adapter, "adapter");
    }
}
