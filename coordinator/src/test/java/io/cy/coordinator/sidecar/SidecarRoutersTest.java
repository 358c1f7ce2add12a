package io.cy.coordinator.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SidecarRoutersTest {

    @Test
    void everyPolicyHasItsRouter() {
        assertThat(SidecarRouters.create(settings(Balance.LEAST_INFLIGHT))).isInstanceOf(LeastInFlightRouter.class);
        assertThat(SidecarRouters.create(settings(Balance.LEAST_LATENCY))).isInstanceOf(LeastLatencyRouter.class);
        assertThat(SidecarRouters.create(settings(Balance.PREFIX_AFFINITY))).isInstanceOf(PrefixAffinityRouter.class);
        assertThat(SidecarRouters.create(settings(Balance.SESSION_AFFINITY))).isInstanceOf(SessionAffinityRouter.class);
    }

    @Test
    void eachBackendGetsARouterOfItsOwn() {
        final BalanceSettings settings = settings(Balance.PREFIX_AFFINITY);

        assertThat(SidecarRouters.create(settings)).isNotSameAs(SidecarRouters.create(settings));
    }

    @Test
    void theNamesAreTheSettingsValues() {
        assertThat(Balance.names()).isEqualTo("least_inflight | least_latency | prefix_affinity | session_affinity");
    }

    private static BalanceSettings settings(Balance balance) {
        return new BalanceSettings(balance, BalanceSettings.DEFAULT_AFFINITY_PREFIX_BYTES,
                BalanceSettings.DEFAULT_BALANCE_THRESHOLD);
    }
}
