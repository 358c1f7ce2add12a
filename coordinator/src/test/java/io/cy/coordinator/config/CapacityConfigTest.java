package io.cy.coordinator.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cy.coordinator.routing.BackendSpec;
import io.cy.coordinator.sidecar.CapacitySettings;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** max_inflight and queue, per backend and under sidecars: defaults, inheritance, and errors naming the key. */
class CapacityConfigTest {

    private static CoordinatorConfig config(String yaml) {
        return ConfigLoaderTest.yaml(yaml, Map.of()).config();
    }

    private static void fails(String yaml, String message) {
        assertThatThrownBy(() -> config(yaml)).isInstanceOf(ConfigException.class).hasMessage(message);
    }

    @Test
    void byDefaultNoLimitAndTheIssuesQueueBounds() {
        assertThat(config("").backends().get(0).capacity()).isEqualTo(
                new CapacitySettings(CapacitySettings.UNLIMITED, Duration.ofSeconds(5), 1024));
    }

    @Test
    void theSinglePoolTakesTheKeysUnderSidecarsAndTheEnvironment() {
        assertThat(config("sidecars: {max_inflight: 8, queue: {max_wait: 2s, max_length: 16}}").backends().get(0)
                .capacity()).isEqualTo(new CapacitySettings(8, Duration.ofSeconds(2), 16));
        assertThat(ConfigLoaderTest.yaml("", Map.of("CY_SIDECARS_MAX_INFLIGHT", "3")).config().backends().get(0)
                .capacity().maxInflight()).isEqualTo(3);
    }

    @Test
    void aBackendSetsItsOwnAndInheritsWhatItLeavesOut() {
        final CoordinatorConfig config = config("""
                sidecars: {max_inflight: 2, queue: {max_wait: 1s}}
                backends:
                  - {id: gpu-a, addresses: ["unix:///run/a.sock"], max_inflight: 8, queue: {max_length: 10}}
                  - {id: cpu-b, addresses: ["unix:///run/b.sock"], max_inflight: }
                routes: {aliases: {default: {backend: gpu-a, model: m}}}
                """);
        final BackendSpec gpu = config.backends().get(0);
        final BackendSpec cpu = config.backends().get(1);
        assertThat(gpu.capacity()).isEqualTo(new CapacitySettings(8, Duration.ofSeconds(1), 10));
        assertThat(cpu.capacity()).isEqualTo(new CapacitySettings(CapacitySettings.UNLIMITED, Duration.ofSeconds(1), 1024));
    }

    @Test
    void badValuesStopStartupNamingTheKey() {
        fails("sidecars: {max_inflight: 0}", "sidecars.max_inflight: 0 (expected: >= 1, or empty for no limit)");
        fails("sidecars: {queue: {max_wait: soon}}",
                "sidecars.queue.max_wait: 'soon' (expected: a duration such as 500ms, 30s, 5m, 1h)");
        fails("sidecars: {queue: {max_length: -1}}", "sidecars.queue.max_length: -1 (expected: in [0, 1000000])");
        fails("""
                backends:
                  - {id: gpu-a, addresses: ["unix:///run/a.sock"], queue: {max_lenght: 3}}
                routes: {aliases: {default: {backend: gpu-a, model: m}}}
                """, "backends[0].queue.max_lenght: unknown setting (expected one of: max_wait, max_length)");
    }
}
