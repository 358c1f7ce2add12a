package io.cy.coordinator.auth;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cy.coordinator.config.CoordinatorConfig;
import io.jsonwebtoken.Claims;
import io.jsonwebtoken.ExpiredJwtException;
import io.jsonwebtoken.JwtException;
import io.jsonwebtoken.JwtParser;
import io.jsonwebtoken.Jwts;
import io.jsonwebtoken.MalformedJwtException;
import io.jsonwebtoken.PrematureJwtException;
import io.jsonwebtoken.UnsupportedJwtException;
import io.jsonwebtoken.io.DecodingException;
import io.jsonwebtoken.security.InvalidKeyException;
import io.jsonwebtoken.security.Keys;
import io.jsonwebtoken.security.SignatureException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.Key;
import java.security.PublicKey;
import java.util.Base64;
import java.util.Collection;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongSupplier;

/**
 * Verifies JWTs with jjwt: HMAC-signed ones with the shared secret, asymmetric ones with the
 * issuer's published keys. The header is read first, so that an unsigned token, an HMAC token
 * when no secret is configured (the "RSA public key as HMAC secret" attack) or a key used with
 * another algorithm than its JWK allows is refused before any cryptography.
 */
final class JwtVerifier {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final CoordinatorConfig.Auth config;
    private final JwksSource jwks;
    private final JwtParser hmacParser;
    private final LongSupplier clock;

    /**
     * @param jwks the issuer's keys, or null when no issuer is configured
     * @param clock current time in milliseconds
     */
    JwtVerifier(CoordinatorConfig.Auth config, JwksSource jwks, LongSupplier clock) {
        this.config = requireNonNull(config, "config");
        this.jwks = jwks;
        this.clock = requireNonNull(clock, "clock");
        this.hmacParser = config.hmacSecret().isEmpty() ? null
                : parser(Keys.hmacShaKeyFor(config.hmacSecret().getBytes(StandardCharsets.UTF_8)));
    }

    private JwtParser parser(Key key) {
        final var builder = Jwts.parser()
                .clockSkewSeconds(config.clockSkew().toSeconds())
                .clock(() -> new Date(clock.getAsLong()));
        if (key instanceof PublicKey) {
            builder.verifyWith((PublicKey) key);
        } else {
            builder.verifyWith((javax.crypto.SecretKey) key);
        }
        return builder.build();
    }

    /** Verifies a token; completes at once unless the issuer's keys must be fetched first. */
    CompletableFuture<Verified> verify(String token) {
        final JsonNode header;
        try {
            header = header(token);
        } catch (IllegalArgumentException e) {
            return done(Verified.rejected("malformed token: " + e.getMessage()));
        }
        final String alg = header.path("alg").asText("");
        if (alg.isEmpty() || alg.equalsIgnoreCase("none")) {
            return done(Verified.rejected("unsigned tokens are not accepted"));
        }
        if (alg.startsWith("HS")) {
            if (hmacParser == null) {
                return done(Verified.rejected("HMAC-signed tokens are not accepted (no shared secret is configured)"));
            }
            return done(check(token, hmacParser, false, ""));
        }
        if (jwks == null) {
            return done(Verified.rejected("tokens signed with " + alg + " are not accepted (no OAUTH2_ISSUER configured)"));
        }
        final String kid = header.path("kid").asText("");
        final JwksSource.SigningKey key = jwks.key(kid);
        if (key != null) {
            return done(checkWith(token, alg, kid, key));
        }
        // Maybe the issuer rotated its keys: look once more, without holding a thread.
        return jwks.refreshForUnknownKey().thenApply(ignored -> {
            final JwksSource.SigningKey fresh = jwks.key(kid);
            if (fresh != null) {
                return checkWith(token, alg, kid, fresh);
            }
            if (!jwks.isLoaded()) {
                return Verified.rejected("signing keys unavailable: " + jwks.lastError());
            }
            return Verified.rejected("unknown signing key '" + printable(kid) + "'");
        });
    }

    private Verified checkWith(String token, String alg, String kid, JwksSource.SigningKey key) {
        if (key.algorithm() != null && !key.algorithm().equals(alg)) {
            return Verified.rejected("signing key '" + printable(kid) + "' is for " + key.algorithm()
                    + ", the token says " + printable(alg));
        }
        return check(token, parser(key.key()), true, kid);
    }

    private Verified check(String token, JwtParser parser, boolean fromIssuer, String kid) {
        final Claims claims;
        try {
            claims = parser.parseSignedClaims(token).getPayload();
        } catch (ExpiredJwtException e) {
            return Verified.rejected("token expired");
        } catch (PrematureJwtException e) {
            return Verified.rejected("token not yet valid");
        } catch (SignatureException e) {
            return Verified.rejected("bad signature");
        } catch (InvalidKeyException e) {
            return Verified.rejected("signing key does not fit the token's algorithm");
        } catch (MalformedJwtException | DecodingException e) {
            return Verified.rejected("malformed token");
        } catch (UnsupportedJwtException e) {
            return Verified.rejected("unsupported token: " + e.getMessage());
        } catch (JwtException | IllegalArgumentException e) {
            return Verified.rejected("invalid token: " + e.getClass().getSimpleName());
        }
        return identity(claims, fromIssuer, kid);
    }

    private Verified identity(Claims claims, boolean fromIssuer, String kid) {
        final long now = clock.getAsLong();
        if (fromIssuer && !JwksSource.stripSlash(String.valueOf(claims.getIssuer())).equals(jwks.issuer())) {
            return Verified.rejected("issuer mismatch: token from '" + printable(String.valueOf(claims.getIssuer())) + "'");
        }
        final String audience = config.oidc().audience();
        if (!audience.isEmpty() && (claims.getAudience() == null || !claims.getAudience().contains(audience))) {
            return Verified.rejected("audience mismatch (expected: " + audience + ")");
        }
        final Date issuedAt = claims.getIssuedAt();
        if (issuedAt != null && issuedAt.getTime() > now + config.clockSkew().toMillis()) {
            return Verified.rejected("token issued in the future");
        }
        final Object tenantClaim = claims.get(config.tenantClaim());
        final String tenant;
        if (tenantClaim == null) {
            if (config.defaultTenant().isEmpty()) {
                return Verified.rejected("token has no '" + config.tenantClaim() + "' claim");
            }
            tenant = config.defaultTenant();
        } else if (tenantClaim instanceof String && !((String) tenantClaim).isBlank()) {
            tenant = (String) tenantClaim;
        } else {
            // A present but unusable claim is an issuer mistake, not a reason to fall back.
            return Verified.rejected("claim '" + config.tenantClaim() + "' is not a non-empty string");
        }
        final Set<String> roles = new LinkedHashSet<>();
        addRoles(roles, claims.get("roles"));
        addRoles(roles, claims.get("scope"));
        addRoles(roles, claims.get("scp"));
        final Identity identity = new Identity(claims.getSubject() == null ? "" : claims.getSubject(), tenant, roles,
                Identity.CredentialKind.JWT, kid);
        // Without exp a token is remembered for a short while only.
        final long expiresAt = claims.getExpiration() != null ? claims.getExpiration().getTime() : now + 300_000;
        return new Verified(Authentication.of(identity), expiresAt);
    }

    private static void addRoles(Set<String> roles, Object claim) {
        if (claim instanceof String) {
            for (String role : ((String) claim).split(" ")) {
                if (!role.isBlank()) {
                    roles.add(role.trim());
                }
            }
        } else if (claim instanceof Collection) {
            for (Object role : (Collection<?>) claim) {
                if (role != null) {
                    roles.add(role.toString());
                }
            }
        }
    }

    private static JsonNode header(String token) {
        final int dot = token.indexOf('.');
        if (dot <= 0 || token.indexOf('.', dot + 1) < 0) {
            throw new IllegalArgumentException("expected three dot-separated parts");
        }
        final byte[] bytes;
        try {
            bytes = Base64.getUrlDecoder().decode(token.substring(0, dot));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("header is not base64url");
        }
        try {
            final JsonNode header = JSON.readTree(bytes);
            if (header == null || !header.isObject()) {
                throw new IllegalArgumentException("header is not a JSON object");
            }
            return header;
        } catch (IOException e) {
            throw new IllegalArgumentException("header is not JSON");
        }
    }

    /** Untrusted text for a message: bounded and printable. */
    private static String printable(String s) {
        final String cut = s.length() > 64 ? s.substring(0, 64) + "…" : s;
        return cut.replaceAll("[^\\x20-\\x7e]", "?");
    }

    private static CompletableFuture<Verified> done(Verified verified) {
        return CompletableFuture.completedFuture(verified);
    }

    /** An authentication and, when it succeeded, until when it may be remembered. */
    record Verified(Authentication authentication, long expiresAtMillis) {
        static Verified rejected(String reason) {
            return new Verified(Authentication.rejected(reason), 0);
        }
    }
}
