package io.cy.coordinator.routing;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.sidecar.Sidecar;
import io.cy.coordinator.sidecar.SidecarPool;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Resolves a request's {@code model_id}: empty to alias {@code default}; an alias to its target
 * (a canary's arm by a hash of the sticky key); {@code backend/model} to that backend; a bare
 * model id to the backends serving it, least loaded first; anything else to NOT_FOUND. Never
 * falls back to another model, and its errors list names sorted, so that they are the same on
 * every replica.
 */
public final class ModelResolver {

    private final SidecarPool pool;
    private final Catalog catalog;

    public ModelResolver(SidecarPool pool, Catalog catalog) {
        this.pool = requireNonNull(pool, "pool");
        this.catalog = requireNonNull(catalog, "catalog");
    }

    /**
     * @param stickyKey the call's sticky key; empty: a canary arm is chosen at random by weight
     * @param workerHint the request's {@code worker_hint}: a backend id or a sidecar address the
     *     route may use narrows it; anything else is ignored with a note
     */
    public Resolution resolve(RouteTable table, String modelId, String adapter, String stickyKey, String workerHint) {
        final Resolution resolution = resolve(table, modelId, adapter, stickyKey);
        if (!resolution.isResolved() || workerHint.isEmpty()) {
            return resolution;
        }
        return Resolution.of(hinted(resolution.route(), workerHint));
    }

    private Resolution resolve(RouteTable table, String modelId, String adapter, String stickyKey) {
        final RoutesSpec routes = table.routes();
        final String alias = modelId.isEmpty() ? "default" : routes.aliases().containsKey(modelId) ? modelId : null;
        if (alias != null) {
            final RouteTarget target = pick(alias, routes.aliases().get(alias), stickyKey);
            final BackendSpec backend = table.backend(target.backend());
            final String model = target.model().isEmpty() ? modelId : target.model();
            final String refused = adapterRefusal(backend, model, adapter);
            return refused != null ? Resolution.notFound(refused)
                    : Resolution.of(new Route(table, alias, List.of(backend.id()), model, adapter, null, ""));
        }
        final int slash = modelId.indexOf('/');
        if (slash > 0) {
            final BackendSpec backend = table.backend(modelId.substring(0, slash));
            // Otherwise the slash is the model's own, as in Hugging Face ids (org/name).
            if (backend != null) {
                final String model = modelId.substring(slash + 1);
                if (!serves(backend, model)) {
                    return Resolution.notFound("backend \"" + backend.id() + "\" does not serve model \"" + model + "\"");
                }
                final String refused = adapterRefusal(backend, model, adapter);
                return refused != null ? Resolution.notFound(refused)
                        : Resolution.of(new Route(table, "", List.of(backend.id()), model, adapter, null, ""));
            }
        }
        final List<BackendSpec> serving = new ArrayList<>();
        String refused = null;
        for (BackendSpec backend : table.backends()) {
            if (serves(backend, modelId)) {
                final String refusal = adapterRefusal(backend, modelId, adapter);
                if (refusal == null) {
                    serving.add(backend);
                } else if (refused == null) {
                    refused = refusal;
                }
            }
        }
        if (serving.isEmpty()) {
            return Resolution.notFound(refused != null ? refused : unknown(table, modelId));
        }
        serving.sort(Comparator.comparingDouble(this::load));
        final List<String> ids = new ArrayList<>();
        serving.forEach(backend -> ids.add(backend.id()));
        return Resolution.of(new Route(table, "", ids, modelId, adapter, null, ""));
    }

    /** Whether {@code backend} serves {@code model}: listed, discovered, or any for the default backend. */
    public boolean serves(BackendSpec backend, String model) {
        if (model.isEmpty()) {
            return backend.servesAny();
        }
        if (backend.servesAny() || backend.model(model) != null) {
            return true;
        }
        if (!backend.discovers()) {
            return false;
        }
        for (Sidecar sidecar : pool.backend(backend.id())) {
            if (catalog.serves(sidecar, model)) {
                return true;
            }
        }
        return false;
    }

    /** The models {@code backend} serves now: listed or discovered; empty for the default backend. */
    public List<String> models(BackendSpec backend) {
        if (!backend.discovers()) {
            final List<String> ids = new ArrayList<>();
            backend.models().forEach(model -> ids.add(model.id()));
            return ids;
        }
        return List.copyOf(catalog.models(pool.backend(backend.id())));
    }

    private static String adapterRefusal(BackendSpec backend, String model, String adapter) {
        if (adapter.isEmpty()) {
            return null;
        }
        final ModelSpec listed = backend.model(model);
        if (listed == null || listed.adapters().isEmpty() || listed.adapters().contains(adapter)) {
            return null;
        }
        return "backend \"" + backend.id() + "\" model \"" + model + "\" has no adapter \"" + adapter
                + "\" (adapters: " + String.join(", ", new java.util.TreeSet<>(listed.adapters())) + ")";
    }

    private static String unknown(RouteTable table, String modelId) {
        final List<String> backends = new ArrayList<>();
        table.backends().forEach(backend -> backends.add(backend.id()));
        backends.sort(null);
        return "unknown model \"" + modelId + "\" (aliases: " + String.join(", ", table.routes().aliases().keySet())
                + "; backends: " + String.join(", ", backends) + ")";
    }

    /** Calls in flight per available sidecar: how loaded a backend is. */
    private double load(BackendSpec backend) {
        int inflight = 0;
        int available = 0;
        for (Sidecar sidecar : pool.backend(backend.id())) {
            inflight += sidecar.inflight();
            if (sidecar.isAvailable() && !sidecar.isDraining() && !sidecar.isEjected()) {
                available++;
            }
        }
        return available == 0 ? Double.MAX_VALUE : (double) inflight / available;
    }

    private Route hinted(Route route, String hint) {
        if (route.backends().contains(hint)) {
            return new Route(route.table(), route.alias(), List.of(hint), route.model(), route.adapter(), null, "");
        }
        final Sidecar sidecar = pool.find(hint);
        if (sidecar != null && route.backends().contains(pool.backendOf(sidecar))) {
            return new Route(route.table(), route.alias(), route.backends(), route.model(), route.adapter(), sidecar, "");
        }
        return new Route(route.table(), route.alias(), route.backends(), route.model(), route.adapter(), null,
                "worker_hint ignored: not a backend or sidecar of this route");
    }

    /** The canary arm: by weight, the same for the same alias and sticky key. */
    static RouteTarget pick(String alias, List<RouteTarget> targets, String stickyKey) {
        if (targets.size() == 1) {
            return targets.get(0);
        }
        long total = 0;
        for (RouteTarget target : targets) {
            total += target.weight();
        }
        final long point = stickyKey.isEmpty() ? ThreadLocalRandom.current().nextLong(total)
                : Long.remainderUnsigned(hash(alias, stickyKey), total);
        long upTo = 0;
        for (RouteTarget target : targets) {
            upTo += target.weight();
            if (point < upTo) {
                return target;
            }
        }
        return targets.get(targets.size() - 1);
    }

    /** FNV-1a over the alias and the key, then MurmurHash3's finaliser so that every bit counts. */
    static long hash(String alias, String key) {
        long h = 0xcbf29ce484222325L;
        for (byte b : (alias + '\u0000' + key).getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb34fe1a85ec3L;
        h ^= h >>> 33;
        return h;
    }
}
