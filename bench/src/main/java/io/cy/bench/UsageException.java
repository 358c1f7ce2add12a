package io.cy.bench;

/** Bad command-line arguments; the message names the flag and what was expected. */
public final class UsageException extends Exception {

    public UsageException(String message) {
        super(message);
    }
}
