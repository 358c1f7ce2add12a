package io.cy.coordinator.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code audit.max_unwritten}: 1 s unless set; {@code audit.batch_interval} may take at most half of it. */
class MaxUnwrittenSettingTest {

    private static CoordinatorConfig.Audit audit(String yaml, Map<String, String> env) {
        return ConfigLoaderTest.yaml(yaml, env).config().audit();
    }

    @Test
    void oneSecondByDefault() {
        assertThat(audit("", Map.of()).settings().maxUnwritten()).isEqualTo(Duration.ofSeconds(1));
    }

    @Test
    void comesFromTheFileOrFromItsVariable() {
        assertThat(audit("audit: {max_unwritten: 3s}", Map.of()).settings().maxUnwritten())
                .isEqualTo(Duration.ofSeconds(3));
        assertThat(audit("audit: {max_unwritten: 3s}", Map.of("CY_AUDIT_MAX_UNWRITTEN", "500ms")).settings()
                .maxUnwritten()).isEqualTo(Duration.ofMillis(500));
    }

    @Test
    void aBatchIntervalThatCannotMeetItIsRefusedNamingBoth() {
        assertThatThrownBy(() -> audit("audit: {batch_interval: 200ms}", Map.of("CY_AUDIT_MAX_UNWRITTEN", "300ms")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("audit.batch_interval: PT0.2S (expected: <= half of audit.max_unwritten PT0.3S");
    }

    @Test
    void tooSmallIsRefusedNamingTheSetting() {
        assertThatThrownBy(() -> audit("", Map.of("CY_AUDIT_MAX_UNWRITTEN", "1ms")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("audit.max_unwritten: ");
    }
}
