package io.cy.coordinator.redis;

/** A change of the shared route table that was not made; the message says why, naming Redis. */
public final class SharedRoutesException extends RuntimeException {

    public SharedRoutesException(String message) {
        super(message);
    }
}
