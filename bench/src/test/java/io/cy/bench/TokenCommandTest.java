package io.cy.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jsonwebtoken.Claims;
import io.jsonwebtoken.Jwts;
import io.jsonwebtoken.security.Keys;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TokenCommandTest {

    private static final String SECRET = "0123456789abcdef0123456789abcdef-demo";

    @Test
    void mintsAnHs256TokenTheSecretVerifies() throws Exception {
        final Instant now = Instant.now();
        final String token = TokenCommand.mint(
                List.of("--tenant", "acme", "--subject", "svc", "--roles", "user, admin", "--ttl", "15m",
                        "--issuer", "https://auth.example.com", "--audience", "cy"),
                Map.of("CY_AUTH_HMAC_SECRET", SECRET), now);

        final Claims claims = Jwts.parser()
                .verifyWith(Keys.hmacShaKeyFor(SECRET.getBytes(StandardCharsets.UTF_8)))
                .build().parseSignedClaims(token).getPayload();
        assertThat(claims.get("tenant")).isEqualTo("acme");
        assertThat(claims.getSubject()).isEqualTo("svc");
        assertThat(claims.get("roles")).isEqualTo(List.of("user", "admin"));
        assertThat(claims.getIssuer()).isEqualTo("https://auth.example.com");
        assertThat(claims.getAudience()).containsExactly("cy");
        assertThat(claims.getExpiration().toInstant().getEpochSecond())
                .isEqualTo(now.plus(Duration.ofMinutes(15)).getEpochSecond());
    }

    @Test
    void aShortSecretIsRefusedWithoutShowingIt() {
        assertThatThrownBy(() -> TokenCommand.mint(List.of("--secret", "short-secret"), Map.of(), Instant.now()))
                .isInstanceOf(UsageException.class)
                .hasMessage("--secret: 12 bytes (expected: >= 32 bytes; or set CY_AUTH_HMAC_SECRET)");
    }

    @Test
    void badTtlNamesTheFlag() {
        assertThatThrownBy(() -> TokenCommand.ttl("soon"))
                .isInstanceOf(UsageException.class)
                .hasMessage("--ttl: soon (expected: a positive duration such as 30s, 15m, 24h, 7d)");
        assertThatThrownBy(() -> TokenCommand.ttl("0h")).isInstanceOf(UsageException.class);
    }
}
