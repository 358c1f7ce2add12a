package io.cy.bench;

/** Bad command-line arguments; the message names the flag and what was expected. */
final class UsageException extends Exception {

    UsageException(String message) {
        super(message);
    }
}
