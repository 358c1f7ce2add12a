package io.cy.coordinator.routing;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.sidecar.RoutingKey;
import io.cy.coordinator.sidecar.SidecarAddresses;
import io.cy.coordinator.sidecar.Sidecar;
import io.cy.coordinator.sidecar.SidecarPool;
import io.cy.coordinator.sidecar.SidecarRouter;
import io.cy.coordinator.transport.netty.Endpoint;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The active {@link RouteTable}, the versions before it, and the choice of a sidecar for a
 * resolved {@link Route}. A change applies to calls resolved after it; calls already resolved
 * keep their table.
 */
public final class Routing {

    private static final Logger logger = LoggerFactory.getLogger(Routing.class);

    /** Versions kept for {@code routes_rollback}, the active one included. */
    public static final int KEPT_VERSIONS = 20;

    private final SidecarPool pool;
    private final Catalog catalog;
    private final ModelResolver resolver;
    // Newest last; guarded by this. The active table is read without a lock.
    private final SidecarAddresses addresses;
    private final Deque<RouteTable> history = new ArrayDeque<>();
    private long lastVersion;
    private volatile RouteTable active;

    public Routing(SidecarPool pool, Catalog catalog, List<BackendSpec> backends, RoutesSpec routes) {
        this(pool, catalog, backends, routes, SidecarAddresses.system());
    }

    /** @param addresses what each backend's {@code dns:///} addresses stand for; the pool was made from it */
    public Routing(SidecarPool pool, Catalog catalog, List<BackendSpec> backends, RoutesSpec routes,
                   SidecarAddresses addresses) {
        this.addresses = requireNonNull(addresses, "addresses");
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

    /**
     * Whether {@code name} is an alias of the active table, or a model a backend lists or one of
     * its sidecars said it serves: the names a metric's {@code model} label may take, so that
     * clients cannot grow the number of series by inventing names.
     */
    public boolean knows(String name) {
        final RouteTable table = active;
        if (table.routes().aliases().containsKey(name)) {
            return true;
        }
        for (BackendSpec backend : table.backends()) {
            if (backend.model(name) != null) {
                return true;
            }
        }
        return catalog.servedAnywhere(name);
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
     * Makes {@code backends} and {@code routes} active as one new version. Backends may be added
     * or removed and their addresses changed: the pool opens the sidecars that join, and those
     * that leave drain (calls already on them finish).
     */
    public synchronized RouteTable reload(List<BackendSpec> backends, RoutesSpec routes) {
        return install(RouteTable.of(++lastVersion, backends, routes, active));
    }

    /**
     * Makes an older version active again, exactly as it was: {@code version}, or, when it is
     * 0, the one before the active one.
     *
     * @throws IllegalArgumentException naming the versions kept when there is no such version
     */
    public synchronized RouteTable rollback(long version) {
        final RouteTable target = rollbackTarget(version);
        // Exactly as it was, sidecars included.
        follow(target);
        activate(target);
        return target;
    }

    /**
     * The table {@link #rollback} would make active, without changing anything.
     *
     * @throws IllegalArgumentException naming the versions kept when there is no such version
     */
    public synchronized RouteTable rollbackTarget(long version) {
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
        return target;
    }

    /** The version the next change made here would take. */
    public synchronized long nextVersion() {
        return lastVersion + 1;
    }

    /**
     * Makes {@code routes}, as version {@code version} made by another replica, active with this
     * replica's backends. A version kept here with the same routes becomes active again exactly as
     * it was (a rollback elsewhere is one here too); otherwise the routes become a new entry of the
     * history under that version number, so later rollbacks name the same versions everywhere.
     */
    public synchronized RouteTable installShared(long version, RoutesSpec routes) {
        if (active.version() == version && active.routes().equals(routes)) {
            return active;
        }
        for (RouteTable table : history) {
            if (table.version() == version && table.routes().equals(routes)) {
                follow(table);
                activate(table);
                return table;
            }
        }
        return installNew(RouteTable.of(version, active.backends(), routes, active));
    }

    /** The tables kept, oldest first, the active one among them. */
    public synchronized List<RouteTable> history() {
        return List.copyOf(history);
    }

    /**
     * As {@link #installShared(long, RoutesSpec)}, with {@code backends} as this replica's from
     * now on: a reloaded file's routes written to the shared table. Sidecars join and leave as on
     * {@link #reload}.
     */
    public synchronized RouteTable installShared(long version, List<BackendSpec> backends, RoutesSpec routes) {
        if (active.backends().equals(backends)) {
            return installShared(version, routes);
        }
        final RouteTable table = RouteTable.of(version, backends, routes, active);
        follow(table);
        return installNew(table);
    }

    /** Keeps {@code table} in place of any kept one of its version, and makes it the active one. */
    private RouteTable installNew(RouteTable table) {
        history.removeIf(kept -> kept.version() == table.version());
        history.addLast(table);
        while (history.size() > KEPT_VERSIONS) {
            history.removeFirst();
        }
        lastVersion = Math.max(lastVersion, table.version());
        activate(table);
        return table;
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
        if (active != null) {
            try {
                follow(table);
            } catch (RuntimeException e) {
                // Nothing changed: the version is not used.
                lastVersion--;
                throw e;
            }
        }
        history.addLast(table);
        while (history.size() > KEPT_VERSIONS) {
            history.removeFirst();
        }
        activate(table);
        return table;
    }

    /** Makes the pool's membership the backends of {@code table}, and forgets what left. */
    private void follow(RouteTable table) {
        final SidecarPool.Change change = pool.reconcile(addresses.expand(addressesOf(table)));
        if (!change.isEmpty()) {
            logger.info("sidecars joined: {}; left (draining): {}", change.joined(), change.left());
            catalog.retainOnly(pool.all());
        }
    }

    /** Each backend's configured addresses, {@code dns:///} names unexpanded. */
    public static Map<String, List<Endpoint>> addressesOf(List<BackendSpec> backends) {
        final Map<String, List<Endpoint>> out = new LinkedHashMap<>();
        backends.forEach(backend -> out.put(backend.id(), backend.addresses()));
        return out;
    }

    private static Map<String, List<Endpoint>> addressesOf(RouteTable table) {
        return addressesOf(table.backends());
    }

    /**
     * Looks the active table's {@code dns:///} addresses up again; when what they stand for
     * changed, new addresses join their backend and those gone drain. Blocks on DNS: call it from
     * a thread of its own. The lookup holds no lock, so route changes never wait for it.
     */
    public void refreshAddresses() {
        if (addresses.refresh(addressesOf(active))) {
            synchronized (this) {
                follow(active);
            }
        }
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
            final Sidecar sidecar = acquireIn(route, backend, tried, key);
            if (sidecar != null) {
                return sidecar;
            }
        }
        return null;
    }

    /**
     * Chooses a sidecar of {@code backend} alone, as {@link #acquire} does within one backend: a
     * retry stays in the backend that served the first attempt.
     */
    public Sidecar acquireIn(Route route, String backend, List<Sidecar> tried, RoutingKey key) {
        final SidecarRouter router = route.table().router(backend);
        if (router == null) {
            return null;
        }
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
        return pool.acquire(router, members, tried, key);
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
