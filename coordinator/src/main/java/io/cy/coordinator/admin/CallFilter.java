package io.cy.coordinator.admin;

import java.util.Map;

/**
 * The recent calls filters of the console: tenant, status code (e.g. {@code OK},
 * {@code RESOURCE_EXHAUSTED}) and model (the model id or the alias); empty matches anything.
 */
record CallFilter(String tenant, String status, String model) {

    /** Longest filter value taken: longer than any tenant, status or model name. */
    static final int MAX_CHARS = 256;

    static final CallFilter NONE = new CallFilter("", "", "");

    /** The filters of a query string's parameters; a value too long is refused naming its parameter. */
    static CallFilter of(Map<String, String> query) {
        return new CallFilter(value(query, "tenant"), value(query, "status"), value(query, "model"));
    }

    private static String value(Map<String, String> query, String name) {
        final String value = query.getOrDefault(name, "").trim();
        if (value.length() > MAX_CHARS) {
            throw new ApiException(400, "invalid_argument",
                    name + ": " + value.length() + " characters (expected: <= " + MAX_CHARS + ")");
        }
        return value;
    }
}
