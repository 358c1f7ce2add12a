package io.cy.coordinator.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The HTTP/2 flood limits under {@code server.}: Netty's server defaults unless set, each validated by name. */
class FloodLimitSettingsTest {

    private static CoordinatorConfig.HttpFloodLimits limits(String yaml, Map<String, String> env) {
        return ConfigLoaderTest.yaml(yaml, env).config().server().floodLimits();
    }

    @Test
    void nettysServerDefaultsUnlessSet() {
        assertThat(limits("", Map.of()))
                .isEqualTo(new CoordinatorConfig.HttpFloodLimits(10_000, 200, Duration.ofSeconds(30), 2));
    }

    @Test
    void comeFromTheFileOrFromTheirVariables() {
        final String yaml = "server: {max_queued_control_frames: 500, max_rst_frames_per_window: 50,"
                + " rst_frames_window: 1m, max_consecutive_empty_data_frames: 5}";
        assertThat(limits(yaml, Map.of()))
                .isEqualTo(new CoordinatorConfig.HttpFloodLimits(500, 50, Duration.ofMinutes(1), 5));
        assertThat(limits(yaml, Map.of("CY_SERVER_MAX_RST_FRAMES_PER_WINDOW", "1000",
                "CY_SERVER_RST_FRAMES_WINDOW", "10s")))
                .isEqualTo(new CoordinatorConfig.HttpFloodLimits(500, 1000, Duration.ofSeconds(10), 5));
    }

    @Test
    void noLimitIsNotAnOption() {
        assertThatThrownBy(() -> limits("server: {max_queued_control_frames: 0}", Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("server.max_queued_control_frames: 0 (expected: ");
        assertThatThrownBy(() -> limits("server: {max_rst_frames_per_window: 0}", Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("server.max_rst_frames_per_window: 0 (expected: ");
        assertThatThrownBy(() -> limits("server: {max_consecutive_empty_data_frames: 0}", Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("server.max_consecutive_empty_data_frames: 0 (expected: ");
    }

    @Test
    void theWindowIsWholeSeconds() {
        assertThatThrownBy(() -> limits("", Map.of("CY_SERVER_RST_FRAMES_WINDOW", "1500ms")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("server.rst_frames_window: 1500ms (expected: whole seconds)");
        assertThatThrownBy(() -> limits("", Map.of("CY_SERVER_RST_FRAMES_WINDOW", "500ms")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("server.rst_frames_window: ");
    }
}
