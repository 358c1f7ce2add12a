package io.cy.coordinator.routing;

import static java.util.Objects.requireNonNull;

/**
 * Where an alias sends calls: a backend and a model; {@code weight} its share among the alias's
 * targets. An empty {@code model} passes the request's model id on (the backend that serves any).
 */
public record RouteTarget(String backend, String model, int weight) {

    public RouteTarget {
        requireNonNull(backend, "backend");
        requireNonNull(model, "model");
        if (weight < 1) {
            throw new IllegalArgumentException("weight: " + weight + " (expected: a positive integer)");
        }
    }
}
