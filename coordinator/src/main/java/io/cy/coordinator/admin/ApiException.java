package io.cy.coordinator.admin;

/**
 * A request the admin API answers with an error: the HTTP status, a short code and a message
 * naming what was wrong, written as {@code {"error": code, "message": message}}.
 */
final class ApiException extends RuntimeException {

    private final int httpStatus;
    private final String code;

    ApiException(int httpStatus, String code, String message) {
        super(message, null, false, false);
        this.httpStatus = httpStatus;
        this.code = code;
    }

    int httpStatus() {
        return httpStatus;
    }

    String code() {
        return code;
    }
}
