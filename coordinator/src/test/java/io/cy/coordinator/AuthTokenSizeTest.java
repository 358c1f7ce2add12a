package io.cy.coordinator;

import static io.cy.coordinator.AuthCalls.assertRefused;
import static io.cy.coordinator.AuthCalls.bearer;
import static io.cy.coordinator.AuthCalls.forwardedTenant;
import static io.cy.coordinator.AuthCalls.predict;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.TestStack.Result;
import io.grpc.Status.Code;
import io.jsonwebtoken.Jwts;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Map;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code auth.max_token_bytes} is the limit a token meets, also above the 8 KiB that HTTP/2
 * header lists get by default: large tokens (many groups or scopes) are common.
 */
class AuthTokenSizeTest {

    static final String SECRET = "size-test-hmac-secret-0c2e4a6b8d0f2a4c6e8b0d2f4";
    static final int MAX_TOKEN_BYTES = 16 * 1024;

    @TempDir
    static Path dir;

    static TestStack stack;

    @BeforeAll
    static void start() throws Exception {
        stack = TestStack.start(dir, 1, sim -> { }, "auth: {max_token_bytes: " + MAX_TOKEN_BYTES + "}",
                Map.of("CY_AUTH_MODE", "required", "CY_AUTH_HMAC_SECRET", SECRET));
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    /** A good token of about {@code bytes} bytes. */
    static String tokenOf(int bytes) {
        final Instant now = Instant.now();
        final String token = Jwts.builder()
                .claim("tenant", "big")
                .claim("padding", "x".repeat(bytes * 3 / 4))
                .issuedAt(Date.from(now))
                .expiration(Date.from(now.plus(Duration.ofMinutes(10))))
                .signWith(new SecretKeySpec(SECRET.getBytes(UTF_8), "HmacSHA256"), Jwts.SIG.HS256)
                .compact();
        assertThat(token.length()).isBetween(bytes - 512, bytes + 512);
        return token;
    }

    @Test
    void aTokenUnderTheConfiguredLimitIsAcceptedThoughOver8KiB() throws Exception {
        final String token = tokenOf(12 * 1024);

        final Result result = predict(stack, bearer(token));

        assertThat(result.status().getCode()).as("%s", result.status()).isEqualTo(Code.OK);
        assertThat(forwardedTenant(stack)).isEqualTo("big");
    }

    @Test
    void aTokenOverTheConfiguredLimitIsRefusedAsTooLarge() throws Exception {
        final String token = tokenOf(MAX_TOKEN_BYTES + 2048);

        assertRefused(predict(stack, bearer(token)).status(), Code.UNAUTHENTICATED, "token too large", token);
    }
}
