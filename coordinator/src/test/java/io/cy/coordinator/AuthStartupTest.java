package io.cy.coordinator;

import static io.cy.coordinator.AuthCalls.health;
import static io.cy.coordinator.AuthCalls.noCredential;
import static io.cy.coordinator.AuthCalls.ping;
import static io.cy.coordinator.AuthCalls.predict;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import io.cy.coordinator.TestStack.Result;
import io.cy.coordinator.config.ConfigException;
import io.cy.coordinator.config.ConfigLoader;
import io.grpc.Status.Code;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which auth settings let the coordinator start, and what {@code auth.mode: none} means. */
class AuthStartupTest {

    @TempDir
    Path dir;

    @Test
    void authIsRequiredByDefaultSoWithoutCredentialSourcesStartupFails() {
        // given: nothing about auth in file or environment
        final Map<String, String> env = Map.of(
                "SIDECAR_GRPC_ADDR", "unix://" + dir.resolve("no-sidecar.sock"),
                "COORDINATOR_GRPC_ADDR", "127.0.0.1:0",
                "COORDINATOR_HTTP_ADDR", "127.0.0.1:0");

        assertThatThrownBy(() -> {
            // Should it start after all, close it so the test leaves nothing behind.
            Coordinator.start(ConfigLoader.fromYaml("", env).config(), summary -> { }).close();
        }).isInstanceOfAny(ConfigException.class, IOException.class).hasMessageContaining("auth");
    }

    @Test
    void requiredWithoutAnyCredentialSourceFailsNamingAuth() {
        assertThatThrownBy(() -> TestStack.start(dir, 1, sim -> { }, "auth: {mode: required}",
                Map.of("CY_AUTH_MODE", "required")).close())
                .isInstanceOfAny(ConfigException.class, IOException.class)
                .hasMessageContaining("auth");
    }

    @Test
    void anHmacSecretShorterThan32BytesFailsNamingTheSettingButNotTheSecret() {
        final String shortSecret = "only-31-bytes-of-hmac-secret-xx";
        assertThat(shortSecret).hasSize(31);

        assertThatThrownBy(() -> TestStack.start(dir, 1, sim -> { }, "",
                Map.of("CY_AUTH_MODE", "required", "CY_AUTH_HMAC_SECRET", shortSecret)).close())
                .isInstanceOfAny(ConfigException.class, IOException.class)
                .hasMessageContaining("auth.hmac_secret")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain(shortSecret));
    }

    @Test
    void anHmacSecretOf32BytesIsEnough() throws Exception {
        final String secret = "exactly-32-bytes-of-hmac-secret!";
        assertThat(secret).hasSize(32);

        try (TestStack stack = TestStack.start(dir, 1, sim -> { }, "",
                Map.of("CY_AUTH_MODE", "required", "CY_AUTH_HMAC_SECRET", secret))) {
            assertThat(predict(stack, noCredential()).status().getCode()).isEqualTo(Code.UNAUTHENTICATED);
        }
    }

    @Test
    void anUnknownModeFailsNamingTheSetting() {
        assertThatThrownBy(() -> TestStack.start(dir, 1, sim -> { }, "",
                Map.of("CY_AUTH_MODE", "optional", "CY_AUTH_HMAC_SECRET", "a".repeat(32))).close())
                .isInstanceOfAny(ConfigException.class, IOException.class)
                .hasMessageContaining("auth.mode");
    }

    @Test
    void modeNoneLetsEveryCallThroughAndWarnsLoudly() throws Exception {
        final Map<String, String> env = new HashMap<>();
        env.put("CY_AUTH_MODE", "none");
        try (LogCapture logs = LogCapture.start(Level.INFO);
             TestStack stack = TestStack.start(dir, 1, sim -> { }, "auth: {mode: none}", env)) {

            final Result result = predict(stack, noCredential(), "");

            assertThat(result.status().getCode()).as("%s", result.status()).isEqualTo(Code.OK);
            assertThat(ping(stack.coordinatorChannel(), noCredential()).getPayloadMap()).containsEntry("status", "ok");
            assertThat(health(stack.coordinatorChannel(), noCredential()).getHealthy()).isTrue();
            assertThat(logs.events())
                    .as("a warning that auth is off")
                    .anySatisfy(event -> {
                        assertThat(event.getLevel().isGreaterOrEqual(Level.WARN)).isTrue();
                        assertThat(event.getFormattedMessage().toLowerCase(Locale.ROOT)).contains("auth");
                    });
        }
    }
}
