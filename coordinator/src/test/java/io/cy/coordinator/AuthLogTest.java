package io.cy.coordinator;

import static io.cy.coordinator.AuthCalls.authorization;
import static io.cy.coordinator.AuthCalls.bearer;
import static io.cy.coordinator.AuthCalls.ping;
import static io.cy.coordinator.AuthCalls.predict;
import static io.cy.coordinator.AuthCalls.secretParts;
import static io.cy.coordinator.AuthCalls.sha256Hex;
import static io.cy.coordinator.AuthCalls.statusOf;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import io.cy.coordinator.OidcTestServer.SigningKey;
import io.cy.coordinator.config.ConfigLoader;
import io.grpc.ManagedChannel;
import io.grpc.Status.Code;
import io.jsonwebtoken.Jwts;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** No credential the coordinator is configured with or is shown ever reaches its logs. */
class AuthLogTest {

    static final String HMAC_SECRET = "log-test-hmac-secret-1a3c5e7f9b2d4f6a8c0e2b4d6f8a";
    static final String API_KEY = "ck_log_4e6a8c0e2b4d6f8a1c3e5a7c9e1b3d5f";
    /** Short enough to pass for an authorization scheme when sent without "Bearer". */
    static final String SHORT_API_KEY = "ck-short-0a1b2c";
    static final String UNKNOWN_API_KEY = "ck_log_9f7d5b3a1e0c8a6e4c2a0e8c6a4e2c0a";
    static final String GATEWAY_TOKEN = "gw_log_2c4e6a8c0e2b4d6f8a1c3e5a7c9e1b3d";
    static final String INTERNAL_TOKEN = "internal_log_8a6c4e2a0c8e6a4c2e0a8c6e4a2c0e8a";
    static final String BASIC_CREDENTIAL = "Basic " + Base64.getEncoder().encodeToString("alice:hunter2-pw".getBytes(UTF_8));

    @TempDir
    Path dir;

    @Test
    void noTokenSecretOrKeyIsLogged() throws Exception {
        final List<String> shown = new ArrayList<>(List.of(
                HMAC_SECRET, API_KEY, SHORT_API_KEY, UNKNOWN_API_KEY, GATEWAY_TOKEN, INTERNAL_TOKEN, BASIC_CREDENTIAL,
                BASIC_CREDENTIAL.substring("Basic ".length())));
        final List<String> logged;
        final String yaml = """
                auth:
                  api_keys:
                    - {name: ops, sha256: "%s", tenant: ops-team, roles: [admin]}
                    - {name: short, sha256: "%s", tenant: ops-team, roles: [user]}
                sidecars: {health: {interval: 1h, timeout: 1s}}
                """.formatted(sha256Hex(API_KEY), sha256Hex(SHORT_API_KEY));

        try (LogCapture logs = LogCapture.start(Level.DEBUG);
             OidcTestServer provider = OidcTestServer.start()) {
            final SigningKey key = provider.publish(SigningKey.generate("log-key", Jwts.SIG.RS256));
            final SigningKey impostor = new SigningKey("log-key", Jwts.SIG.RS256,
                    SigningKey.generate("x", Jwts.SIG.RS256).keyPair());
            final Map<String, String> env = new LinkedHashMap<>(provider.environment());
            env.put("CY_AUTH_HMAC_SECRET", HMAC_SECRET);
            env.put("GATEWAY_API_TOKEN", GATEWAY_TOKEN);
            env.put("CY_LLM_INTERNAL_TOKEN", INTERNAL_TOKEN);

            // the effective configuration as logged at startup
            final String configLine = ConfigLoader.fromYaml(yaml, env).describe();
            assertThat(configLine).contains("\"hmac_secret\":\"<redacted>\"", "\"gateway_api_token\":\"<redacted>\"");
            for (String secret : shown) {
                assertThat(configLine).doesNotContain(secret);
            }

            try (TestStack stack = TestStack.start(dir, 1, sim -> sim.internalToken(INTERNAL_TOKEN), yaml, env)) {
                final ManagedChannel channel = stack.coordinatorChannel();
                final Instant now = Instant.now();
                final String admin = show(shown, provider.token(key).claim("tenant", "acme")
                        .claim("roles", List.of("admin")).compact());
                final String user = show(shown, provider.token(key).claim("tenant", "acme")
                        .claim("roles", List.of("user")).compact());
                final String expired = show(shown, provider.token(key).issuedAt(Date.from(now.minusSeconds(1200)))
                        .expiration(Date.from(now.minusSeconds(600))).compact());
                final String forged = show(shown, provider.token(impostor).compact());
                final String wrongAudience = show(shown, provider.token(key)
                        .audience().clear().add("someone-else").and().compact());
                final String hmac = show(shown, Jwts.builder().claim("tenant", "acme").claim("roles", List.of("admin"))
                        .issuer(provider.issuer()).audience().add(OidcTestServer.AUDIENCE).and()
                        .issuedAt(Date.from(now)).expiration(Date.from(now.plusSeconds(600)))
                        .signWith(new SecretKeySpec(HMAC_SECRET.getBytes(UTF_8), "HmacSHA256"), Jwts.SIG.HS256)
                        .compact());
                final String hmacForged = show(shown, Jwts.builder().claim("tenant", "acme")
                        .issuedAt(Date.from(now)).expiration(Date.from(now.plusSeconds(600)))
                        .signWith(new SecretKeySpec(HMAC_SECRET.replace('1', '2').getBytes(UTF_8), "HmacSHA256"),
                                Jwts.SIG.HS256)
                        .compact());
                final String malformed = show(shown, "eyJhbGciOiJSUzI1NiJ9.bm90LWpzb24tYXQtYWxsLXJlYWxseQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ");

                // successful calls
                for (String good : List.of(admin, user, hmac, API_KEY, SHORT_API_KEY, GATEWAY_TOKEN)) {
                    assertThat(predict(stack, bearer(good)).status().getCode()).isEqualTo(Code.OK);
                }
                assertThat(statusOf(() -> ping(channel, bearer(admin))).getCode()).isEqualTo(Code.OK);
                assertThat(statusOf(() -> ping(channel, bearer(API_KEY))).getCode()).isEqualTo(Code.OK);
                // refused calls
                for (String bad : List.of(expired, forged, wrongAudience, hmacForged, malformed, UNKNOWN_API_KEY)) {
                    assertThat(predict(stack, bearer(bad)).status().getCode()).isEqualTo(Code.UNAUTHENTICATED);
                    assertThat(statusOf(() -> ping(channel, bearer(bad))).getCode()).isEqualTo(Code.UNAUTHENTICATED);
                }
                assertThat(predict(stack, authorization(BASIC_CREDENTIAL)).status().getCode())
                        .isEqualTo(Code.UNAUTHENTICATED);
                // a client that forgot "Bearer "
                assertThat(predict(stack, authorization(SHORT_API_KEY)).status().getCode())
                        .isEqualTo(Code.UNAUTHENTICATED);
                assertThat(predict(stack, bearer(user), "globex").status().getCode()).isEqualTo(Code.PERMISSION_DENIED);
                assertThat(statusOf(() -> ping(channel, bearer(user))).getCode()).isEqualTo(Code.PERMISSION_DENIED);
                assertThat(statusOf(() -> ping(channel, bearer(GATEWAY_TOKEN))).getCode())
                        .isEqualTo(Code.PERMISSION_DENIED);
            }
            logged = logs.lines();
        }

        assertThat(logged).as("captured log lines").anySatisfy(line -> assertThat(line).contains("listening on"));
        for (String line : logged) {
            for (String secret : shown) {
                assertThat(line).as("a log line").doesNotContain(secret);
            }
        }
    }

    /** Adds {@code token} (and its signature and payload) to what must not be logged. */
    private static String show(List<String> shown, String token) {
        shown.addAll(secretParts(token));
        return token;
    }
}
