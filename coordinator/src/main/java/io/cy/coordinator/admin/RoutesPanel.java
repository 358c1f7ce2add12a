package io.cy.coordinator.admin;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cy.coordinator.routing.Degrade;
import io.cy.coordinator.routing.RouteTable;
import io.cy.coordinator.routing.RouteTarget;
import io.cy.coordinator.routing.Routing;
import io.cy.coordinator.routing.RoutesSpec;
import java.util.List;
import java.util.Map;

/**
 * {@code GET /admin/api/routes}: the active version's aliases with their targets (canary weights)
 * and degrade policy, each backend's balancing, and the versions kept for rollback, newest first.
 */
final class RoutesPanel implements Panel {

    private final Routing routing;

    RoutesPanel(Routing routing) {
        this.routing = requireNonNull(routing, "routing");
    }

    @Override
    public ObjectNode read(Map<String, String> query) {
        final RouteTable active = routing.active();
        final ObjectNode out = JsonNodeFactory.instance.objectNode();
        out.put("version", active.version());
        out.put("created", active.created().toString());
        out.put("sticky_key", active.routes().stickyKey().configName());
        out.set("aliases", aliases(active.routes()));
        final ObjectNode balance = out.putObject("balance");
        Routing.balances(active).forEach(balance::put);
        final ArrayNode history = out.putArray("history");
        final List<RouteTable> kept = routing.history();
        for (int i = kept.size() - 1; i >= 0; i--) {
            final RouteTable table = kept.get(i);
            final ObjectNode version = history.addObject();
            version.put("version", table.version());
            version.put("created", table.created().toString());
            version.put("active", table == active);
            version.set("aliases", aliases(table.routes()));
        }
        return out;
    }

    private static ArrayNode aliases(RoutesSpec routes) {
        final ArrayNode out = JsonNodeFactory.instance.arrayNode();
        routes.aliases().forEach((name, targets) -> {
            final ObjectNode alias = out.addObject();
            alias.put("alias", name);
            alias.set("targets", targets(targets));
            final Degrade degrade = routes.degradeOf(name);
            final ObjectNode policy = alias.putObject("degrade");
            policy.put("mode", degrade.mode().configName());
            policy.set("fallback", targets(degrade.fallback()));
        });
        return out;
    }

    private static ArrayNode targets(List<RouteTarget> targets) {
        final ArrayNode out = JsonNodeFactory.instance.arrayNode();
        for (RouteTarget target : targets) {
            out.addObject().put("backend", target.backend()).put("model", target.model()).put("weight", target.weight());
        }
        return out;
    }
}
