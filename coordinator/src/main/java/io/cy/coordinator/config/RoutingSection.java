package io.cy.coordinator.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.cy.coordinator.routing.BackendSpec;
import io.cy.coordinator.routing.Degrade;
import io.cy.coordinator.routing.ModelSpec;
import io.cy.coordinator.routing.RouteTarget;
import io.cy.coordinator.routing.RoutesSpec;
import io.cy.coordinator.routing.StickyKey;
import io.cy.coordinator.sidecar.Balance;
import io.cy.coordinator.sidecar.BalanceSettings;
import io.cy.coordinator.sidecar.CapacitySettings;
import io.cy.coordinator.sidecar.OutlierSettings;
import io.cy.coordinator.sidecar.SidecarRouters;
import io.cy.coordinator.transport.netty.Endpoint;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Reads and validates the {@code backends} and {@code routes} sections, at startup, on a reload
 * and for Control {@code routes_set}; every error names the key.
 */
public final class RoutingSection {

    /** The backend of a configuration without {@code backends}, and the alias every one has. */
    public static final String DEFAULT = "default";

    private static final Pattern BACKEND_ID = Pattern.compile("[a-z0-9-]{1,63}");
    private static final int MAX_ALIAS_CHARS = 128;
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_INFLIGHT_LIMIT = 1_000_000;
    private static final int MAX_QUEUE_LENGTH = 1_000_000;
    private static final Duration MAX_QUEUE_WAIT = Duration.ofHours(1);

    private RoutingSection() {}

    /**
     * The backends; without a {@code backends} list, one backend {@code default} on
     * {@code sidecars.addresses} that serves any model.
     */
    static List<BackendSpec> backends(ConfigTree root, List<Endpoint> sidecarAddresses) {
        final List<ConfigTree> listed = root.sections("backends");
        final CapacitySettings pooled = capacity(root.section("sidecars"), CapacitySettings.DEFAULT);
        if (listed.isEmpty()) {
            return List.of(new BackendSpec(DEFAULT, sidecarAddresses, List.of(), true, BalanceSettings.DEFAULT,
                    outlier(root.section("sidecars")), pooled));
        }
        final List<BackendSpec> backends = new ArrayList<>();
        final Set<String> ids = new HashSet<>();
        final Map<Endpoint, String> owners = new LinkedHashMap<>();
        for (ConfigTree backend : listed) {
            backend.rejectUnknown(List.of("id", "addresses", "models", "balance", "affinity_prefix_bytes",
                    "balance_threshold", "outlier", "retry_budget_percent", "max_inflight", "queue"));
            final String id = backend.string("id");
            if (!BACKEND_ID.matcher(id).matches()) {
                throw new ConfigException(backend.pathOf("id"), "'" + id + "' (expected: [a-z0-9-]{1,63})");
            }
            if (!ids.add(id)) {
                throw new ConfigException(backend.pathOf("id"), "'" + id + "' (expected: unique; another backend has it)");
            }
            final List<Endpoint> addresses = backend.endpoints("addresses");
            for (int i = 0; i < addresses.size(); i++) {
                final String owner = owners.putIfAbsent(addresses.get(i), id);
                if (owner != null) {
                    throw new ConfigException(backend.pathOf("addresses") + "[" + i + "]", addresses.get(i)
                            + " (expected: unique; backend " + owner + " has it)");
                }
            }
            backends.add(new BackendSpec(id, addresses, models(backend), false, balance(backend), outlier(backend),
                    capacity(backend, pooled)));
        }
        return List.copyOf(backends);
    }

    private static List<ModelSpec> models(ConfigTree backend) {
        final List<ModelSpec> models = new ArrayList<>();
        final Set<String> ids = new HashSet<>();
        for (ConfigTree model : backend.sections("models")) {
            model.rejectUnknown(List.of("id", "adapters"));
            final String id = model.string("id");
            if (id.isEmpty()) {
                throw new ConfigException(model.pathOf("id"), "empty (expected: the model's id)");
            }
            if (!ids.add(id)) {
                throw new ConfigException(model.pathOf("id"), "'" + id + "' (expected: unique within the backend)");
            }
            models.add(new ModelSpec(id, model.strings("adapters")));
        }
        return models;
    }

    /** {@code outlier} and {@code retry_budget_percent} of a backend, or of {@code sidecars}; defaults for what is not set. */
    private static OutlierSettings outlier(ConfigTree owner) {
        final OutlierSettings d = OutlierSettings.DEFAULT;
        final int retryBudgetPercent = owner.has("retry_budget_percent")
                ? owner.intIn("retry_budget_percent", 0, 100) : d.retryBudgetPercent();
        if (!owner.has("outlier") || owner.isNull("outlier")) {
            return new OutlierSettings(d.consecutiveFailures(), d.baseEjectionTime(), d.maxEjectionTime(),
                    d.maxEjectionPercent(), retryBudgetPercent);
        }
        final ConfigTree outlier = owner.section("outlier");
        outlier.rejectUnknown(List.of("consecutive_failures", "base_ejection_time", "max_ejection_time",
                "max_ejection_percent"));
        final int consecutiveFailures = outlier.has("consecutive_failures")
                ? outlier.intIn("consecutive_failures", 1, 1_000_000) : d.consecutiveFailures();
        final Duration base = outlier.has("base_ejection_time")
                ? outlier.duration("base_ejection_time", Duration.ofMillis(1)) : d.baseEjectionTime();
        final Duration max = outlier.has("max_ejection_time")
                ? outlier.duration("max_ejection_time", Duration.ofMillis(1)) : d.maxEjectionTime();
        if (max.compareTo(base) < 0) {
            throw new ConfigException(outlier.pathOf("max_ejection_time"), max.toMillis()
                    + "ms (expected: >= " + outlier.pathOf("base_ejection_time") + ", " + base.toMillis() + "ms)");
        }
        final int maxEjectionPercent = outlier.has("max_ejection_percent")
                ? outlier.intIn("max_ejection_percent", 0, 100) : d.maxEjectionPercent();
        return new OutlierSettings(consecutiveFailures, base, max, maxEjectionPercent, retryBudgetPercent);
    }

    /**
     * {@code max_inflight} and {@code queue} of a backend (or of {@code sidecars}); what it leaves
     * out comes from {@code inherited}. An empty {@code max_inflight} means no limit.
     */
    private static CapacitySettings capacity(ConfigTree section, CapacitySettings inherited) {
        final int maxInflight;
        if (section.has("max_inflight")) {
            final long limit = section.limit("max_inflight", 1);
            if (limit != CoordinatorConfig.QuotaPolicy.UNLIMITED && limit > MAX_INFLIGHT_LIMIT) {
                throw new ConfigException(section.pathOf("max_inflight"), limit + " (expected: <= "
                        + MAX_INFLIGHT_LIMIT + ", or empty for no limit)");
            }
            maxInflight = limit == CoordinatorConfig.QuotaPolicy.UNLIMITED ? CapacitySettings.UNLIMITED : (int) limit;
        } else {
            maxInflight = inherited.maxInflight();
        }
        Duration maxWait = inherited.maxWait();
        int maxLength = inherited.maxLength();
        if (section.has("queue")) {
            final ConfigTree queue = section.section("queue");
            queue.rejectUnknown(List.of("max_wait", "max_length"));
            if (queue.has("max_wait")) {
                maxWait = queue.duration("max_wait", Duration.ofMillis(1));
                if (maxWait.compareTo(MAX_QUEUE_WAIT) > 0) {
                    throw new ConfigException(queue.pathOf("max_wait"), maxWait.toMillis() + "ms (expected: <= "
                            + MAX_QUEUE_WAIT.toMillis() + "ms)");
                }
            }
            if (queue.has("max_length")) {
                maxLength = queue.intIn("max_length", 0, MAX_QUEUE_LENGTH);
            }
        }
        return new CapacitySettings(maxInflight, maxWait, maxLength);
    }

    private static BalanceSettings balance(ConfigTree backend) {
        final String name = backend.has("balance") ? backend.string("balance") : Balance.LEAST_INFLIGHT.configName();
        final Balance balance = Balance.fromConfigName(name.toLowerCase(Locale.ROOT));
        if (balance == null) {
            throw new ConfigException(backend.pathOf("balance"), "'" + name + "' (expected: " + Balance.names() + ")");
        }
        final BalanceSettings settings = new BalanceSettings(balance,
                backend.has("affinity_prefix_bytes") ? backend.intIn("affinity_prefix_bytes", 1, 1 << 20)
                        : BalanceSettings.DEFAULT_AFFINITY_PREFIX_BYTES,
                backend.has("balance_threshold") ? backend.intIn("balance_threshold", 0, 1_000_000)
                        : BalanceSettings.DEFAULT_BALANCE_THRESHOLD);
        try {
            // Made once here so that a policy this build lacks stops startup, not the first call.
            SidecarRouters.create(settings);
        } catch (IllegalArgumentException e) {
            final String message = String.valueOf(e.getMessage());
            final int colon = message.indexOf(": ");
            throw new ConfigException(backend.pathOf("balance"), colon < 0 ? message : message.substring(colon + 2));
        }
        return settings;
    }

    /** The {@code routes} section of the configuration; without aliases, {@code default} to the one backend that serves any model. */
    static RoutesSpec routesOf(ConfigTree root, List<BackendSpec> backends) {
        final ConfigTree section = root.section("routes");
        // Where the table lives, read by ConfigLoader; not part of a routes version.
        return routes(section, backends, List.of("aliases", "sticky_key", "store", "redis"));
    }

    /**
     * A {@code routes} section written as JSON or YAML (Control {@code routes_set}), validated
     * against {@code backends} as at startup.
     *
     * @throws ConfigException naming the key that is wrong
     */
    public static RoutesSpec parseRoutes(String text, List<BackendSpec> backends) {
        final JsonNode node;
        try {
            node = YAML.readTree(text);
        } catch (JsonProcessingException e) {
            throw new ConfigException("routes", "not valid JSON or YAML: " + e.getOriginalMessage()
                    + (e.getLocation() != null ? " at line " + e.getLocation().getLineNr() : ""));
        }
        if (node == null || !node.isObject()) {
            throw new ConfigException("routes", "not a mapping (expected: {aliases: {...}, sticky_key: ...})");
        }
        // The whole document may be given, or just the section.
        final ObjectNode section = node.has("routes") && node.get("routes").isObject() && node.size() == 1
                ? (ObjectNode) node.get("routes") : (ObjectNode) node;
        return routes(new ConfigTree(section, "routes"), backends, List.of("aliases", "sticky_key"));
    }

    private static RoutesSpec routes(ConfigTree routes, List<BackendSpec> backends, List<String> keys) {
        routes.rejectUnknown(keys);
        final String stickyName = routes.has("sticky_key") ? routes.string("sticky_key") : "tenant";
        final StickyKey stickyKey = StickyKey.fromConfigName(stickyName.toLowerCase(Locale.ROOT));
        if (stickyKey == null) {
            throw new ConfigException(routes.pathOf("sticky_key"), "'" + stickyName + "' (expected: tenant, session or none)");
        }
        final Map<String, BackendSpec> byId = new LinkedHashMap<>();
        backends.forEach(backend -> byId.put(backend.id(), backend));
        final Map<String, List<RouteTarget>> aliases = new LinkedHashMap<>();
        final Map<String, Degrade> degrade = new LinkedHashMap<>();
        ConfigTree listed = null;
        if (routes.has("aliases") && !routes.isNull("aliases")) {
            if (!routes.isMapping("aliases")) {
                throw new ConfigException(routes.pathOf("aliases"), "not a mapping (expected: alias: {backend, model}"
                        + " or alias: [{backend, model, weight}, ...])");
            }
            listed = routes.section("aliases");
        }
        if (listed != null) {
            for (String alias : listed.keys()) {
                checkAliasName(listed, alias);
                if (listed.isMapping(alias) && listed.section(alias).has("target")) {
                    // The long form: {target: <one or a weighted list>, degrade: {...}}.
                    final ConfigTree entry = listed.section(alias);
                    entry.rejectUnknown(List.of("target", "degrade"));
                    aliases.put(alias, targets(entry, "target", byId));
                    if (entry.has("degrade")) {
                        degrade.put(alias, degrade(entry, byId));
                    }
                } else {
                    aliases.put(alias, targets(listed, alias, byId));
                }
            }
        }
        if (!aliases.containsKey(DEFAULT)) {
            final BackendSpec only = backends.size() == 1 ? backends.get(0) : null;
            if (aliases.isEmpty() && only != null && only.servesAny()) {
                aliases.put(DEFAULT, List.of(new RouteTarget(only.id(), "", 1)));
            } else {
                throw new ConfigException(routes.pathOf("aliases") + "." + DEFAULT,
                        "missing (expected: the target of requests without model_id, e.g. {backend: "
                                + backends.get(0).id() + ", model: ...})");
            }
        }
        return new RoutesSpec(aliases, degrade, stickyKey);
    }

    private static Degrade degrade(ConfigTree entry, Map<String, BackendSpec> backends) {
        if (!entry.isMapping("degrade")) {
            throw new ConfigException(entry.pathOf("degrade"), "not a mapping (expected: {mode: fallback|reject|off,"
                    + " fallback: [{backend, model}, ...]})");
        }
        final ConfigTree section = entry.section("degrade");
        section.rejectUnknown(List.of("mode", "fallback"));
        final String name = section.has("mode") ? section.string("mode") : "off";
        final Degrade.Mode mode = Degrade.Mode.fromConfigName(name.toLowerCase(Locale.ROOT));
        if (mode == null) {
            throw new ConfigException(section.pathOf("mode"), "'" + name + "' (expected: fallback, reject or off)");
        }
        final List<RouteTarget> fallback = new ArrayList<>();
        for (ConfigTree target : section.sections("fallback")) {
            fallback.add(target(target, backends, false));
        }
        if (mode == Degrade.Mode.FALLBACK && fallback.isEmpty()) {
            throw new ConfigException(section.pathOf("fallback"), "empty (expected: one or more {backend, model}"
                    + " with mode fallback)");
        }
        return new Degrade(mode, fallback);
    }

    private static void checkAliasName(ConfigTree aliases, String alias) {
        if (alias.isBlank() || alias.length() > MAX_ALIAS_CHARS || alias.indexOf('/') >= 0) {
            throw new ConfigException(aliases.pathOf(alias), "invalid alias name (expected: 1 to " + MAX_ALIAS_CHARS
                    + " characters without '/', which separates backend and model)");
        }
    }

    private static List<RouteTarget> targets(ConfigTree aliases, String alias, Map<String, BackendSpec> backends) {
        if (!aliases.isList(alias)) {
            if (!aliases.isMapping(alias)) {
                throw new ConfigException(aliases.pathOf(alias), "not a mapping (expected: {backend, model}"
                        + " or a list of {backend, model, weight})");
            }
            return List.of(target(aliases.section(alias), backends, false));
        }
        final List<ConfigTree> listed = aliases.sections(alias);
        if (listed.isEmpty()) {
            throw new ConfigException(aliases.pathOf(alias), "empty (expected: one or more {backend, model, weight})");
        }
        final List<RouteTarget> targets = new ArrayList<>();
        long total = 0;
        for (ConfigTree target : listed) {
            final RouteTarget parsed = target(target, backends, true);
            total += parsed.weight();
            targets.add(parsed);
        }
        if (total > Integer.MAX_VALUE) {
            throw new ConfigException(aliases.pathOf(alias), "weights add up to " + total
                    + " (expected: <= " + Integer.MAX_VALUE + ")");
        }
        return targets;
    }

    private static RouteTarget target(ConfigTree target, Map<String, BackendSpec> backends, boolean weighted) {
        target.rejectUnknown(List.of("backend", "model", "weight"));
        final String id = target.string("backend");
        final BackendSpec backend = backends.get(id);
        if (backend == null) {
            throw new ConfigException(target.pathOf("backend"), (id.isEmpty() ? "missing" : "'" + id + "'")
                    + " (expected: one of " + String.join(", ", new TreeSet<>(backends.keySet())) + ")");
        }
        final String model = target.string("model");
        if (model.isEmpty() && !backend.servesAny()) {
            throw new ConfigException(target.pathOf("model"), "missing (expected: a model backend " + id + " serves)");
        }
        if (!model.isEmpty() && !backend.servesAny() && !backend.discovers() && backend.model(model) == null) {
            final List<String> served = new ArrayList<>();
            backend.models().forEach(m -> served.add(m.id()));
            throw new ConfigException(target.pathOf("model"), "'" + model + "' (expected: a model backend " + id
                    + " serves: " + String.join(", ", new TreeSet<>(served)) + ")");
        }
        int weight = 1;
        if (weighted || target.has("weight")) {
            final String text = target.string("weight");
            try {
                weight = Integer.parseInt(text);
            } catch (NumberFormatException e) {
                weight = 0;
            }
            if (weight < 1) {
                throw new ConfigException(target.pathOf("weight"), (text.isEmpty() ? "missing" : text)
                        + " (expected: a positive integer)");
            }
        }
        return new RouteTarget(id, model, weight);
    }

    /** The section as JSON, in the form {@link #parseRoutes} reads back. */
    public static String toJson(RoutesSpec routes) {
        final ObjectNode root = JSON.createObjectNode();
        final ObjectNode aliases = root.putObject("aliases");
        routes.aliases().forEach((alias, targets) -> {
            final Degrade degrade = routes.degrade().get(alias);
            final ObjectNode parent = degrade == null ? aliases : aliases.putObject(alias);
            final String key = degrade == null ? alias : "target";
            if (targets.size() == 1 && targets.get(0).weight() == 1) {
                put(parent.putObject(key), targets.get(0), false);
            } else {
                final ArrayNode list = parent.putArray(key);
                targets.forEach(target -> put(list.addObject(), target, true));
            }
            if (degrade != null) {
                final ObjectNode policy = parent.putObject("degrade");
                policy.put("mode", degrade.mode().configName());
                final ArrayNode fallback = policy.putArray("fallback");
                degrade.fallback().forEach(target -> put(fallback.addObject(), target, false));
            }
        });
        root.put("sticky_key", routes.stickyKey().configName());
        try {
            return JSON.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void put(ObjectNode node, RouteTarget target, boolean weighted) {
        node.put("backend", target.backend());
        if (!target.model().isEmpty()) {
            node.put("model", target.model());
        }
        if (weighted) {
            node.put("weight", target.weight());
        }
    }
}
