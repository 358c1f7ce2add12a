package io.cy.coordinator.routing;

import static java.util.Objects.requireNonNull;

import java.util.List;

/** A model a backend serves; {@code adapters} empty: any adapter may be asked for. */
public record ModelSpec(String id, List<String> adapters) {

    public ModelSpec {
        requireNonNull(id, "id");
        adapters = List.copyOf(adapters);
    }
}
