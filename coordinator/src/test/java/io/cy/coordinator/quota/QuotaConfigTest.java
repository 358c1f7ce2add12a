package io.cy.coordinator.quota;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cy.coordinator.config.ConfigException;
import io.cy.coordinator.config.ConfigLoader;
import io.cy.coordinator.config.CoordinatorConfig;
import io.cy.coordinator.config.CoordinatorConfig.QuotaPolicy;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The {@code quota:} section: defaults, inheritance, the environment, and errors that name the key. */
class QuotaConfigTest {

    static final String KEYS = "requests_per_minute, burst, concurrent, tokens_per_minute, tokens_per_day,"
            + " max_new_tokens, max_priority, models";

    static CoordinatorConfig.Quota load(String yaml, Map<String, String> env) {
        final Map<String, String> environment = new HashMap<>(env);
        environment.put("CY_AUTH_MODE", "none");
        return ConfigLoader.fromYaml(yaml, environment).config().quota();
    }

    static CoordinatorConfig.Quota load(String yaml) {
        return load(yaml, Map.of());
    }

    @Test
    void byDefaultNothingIsLimited() {
        final CoordinatorConfig.Quota quota = load("");

        assertThat(quota.defaultPolicy()).isEqualTo(QuotaPolicy.NONE);
        assertThat(quota.defaultPolicy().limitsAnything()).isFalse();
        assertThat(quota.tenants()).isEmpty();
        assertThat(quota.maxTrackedTenants()).isEqualTo(100_000);
        assertThat(quota.policyFor("anyone")).isEqualTo(QuotaPolicy.NONE);
    }

    @Test
    void aTenantEntryInheritsTheKeysItDoesNotSet() {
        final CoordinatorConfig.Quota quota = load("""
                quota:
                  default: {concurrent: 2, max_new_tokens: 64, tokens_per_day: 100000, models: [sim]}
                  tenants:
                    acme: {requests_per_minute: 60, concurrent: 5}
                    free: {concurrent: unlimited, models: ""}
                """);

        final QuotaPolicy acme = quota.policyFor("acme");
        assertThat(acme.requestsPerMinute()).isEqualTo(60);
        assertThat(acme.requestBurst()).isEqualTo(60);
        assertThat(acme.concurrent()).isEqualTo(5);
        assertThat(acme.maxNewTokens()).isEqualTo(64);
        assertThat(acme.tokensPerDay()).isEqualTo(100_000);
        assertThat(acme.models()).containsExactly("sim");
        assertThat(acme.tokensPerMinute()).isEqualTo(QuotaPolicy.UNLIMITED);

        final QuotaPolicy free = quota.policyFor("free");
        assertThat(free.concurrent()).as("'unlimited' lifts the default's limit").isEqualTo(QuotaPolicy.UNLIMITED);
        assertThat(free.models()).as("an empty list allows all models").isEmpty();
        assertThat(free.maxNewTokens()).isEqualTo(64);

        assertThat(quota.policyFor("other")).isEqualTo(quota.defaultPolicy());
        assertThat(quota.defaultPolicy().requestsPerMinute()).isEqualTo(QuotaPolicy.UNLIMITED);
    }

    @Test
    void theEnvironmentSetsTheDefaultPolicyAndTenantsInheritIt() {
        final CoordinatorConfig.Quota quota = load("""
                quota:
                  default: {concurrent: 2}
                  tenants: {acme: {requests_per_minute: 60}}
                """, Map.of("CY_QUOTA_DEFAULT_CONCURRENT", "4", "CY_QUOTA_DEFAULT_MODELS", "sim, other",
                "CY_QUOTA_DEFAULT_TOKENS_PER_MINUTE", "unlimited"));

        assertThat(quota.defaultPolicy().concurrent()).isEqualTo(4);
        assertThat(quota.defaultPolicy().models()).containsExactly("sim", "other");
        assertThat(quota.defaultPolicy().tokensPerMinute()).isEqualTo(QuotaPolicy.UNLIMITED);
        assertThat(quota.policyFor("acme").concurrent()).isEqualTo(4);
        assertThat(quota.policyFor("acme").requestsPerMinute()).isEqualTo(60);
    }

    @Test
    void aBurstNeedsARate() {
        assertThat(load("quota: {default: {requests_per_minute: 60, burst: 10}}").defaultPolicy().requestBurst())
                .isEqualTo(10);
        assertThatThrownBy(() -> load("quota: {tenants: {acme: {burst: 10}}}"))
                .isInstanceOf(ConfigException.class)
                .hasMessage("quota.tenants.acme.burst: 10 (expected: together with requests_per_minute)");
    }

    @Test
    void aValueThatIsNoNumberNamesItsKey() {
        assertThatThrownBy(() -> load("quota: {tenants: {acme: {concurrent: x}}}"))
                .isInstanceOf(ConfigException.class)
                .hasMessage("quota.tenants.acme.concurrent: 'x' (expected: a whole number, or empty for no limit)");
        assertThatThrownBy(() -> load("quota: {default: {tokens_per_minute: 1.5}}"))
                .hasMessage("quota.default.tokens_per_minute: '1.5' (expected: a whole number, or empty for no limit)");
        assertThatThrownBy(() -> load("", Map.of("CY_QUOTA_DEFAULT_CONCURRENT", "four")))
                .hasMessage("quota.default.concurrent: 'four' (expected: a whole number, or empty for no limit)");
    }

    @Test
    void aValueBelowTheMinimumNamesItsKey() {
        assertThatThrownBy(() -> load("quota: {default: {concurrent: -2}}"))
                .hasMessage("quota.default.concurrent: -2 (expected: >= 0, or empty for no limit)");
        assertThatThrownBy(() -> load("quota: {tenants: {acme: {max_new_tokens: 0}}}"))
                .hasMessage("quota.tenants.acme.max_new_tokens: 0 (expected: >= 1, or empty for no limit)");
        assertThatThrownBy(() -> load("quota: {tenants: {acme: {max_priority: -101}}}"))
                .hasMessage("quota.tenants.acme.max_priority: -101 (expected: >= -100, or empty for no limit)");
    }

    @Test
    void anUnknownKeyInATenantEntryOrTheDefaultIsRefused() {
        assertThatThrownBy(() -> load("quota: {tenants: {acme: {rpm: 60}}}"))
                .isInstanceOf(ConfigException.class)
                .hasMessage("quota.tenants.acme.rpm: unknown setting (expected one of: " + KEYS + ")");
        assertThatThrownBy(() -> load("quota: {default: {rpm: 60}}"))
                .hasMessage("quota.default.rpm: unknown setting (expected one of: " + KEYS + ")");
        assertThatThrownBy(() -> load("quota: {max_tenants: 5}"))
                .hasMessageStartingWith("quota.max_tenants: unknown setting");
    }

    @Test
    void tenantsMustBeAMappingOfMappings() {
        assertThatThrownBy(() -> load("quota: {tenants: [acme]}"))
                .hasMessage("quota.tenants: a single value (expected: a mapping)");
        assertThatThrownBy(() -> load("quota: {tenants: {acme: 5}}"))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("quota.tenants.acme: ");
        assertThatThrownBy(() -> load("quota: {max_tracked_tenants: 0}"))
                .hasMessageStartingWith("quota.max_tracked_tenants: 0 (expected: in [1, ");
    }

    @Test
    void aNegativePriorityCeilingIsALimit() {
        // -1 is inside the accepted range (>= -100); it must not read as "no limit"
        final QuotaPolicy policy = load("quota: {default: {max_priority: -1}}").defaultPolicy();

        assertThat(policy.maxPriority()).isEqualTo(-1);
        assertThat(policy.limitsAnything()).as("max_priority -1 limits something").isTrue();
    }

    @Test
    void quotaSetSettingsAreCheckedLikeTheFileAndNameTheirKey() {
        final QuotaPolicy base = load("quota: {default: {concurrent: 2, models: [sim]}}").defaultPolicy();

        final QuotaPolicy set = ConfigLoader.policy(Map.of("requests_per_minute", "30", "models", "a, b"), base, "payload");
        assertThat(set.requestsPerMinute()).isEqualTo(30);
        assertThat(set.concurrent()).isEqualTo(2);
        assertThat(set.models()).isEqualTo(List.of("a", "b"));

        assertThatThrownBy(() -> ConfigLoader.policy(Map.of("concurrent", "x"), base, "payload"))
                .hasMessage("payload.concurrent: 'x' (expected: a whole number, or empty for no limit)");
        assertThatThrownBy(() -> ConfigLoader.policy(Map.of("rpm", "1"), base, "payload"))
                .hasMessage("payload.rpm: unknown setting (expected one of: " + KEYS + ")");
    }

    @org.junit.jupiter.api.Test
    void aRateTheBucketsCannotRefillIsRefusedAtStartup() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> io.cy.coordinator.config.ConfigLoader.fromYaml(
                        "quota: {default: {tokens_per_minute: 1000000000000}}", Map.of("CY_AUTH_MODE", "none")).config())
                .isInstanceOf(io.cy.coordinator.config.ConfigException.class)
                .hasMessage("quota.default.tokens_per_minute: 1000000000000 (expected: <= 60000000000, or empty for no limit)");
    }
}
