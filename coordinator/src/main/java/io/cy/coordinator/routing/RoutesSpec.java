package io.cy.coordinator.routing;

import static java.util.Objects.requireNonNull;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The {@code routes} section: aliases (each one target or weighted ones), each alias's degrade
 * policy (absent: {@link Degrade#OFF}), and the sticky key.
 */
public record RoutesSpec(Map<String, List<RouteTarget>> aliases, Map<String, Degrade> degrade, StickyKey stickyKey) {

    public RoutesSpec {
        final Map<String, List<RouteTarget>> sorted = new TreeMap<>();
        aliases.forEach((name, targets) -> sorted.put(name, List.copyOf(targets)));
        aliases = Collections.unmodifiableMap(sorted);
        final Map<String, Degrade> policies = new TreeMap<>();
        degrade.forEach((name, policy) -> {
            if (policy.mode() != Degrade.Mode.OFF || !policy.fallback().isEmpty()) {
                policies.put(name, policy);
            }
        });
        degrade = Collections.unmodifiableMap(policies);
        requireNonNull(stickyKey, "stickyKey");
    }

    /** Routes without degrade policies. */
    public RoutesSpec(Map<String, List<RouteTarget>> aliases, StickyKey stickyKey) {
        this(aliases, Map.of(), stickyKey);
    }

    /** The degrade policy of {@code alias}; {@link Degrade#OFF} when it has none. */
    public Degrade degradeOf(String alias) {
        return degrade.getOrDefault(alias, Degrade.OFF);
    }
}
