package io.cy.coordinator;

import static io.cy.coordinator.AuthCalls.assertRefused;
import static io.cy.coordinator.AuthCalls.authorization;
import static io.cy.coordinator.AuthCalls.bearer;
import static io.cy.coordinator.AuthCalls.forwardedTenant;
import static io.cy.coordinator.AuthCalls.grpcHealth;
import static io.cy.coordinator.AuthCalls.health;
import static io.cy.coordinator.AuthCalls.noCredential;
import static io.cy.coordinator.AuthCalls.ping;
import static io.cy.coordinator.AuthCalls.predict;
import static io.cy.coordinator.AuthCalls.reflectedServices;
import static io.cy.coordinator.AuthCalls.sha256Hex;
import static io.cy.coordinator.AuthCalls.statusOf;
import static io.cy.coordinator.AuthCalls.unqualifiedHealth;
import static io.cy.coordinator.AuthCalls.unqualifiedPing;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.OidcTestServer.SigningKey;
import io.cy.coordinator.TestStack.Result;
import io.cy.llm.proto.ControlMessage;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.Status.Code;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.jsonwebtoken.Jwts;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Authentication against an OpenID Connect provider, API keys and the gateway token, through
 * one coordinator shared by every test: who gets in, with which tenant, and how everyone else
 * is refused.
 */
class AuthOidcTest {

    static final String OPS_KEY = "ck_ops_7f3a9c1e5b2d4f60a8e1c3b5d7f9a2c4";
    static final String APP_KEY = "ck_app_0b1d2f3e4a5c6b7d8e9f0a1b2c3d4e5f";
    static final String GATEWAY_TOKEN = "gw_static_6c8e0a2b4d6f8a0c2e4b6d8f0a2c4e6b";
    static final int MAX_TOKEN_BYTES = 4096;

    @TempDir
    static Path dir;

    static OidcTestServer provider;
    static TestStack stack;
    static ManagedChannel channel;
    static final Map<String, SigningKey> keys = new HashMap<>();
    /** Same kid as the published "rsa-1", another key pair: its signatures cannot verify. */
    static SigningKey impostor;
    /** Published with JWK alg RS512; tokens say RS256. */
    static SigningKey mislabelled;
    /** Never published. */
    static SigningKey unpublished;

    @BeforeAll
    static void start() throws Exception {
        provider = OidcTestServer.start();
        for (var key : List.of(
                SigningKey.generate("rsa-1", Jwts.SIG.RS256),
                SigningKey.generate("rsa-384", Jwts.SIG.RS384),
                SigningKey.generate("rsa-512", Jwts.SIG.RS512),
                SigningKey.generate("ps-1", Jwts.SIG.PS256),
                SigningKey.generate("ec-1", Jwts.SIG.ES256),
                SigningKey.generate("ec-384", Jwts.SIG.ES384),
                SigningKey.generate("ed-1", Jwts.SIG.EdDSA))) {
            keys.put(key.algorithm().getId(), provider.publish(key));
        }
        impostor = new SigningKey("rsa-1", Jwts.SIG.RS256, SigningKey.generate("x", Jwts.SIG.RS256).keyPair());
        mislabelled = provider.publish(SigningKey.generate("rsa-mislabelled", Jwts.SIG.RS256), "RS512");
        unpublished = SigningKey.generate("ghost-kid", Jwts.SIG.ES256);

        final String yaml = """
                auth:
                  max_token_bytes: %d
                  api_keys:
                    - {name: ops, sha256: "%s", tenant: ops-team, roles: [admin]}
                    - {name: app, sha256: "%s", tenant: app-team, roles: [user]}
                sidecars: {health: {interval: 1h, timeout: 1s}}
                """.formatted(MAX_TOKEN_BYTES, sha256Hex(OPS_KEY), sha256Hex(APP_KEY));
        final Map<String, String> env = provider.environment();
        env.put("GATEWAY_API_TOKEN", GATEWAY_TOKEN);
        stack = TestStack.start(dir, 1, sim -> { }, yaml, env);
        channel = stack.coordinatorChannel();
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
        if (provider != null) {
            provider.close();
        }
    }

    static SigningKey rsa() {
        return keys.get("RS256");
    }

    static String token(String tenant, Object roles) {
        return provider.token(rsa()).claim("tenant", tenant).claim("roles", roles).compact();
    }

    @Nested
    class Identity {

        @ParameterizedTest(name = "{0}")
        @ValueSource(strings = {"RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"})
        void aTokenSignedWithAPublishedKeyIsAcceptedAndItsTenantForwarded(String algorithm) throws Exception {
            final String tenant = "tenant-" + algorithm.toLowerCase();
            final String token = provider.token(keys.get(algorithm)).claim("tenant", tenant).compact();

            final Result result = predict(stack, bearer(token));

            assertThat(result.status().getCode()).as("%s", result.status()).isEqualTo(Code.OK);
            assertThat(result.chunks()).hasSize(2);
            assertThat(forwardedTenant(stack)).isEqualTo(tenant);
        }

        @Test
        void aTokenWithoutTenantClaimGetsTheDefaultTenant() throws Exception {
            final String token = provider.token(rsa()).compact();

            final Result result = predict(stack, bearer(token), "");

            assertThat(result.status().getCode()).as("%s", result.status()).isEqualTo(Code.OK);
            assertThat(forwardedTenant(stack)).isEqualTo("default");
        }

        @Test
        void theClientMayRepeatItsOwnTenantOrLeaveItEmpty() throws Exception {
            final String token = token("acme", List.of("user"));

            final Result same = predict(stack, bearer(token), "acme");
            assertThat(same.status().getCode()).as("%s", same.status()).isEqualTo(Code.OK);
            assertThat(forwardedTenant(stack)).isEqualTo("acme");

            final Result empty = predict(stack, bearer(token), "");
            assertThat(empty.status().getCode()).as("%s", empty.status()).isEqualTo(Code.OK);
            assertThat(forwardedTenant(stack)).isEqualTo("acme");
        }

        @Test
        void anotherTenantInTheRequestIsPermissionDeniedNamingBoth() throws Exception {
            final String token = token("acme", List.of("admin"));
            final long callsBefore = stack.sim().stats().callsStarted();

            final Result result = predict(stack, bearer(token), "globex");

            assertRefused(result.status(), Code.PERMISSION_DENIED, "acme", token);
            assertThat(result.status().getDescription()).contains("globex");
            assertThat(stack.sim().stats().callsStarted()).isEqualTo(callsBefore);
        }

        @Test
        void tokensWithinTheClockSkewAreAccepted() throws Exception {
            final Instant now = Instant.now();
            final String justExpired = provider.token(rsa()).claim("tenant", "acme")
                    .issuedAt(Date.from(now.minusSeconds(300))).expiration(Date.from(now.minusSeconds(20))).compact();
            final String almostValid = provider.token(rsa()).claim("tenant", "acme")
                    .notBefore(Date.from(now.plusSeconds(20))).compact();
            final String issuedJustAhead = provider.token(rsa()).claim("tenant", "acme")
                    .issuedAt(Date.from(now.plusSeconds(20))).compact();

            for (String token : List.of(justExpired, almostValid, issuedJustAhead)) {
                final Result result = predict(stack, bearer(token));
                assertThat(result.status().getCode()).as("%s", result.status()).isEqualTo(Code.OK);
            }
        }
    }

    @Nested
    class ApiKeys {

        @Test
        void aConfiguredKeyAuthenticatesWithItsTenantAndRoles() throws Exception {
            final Result result = predict(stack, bearer(OPS_KEY));

            assertThat(result.status().getCode()).as("%s", result.status()).isEqualTo(Code.OK);
            assertThat(forwardedTenant(stack)).isEqualTo("ops-team");
            assertThat(ping(channel, bearer(OPS_KEY)).getPayloadMap()).containsEntry("status", "ok");
        }

        @Test
        void aKeyWithoutAdminRoleMayPredictButNotControl() throws Exception {
            final Result result = predict(stack, bearer(APP_KEY));

            assertThat(result.status().getCode()).as("%s", result.status()).isEqualTo(Code.OK);
            assertThat(forwardedTenant(stack)).isEqualTo("app-team");
            assertRefused(statusOf(() -> ping(channel, bearer(APP_KEY))), Code.PERMISSION_DENIED, "admin", APP_KEY);
        }

        @Test
        void theGatewayTokenIsAnApiKeyForTheDefaultTenant() throws Exception {
            final Result result = predict(stack, bearer(GATEWAY_TOKEN));

            assertThat(result.status().getCode()).as("%s", result.status()).isEqualTo(Code.OK);
            assertThat(forwardedTenant(stack)).isEqualTo("default");
            assertRefused(statusOf(() -> ping(channel, bearer(GATEWAY_TOKEN))), Code.PERMISSION_DENIED, "admin",
                    GATEWAY_TOKEN);
        }

        @Test
        void anApiKeyCannotClaimAnotherTenant() throws Exception {
            final Result result = predict(stack, bearer(APP_KEY), "ops-team");

            assertRefused(result.status(), Code.PERMISSION_DENIED, "app-team", APP_KEY);
            assertThat(result.status().getDescription()).contains("ops-team");
        }
    }

    @Nested
    class Policy {

        @Test
        void controlWithAdminRoleIsAnswered() {
            final ControlMessage answer = ping(channel, bearer(token("acme", List.of("user", "admin"))));

            assertThat(answer.getCommand()).isEqualTo("ping_response");
            assertThat(answer.getPayloadMap()).containsEntry("status", "ok");
        }

        @Test
        void controlWithoutAdminRoleIsPermissionDeniedNamingTheRole() {
            final String token = token("acme", List.of("user"));

            assertRefused(statusOf(() -> ping(channel, bearer(token))), Code.PERMISSION_DENIED, "admin", token);
        }

        @Test
        void controlWithoutCredentialIsUnauthenticated() {
            assertRefused(statusOf(() -> ping(channel, noCredential())), Code.UNAUTHENTICATED,
                    "missing authorization", null);
        }

        @Test
        void rolesComeFromRolesScopeAndScp() {
            final String rolesString = provider.token(rsa()).claim("roles", "user admin").compact();
            final String scopeString = provider.token(rsa()).claim("scope", "openid profile admin").compact();
            final String scpArray = provider.token(rsa()).claim("scp", List.of("openid", "admin")).compact();
            final String scpString = provider.token(rsa()).claim("scp", "admin").compact();

            for (String token : List.of(rolesString, scopeString, scpArray, scpString)) {
                assertThat(statusOf(() -> ping(channel, bearer(token))).getCode()).isEqualTo(Code.OK);
            }
        }

        @Test
        void aRoleMustMatchWholly() {
            final String token = provider.token(rsa()).claim("scope", "administrator admins").compact();

            assertRefused(statusOf(() -> ping(channel, bearer(token))), Code.PERMISSION_DENIED, "admin", token);
        }

        @Test
        void theUnqualifiedServiceNameIsGuardedToo() throws Exception {
            final String user = token("acme", List.of("user"));

            assertRefused(statusOf(() -> unqualifiedPing(channel, noCredential())), Code.UNAUTHENTICATED,
                    "missing authorization", null);
            assertRefused(statusOf(() -> unqualifiedPing(channel, bearer(user))), Code.PERMISSION_DENIED,
                    "admin", user);
            assertThat(unqualifiedPing(channel, bearer(token("acme", List.of("admin")))).getPayloadMap())
                    .containsEntry("status", "ok");
        }

        @Test
        void healthAndReflectionNeedNoCredential() throws Exception {
            assertThat(health(channel, noCredential()).getHealthy()).isTrue();
            assertThat(unqualifiedHealth(channel, noCredential()).getHealthy()).isTrue();
            assertThat(grpcHealth(channel, noCredential())).isEqualTo(ServingStatus.SERVING);
            assertThat(reflectedServices(channel, noCredential())).contains("cy.llm.AiInference", "AiInference");
        }
    }

    @Nested
    class Refusals {

        static Stream<Arguments> refusals() {
            final Instant now = Instant.now();
            return Stream.of(
                    refusal("no authorization header", () -> null, Code.UNAUTHENTICATED, "missing authorization"),
                    refusal("Basic scheme", () -> "Basic YWxpY2U6c2VjcmV0", Code.UNAUTHENTICATED,
                            "unsupported authorization scheme"),
                    refusal("a credential without a scheme", () -> "k3y-w1thout-sch", Code.UNAUTHENTICATED,
                            "unsupported authorization scheme"),
                    refusal("expired", () -> "Bearer " + provider.token(rsa())
                            .issuedAt(Date.from(now.minusSeconds(1200)))
                            .expiration(Date.from(now.minusSeconds(600))).compact(),
                            Code.UNAUTHENTICATED, "token expired"),
                    refusal("not before in the future", () -> "Bearer " + provider.token(rsa())
                            .notBefore(Date.from(now.plusSeconds(600))).compact(),
                            Code.UNAUTHENTICATED, "token not yet valid"),
                    refusal("issued in the future", () -> "Bearer " + provider.token(rsa())
                            .issuedAt(Date.from(now.plusSeconds(600)))
                            .expiration(Date.from(now.plusSeconds(1200))).compact(),
                            Code.UNAUTHENTICATED, "issued in the future"),
                    refusal("another issuer", () -> "Bearer " + provider.token(rsa())
                            .issuer("https://login.example.org").compact(),
                            Code.UNAUTHENTICATED, "issuer mismatch"),
                    refusal("another audience", () -> "Bearer " + provider.token(rsa())
                            .audience().clear().add("another-service").and().compact(),
                            Code.UNAUTHENTICATED, "audience mismatch"),
                    refusal("no audience", () -> "Bearer " + provider.token(rsa())
                            .audience().clear().and().compact(),
                            Code.UNAUTHENTICATED, "audience mismatch"),
                    refusal("signed by another key under a known kid", () -> "Bearer "
                            + provider.token(impostor).claim("tenant", "acme").compact(),
                            Code.UNAUTHENTICATED, "bad signature"),
                    refusal("signature of another token", () -> "Bearer " + withSignatureOf(
                            provider.token(rsa()).claim("tenant", "acme").compact(),
                            provider.token(rsa()).claim("tenant", "globex").compact()),
                            Code.UNAUTHENTICATED, "bad signature"),
                    refusal("alg none", () -> "Bearer " + Jwts.builder().header().keyId("rsa-1").and()
                            .issuer(provider.issuer()).audience().add(OidcTestServer.AUDIENCE).and()
                            .claim("tenant", "acme").expiration(Date.from(now.plusSeconds(600))).compact(),
                            Code.UNAUTHENTICATED, "unsigned"),
                    refusal("HS256 keyed with the RSA public key", () -> "Bearer " + Jwts.builder()
                            .header().keyId("rsa-1").and()
                            .issuer(provider.issuer()).audience().add(OidcTestServer.AUDIENCE).and()
                            .claim("tenant", "acme").claim("roles", List.of("admin"))
                            .issuedAt(Date.from(now)).expiration(Date.from(now.plusSeconds(600)))
                            .signWith(new SecretKeySpec(rsa().keyPair().getPublic().getEncoded(), "HmacSHA256"),
                                    Jwts.SIG.HS256)
                            .compact(),
                            Code.UNAUTHENTICATED, "HMAC"),
                    refusal("unknown kid", () -> "Bearer " + provider.token(unpublished).compact(),
                            Code.UNAUTHENTICATED, "unknown signing key"),
                    refusal("JWK alg differs from the token's", () -> "Bearer "
                            + provider.token(mislabelled).claim("tenant", "acme").compact(),
                            Code.UNAUTHENTICATED, ""),
                    refusal("not base64", () -> "Bearer eyJ%%%.eyJ***.c2lnbmF0dXJl",
                            Code.UNAUTHENTICATED, "malformed token"),
                    refusal("not JSON", () -> "Bearer " + b64("{\"alg\":\"RS256\",\"kid\":\"rsa-1\"") + "."
                            + b64("{\"tenant\":") + ".c2lnbmF0dXJlc2lnbmF0dXJl",
                            Code.UNAUTHENTICATED, "malformed token"),
                    refusal("larger than max_token_bytes", () -> "Bearer " + provider.token(rsa())
                            .claim("tenant", "acme").claim("padding", "x".repeat(MAX_TOKEN_BYTES)).compact(),
                            Code.UNAUTHENTICATED, "token too large"),
                    refusal("unknown API key", () -> "Bearer ck_live_1f2e3d4c5b6a79881f2e3d4c5b6a7988",
                            Code.UNAUTHENTICATED, "unknown API key"),
                    refusal("empty bearer", () -> "Bearer ", Code.UNAUTHENTICATED,
                            "the token after 'Bearer ' is empty"),
                    refusal("empty bearer, trimmed", () -> "Bearer", Code.UNAUTHENTICATED,
                            "the token after 'Bearer ' is empty"));
        }

        private static Arguments refusal(String name, Supplier<String> authorization, Code code, String reason) {
            return Arguments.of(name, authorization, code, reason);
        }

        @ParameterizedTest(name = "{0}")
        @MethodSource("refusals")
        void streamPredictIsRefusedWithTheReason(String name, Supplier<String> authorizationValue, Code code,
                                                 String reason) throws Exception {
            final String credential = authorizationValue.get();
            final long callsBefore = stack.sim().stats().callsStarted();

            final Result result = predict(stack, authorization(credential), "");

            assertRefused(result.status(), code, reason, credential);
            assertThat(result.responses()).isEmpty();
            assertThat(stack.sim().stats().callsStarted()).as("calls that reached the sidecar").isEqualTo(callsBefore);
        }

        @ParameterizedTest(name = "{0}")
        @MethodSource("refusals")
        void controlIsRefusedWithTheReason(String name, Supplier<String> authorizationValue, Code code,
                                           String reason) {
            final String credential = authorizationValue.get();

            final Status status = statusOf(() -> ping(channel, authorization(credential)));

            assertRefused(status, code, reason, credential);
        }

        private static String b64(String json) {
            return Base64.getUrlEncoder().withoutPadding().encodeToString(json.getBytes(UTF_8));
        }

        /** {@code token}'s header and claims with the signature of {@code other}. */
        private static String withSignatureOf(String token, String other) {
            return token.substring(0, token.lastIndexOf('.')) + other.substring(other.lastIndexOf('.'));
        }
    }
}
