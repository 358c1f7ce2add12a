package io.cy.bridge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cy.coordinator.transport.netty.Endpoint;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BridgeConfigTest {

    @Test
    void defaults() {
        final BridgeConfig c = BridgeConfig.defaults();
        assertThat(c.listen()).isEqualTo(Endpoint.tcp("0.0.0.0", 8080));
        assertThat(c.maxBodyBytes()).isEqualTo(4 * 1024 * 1024);
        assertThat(c.defaultTemplate()).isEqualTo("plain");
        assertThat(c.models()).isEmpty();
        assertThat(c.upstreamDeadline()).isNull();
        assertThat(c.readyCheck()).isTrue();
        assertThat(c.idleTimeout()).isEqualTo(Duration.ofSeconds(60));
    }

    @Test
    void environmentOverridesListen() {
        assertThat(BridgeConfig.fromEnvironment(Map.of("COORDINATOR_HTTP_ADDR", "127.0.0.1:18080")).listen())
                .isEqualTo(Endpoint.tcp("127.0.0.1", 18080));
        assertThat(BridgeConfig.fromEnvironment(Map.of("COORDINATOR_HTTP_ADDR", " ")).listen())
                .isEqualTo(BridgeConfig.DEFAULT_LISTEN);
    }

    @Test
    void templatesPerModel() {
        final BridgeConfig c = BridgeConfig.defaults().withTemplate("qwen", "chatml").withDefaultTemplate("llama3");
        assertThat(c.templateFor("qwen")).isEqualTo("chatml");
        assertThat(c.templateFor("other")).isEqualTo("llama3");
    }

    @Test
    void invalidSettingsAreNamed() {
        final BridgeConfig d = BridgeConfig.defaults();
        assertThatThrownBy(() -> d.withMaxBodyBytes(0)).hasMessage("maxBodyBytes: 0 (expected: in [1, 67108864])");
        assertThatThrownBy(() -> d.withTemplate("m", "alpaca"))
                .hasMessage("templates.m: alpaca (expected: plain, chatml or llama3)");
        assertThatThrownBy(() -> d.withDefaultTemplate("x")).hasMessage("defaultTemplate: x (expected: plain, chatml or llama3)");
        assertThatThrownBy(() -> d.withModels(List.of("a", " "))).hasMessage("models: [a,  ] (expected: non-blank model ids)");
        assertThatThrownBy(() -> d.withUpstreamDeadline(Duration.ZERO))
                .hasMessage("upstreamDeadline: PT0S (expected: > 0, or null for none)");
        assertThatThrownBy(() -> d.withIdleTimeout(Duration.ofSeconds(-1))).hasMessage("idleTimeout: PT-1S (expected: > 0)");
        assertThatThrownBy(() -> BridgeConfig.fromEnvironment(Map.of("COORDINATOR_HTTP_ADDR", "nowhere")))
                .hasMessage("COORDINATOR_HTTP_ADDR: nowhere (expected: host:port)");
    }
}
