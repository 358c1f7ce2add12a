package io.cy.bench.compare;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The credential of the comparison's load when the coordinator's authentication is on: an HS256
 * JWT signed with a secret made for the run, as a client with a long-lived token would send on
 * every call (so the coordinator verifies it once and finds it in its cache after that).
 */
public final class HmacJwt {

    private static final Base64.Encoder BASE64URL = Base64.getUrlEncoder().withoutPadding();

    private HmacJwt() {}

    /** A random secret of 64 hex characters (the coordinator takes its UTF-8 bytes: 512 bits). */
    public static String newSecret() {
        final byte[] bytes = new byte[32];
        new SecureRandom().nextBytes(bytes);
        return HexFormat.of().formatHex(bytes);
    }

    /** A token for {@code subject} in {@code tenant} with role {@code user}, valid for {@code ttl}. */
    public static String mint(String secret, String subject, String tenant, Duration ttl) {
        final long now = Instant.now().getEpochSecond();
        final String header = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
        final String claims = "{\"sub\":\"" + subject + "\",\"tenant\":\"" + tenant + "\",\"roles\":[\"user\"],"
                + "\"iat\":" + now + ",\"exp\":" + (now + ttl.toSeconds()) + "}";
        final String signingInput = encode(header) + "." + encode(claims);
        try {
            final Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            return signingInput + "." + BASE64URL.encodeToString(mac.doFinal(signingInput.getBytes(StandardCharsets.US_ASCII)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is unavailable in this JDK", e);
        }
    }

    private static String encode(String json) {
        return BASE64URL.encodeToString(json.getBytes(StandardCharsets.UTF_8));
    }
}
