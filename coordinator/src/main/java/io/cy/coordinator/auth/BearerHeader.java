package io.cy.coordinator.auth;

import java.util.Locale;
import java.util.Set;

/**
 * Reads a bearer token out of an {@code Authorization} header the one way both the gRPC listeners
 * and the admin API do, so a caller gets the same answer for the same mistake from either.
 */
public final class BearerHeader {

    /** The answer to a call or request that carries no {@code Authorization} header at all. */
    public static final String MISSING = "missing authorization header (expected: Bearer <token>)";

    private static final String BEARER = "Bearer ";
    /** Schemes named back to the client; any other first word may be a credential sent without a scheme. */
    private static final Set<String> KNOWN_SCHEMES = Set.of("basic", "digest", "negotiate", "ntlm", "token",
            "apikey", "dpop", "hoba", "mutual", "aws4-hmac-sha256");

    private BearerHeader() {}

    /** What is wrong with a header that is present and not blank, or null when it carries a token. */
    public static String problem(String header) {
        // "Bearer " with nothing after it (a shell variable left unset) arrives from HTTP trimmed to
        // "Bearer": the same mistake as over gRPC, so the same answer, not an unknown scheme.
        if (header.trim().equalsIgnoreCase(BEARER.trim())) {
            return "the token after 'Bearer ' is empty (expected: Bearer <token>)";
        }
        if (!header.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
            return "unsupported authorization scheme" + scheme(header) + " (expected: Bearer)";
        }
        return null;
    }

    /** The token of a header {@link #problem} found nothing wrong with. */
    public static String token(String header) {
        return header.substring(BEARER.length()).trim();
    }

    /**
     * " 'Basic'" for a header that starts with a well-known scheme and its credentials; "" for
     * anything else, which may be a bare credential and is never repeated.
     */
    private static String scheme(String header) {
        final int space = header.indexOf(' ');
        if (space <= 0) {
            return "";
        }
        final String word = header.substring(0, space);
        return KNOWN_SCHEMES.contains(word.toLowerCase(Locale.ROOT)) ? " '" + word + "'" : "";
    }
}
