package io.cy.coordinator.metrics;

import java.util.Set;

/**
 * The {@code model} label of a request's model id: the id itself when it is a model the
 * coordinator knows of, {@code unknown} otherwise, so that clients cannot grow the number of
 * series by inventing model names.
 */
@FunctionalInterface
public interface ModelLabels {

    String UNKNOWN = "unknown";

    /** {@code model} when known, else {@link #UNKNOWN}; never null. */
    String label(String model);

    /** Knows exactly {@code models}. */
    static ModelLabels of(Set<String> models) {
        final Set<String> known = Set.copyOf(models);
        return model -> model != null && known.contains(model) ? model : UNKNOWN;
    }
}
