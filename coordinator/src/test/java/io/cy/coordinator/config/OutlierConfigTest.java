package io.cy.coordinator.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cy.coordinator.sidecar.OutlierSettings;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code outlier} and {@code retry_budget_percent}, per backend and under {@code sidecars}. */
class OutlierConfigTest {

    private static final String BACKEND = """
            backends:
              - id: gpu-a
                addresses: ["unix:///run/cy/a.sock", "unix:///run/cy/b.sock"]
                models: [{id: m}]
            %s
            routes:
              aliases:
                default: {backend: gpu-a, model: m}
            """;

    private static CoordinatorConfig config(String yaml) {
        return ConfigLoaderTest.yaml(yaml, Map.of()).config();
    }

    private static CoordinatorConfig backend(String settings) {
        return config(BACKEND.formatted(settings.indent(4)));
    }

    private static void fails(String settings, String message) {
        assertThatThrownBy(() -> backend(settings)).isInstanceOf(ConfigException.class).hasMessage(message);
    }

    @Test
    void theDefaultsAreTheIssues() {
        assertThat(backend("").backends().get(0).outlier()).isEqualTo(OutlierSettings.DEFAULT)
                .isEqualTo(new OutlierSettings(5, Duration.ofSeconds(10), Duration.ofSeconds(300), 50, 20));
        assertThat(config("").backends().get(0).outlier()).isEqualTo(OutlierSettings.DEFAULT);
    }

    @Test
    void aBackendSetsItsOwn() {
        final OutlierSettings read = backend("""
                outlier: {consecutive_failures: 3, base_ejection_time: 200ms, max_ejection_time: 1s, max_ejection_percent: 100}
                retry_budget_percent: 5
                """).backends().get(0).outlier();

        assertThat(read).isEqualTo(new OutlierSettings(3, Duration.ofMillis(200), Duration.ofSeconds(1), 100, 5));
    }

    @Test
    void unsetKeysKeepTheirDefaults() {
        final OutlierSettings read = backend("outlier: {consecutive_failures: 2}").backends().get(0).outlier();

        assertThat(read).isEqualTo(new OutlierSettings(2, Duration.ofSeconds(10), Duration.ofSeconds(300), 50, 20));
    }

    @Test
    void theSinglePoolFormReadsThemUnderSidecars() {
        final OutlierSettings read = config("""
                sidecars:
                  outlier: {consecutive_failures: 7, max_ejection_percent: 25}
                  retry_budget_percent: 0
                """).backends().get(0).outlier();

        assertThat(read).isEqualTo(new OutlierSettings(7, Duration.ofSeconds(10), Duration.ofSeconds(300), 25, 0));
    }

    @Test
    void theSinglePoolSettingsHaveVariables() {
        final OutlierSettings read = ConfigLoaderTest.yaml("", Map.of("CY_SIDECARS_OUTLIER_MAX_EJECTION_PERCENT", "30",
                "CY_SIDECARS_RETRY_BUDGET_PERCENT", "10")).config().backends().get(0).outlier();

        assertThat(read.maxEjectionPercent()).isEqualTo(30);
        assertThat(read.retryBudgetPercent()).isEqualTo(10);
    }

    @Test
    void wrongValuesStopStartupNamingTheKey() {
        fails("outlier: {max_ejection_percent: 150}",
                "backends[0].outlier.max_ejection_percent: 150 (expected: in [0, 100])");
        fails("outlier: {consecutive_failures: 0}",
                "backends[0].outlier.consecutive_failures: 0 (expected: in [1, 1000000])");
        fails("outlier: {base_ejection_time: 2s, max_ejection_time: 1s}",
                "backends[0].outlier.max_ejection_time: 1000ms (expected: >= backends[0].outlier.base_ejection_time, 2000ms)");
        fails("outlier: {base_ejection_time: 0ms}",
                "backends[0].outlier.base_ejection_time: 0ms (expected: >= 1ms)");
        fails("outlier: {eject_after: 3}",
                "backends[0].outlier.eject_after: unknown setting (expected one of: consecutive_failures,"
                        + " base_ejection_time, max_ejection_time, max_ejection_percent)");
        fails("retry_budget_percent: -1", "backends[0].retry_budget_percent: -1 (expected: in [0, 100])");
        assertThatThrownBy(() -> config("sidecars: {outlier: {max_ejection_percent: 101}}"))
                .hasMessage("sidecars.outlier.max_ejection_percent: 101 (expected: in [0, 100])");
    }
}
