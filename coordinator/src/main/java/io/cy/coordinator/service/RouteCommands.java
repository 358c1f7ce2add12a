package io.cy.coordinator.service;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.auth.Identity;
import io.cy.coordinator.config.ConfigException;
import io.cy.coordinator.config.RoutingSection;
import io.cy.coordinator.redis.RedisRouteStore;
import io.cy.coordinator.redis.SharedRoutesException;
import io.cy.coordinator.routing.BackendSpec;
import io.cy.coordinator.routing.Degrade;
import io.cy.coordinator.routing.RouteTable;
import io.cy.coordinator.routing.Routing;
import io.cy.coordinator.routing.RoutesSpec;
import io.cy.llm.proto.ControlMessage;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Control commands on the route table: {@code routes_get}, {@code routes_set},
 * {@code routes_rollback}, {@code degrade_set}; and {@code list_models} from the catalog once backends are configured.
 * Answers carry {@code version} and, for a change, {@code old_version}, which the audit row keeps.
 */
public final class RouteCommands {

    private static final Logger logger = LoggerFactory.getLogger(RouteCommands.class);
    /** Longest routes document taken by routes_set: far more than any real table, far less than memory. */
    static final int MAX_ROUTES_CHARS = 64 * 1024;

    private final Routing routing;
    // Null with routes.store: local.
    private final RedisRouteStore shared;

    public RouteCommands(Routing routing) {
        this(routing, null);
    }

    /** @param shared where changes go first with {@code routes.store: redis}; null for local routes */
    public RouteCommands(Routing routing, RedisRouteStore shared) {
        this.routing = requireNonNull(routing, "routing");
        this.shared = shared;
    }

    /**
     * The new table, at once for local routes; with shared ones when Redis took it, which the
     * caller's thread (an event loop) does not wait for.
     */
    private CompletionStage<RouteTable> setRoutes(RoutesSpec routes) {
        if (shared != null) {
            return shared.setRoutes(routes);
        }
        try {
            return CompletableFuture.completedFuture(routing.setRoutes(routes));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    ControlMessage.Builder get() {
        final RouteTable table = routing.active();
        final ControlMessage.Builder answer = ok("routes version " + table.version())
                .putPayload("routes", RoutingSection.toJson(table.routes()))
                .putPayload("version", String.valueOf(table.version()))
                .putPayload("versions", join(routing.versions()));
        Routing.balances(table).forEach((backend, balance) -> answer.putPayload("balance." + backend, balance));
        return answer;
    }

    /** {@code routes_set}: answered once the new table is active (with shared routes, once Redis took it). */
    CompletionStage<ControlMessage.Builder> set(ControlMessage request, Identity caller) {
        final String text = request.getPayloadOrDefault("routes", "");
        if (text.isBlank()) {
            return now(error("routes: missing (expected: the routes section as JSON or YAML)"));
        }
        if (text.length() > MAX_ROUTES_CHARS) {
            return now(error("routes: " + text.length() + " characters (expected: <= " + MAX_ROUTES_CHARS + ")"));
        }
        final RouteTable before = routing.active();
        final RoutesSpec routes;
        try {
            routes = RoutingSection.parseRoutes(text, before.backends());
        } catch (ConfigException e) {
            return now(error("routes not changed: " + e.getMessage())
                    .putPayload("version", String.valueOf(before.version())));
        }
        return answer(setRoutes(routes), before, after -> {
            logger.info("routes set by {}: version {} -> {}", who(caller), before.version(), after.version());
            return changed("routes set for new calls", before, after);
        });
    }

    /**
     * {@code degrade_set}: payload {@code alias} (or {@code *} for every alias) and {@code mode};
     * a new version of the table, so {@code routes_rollback} undoes it.
     */
    CompletionStage<ControlMessage.Builder> degradeSet(ControlMessage request, Identity caller) {
        final String alias = request.getPayloadOrDefault("alias", "").trim();
        final String name = request.getPayloadOrDefault("mode", "").trim();
        final Degrade.Mode mode = Degrade.Mode.fromConfigName(name.toLowerCase(Locale.ROOT));
        if (mode == null) {
            return now(error("mode: " + (name.isEmpty() ? "missing" : "'" + name + "'")
                    + " (expected: fallback, reject or off)"));
        }
        final RouteTable before = routing.active();
        final RoutesSpec routes = before.routes();
        if (alias.isEmpty() || !alias.equals("*") && !routes.aliases().containsKey(alias)) {
            return now(error("alias: " + (alias.isEmpty() ? "missing" : "'" + alias + "'") + " (expected: * or one of "
                    + String.join(", ", routes.aliases().keySet()) + ")"));
        }
        final Map<String, Degrade> degrade = new LinkedHashMap<>(routes.degrade());
        for (String each : routes.aliases().keySet()) {
            if (!alias.equals("*") && !alias.equals(each)) {
                continue;
            }
            final Degrade current = routes.degradeOf(each);
            if (mode == Degrade.Mode.FALLBACK && current.fallback().isEmpty()) {
                if (!alias.equals("*")) {
                    return now(error("mode: fallback, but alias " + each + " has no fallback targets (expected: set"
                            + " them with routes_set first)").putPayload("version", String.valueOf(before.version())));
                }
                // With *, the aliases that have somewhere to fall back to do; the others keep their mode.
                continue;
            }
            degrade.put(each, current.withMode(mode));
        }
        return answer(setRoutes(new RoutesSpec(routes.aliases(), degrade, routes.stickyKey())), before, after -> {
            logger.info("degrade of {} set to {} by {}: version {} -> {}", alias, mode.configName(), who(caller),
                    before.version(), after.version());
            return changed("degrade of " + alias + " set to " + mode.configName() + " for new calls", before, after);
        });
    }

    CompletionStage<ControlMessage.Builder> rollback(ControlMessage request, Identity caller) {
        final String named = request.getPayloadOrDefault("version", "").trim();
        long version = 0;
        if (!named.isEmpty()) {
            try {
                version = Long.parseLong(named);
            } catch (NumberFormatException e) {
                version = -1;
            }
            if (version < 1) {
                return now(error("version: '" + named + "' (expected: one of " + join(routing.versions()) + ")"));
            }
        }
        final RouteTable before = routing.active();
        final CompletionStage<RouteTable> rolledBack;
        if (shared != null) {
            rolledBack = shared.rollback(version);
        } else {
            CompletionStage<RouteTable> local;
            try {
                local = CompletableFuture.completedFuture(routing.rollback(version));
            } catch (RuntimeException e) {
                local = CompletableFuture.failedFuture(e);
            }
            rolledBack = local;
        }
        return answer(rolledBack, before, after -> {
            logger.info("routes rolled back by {}: version {} -> {}", who(caller), before.version(), after.version());
            return changed("routes rolled back for new calls", before, after);
        });
    }

    /**
     * The answer once {@code change} completes: {@code made} for the new table; for a change
     * refused (Redis away or slow, another replica first, no such version), an error with its
     * message and the version still active.
     */
    private static CompletionStage<ControlMessage.Builder> answer(CompletionStage<RouteTable> change,
                                                                  RouteTable before,
                                                                  Function<RouteTable, ControlMessage.Builder> made) {
        return change.handle((after, failure) -> {
            if (failure == null) {
                return made.apply(after);
            }
            final Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                    ? failure.getCause() : failure;
            if (!(cause instanceof SharedRoutesException) && !(cause instanceof IllegalArgumentException)) {
                logger.error("route change failed", cause);
            }
            return error(cause instanceof SharedRoutesException || cause instanceof IllegalArgumentException
                    ? cause.getMessage() : "routes not changed: " + cause.getClass().getSimpleName())
                    .putPayload("version", String.valueOf(before.version()));
        });
    }

    private static CompletionStage<ControlMessage.Builder> now(ControlMessage.Builder answer) {
        return CompletableFuture.completedFuture(answer);
    }

    /** Whether the coordinator answers {@code list_models} itself: it knows the models once backends are configured. */
    boolean answersListModels() {
        for (BackendSpec backend : routing.active().backends()) {
            if (backend.servesAny()) {
                return false;
            }
        }
        return true;
    }

    /**
     * The aliases and {@code backend/model} ids, sorted, that {@code allowed} (a tenant's
     * {@code quota.models}; empty: all) lets a caller use.
     */
    ControlMessage.Builder listModels(List<String> allowed) {
        final RouteTable table = routing.active();
        final Set<String> models = new TreeSet<>();
        for (String alias : table.routes().aliases().keySet()) {
            if (allowed.isEmpty() || allowed.contains(alias)) {
                models.add(alias);
            }
        }
        for (BackendSpec backend : table.backends()) {
            for (String model : routing.resolver().models(backend)) {
                final String id = backend.id() + "/" + model;
                if (allowed.isEmpty() || allowed.contains(id)) {
                    models.add(id);
                }
            }
        }
        return ok(models.size() + " models").putPayload("models", String.join(",", models));
    }

    private static ControlMessage.Builder changed(String message, RouteTable before, RouteTable after) {
        return ok(message + ": version " + after.version())
                .putPayload("version", String.valueOf(after.version()))
                .putPayload("old_version", String.valueOf(before.version()));
    }

    private static String who(Identity caller) {
        return caller == null ? "an unauthenticated caller" : caller.subject() + " (tenant " + caller.tenant() + ")";
    }

    private static String join(List<Long> versions) {
        final List<String> out = new ArrayList<>();
        versions.forEach(v -> out.add(String.valueOf(v)));
        return String.join(",", out);
    }

    private static ControlMessage.Builder ok(String message) {
        return ControlMessage.newBuilder().putPayload("status", "ok").putPayload("message", message);
    }

    private static ControlMessage.Builder error(String message) {
        return ControlMessage.newBuilder().putPayload("status", "error").putPayload("message", message);
    }
}
