package io.cy.coordinator.routing;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.sidecar.OutlierDetector;
import io.cy.coordinator.sidecar.RetryBudget;
import io.cy.coordinator.sidecar.SidecarRouter;
import io.cy.coordinator.sidecar.SidecarRouters;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One version of the routing: the backends (with their balancing policies and routers) and the
 * routes. Immutable; a change makes a new table, so a call keeps the table it was resolved with.
 */
public final class RouteTable {

    private final long version;
    private final Instant created;
    private final Map<String, BackendSpec> backends;
    private final Map<String, SidecarRouter> routers;
    private final Map<String, OutlierDetector> outliers;
    private final Map<String, RetryBudget> retryBudgets;
    private final RoutesSpec routes;

    private RouteTable(long version, Map<String, BackendSpec> backends, Map<String, SidecarRouter> routers,
                       Map<String, OutlierDetector> outliers, Map<String, RetryBudget> retryBudgets,
                       RoutesSpec routes) {
        this.version = version;
        this.created = Instant.now();
        this.backends = Collections.unmodifiableMap(backends);
        this.routers = Collections.unmodifiableMap(routers);
        this.outliers = Collections.unmodifiableMap(outliers);
        this.retryBudgets = Collections.unmodifiableMap(retryBudgets);
        this.routes = requireNonNull(routes, "routes");
    }

    /**
     * A table of {@code backends} and {@code routes}; a backend whose balancing settings are the
     * same as in {@code previous} keeps its router, and with it what the router learnt; so do its
     * outlier detector and retry budget (the sidecars keep their own failure runs and ejections
     * whatever the table).
     */
    static RouteTable of(long version, List<BackendSpec> backends, RoutesSpec routes, RouteTable previous) {
        final Map<String, BackendSpec> byId = new LinkedHashMap<>();
        final Map<String, SidecarRouter> routers = new LinkedHashMap<>();
        final Map<String, OutlierDetector> outliers = new LinkedHashMap<>();
        final Map<String, RetryBudget> retryBudgets = new LinkedHashMap<>();
        for (BackendSpec backend : backends) {
            byId.put(backend.id(), backend);
            final BackendSpec before = previous == null ? null : previous.backends.get(backend.id());
            routers.put(backend.id(), before != null && before.balance().equals(backend.balance())
                    ? previous.routers.get(backend.id()) : SidecarRouters.create(backend.balance()));
            final boolean sameOutlier = before != null && before.outlier().equals(backend.outlier());
            outliers.put(backend.id(), sameOutlier ? previous.outliers.get(backend.id())
                    : new OutlierDetector(backend.outlier()));
            retryBudgets.put(backend.id(), before != null
                    && before.outlier().retryBudgetPercent() == backend.outlier().retryBudgetPercent()
                    ? previous.retryBudgets.get(backend.id()) : new RetryBudget(backend.outlier().retryBudgetPercent()));
        }
        return new RouteTable(version, byId, routers, outliers, retryBudgets, routes);
    }

    public long version() {
        return version;
    }

    public Instant created() {
        return created;
    }

    public RoutesSpec routes() {
        return routes;
    }

    /** The backends, in configuration order. */
    public List<BackendSpec> backends() {
        return List.copyOf(backends.values());
    }

    /** Backend {@code id}, or null. */
    public BackendSpec backend(String id) {
        return backends.get(id);
    }

    SidecarRouter router(String backend) {
        return routers.get(backend);
    }

    /** Backend {@code id}'s outlier detector, or null for an unknown backend. */
    public OutlierDetector outliers(String backend) {
        return outliers.get(backend);
    }

    /** Backend {@code id}'s retry budget, or null for an unknown backend. */
    public RetryBudget retryBudget(String backend) {
        return retryBudgets.get(backend);
    }
}
