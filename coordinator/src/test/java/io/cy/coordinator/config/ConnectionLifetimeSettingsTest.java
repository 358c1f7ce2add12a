package io.cy.coordinator.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code server.max_connection_age}, {@code max_connection_age_grace} and
 * {@code max_connection_idle}: none by default, from the file or {@code CY_SERVER_*}, and a
 * duration under 1ms stops startup naming the setting.
 */
class ConnectionLifetimeSettingsTest {

    @Test
    void noLimitByDefault() {
        final CoordinatorConfig.Server server = ConfigLoaderTest.yaml("", Map.of()).config().server();

        assertThat(server.maxConnectionAge()).isNull();
        assertThat(server.maxConnectionAgeGrace()).isNull();
        assertThat(server.maxConnectionIdle()).isNull();
    }

    @Test
    void fromTheFileAndFromTheEnvironment() {
        final CoordinatorConfig.Server server = ConfigLoaderTest.yaml(
                "server: {max_connection_age: 30m, max_connection_age_grace: 5m}",
                Map.of("CY_SERVER_MAX_CONNECTION_IDLE", "10m")).config().server();

        assertThat(server.maxConnectionAge()).isEqualTo(Duration.ofMinutes(30));
        assertThat(server.maxConnectionAgeGrace()).isEqualTo(Duration.ofMinutes(5));
        assertThat(server.maxConnectionIdle()).isEqualTo(Duration.ofMinutes(10));
    }

    @Test
    void aZeroDurationNamesTheSettingAndTheLimit() {
        assertThatThrownBy(() -> ConfigLoaderTest.yaml("server: {max_connection_age: 0s}", Map.of()).config())
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("server.max_connection_age")
                .hasMessageContaining(">= 1ms");
        assertThatThrownBy(() -> ConfigLoaderTest.yaml("", Map.of("CY_SERVER_MAX_CONNECTION_IDLE", "soon")).config())
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("server.max_connection_idle")
                .hasMessageContaining("soon");
    }
}
