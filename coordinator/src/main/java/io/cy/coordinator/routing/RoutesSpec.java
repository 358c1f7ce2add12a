package io.cy.coordinator.routing;

import static java.util.Objects.requireNonNull;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** The {@code routes} section: aliases (each one target or weighted ones) and the sticky key. */
public record RoutesSpec(Map<String, List<RouteTarget>> aliases, StickyKey stickyKey) {

    public RoutesSpec {
        final Map<String, List<RouteTarget>> sorted = new TreeMap<>();
        aliases.forEach((name, targets) -> sorted.put(name, List.copyOf(targets)));
        aliases = Collections.unmodifiableMap(sorted);
        requireNonNull(stickyKey, "stickyKey");
    }
}
