package io.cy.coordinator.routing;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.sidecar.RoutingKey;
import io.cy.coordinator.sidecar.Sidecar;
import io.cy.coordinator.sidecar.SidecarPool;
import io.cy.coordinator.sidecar.SidecarRouter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The active {@link RouteTable}, the versions before it, and the choice of a sidecar for a
 * resolved {@link Route}. A change applies to calls resolved after it; calls already resolved
 * keep their table.
 */
public final class Routing {

    /** Versions kept for {@code routes_rollback}, the active one included. */
    public static final int KEPT_VERSIONS = 20;

    private final SidecarPool pool;
    private final Catalog catalog;
    private final ModelResolver resolver;
    // Newest last; guarded by this. The active table is read without a lock.
    private final Deque<RouteTable> history = new ArrayDeque<>();
    private long lastVersion;
    private volatile RouteTable active;

    public Routing(SidecarPool pool, Catalog catalog, List<BackendSpec> backends, RoutesSpec routes) {
        this.pool = requireNonNull(pool, "pool");
        this.catalog = requireNonNull(catalog, "catalog");
        this.resolver = new ModelResolver(pool, catalog);
        install(RouteTable.of(++lastVersion, backends, routes, null));
    }

    public RouteTable active() {
        return active;
    }

    public Catalog catalog() {
        return catalog;
    }

    public ModelResolver resolver() {
        return resolver;
    }

    /** Resolves a request's model id against the active table. */
    public Resolution resolve(String modelId, String adapter, String stickyKey, String workerHint) {
        return resolver.resolve(active, modelId, adapter, stickyKey, workerHint);
    }

    /** Makes {@code routes} active with the current backends, as a new version; returns it. */
    public synchronized RouteTable setRoutes(RoutesSpec routes) {
        return install(RouteTable.of(++lastVersion, active.backends(), routes, active));
    }

    /**
     * Makes {@code backends} and {@code routes} active as one new version.
     *
     * @throws IllegalArgumentException when a backend was added or removed, or its addresses
     *     changed: its sidecars are connected at startup
     */
    public synchronized RouteTable reload(List<BackendSpec> backends, RoutesSpec routes) {
        final List<BackendSpec> current = active.backends();
        if (current.size() != backends.size()) {
            throw new IllegalArgumentException("backends: " + backends.size() + " configured, " + current.size()
                    + " running (expected: the same backends; adding or removing one needs a restart)");
        }
        for (int i = 0; i < backends.size(); i++) {
            if (!current.get(i).id().equals(backends.get(i).id())
                    || !current.get(i).addresses().equals(backends.get(i).addresses())) {
                throw new IllegalArgumentException("backends[" + i + "]: " + backends.get(i).id()
                        + " differs in its id or addresses from the running " + current.get(i).id()
                        + " (expected: the same; changing them needs a restart)");
            }
        }
        return install(RouteTable.of(++lastVersion, backends, routes, active));
    }

    /**
     * Makes an older version active again, exactly as it was: {@code version}, or, when it is
     * 0, the one before the active one.
     *
     * @throws IllegalArgumentException naming the versions kept when there is no such version
     */
    public synchronized RouteTable rollback(long version) {
        RouteTable target = null;
        for (RouteTable table : history) {
            if (version == 0 ? table.version() < active.version()
                    && (target == null || table.version() > target.version()) : table.version() == version) {
                target = table;
            }
        }
        if (target == null || target == active) {
            throw new IllegalArgumentException("version: " + (version == 0 ? "none before " + active.version()
                    : String.valueOf(version)) + " (expected: one of " + versionList() + ", other than the active "
                    + active.version() + ")");
        }
        activate(target);
        return target;
    }

    /** The versions kept, oldest first. */
    public synchronized List<Long> versions() {
        final List<Long> out = new ArrayList<>();
        history.forEach(table -> out.add(table.version()));
        return out;
    }

    private String versionList() {
        final List<String> out = new ArrayList<>();
        history.forEach(table -> out.add(String.valueOf(table.version())));
        return String.join(", ", out);
    }

    private RouteTable install(RouteTable table) {
        history.addLast(table);
        while (history.size() > KEPT_VERSIONS) {
            history.removeFirst();
        }
        activate(table);
        return table;
    }

    private void activate(RouteTable table) {
        active = table;
        for (BackendSpec backend : table.backends()) {
            pool.applyCapacity(backend.id(), backend.capacity());
        }
    }

    /**
     * Chooses a sidecar for {@code route} and counts the call against it, or returns null when
     * none may take it. The hinted sidecar first; then each backend in order, and within one the
     * sidecars that have the call's adapter loaded before the others.
     */
    public Sidecar acquire(Route route, List<Sidecar> tried, RoutingKey key) {
        if (route.hinted() != null) {
            final SidecarRouter router = route.table().router(pool.backendOf(route.hinted()));
            final Sidecar sidecar = pool.acquire(router, List.of(route.hinted()), tried, key);
            if (sidecar != null && sidecar.isAvailable()) {
                return sidecar;
            }
            if (sidecar != null) {
                // Out of rotation: a hint never sends a call where the backend's own choice would not.
                sidecar.release();
            }
        }
        for (String backend : route.backends()) {
            final SidecarRouter router = route.table().router(backend);
            final List<Sidecar> members = pool.backend(backend);
            if (!route.adapter().isEmpty()) {
                final List<Sidecar> loaded = new ArrayList<>();
                for (Sidecar sidecar : members) {
                    if (catalog.hasAdapter(sidecar, route.adapter())) {
                        loaded.add(sidecar);
                    }
                }
                if (!loaded.isEmpty() && loaded.size() < members.size()) {
                    final Sidecar sidecar = pool.acquire(router, loaded, tried, key);
                    if (sidecar != null && sidecar.isAvailable()) {
                        return sidecar;
                    }
                    if (sidecar != null) {
                        // Only a sidecar out of rotation has it: an available one that loads it is better.
                        sidecar.release();
                    }
                }
            }
            final Sidecar sidecar = pool.acquire(router, members, tried, key);
            if (sidecar != null) {
                return sidecar;
            }
        }
        return null;
    }

    /** The sidecars a route may use, for the message when none is available. */
    public List<Sidecar> sidecarsOf(Route route) {
        final List<Sidecar> out = new ArrayList<>();
        for (String backend : route.backends()) {
            out.addAll(pool.backend(backend));
        }
        return out;
    }

    /** Each backend's balancing policy, for {@code routes_get}. */
    public static Map<String, String> balances(RouteTable table) {
        final Map<String, String> out = new java.util.LinkedHashMap<>();
        table.backends().forEach(backend -> out.put(backend.id(), backend.balance().balance().configName()));
        return out;
    }

    @Override
    public String toString() {
        return "Routing[version=" + Objects.requireNonNull(active).version() + "]";
    }
}
