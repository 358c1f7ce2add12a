package io.cy.coordinator.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.service.CallSummary;
import io.grpc.Status;
import java.time.Instant;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The rules that keep label values bounded: tenants past the cap, unknown models, auth failure reasons. */
class LabelRulesTest {

    @Test
    void tenantsPastTheCapAreOtherAndKeepTheirFirstLabel() {
        final TenantLabels tenants = new TenantLabels(2);

        assertThat(tenants.label("a")).isEqualTo("a");
        assertThat(tenants.label("b")).isEqualTo("b");
        assertThat(tenants.label("c")).isEqualTo("other");
        assertThat(tenants.label("a")).isEqualTo("a");
        assertThat(tenants.label("c")).isEqualTo("other");
    }

    @Test
    void manyTenantsPastTheCapAreNotRememberedWithoutBound() {
        final TenantLabels tenants = new TenantLabels(1);
        for (int i = 0; i < 100_000; i++) {
            assertThat(tenants.label("t" + i)).isEqualTo(i == 0 ? "t0" : "other");
        }
        assertThat(tenants.label("t0")).isEqualTo("t0");
    }

    @Test
    void onlyKnownModelsAreLabelsOfTheirOwn() {
        final ModelLabels models = ModelLabels.of(Set.of("qwen2.5-7b"));

        assertThat(models.label("qwen2.5-7b")).isEqualTo("qwen2.5-7b");
        assertThat(models.label("whatever-the-client-says")).isEqualTo("unknown");
        assertThat(models.label("")).isEqualTo("unknown");
    }

    @Test
    void authFailuresHaveAFixedSetOfReasons() {
        assertThat(AuthFailureReasons.of(refused(Status.UNAUTHENTICATED
                .withDescription("missing authorization header (expected: Bearer <token>)"), "")))
                .isEqualTo("missing_credentials");
        assertThat(AuthFailureReasons.of(refused(Status.UNAUTHENTICATED.withDescription("token expired at ..."), "")))
                .isEqualTo("expired");
        assertThat(AuthFailureReasons.of(refused(Status.UNAUTHENTICATED.withDescription("bad signature"), "")))
                .isEqualTo("invalid_credentials");
        assertThat(AuthFailureReasons.of(refused(Status.PERMISSION_DENIED
                .withDescription("role 'admin' required for /cy.llm.AiInference/Control"), "")))
                .isEqualTo("missing_role");
        assertThat(AuthFailureReasons.of(refused(Status.PERMISSION_DENIED.withDescription(
                "metadata.tenant: 'b' does not match the authenticated tenant 'a'"), "")))
                .isEqualTo("tenant_mismatch");
        // The sidecar's own refusal is relayed, not the coordinator's: not an auth failure here.
        assertThat(AuthFailureReasons.of(refused(Status.PERMISSION_DENIED, "unix:///s.sock"))).isNull();
        assertThat(AuthFailureReasons.of(refused(Status.RESOURCE_EXHAUSTED, ""))).isNull();
    }

    private static CallSummary refused(Status status, String sidecar) {
        return new CallSummary("StreamPredict", "grpc", "t", "peer", Instant.now(), null, "", "", "", 0, "", 0,
                sidecar, status, 0, 0, -1, 0, "none", false);
    }
}
