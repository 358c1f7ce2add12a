package io.cy.coordinator.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cy.coordinator.routing.BackendSpec;
import io.cy.coordinator.routing.ModelSpec;
import io.cy.coordinator.routing.RouteTarget;
import io.cy.coordinator.routing.RoutesSpec;
import io.cy.coordinator.routing.StickyKey;
import io.cy.coordinator.sidecar.Balance;
import io.cy.coordinator.transport.netty.Endpoint;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The backends and routes sections: what they read, and every error naming its key. */
class RoutingConfigTest {

    static final String ISSUE_YAML = """
            backends:
              - id: gpu-a
                addresses: ["unix:///run/cy/a.sock", "10.0.0.5:50051"]
                models:
                  - id: qwen2.5-7b
                    adapters: [sql-lora, chat-lora]
                  - id: qwen2.5-7b-v2
                balance: least_inflight
              - id: cpu-b
                addresses: ["dns:///cy-cpu-workers:50051"]
                models: [{id: qwen2.5-0.5b}]
            routes:
              aliases:
                default:  {backend: gpu-a, model: qwen2.5-7b}
                low-cost: {backend: cpu-b, model: qwen2.5-0.5b}
                chat:
                  - {backend: gpu-a, model: qwen2.5-7b,    weight: 90}
                  - {backend: gpu-a, model: qwen2.5-7b-v2, weight: 10}
              sticky_key: tenant
            """;

    private static CoordinatorConfig config(String yaml) {
        return ConfigLoaderTest.yaml(yaml, Map.of()).config();
    }

    private static void fails(String yaml, String message) {
        assertThatThrownBy(() -> config(yaml)).isInstanceOf(ConfigException.class).hasMessage(message);
    }

    @Test
    void readsTheBackendsAndRoutesOfTheIssue() {
        final CoordinatorConfig config = config(ISSUE_YAML);

        assertThat(config.backends()).extracting(BackendSpec::id).containsExactly("gpu-a", "cpu-b");
        final BackendSpec gpu = config.backends().get(0);
        assertThat(gpu.addresses()).containsExactly(Endpoint.parse("unix:///run/cy/a.sock"),
                Endpoint.parse("10.0.0.5:50051"));
        assertThat(gpu.models()).containsExactly(new ModelSpec("qwen2.5-7b", List.of("sql-lora", "chat-lora")),
                new ModelSpec("qwen2.5-7b-v2", List.of()));
        assertThat(gpu.balance().balance()).isEqualTo(Balance.LEAST_INFLIGHT);
        assertThat(gpu.servesAny()).isFalse();
        assertThat(gpu.discovers()).isFalse();
        assertThat(config.routes().stickyKey()).isEqualTo(StickyKey.TENANT);
        assertThat(config.routes().aliases()).containsOnlyKeys("chat", "default", "low-cost");
        assertThat(config.routes().aliases().get("chat")).containsExactly(
                new RouteTarget("gpu-a", "qwen2.5-7b", 90), new RouteTarget("gpu-a", "qwen2.5-7b-v2", 10));
        assertThat(config.routes().aliases().get("default")).containsExactly(new RouteTarget("gpu-a", "qwen2.5-7b", 1));
    }

    @Test
    void withoutBackendsOneDefaultBackendOnTheSidecarsServesAnyModel() {
        final CoordinatorConfig config = ConfigLoaderTest.yaml("", Map.of("SIDECAR_GRPC_ADDR",
                "unix:///tmp/a.sock,unix:///tmp/b.sock")).config();

        assertThat(config.backends()).hasSize(1);
        final BackendSpec only = config.backends().get(0);
        assertThat(only.id()).isEqualTo("default");
        assertThat(only.servesAny()).isTrue();
        assertThat(only.addresses()).containsExactly(Endpoint.parse("unix:///tmp/a.sock"),
                Endpoint.parse("unix:///tmp/b.sock"));
        assertThat(config.routes().aliases()).containsExactly(
                Map.entry("default", List.of(new RouteTarget("default", "", 1))));
    }

    @Test
    void aBackendWithoutModelsDiscoversThemAndAnyModelMayBeATarget() {
        final CoordinatorConfig config = config("""
                backends:
                  - {id: disc, addresses: ["unix:///tmp/d.sock"]}
                routes:
                  aliases:
                    default: {backend: disc, model: whatever-it-says}
                """);
        assertThat(config.backends().get(0).discovers()).isTrue();
    }

    @Test
    void weightsArePositiveIntegers() {
        fails(ISSUE_YAML.replace("weight: 10", "weight: 0"),
                "routes.aliases.chat[1].weight: 0 (expected: a positive integer)");
        fails(ISSUE_YAML.replace("weight: 90", "weight: ninety"),
                "routes.aliases.chat[0].weight: ninety (expected: a positive integer)");
        fails(ISSUE_YAML.replace(",    weight: 90", ""),
                "routes.aliases.chat[0].weight: missing (expected: a positive integer)");
    }

    @Test
    void idsAreUniqueAndWellFormed() {
        fails(ISSUE_YAML.replace("id: cpu-b", "id: gpu-a"),
                "backends[1].id: 'gpu-a' (expected: unique; another backend has it)");
        fails(ISSUE_YAML.replace("id: cpu-b", "id: CPU_B"), "backends[1].id: 'CPU_B' (expected: [a-z0-9-]{1,63})");
        fails(ISSUE_YAML.replace("- id: qwen2.5-7b-v2", "- id: qwen2.5-7b"),
                "backends[0].models[1].id: 'qwen2.5-7b' (expected: unique within the backend)");
        fails(ISSUE_YAML.replace("dns:///cy-cpu-workers:50051", "10.0.0.5:50051"),
                "backends[1].addresses[0]: 10.0.0.5:50051 (expected: unique; backend gpu-a has it)");
    }

    @Test
    void everyTargetNamesABackendAndAModelItServes() {
        fails(ISSUE_YAML.replace("low-cost: {backend: cpu-b", "low-cost: {backend: cpu-c"),
                "routes.aliases.low-cost.backend: 'cpu-c' (expected: one of cpu-b, gpu-a)");
        fails(ISSUE_YAML.replace("model: qwen2.5-7b-v2, weight", "model: qwen3, weight"),
                "routes.aliases.chat[1].model: 'qwen3' (expected: a model backend gpu-a serves: qwen2.5-7b, qwen2.5-7b-v2)");
        fails(ISSUE_YAML.replace("low-cost: {backend: cpu-b, model: qwen2.5-0.5b}", "low-cost: {backend: cpu-b}"),
                "routes.aliases.low-cost.model: missing (expected: a model backend cpu-b serves)");
    }

    @Test
    void aliasDefaultMustResolve() {
        fails(ISSUE_YAML.replace("default:  {backend: gpu-a, model: qwen2.5-7b}", ""),
                "routes.aliases.default: missing (expected: the target of requests without model_id, e.g. {backend: gpu-a,"
                        + " model: ...})");
    }

    @Test
    void stickyKeyAndBalanceAreChecked() {
        fails(ISSUE_YAML.replace("sticky_key: tenant", "sticky_key: user"),
                "routes.sticky_key: 'user' (expected: tenant, session or none)");
        fails(ISSUE_YAML.replace("balance: least_inflight", "balance: round_robin"),
                "backends[0].balance: 'round_robin' (expected: " + Balance.names() + ")");
        fails(ISSUE_YAML.replace("    balance: least_inflight", "    balance: least_inflight\n    affinity_prefix_bytes: 0"),
                "backends[0].affinity_prefix_bytes: 0 (expected: in [1, 1048576])");
        fails(ISSUE_YAML.replace("    balance: least_inflight", "    balance: least_inflight\n    colour: blue"),
                "backends[0].colour: unknown setting (expected one of: id, addresses, models, balance,"
                        + " affinity_prefix_bytes, balance_threshold, outlier, retry_budget_percent, max_inflight, queue)");
    }

    @Test
    void routesSetTakesJsonOrYamlAndReadsBackWhatItWrites() {
        final CoordinatorConfig config = config(ISSUE_YAML);
        final RoutesSpec fromJson = RoutingSection.parseRoutes(RoutingSection.toJson(config.routes()), config.backends());
        assertThat(fromJson).isEqualTo(config.routes());

        final RoutesSpec yaml = RoutingSection.parseRoutes("""
                aliases:
                  default: {backend: cpu-b, model: qwen2.5-0.5b}
                sticky_key: session
                """, config.backends());
        assertThat(yaml.stickyKey()).isEqualTo(StickyKey.SESSION);
        assertThat(yaml.aliases()).containsExactly(Map.entry("default", List.of(new RouteTarget("cpu-b", "qwen2.5-0.5b", 1))));

        assertThatThrownBy(() -> RoutingSection.parseRoutes("{\"aliases\": {\"default\": {\"backend\": \"gpu-a\","
                + " \"model\": \"nope\"}}}", config.backends()))
                .hasMessage("routes.aliases.default.model: 'nope' (expected: a model backend gpu-a serves: qwen2.5-7b,"
                        + " qwen2.5-7b-v2)");
        assertThatThrownBy(() -> RoutingSection.parseRoutes("[1, 2]", config.backends()))
                .hasMessage("routes: not a mapping (expected: {aliases: {...}, sticky_key: ...})");
    }
}
