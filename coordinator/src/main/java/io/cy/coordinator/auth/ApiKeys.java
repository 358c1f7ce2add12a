package io.cy.coordinator.auth;

import io.cy.coordinator.config.CoordinatorConfig;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Configured API keys, known only by their SHA-256. A presented key is hashed and compared with
 * every configured hash in constant time, so timing tells nothing about which key came close.
 */
final class ApiKeys {

    private final List<CoordinatorConfig.ApiKey> keys;

    ApiKeys(CoordinatorConfig.Auth config) {
        final List<CoordinatorConfig.ApiKey> all = new ArrayList<>(config.apiKeys());
        if (!config.gatewayApiToken().isEmpty()) {
            // The open-source gateway's single static token.
            all.add(new CoordinatorConfig.ApiKey("gateway", TokenHashes.sha256(config.gatewayApiToken()),
                    "default", List.of("user")));
        }
        this.keys = List.copyOf(all);
    }

    boolean isEmpty() {
        return keys.isEmpty();
    }

    /** The identity for the key with this hash, or a rejection. */
    Authentication authenticate(byte[] sha256) {
        CoordinatorConfig.ApiKey match = null;
        for (CoordinatorConfig.ApiKey key : keys) {
            if (MessageDigest.isEqual(key.sha256(), sha256) && match == null) {
                match = key;
            }
        }
        if (match == null) {
            return Authentication.rejected("unknown API key");
        }
        return Authentication.of(new Identity(match.name(), match.tenant(), Set.copyOf(match.roles()),
                Identity.CredentialKind.API_KEY, match.name()));
    }
}
