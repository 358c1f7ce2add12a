package io.cy.coordinator.quota;

import static io.cy.coordinator.quota.QuotaFixtures.DEFAULT_MAX_NEW_TOKENS;
import static io.cy.coordinator.quota.QuotaFixtures.policy;
import static io.cy.coordinator.quota.QuotaFixtures.quotas;
import static io.cy.coordinator.quota.QuotaFixtures.request;
import static io.cy.coordinator.quota.QuotaFixtures.retryAfter;
import static io.cy.coordinator.quota.QuotaFixtures.usage;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.config.CoordinatorConfig;
import io.cy.coordinator.config.CoordinatorConfig.QuotaPolicy;
import io.cy.coordinator.quota.QuotaFixtures.ManualTime;
import io.cy.llm.proto.StreamPredictRequest;
import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * One tenant's budgets over time (a manual clock): refill, retry hints, settlement, ceilings,
 * policy changes, reset and forgetting idle tenants.
 */
class QuotaStoreTest {

    private final ManualTime time = new ManualTime();
    private final LocalQuotaStore store = new LocalQuotaStore(1000, time);

    private List<Admission> admitAll(Quotas quotas, String tenant, StreamPredictRequest request, int n) {
        final List<Admission> admitted = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            final QuotaDecision decision = quotas.admit(tenant, request);
            assertThat(decision.isAdmitted()).as("call %d of %d: %s", i + 1, n, decision.status()).isTrue();
            admitted.add(decision.admission());
        }
        return admitted;
    }

    private static void settleAll(List<Admission> admissions, long tokens) {
        admissions.forEach(a -> a.settle(tokens, true));
    }

    // --- refill and retry hints ---

    @Test
    void theRequestBucketRefillsOneRequestPerSixtiethOfTheLimit() {
        final Quotas quotas = quotas(store, Map.of("requests_per_minute", "60"));
        settleAll(admitAll(quotas, "acme", request(1), 60), 1);

        final QuotaDecision refused = quotas.admit("acme", request(1));
        assertThat(refused.isAdmitted()).isFalse();
        assertThat(refused.status().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(refused.status().getDescription()).isEqualTo("tenant acme: 61 requests/min (limit 60)");
        assertThat(retryAfter(refused)).isEqualTo(1000);

        time.advance(Duration.ofMillis(999));
        final QuotaDecision stillRefused = quotas.admit("acme", request(1));
        assertThat(stillRefused.isAdmitted()).isFalse();
        assertThat(retryAfter(stillRefused)).isEqualTo(1);

        time.advance(Duration.ofMillis(1));
        assertThat(quotas.admit("acme", request(1)).isAdmitted()).isTrue();
        assertThat(quotas.admit("acme", request(1)).isAdmitted()).isFalse();
    }

    @Test
    void theRequestRateHintIsTheRefillTimeOfOneRequest() {
        final Quotas quotas = quotas(store, Map.of("requests_per_minute", "100"));
        admitAll(quotas, "acme", request(1), 100);

        final QuotaDecision refused = quotas.admit("acme", request(1));

        assertThat(retryAfter(refused)).isEqualTo(60_000 / 100);
        assertThat(refused.trailers().get(QuotaDecision.RETRY_PUSHBACK_MS)).isEqualTo("600");
    }

    @Test
    void aBurstIsTheBucketSizeAndTheRateStillRefills() {
        final Quotas quotas = quotas(store, Map.of("requests_per_minute", "60", "burst", "5"));
        admitAll(quotas, "acme", request(1), 5);

        final QuotaDecision refused = quotas.admit("acme", request(1));

        assertThat(refused.status().getDescription())
                .isEqualTo("tenant acme: more than 5 requests at once (limit 60 requests/min, burst 5)");
        assertThat(retryAfter(refused)).isEqualTo(1000);
        time.advance(Duration.ofMinutes(1));
        admitAll(quotas, "acme", request(1), 5);
    }

    @Test
    void theConcurrencyHintIsOneSecond() {
        final Quotas quotas = quotas(store, Map.of("concurrent", "2"));
        admitAll(quotas, "acme", request(1), 2);

        final QuotaDecision refused = quotas.admit("acme", request(1));

        assertThat(refused.reason()).isEqualTo(RejectionReason.CONCURRENT);
        assertThat(refused.status().getDescription()).isEqualTo("tenant acme: 3 concurrent streams (limit 2)");
        assertThat(retryAfter(refused)).isEqualTo(1000);
        assertThat(refused.trailers().get(QuotaDecision.RETRY_PUSHBACK_MS)).isEqualTo("1000");
    }

    @Test
    void theConcurrencyRefusalCountsTheStreamsReallyOpenAfterTheLimitWasLowered() {
        final Quotas quotas = quotas(store, Map.of("concurrent", "4"));
        admitAll(quotas, "acme", request(1), 4);
        quotas.update(new CoordinatorConfig.Quota(policy(Map.of("concurrent", "2")), Map.of(), 1000));

        final QuotaDecision refused = quotas.admit("acme", request(1));

        assertThat(refused.status().getDescription()).isEqualTo("tenant acme: 5 concurrent streams (limit 2)");
    }

    @Test
    void theTokenHintIsTheRefillTimeOfTheMissingTokens() {
        // 1000 a minute: 100 tokens refill in 6 s
        final Quotas quotas = quotas(store, Map.of("tokens_per_minute", "1000"));
        admitAll(quotas, "acme", request(100), 10);

        final QuotaDecision refused = quotas.admit("acme", request(100));

        assertThat(refused.reason()).isEqualTo(RejectionReason.TOKENS_PER_MINUTE);
        assertThat(refused.status().getDescription()).isEqualTo("tenant acme: 1100 tokens/min (limit 1000)");
        assertThat(retryAfter(refused)).isEqualTo(6000);

        time.advance(Duration.ofMillis(3000));
        assertThat(retryAfter(quotas.admit("acme", request(100)))).isEqualTo(3000);
        time.advance(Duration.ofMillis(3000));
        assertThat(quotas.admit("acme", request(100)).isAdmitted()).isTrue();
    }

    @Test
    void theDailyTokenHintIsTheRefillTimeOfTheMissingTokens() {
        final Quotas quotas = quotas(store, Map.of("tokens_per_day", "1000"));
        admitAll(quotas, "acme", request(100), 10);

        final QuotaDecision refused = quotas.admit("acme", request(100));

        assertThat(refused.reason()).isEqualTo(RejectionReason.TOKENS_PER_DAY);
        assertThat(refused.status().getDescription()).isEqualTo("tenant acme: 1100 tokens/day (limit 1000)");
        assertThat(retryAfter(refused)).isEqualTo(Duration.ofDays(1).toMillis() / 10);
    }

    @Test
    void aCallThatCanNeverFitSaysSoAndHintsAFullWindow() {
        final Quotas quotas = quotas(store, Map.of("tokens_per_minute", "50"));

        final QuotaDecision refused = quotas.admit("acme", request(100));

        assertThat(refused.status().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(refused.status().getDescription()).isEqualTo(
                "tenant acme: a call reserving 100 tokens can never fit 50 tokens/min (lower generation.max_new_tokens)");
        assertThat(retryAfter(refused)).isEqualTo(60_000);
        assertThat(usage(quotas, "acme", "inflight")).isZero();
        assertThat(usage(quotas, "acme", "tokens_in_minute_window")).isZero();
    }

    @Test
    void aLimitOfZeroRefusesEveryCall() {
        final Quotas requests = quotas(store, Map.of("requests_per_minute", "0"));
        final QuotaDecision noRequests = requests.admit("a", request(1));
        assertThat(noRequests.status().getDescription()).isEqualTo("tenant a: no requests allowed (limit 0/min)");
        assertThat(retryAfter(noRequests)).isPositive();

        final Quotas concurrent = quotas(store, Map.of("concurrent", "0"));
        final QuotaDecision noSlots = concurrent.admit("b", request(1));
        assertThat(noSlots.status().getDescription()).contains("concurrent streams (limit 0)");
        assertThat(retryAfter(noSlots)).isEqualTo(1000);

        final Quotas tokens = quotas(store, Map.of("tokens_per_minute", "0"));
        assertThat(tokens.admit("c", request(1)).reason()).isEqualTo(RejectionReason.TOKENS_PER_MINUTE);
        assertThat(usage(tokens, "c", "inflight")).isZero();
    }

    // --- reservation and settlement ---

    @Test
    void thePromptEstimateIsUtf8BytesOverFourRoundedDown() {
        assertThat(Quotas.estimatePromptTokens(request(1))).isZero(); // "Hi"
        assertThat(Quotas.estimatePromptTokens(request(1).toBuilder().setPrompt("abc").build())).isZero();
        assertThat(Quotas.estimatePromptTokens(request(1).toBuilder().setPrompt("abcd").build())).isEqualTo(1);
        assertThat(Quotas.estimatePromptTokens(request(1).toBuilder().setPrompt("abcdefg").build())).isEqualTo(1);
        // four two-byte characters
        assertThat(Quotas.estimatePromptTokens(request(1).toBuilder().setPrompt("éééé").build())).isEqualTo(2);
        // a four-byte character, and an unpaired surrogate (one '?' as protobuf encodes it) with three more
        assertThat(Quotas.estimatePromptTokens(request(1).toBuilder().setPrompt("\uD83D\uDE00").build())).isEqualTo(1);
        assertThat(Quotas.estimatePromptTokens(request(1).toBuilder().setPrompt("\uD83Dabc").build())).isEqualTo(1);
    }

    @Test
    void thePromptEstimateIsTheSameFromTheWire() throws Exception {
        final StreamPredictRequest sent = request(1).toBuilder().setPrompt("héllo wörld").build();
        final StreamPredictRequest received = StreamPredictRequest.parseFrom(sent.toByteArray());

        assertThat(Quotas.estimatePromptTokens(received)).isEqualTo(13 / 4);
        assertThat(received.getPrompt()).isEqualTo("héllo wörld");
        assertThat(Quotas.estimatePromptTokens(received)).isEqualTo(13 / 4);
    }

    @Test
    void aCallReservesItsPromptAndMaxNewTokensAndIsChargedWhatItUsed() {
        final Quotas quotas = quotas(store, Map.of("tokens_per_minute", "1000"));
        final StreamPredictRequest withPrompt = request(100).toBuilder().setPrompt("x".repeat(40)).build(); // 10 tokens

        final Admission admission = quotas.admit("acme", withPrompt).admission();
        assertThat(admission.promptTokens()).isEqualTo(10);
        assertThat(admission.reservedTokens()).isEqualTo(110);
        assertThat(usage(quotas, "acme", "tokens_in_minute_window")).isEqualTo(110);

        admission.settle(25, true);

        assertThat(usage(quotas, "acme", "tokens_in_minute_window")).isEqualTo(35);
        assertThat(usage(quotas, "acme", "tokens_charged")).isEqualTo(35);
        assertThat(usage(quotas, "acme", "inflight")).isZero();
    }

    @Test
    void aPromptNoSidecarProcessedIsNotCharged() {
        final Quotas quotas = quotas(store, Map.of("tokens_per_minute", "1000"));
        final StreamPredictRequest withPrompt = request(100).toBuilder().setPrompt("x".repeat(40)).build();

        quotas.admit("acme", withPrompt).admission().settle(0, false);

        assertThat(usage(quotas, "acme", "tokens_in_minute_window")).isZero();
        assertThat(usage(quotas, "acme", "tokens_charged")).isZero();
    }

    @Test
    void settlingTwiceChargesAndFreesOnce() {
        final Quotas quotas = quotas(store, Map.of("concurrent", "1", "tokens_per_minute", "1000"));
        final Admission first = quotas.admit("acme", request(100)).admission();
        final Admission second;

        first.settle(20, true);
        first.settle(90, true);
        first.settle(0, false);

        assertThat(usage(quotas, "acme", "tokens_charged")).isEqualTo(20);
        assertThat(usage(quotas, "acme", "tokens_in_minute_window")).isEqualTo(20);
        assertThat(usage(quotas, "acme", "inflight")).isZero();
        second = quotas.admit("acme", request(100)).admission();
        assertThat(second).isNotNull();
        // a repeated settle of the first call must not free the second call's slot
        first.settle(0, false);
        assertThat(usage(quotas, "acme", "inflight")).isEqualTo(1);
        assertThat(quotas.admit("acme", request(100)).isAdmitted()).isFalse();
    }

    @Test
    void aCallIsNeverChargedMoreThanItReserved() {
        final Quotas quotas = quotas(store, Map.of("tokens_per_minute", "1000"));

        quotas.admit("acme", request(100)).admission().settle(5000, true);

        assertThat(usage(quotas, "acme", "tokens_charged")).isEqualTo(100);
        assertThat(usage(quotas, "acme", "tokens_in_minute_window")).isEqualTo(100);
    }

    @Test
    void maxNewTokensZeroReservesTheTenantCeilingOrTheCoordinatorLimit() {
        final Quotas withCeiling = quotas(store, Map.of("tokens_per_minute", "100000", "max_new_tokens", "300"));
        assertThat(withCeiling.admit("a", request(0)).admission().reservedTokens()).isEqualTo(300);

        final Quotas withoutCeiling = quotas(store, Map.of("tokens_per_minute", "100000"));
        assertThat(withoutCeiling.admit("b", request(0)).admission().reservedTokens()).isEqualTo(DEFAULT_MAX_NEW_TOKENS);
    }

    // --- ceilings ---

    @Test
    void ceilingsRefuseWithInvalidArgumentOrPermissionDeniedAndTakeNoBudget() {
        final Quotas quotas = quotas(store, Map.of("requests_per_minute", "100", "max_new_tokens", "50",
                "max_priority", "5", "models", "sim, other"));

        final QuotaDecision tooLong = quotas.admit("acme", request(51));
        assertThat(tooLong.status().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(tooLong.status().getDescription())
                .isEqualTo("generation.max_new_tokens: 51 (expected: <= 50 for tenant acme)");

        final QuotaDecision tooUrgent = quotas.admit("acme", request(50).toBuilder().setPriority(6).build());
        assertThat(tooUrgent.status().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(tooUrgent.status().getDescription()).isEqualTo("priority: 6 (expected: <= 5 for tenant acme)");

        final QuotaDecision wrongModel = quotas.admit("acme", request(50).toBuilder().setModelId("big").build());
        assertThat(wrongModel.status().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(wrongModel.status().getDescription())
                .isEqualTo("model_id: 'big' is not allowed for tenant acme (allowed: sim, other)");

        for (QuotaDecision refused : List.of(tooLong, tooUrgent, wrongModel)) {
            assertThat(refused.isAdmitted()).isFalse();
            assertThat(refused.trailers().keys()).as("no retry hint: retrying cannot help").isEmpty();
        }
        assertThat(usage(quotas, "acme", "requests_in_window")).isZero();
        assertThat(usage(quotas, "acme", "rejected.max_new_tokens")).isEqualTo(1);
        assertThat(usage(quotas, "acme", "rejected.max_priority")).isEqualTo(1);
        assertThat(usage(quotas, "acme", "rejected.model")).isEqualTo(1);
        assertThat(quotas.admit("acme", request(50).toBuilder().setPriority(5).setModelId("other").build())
                .isAdmitted()).isTrue();
    }

    @Test
    void aNegativePriorityCeilingRefusesHigherPriorities() {
        // max_priority accepts values down to -100; -1 is one of them
        final Quotas quotas = quotas(store, Map.of("max_priority", "-1"));

        final QuotaDecision decision = quotas.admit("acme", request(1).toBuilder().setPriority(0).build());

        assertThat(decision.isAdmitted()).as("priority 0 under max_priority -1").isFalse();
        assertThat(decision.status().getDescription()).isEqualTo("priority: 0 (expected: <= -1 for tenant acme)");
    }

    // --- policy changes ---

    private Quotas quotasWithTenant(Map<String, String> tenantSettings) {
        return new Quotas(new CoordinatorConfig.Quota(QuotaPolicy.NONE, Map.of("acme", policy(tenantSettings)), 1000),
                store, DEFAULT_MAX_NEW_TOKENS);
    }

    @Test
    void aPolicyChangeLeavingALimitAloneKeepsItsWindow() {
        final Quotas quotas = quotasWithTenant(Map.of("requests_per_minute", "10"));
        settleAll(admitAll(quotas, "acme", request(1), 3), 1);

        quotas.setTenantPolicy("acme", policy(Map.of("requests_per_minute", "10", "concurrent", "50")));

        assertThat(usage(quotas, "acme", "requests_in_window")).isEqualTo(3);
        settleAll(admitAll(quotas, "acme", request(1), 7), 1);
        assertThat(quotas.admit("acme", request(1)).reason()).isEqualTo(RejectionReason.REQUESTS_PER_MINUTE);
    }

    @Test
    void raisingALimitKeepsWhatWasUsedAndAddsTheDifference() {
        final Quotas quotas = quotasWithTenant(Map.of("requests_per_minute", "10"));
        settleAll(admitAll(quotas, "acme", request(1), 3), 1);

        quotas.setTenantPolicy("acme", policy(Map.of("requests_per_minute", "20")));

        // 3 of 20 used: 17 more fit
        assertThat(usage(quotas, "acme", "requests_in_window")).isEqualTo(3);
        settleAll(admitAll(quotas, "acme", request(1), 17), 1);
        assertThat(quotas.admit("acme", request(1)).isAdmitted()).isFalse();
    }

    @Test
    void loweringALimitDoesNotForgiveWhatWasUsed() {
        final Quotas quotas = quotasWithTenant(Map.of("requests_per_minute", "10"));
        settleAll(admitAll(quotas, "acme", request(1), 3), 1);

        quotas.setTenantPolicy("acme", policy(Map.of("requests_per_minute", "5")));

        // 3 of 5 used: 2 more fit, not 5
        settleAll(admitAll(quotas, "acme", request(1), 2), 1);
        assertThat(quotas.admit("acme", request(1)).isAdmitted()).as("a 6th request within the minute").isFalse();
    }

    @Test
    void loweringADailyTokenLimitDoesNotForgiveTheTokensUsedToday() {
        final Quotas quotas = quotasWithTenant(Map.of("tokens_per_day", "1000"));
        settleAll(admitAll(quotas, "acme", request(100), 6), 100);
        assertThat(usage(quotas, "acme", "tokens_in_day_window")).isEqualTo(600);

        quotas.setTenantPolicy("acme", policy(Map.of("tokens_per_day", "500")));

        // 600 used today, over the new 500: nothing more today
        assertThat(quotas.admit("acme", request(100)).isAdmitted()).as("a call after 600 of 500 tokens").isFalse();
    }

    @Test
    void callsInFlightKeepTheirSlotsWhenTheLimitDrops() {
        final Quotas quotas = quotasWithTenant(Map.of("concurrent", "2"));
        final List<Admission> inFlight = admitAll(quotas, "acme", request(1), 2);

        quotas.setTenantPolicy("acme", policy(Map.of("concurrent", "1")));

        assertThat(quotas.admit("acme", request(1)).reason()).isEqualTo(RejectionReason.CONCURRENT);
        inFlight.get(0).settle(1, true);
        assertThat(quotas.admit("acme", request(1)).reason()).isEqualTo(RejectionReason.CONCURRENT);
        inFlight.get(1).settle(1, true);
        assertThat(quotas.admit("acme", request(1)).isAdmitted()).isTrue();
    }

    @Test
    void aCallAdmittedBeforeATokenLimitExistedGivesNothingBackToIt() {
        // given: a call in flight while the tenant has no token limit (it reserved from no bucket)
        final Quotas quotas = quotasWithTenant(Map.of("requests_per_minute", "100"));
        final Admission before = quotas.admit("acme", request(100)).admission();

        // when: a limit of 1000 tokens a minute is set, and used up by ten new calls
        quotas.setTenantPolicy("acme", policy(Map.of("requests_per_minute", "100", "tokens_per_minute", "1000")));
        settleAll(admitAll(quotas, "acme", request(100), 10), 100);
        assertThat(quotas.admit("acme", request(100)).isAdmitted()).isFalse();

        // and: the earlier call ends having used nothing of its 100
        before.settle(0, true);

        // then: its unused reservation, never taken from the new bucket, is not added to it
        assertThat(usage(quotas, "acme", "tokens_in_minute_window")).isEqualTo(1000);
        assertThat(quotas.admit("acme", request(100)).isAdmitted()).as("an 11th call of 100 tokens").isFalse();
    }

    @Test
    void quotaGetDescribesPolicyAndUsage() {
        final Quotas quotas = new Quotas(new CoordinatorConfig.Quota(policy(Map.of("concurrent", "3")),
                Map.of("acme", policy(Map.of("requests_per_minute", "10", "models", "sim,b"))), 1000),
                store, DEFAULT_MAX_NEW_TOKENS);
        quotas.admit("acme", request(7)).admission().settle(4, true);

        final Map<String, String> acme = quotas.describe("acme");
        assertThat(acme).containsEntry("tenant", "acme").containsEntry("policy", "tenant")
                .containsEntry("limit.requests_per_minute", "10").containsEntry("limit.burst", "10")
                .containsEntry("limit.concurrent", "unlimited").containsEntry("limit.models", "sim,b")
                .containsEntry("usage.inflight", "0").containsEntry("usage.requests_in_window", "1")
                .containsEntry("usage.admitted", "1").containsEntry("usage.tokens_charged", "4");

        final Map<String, String> other = quotas.describe("someone");
        assertThat(other).containsEntry("policy", "default").containsEntry("limit.concurrent", "3")
                .containsEntry("limit.models", "all").containsEntry("usage.inflight", "0")
                .containsEntry("usage.admitted", "0");
        assertThat(store.trackedTenants()).as("asking about a tenant does not track it").isEqualTo(1);
    }

    // --- reset and forgetting ---

    @Test
    void resetRefillsTheWindowsButKeepsCallsInFlight() {
        final Quotas quotas = quotas(store, Map.of("requests_per_minute", "3", "concurrent", "3",
                "tokens_per_minute", "1000"));
        final List<Admission> inFlight = admitAll(quotas, "acme", request(100), 3);
        assertThat(quotas.admit("acme", request(100)).isAdmitted()).isFalse();

        quotas.reset("acme");

        assertThat(usage(quotas, "acme", "requests_in_window")).isZero();
        assertThat(usage(quotas, "acme", "tokens_in_minute_window")).isZero();
        assertThat(usage(quotas, "acme", "inflight")).isEqualTo(3);
        assertThat(quotas.admit("acme", request(100)).reason()).as("slots are not usage").isEqualTo(RejectionReason.CONCURRENT);
        settleAll(inFlight, 10);
        assertThat(usage(quotas, "acme", "inflight")).isZero();
        admitAll(quotas, "acme", request(100), 3);
    }

    @Test
    void beyondMaxTenantsIdleTenantsAreForgottenAndBusyOnesKept() {
        final LocalQuotaStore small = new LocalQuotaStore(2, time);
        final Quotas quotas = quotas(small, Map.of("requests_per_minute", "5", "concurrent", "1"));
        final Admission busy = quotas.admit("busy", request(1)).admission();
        quotas.admit("idle", request(1)).admission().settle(1, true);
        assertThat(small.trackedTenants()).isEqualTo(2);

        quotas.admit("new", request(1)).admission().settle(1, true);

        assertThat(small.trackedTenants()).isEqualTo(2);
        assertThat(usage(quotas, "busy", "inflight")).isEqualTo(1);
        assertThat(quotas.admit("busy", request(1)).reason()).isEqualTo(RejectionReason.CONCURRENT);
        assertThat(usage(quotas, "idle", "requests_in_window")).as("forgotten").isZero();
        busy.settle(1, true);
        assertThat(usage(quotas, "busy", "inflight")).isZero();
    }

    @Test
    void aTenantWithoutLimitsIsNotTracked() {
        final Quotas quotas = quotas(store, Map.of());

        final QuotaDecision decision = quotas.admit("free", request(100));
        decision.admission().settle(100, true);

        assertThat(decision.isAdmitted()).isTrue();
        assertThat(store.trackedTenants()).isZero();
        assertThat(quotas.metrics()).containsEntry("quota_tenants", "0").containsEntry("quota_rejections", "0");
    }
}
