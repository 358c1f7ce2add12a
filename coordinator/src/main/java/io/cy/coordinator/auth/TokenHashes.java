package io.cy.coordinator.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** SHA-256 of bearer tokens: how API keys are stored and how verified tokens are remembered. */
final class TokenHashes {

    // MessageDigest.getInstance costs more than hashing a token; keep one per thread.
    private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java platform", e);
        }
    });

    private TokenHashes() {}

    static byte[] sha256(String token) {
        return SHA256.get().digest(token.getBytes(StandardCharsets.UTF_8));
    }
}
