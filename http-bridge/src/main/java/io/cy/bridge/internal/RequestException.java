package io.cy.bridge.internal;

import static java.util.Objects.requireNonNull;

/** A request the bridge refuses, carrying the answer; thrown only while parsing and caught where it is sent. */
final class RequestException extends Exception {

    private final transient HttpError error;

    RequestException(HttpError error) {
        // No stack trace: this is an answer to a client, not a fault in the bridge.
        super(requireNonNull(error, "error").message(), null, false, false);
        this.error = error;
    }

    HttpError error() {
        return error;
    }
}
