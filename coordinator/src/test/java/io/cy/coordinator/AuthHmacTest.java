package io.cy.coordinator;

import static io.cy.coordinator.AuthCalls.assertRefused;
import static io.cy.coordinator.AuthCalls.bearer;
import static io.cy.coordinator.AuthCalls.forwardedTenant;
import static io.cy.coordinator.AuthCalls.grpcHealth;
import static io.cy.coordinator.AuthCalls.health;
import static io.cy.coordinator.AuthCalls.noCredential;
import static io.cy.coordinator.AuthCalls.ping;
import static io.cy.coordinator.AuthCalls.predict;
import static io.cy.coordinator.AuthCalls.reflectedServices;
import static io.cy.coordinator.AuthCalls.reflectionStatus;
import static io.cy.coordinator.AuthCalls.statusOf;
import static io.cy.coordinator.AuthCalls.unqualifiedHealth;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.TestStack.Result;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status.Code;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.jsonwebtoken.JwtBuilder;
import io.jsonwebtoken.Jwts;
import io.jsonwebtoken.security.MacAlgorithm;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Tokens signed with a shared HMAC secret, no identity provider; with a tenant required in
 * every token, another role for Control, and health and reflection closed.
 */
class AuthHmacTest {

    /** 64 bytes: enough for HS512. */
    static final String SECRET = "hmac-test-secret-5b7d9f1a3c5e7092b4d6f8a0c2e4a6b8d0f2a4c6e8b0d2f4";

    @TempDir
    static Path dir;

    static TestStack stack;
    static ManagedChannel channel;

    @BeforeAll
    static void start() throws Exception {
        stack = TestStack.start(dir, 1, sim -> { }, """
                auth:
                  default_tenant: ""
                  control_role: operator
                  open_health: false
                  open_reflection: false
                sidecars: {health: {interval: 1h, timeout: 1s}}
                """, Map.of("CY_AUTH_MODE", "required", "CY_AUTH_HMAC_SECRET", SECRET));
        channel = stack.coordinatorChannel();
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    static JwtBuilder token(MacAlgorithm algorithm, String secret) {
        final Instant now = Instant.now();
        return Jwts.builder()
                .subject("service-a")
                .issuedAt(Date.from(now))
                .expiration(Date.from(now.plus(Duration.ofMinutes(10))))
                .signWith(new SecretKeySpec(secret.getBytes(UTF_8), algorithm.getId().replace("HS", "HmacSHA")), algorithm);
    }

    static String token(String tenant, List<String> roles) {
        return token(Jwts.SIG.HS256, SECRET).claim("tenant", tenant).claim("roles", roles).compact();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"HS256", "HS384", "HS512"})
    void aTokenSignedWithTheSecretIsAccepted(String algorithm) throws Exception {
        final String token = token((MacAlgorithm) Jwts.SIG.get().forKey(algorithm), SECRET)
                .claim("tenant", "hmac-" + algorithm).compact();

        final Result result = predict(stack, bearer(token));

        assertThat(result.status().getCode()).as("%s", result.status()).isEqualTo(Code.OK);
        assertThat(forwardedTenant(stack)).isEqualTo("hmac-" + algorithm);
    }

    @Test
    void aTokenSignedWithAnotherSecretIsRefused() throws Exception {
        final String token = token(Jwts.SIG.HS256, SECRET.replace('5', '6')).claim("tenant", "acme").compact();

        assertRefused(predict(stack, bearer(token)).status(), Code.UNAUTHENTICATED, "bad signature", token);
    }

    @Test
    void withoutDefaultTenantATokenWithoutTenantIsRefused() throws Exception {
        final String token = token(Jwts.SIG.HS256, SECRET).claim("roles", List.of("operator")).compact();
        final long callsBefore = stack.sim().stats().callsStarted();

        assertRefused(predict(stack, bearer(token)).status(), Code.UNAUTHENTICATED, "token has no 'tenant' claim",
                token);
        assertRefused(statusOf(() -> ping(channel, bearer(token))), Code.UNAUTHENTICATED,
                "token has no 'tenant' claim", token);
        assertThat(stack.sim().stats().callsStarted()).isEqualTo(callsBefore);
    }

    @ParameterizedTest(name = "tenant claim {0}")
    @ValueSource(strings = {"number", "empty", "list"})
    void aTenantClaimThatIsNoNonEmptyStringIsRefused(String kind) throws Exception {
        final Object claim = kind.equals("number") ? (Object) 42 : kind.equals("empty") ? "" : List.of("a", "b");
        final String token = token(Jwts.SIG.HS256, SECRET).claim("tenant", claim).compact();

        assertRefused(predict(stack, bearer(token)).status(), Code.UNAUTHENTICATED,
                "claim 'tenant' is not a non-empty string", token);
    }

    @Test
    void aTokenOverTheDefaultMaxTokenBytesIsRefusedAsTooLarge() throws Exception {
        // given: a correctly signed token of about 9 KiB, over the default auth.max_token_bytes of 8192
        final String token = token(Jwts.SIG.HS256, SECRET).claim("tenant", "acme")
                .claim("padding", "x".repeat(9 * 1024)).compact();

        // then: the coordinator itself refuses it, with the reason
        assertRefused(predict(stack, bearer(token)).status(), Code.UNAUTHENTICATED, "token too large", token);
    }

    @Test
    void controlNeedsTheConfiguredRole() {
        final String operator = token("acme", List.of("operator"));
        final String admin = token("acme", List.of("admin"));

        assertThat(ping(channel, bearer(operator)).getPayloadMap()).containsEntry("status", "ok");
        assertRefused(statusOf(() -> ping(channel, bearer(admin))), Code.PERMISSION_DENIED, "operator", admin);
    }

    @Test
    void closedHealthAndReflectionNeedACredential() throws Exception {
        final Metadata none = noCredential();

        assertRefused(statusOf(() -> health(channel, none)), Code.UNAUTHENTICATED, "missing authorization", null);
        assertRefused(statusOf(() -> unqualifiedHealth(channel, none)), Code.UNAUTHENTICATED,
                "missing authorization", null);
        assertRefused(statusOf(() -> grpcHealth(channel, none)), Code.UNAUTHENTICATED, "missing authorization", null);
        assertRefused(reflectionStatus(channel, none), Code.UNAUTHENTICATED, "missing authorization", null);
    }

    @Test
    void closedHealthAndReflectionAnswerAnyAuthenticatedCaller() throws Exception {
        final Metadata user = bearer(token("acme", List.of("user")));

        assertThat(health(channel, user).getHealthy()).isTrue();
        assertThat(unqualifiedHealth(channel, user).getHealthy()).isTrue();
        assertThat(grpcHealth(channel, user)).isEqualTo(ServingStatus.SERVING);
        assertThat(reflectedServices(channel, user)).contains("cy.llm.AiInference");
    }
}
