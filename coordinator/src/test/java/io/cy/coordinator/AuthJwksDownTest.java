package io.cy.coordinator;

import static io.cy.coordinator.AuthCalls.assertRefused;
import static io.cy.coordinator.AuthCalls.bearer;
import static io.cy.coordinator.AuthCalls.forwardedTenant;
import static io.cy.coordinator.AuthCalls.health;
import static io.cy.coordinator.AuthCalls.noCredential;
import static io.cy.coordinator.AuthCalls.predict;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.OidcTestServer.SigningKey;
import io.cy.coordinator.TestStack.Result;
import io.grpc.Status.Code;
import io.jsonwebtoken.Jwts;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An identity provider that is down when the coordinator starts does not keep it down. */
class AuthJwksDownTest {

    /** "Within a few seconds", with room for a slow machine. */
    static final Duration RECOVERY = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    @Test
    void startsWithoutTheProviderAndRecoversWhenItComesUp() throws Exception {
        // given: the provider is down; its keys and URL are already decided
        try (OidcTestServer provider = OidcTestServer.down()) {
            final SigningKey key = provider.publish(SigningKey.generate("key-1", Jwts.SIG.ES256));
            final String token = provider.token(key).claim("tenant", "acme").compact();

            // when: the coordinator starts (default refresh settings, short HTTP timeout)
            try (TestStack stack = TestStack.start(dir, 1, sim -> { }, "auth: {oidc: {timeout: 1s}}",
                    provider.environment())) {

                // then: it serves, refusing tokens it cannot check for now
                assertThat(health(stack.coordinatorChannel(), noCredential()).getHealthy()).isTrue();
                assertRefused(predict(stack, bearer(token)).status(), Code.UNAUTHENTICATED,
                        "signing keys unavailable", token);

                // and once the provider is up, calls succeed without a restart or any client retry logic
                provider.up();
                Eventually.await("a call with a valid token succeeding", RECOVERY, () -> {
                    try {
                        final Result result = predict(stack, bearer(token));
                        if (result.status().getCode() != Code.OK) {
                            assertRefused(result.status(), Code.UNAUTHENTICATED, "signing keys unavailable", token);
                        }
                        return result.status().isOk();
                    } catch (Exception e) {
                        throw new AssertionError(e);
                    }
                });
                assertThat(forwardedTenant(stack)).isEqualTo("acme");
                assertThat(provider.discoveryRequests()).isPositive();
            }
        }
    }
}
