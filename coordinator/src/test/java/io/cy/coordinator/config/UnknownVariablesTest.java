package io.cy.coordinator.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A {@code CY_} variable that names no setting is reported with the closest one, or stops startup when strict. */
class UnknownVariablesTest {

    @Test
    void aMistypedVariableIsAWarningNamingTheClosestSetting() {
        final ConfigLoader loader = ConfigLoaderTest.load(null, Map.of("CY_LIMITS_MAX_NEW_TOKEN", "4096"));

        assertThat(loader.warnings()).containsExactly("CY_LIMITS_MAX_NEW_TOKEN: names no setting (closest: "
                + "CY_LIMITS_MAX_NEW_TOKENS); it is ignored (config.strict: true stops startup instead)");
        assertThat(loader.config().limits().maxNewTokens()).as("the setting keeps its default").isEqualTo(8192);
    }

    @Test
    void settingsAndTheContractsOwnVariablesAreNotReported() {
        final ConfigLoader loader = ConfigLoaderTest.load(null, Map.of(
                "CY_LIMITS_MAX_NEW_TOKENS", "4096",
                "CY_LLM_INTERNAL_TOKEN", "internal",
                "CY_LOG_LEVEL", "DEBUG",
                "CY_CONFIG_STRICT", "true",
                "SIDECAR_GRPC_ADDR", "unix:///tmp/s.sock",
                "PATH", "/usr/bin"));

        assertThat(loader.warnings()).isEmpty();
        assertThat(loader.config().limits().maxNewTokens()).isEqualTo(4096);
    }

    @Test
    void aTenantOfTheFileCanBeSetByItsVariableButAnUndeclaredOneIsReported() {
        final ConfigLoader loader = ConfigLoaderTest.yaml("quota: {tenants: {acme: {concurrent: 4}}}\n", Map.of(
                "CY_QUOTA_TENANTS_ACME_CONCURRENT", "8",
                "CY_QUOTA_TENANTS_GLOBEX_CONCURRENT", "8"));

        assertThat(loader.config().quota().tenants().get("acme").concurrent()).isEqualTo(8);
        assertThat(loader.warnings()).singleElement().asString()
                .startsWith("CY_QUOTA_TENANTS_GLOBEX_CONCURRENT: names no setting (closest: ");
    }

    @Test
    void everyUnknownVariableIsReportedInNameOrder() {
        final ConfigLoader loader = ConfigLoaderTest.load(null, Map.of(
                "CY_SHUTDOWN_GRACEFUL", "5s",
                "CY_AUDIT_ENABLE", "false"));

        assertThat(loader.warnings()).hasSize(2);
        assertThat(loader.warnings().get(0)).startsWith("CY_AUDIT_ENABLE: names no setting (closest: CY_AUDIT_ENABLED)");
        assertThat(loader.warnings().get(1)).startsWith("CY_SHUTDOWN_GRACEFUL: names no setting (closest: CY_SHUTDOWN_GRACE)");
    }

    @Test
    void withConfigStrictAnUnknownVariableStopsStartup() {
        assertThatThrownBy(() -> ConfigLoaderTest.load(null, Map.of(
                "CY_CONFIG_STRICT", "true",
                "CY_SHUTDOWN_GRACEFUL", "5s")))
                .isInstanceOf(ConfigException.class)
                .hasMessage("CY_SHUTDOWN_GRACEFUL: names no setting (closest: CY_SHUTDOWN_GRACE); config.strict is true");
    }

    @Test
    void strictMayAlsoBeSetInTheFile() {
        assertThatThrownBy(() -> ConfigLoaderTest.yaml("config: {strict: true}\n", Map.of("CY_SHUTDOWN_GRACEFUL", "5s")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("CY_SHUTDOWN_GRACEFUL: names no setting");
    }

    @Test
    void theDistanceCountsEdits() {
        assertThat(UnknownVariables.distance("CY_A", "CY_A")).isZero();
        assertThat(UnknownVariables.distance("CY_SERVER_TLS_CERTFILE", "CY_SERVER_TLS_CERT_FILE")).isEqualTo(1);
        assertThat(UnknownVariables.distance("kitten", "sitting")).isEqualTo(3);
        assertThat(UnknownVariables.find(List.of("CY_X", "OTHER"), List.of("a.b"), List.of()))
                .containsExactly(new UnknownVariables.Unknown("CY_X", "CY_A_B"));
    }
}
