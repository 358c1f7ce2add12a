package io.cy.coordinator.routing;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.sidecar.BalanceSettings;
import io.cy.coordinator.sidecar.OutlierSettings;
import io.cy.coordinator.sidecar.CapacitySettings;
import io.cy.coordinator.transport.netty.Endpoint;
import java.util.List;

/**
 * One configured backend: a group of sidecars serving the same models.
 *
 * @param models what it serves; empty: what its sidecars answer to {@code list_models}, unless
 *     {@code servesAny}
 * @param servesAny the backend of a configuration without {@code backends}: it takes any model id
 *     and passes it on untouched
 * @param outlier when its sidecars are ejected, and how much it may retry
 * @param capacity calls in flight per sidecar and the queue's bounds
 */
public record BackendSpec(String id, List<Endpoint> addresses, List<ModelSpec> models, boolean servesAny,
                          BalanceSettings balance, OutlierSettings outlier, CapacitySettings capacity) {

    /** A backend with the default outlier and retry settings and no limit on calls in flight. */
    public BackendSpec(String id, List<Endpoint> addresses, List<ModelSpec> models, boolean servesAny,
                       BalanceSettings balance) {
        this(id, addresses, models, servesAny, balance, OutlierSettings.DEFAULT, CapacitySettings.DEFAULT);
    }

    public BackendSpec {
        requireNonNull(id, "id");
        addresses = List.copyOf(addresses);
        models = List.copyOf(models);
        requireNonNull(balance, "balance");
        requireNonNull(outlier, "outlier");
        requireNonNull(capacity, "capacity");
    }

    /** Whether its models come from its sidecars' {@code list_models} answers. */
    public boolean discovers() {
        return !servesAny && models.isEmpty();
    }

    /** The listed model {@code id}, or null. */
    public ModelSpec model(String id) {
        for (ModelSpec model : models) {
            if (model.id().equals(id)) {
                return model;
            }
        }
        return null;
    }
}
