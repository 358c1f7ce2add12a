package io.cy.coordinator;

import static io.cy.coordinator.AuthCalls.bearer;
import static io.cy.coordinator.QuotaCalls.assertExhausted;
import static io.cy.coordinator.QuotaCalls.awaitInflight;
import static io.cy.coordinator.QuotaCalls.quota;
import static io.cy.coordinator.QuotaCalls.request;
import static io.cy.coordinator.QuotaCalls.usage;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.QuotaCalls.Stream;
import io.cy.coordinator.TestStack.Result;
import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.ControlMessage;
import io.cy.llm.proto.StreamPredictRequest;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.MetadataUtils;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Whose budget a call uses (the credential's tenant; without authentication the request's
 * metadata.tenant or "default"), per-call ceilings, and limits from the environment.
 */
class QuotaTenantTest {

    @TempDir
    Path dir;

    @Test
    void ceilingsAreRefusedBeforeAnySidecarIsCalled() throws Exception {
        try (TestStack stack = TestStack.start(dir, 1, sim -> { },
                "quota: {tenants: {ceil: {max_new_tokens: 50, max_priority: 5, models: [sim, other]}}}", Map.of())) {
            final ManagedChannel channel = stack.coordinatorChannel();

            final Result tooLong = QuotaCalls.call(channel, request("ceil", 51));
            assertThat(tooLong.status().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(tooLong.status().getDescription())
                    .isEqualTo("generation.max_new_tokens: 51 (expected: <= 50 for tenant ceil)");

            final Result tooUrgent = QuotaCalls.call(channel, request("ceil", 50).toBuilder().setPriority(6).build());
            assertThat(tooUrgent.status().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(tooUrgent.status().getDescription()).isEqualTo("priority: 6 (expected: <= 5 for tenant ceil)");

            final Result notAllowed = QuotaCalls.call(channel, request("ceil", 50).toBuilder().setModelId("big").build());
            assertThat(notAllowed.status().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
            assertThat(notAllowed.status().getDescription()).contains("'big'").contains("tenant ceil");

            for (Result refused : List.of(tooLong, tooUrgent, notAllowed)) {
                assertThat(refused.trailers().get(QuotaCalls.RETRY_AFTER_MS)).isNull();
            }
            assertThat(stack.sim().stats().callsStarted()).isZero();
            assertThat(quota(channel, "ceil")).containsEntry("usage.rejected.max_new_tokens", "1")
                    .containsEntry("usage.rejected.max_priority", "1").containsEntry("usage.rejected.model", "1")
                    .containsEntry("limit.models", "sim,other");

            // at the ceilings, and for another tenant, calls go through
            final Result atCeilings = QuotaCalls.call(channel,
                    request("ceil", 50).toBuilder().setPriority(5).setModelId("other").build());
            assertThat(atCeilings.status().isOk()).as("%s", atCeilings.status()).isTrue();
            assertThat(QuotaCalls.call(channel, request("else", 51).toBuilder().setModelId("big").build())
                    .status().isOk()).isTrue();
        }
    }

    @Test
    void theEnvironmentSetsTheDefaultPolicyAndListedTenantsInheritIt() throws Exception {
        try (TestStack stack = TestStack.start(dir, 1, sim -> { },
                "quota: {tenants: {acme: {requests_per_minute: 100}}}",
                Map.of("CY_QUOTA_DEFAULT_CONCURRENT", "4"))) {
            final ManagedChannel channel = stack.coordinatorChannel();
            assertThat(quota(channel, "default")).containsEntry("policy", "default")
                    .containsEntry("limit.concurrent", "4").containsEntry("limit.requests_per_minute", "unlimited");
            assertThat(quota(channel, "acme")).containsEntry("policy", "tenant")
                    .containsEntry("limit.concurrent", "4").containsEntry("limit.requests_per_minute", "100");

            // four streams open at once, and a fifth is refused
            final List<Stream> open = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                open.add(Stream.start(channel, request("", 10, Map.of("sim.stall_after", "1")), 1));
            }
            for (Stream stream : open) {
                assertThat(stream.awaitChunks()).isTrue();
            }
            assertExhausted(QuotaCalls.call(channel, request("", 2)), "tenant default: 5 concurrent streams (limit 4)");
            // another tenant has slots of its own
            assertThat(QuotaCalls.call(channel, request("acme", 2)).status().isOk()).isTrue();

            open.forEach(Stream::cancel);
            awaitInflight(channel, "default", 0);
            assertThat(QuotaCalls.call(channel, request("", 2)).status().isOk()).isTrue();
        }
    }

    @Test
    void withoutAuthenticationTheTenantIsTheRequestsOrDefault() throws Exception {
        try (TestStack stack = TestStack.start(dir, 1, sim -> { },
                "quota: {default: {requests_per_minute: 1}}", Map.of())) {
            final ManagedChannel channel = stack.coordinatorChannel();

            assertThat(QuotaCalls.call(channel, request("x", 2)).status().isOk()).isTrue();
            final long hint = assertExhausted(QuotaCalls.call(channel, request("x", 2)),
                    "tenant x: 2 requests/min (limit 1)");
            // one request a minute: the next one refills in (at most) 60 s
            assertThat(hint).isBetween(55_000L, 60_000L);
            assertThat(QuotaCalls.call(channel, request("", 2)).status().isOk()).isTrue();
            assertExhausted(QuotaCalls.call(channel, request("", 2)), "tenant default: 2 requests/min (limit 1)");
            assertThat(QuotaCalls.call(channel, request("y", 2)).status().isOk()).isTrue();

            assertThat(usage(channel, "x", "admitted")).isEqualTo(1);
            assertThat(usage(channel, "default", "admitted")).isEqualTo(1);
            assertThat(usage(channel, "default", "rejected.requests_per_minute")).isEqualTo(1);
        }
    }

    @Test
    void tenantsFromTokensAreLimitedSeparately() throws Exception {
        try (TestStack stack = TestStack.start(dir, 1, sim -> { },
                "quota: {default: {requests_per_minute: 2}}",
                Map.of("CY_AUTH_MODE", "required", "CY_AUTH_HMAC_SECRET", AuthHmacTest.SECRET))) {
            final ManagedChannel channel = stack.coordinatorChannel();
            final Metadata a = bearer(AuthHmacTest.token("team-a", List.of("user")));
            final Metadata b = bearer(AuthHmacTest.token("team-b", List.of("user")));
            final Metadata admin = bearer(AuthHmacTest.token("ops", List.of("admin")));

            // team-a uses its two requests; a third is refused in team-a's name
            assertThat(predict(channel, a, "").status().isOk()).isTrue();
            assertThat(predict(channel, a, "team-a").status().isOk()).isTrue();
            assertThat(AuthCalls.forwardedTenant(stack)).isEqualTo("team-a");
            assertExhausted(predict(channel, a, ""), "tenant team-a: 3 requests/min (limit 2)");
            // claiming another tenant does not reach that tenant's budget
            assertThat(predict(channel, a, "team-b").status().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
            // nor does a call without a credential
            assertThat(predict(channel, new Metadata(), "team-b").status().getCode())
                    .isEqualTo(Status.Code.UNAUTHENTICATED);

            // team-b still has both of its own
            assertThat(predict(channel, b, "").status().isOk()).isTrue();
            assertThat(AuthCalls.forwardedTenant(stack)).isEqualTo("team-b");
            assertThat(predict(channel, b, "").status().isOk()).isTrue();
            assertExhausted(predict(channel, b, ""), "tenant team-b: 3 requests/min (limit 2)");

            final Map<String, String> teamA = quotaGet(channel, admin, "team-a");
            assertThat(teamA).containsEntry("usage.admitted", "2").containsEntry("usage.rejected.requests_per_minute", "1");
            assertThat(quotaGet(channel, admin, "team-b")).containsEntry("usage.admitted", "2");
            assertThat(stack.sim().stats().callsStarted()).isEqualTo(4);
        }
    }

    private static Result predict(ManagedChannel channel, Metadata headers, String claimedTenant) throws Exception {
        final StreamPredictRequest request = request(claimedTenant, 2);
        return TestStack.call(channel, request, headers, null);
    }

    private static Map<String, String> quotaGet(ManagedChannel channel, Metadata headers, String tenant) {
        final ControlMessage answer = AiInferenceGrpc.newBlockingStub(channel)
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
                .withDeadlineAfter(10, TimeUnit.SECONDS)
                .control(ControlMessage.newBuilder().setCommand("quota_get").putPayload("tenant", tenant).build());
        assertThat(answer.getPayloadMap()).containsEntry("status", "ok");
        return answer.getPayloadMap();
    }
}
