package io.cy.bridge.internal;

import static java.util.Objects.requireNonNull;

/**
 * One chat message as the templates see it: the role is {@value #SYSTEM}, {@value #USER} or
 * {@value #ASSISTANT} (OpenAI's {@code developer} counts as {@code system}), the content plain text.
 */
record ChatMessage(String role, String content) {

    static final String SYSTEM = "system";
    static final String USER = "user";
    static final String ASSISTANT = "assistant";

    ChatMessage {
        requireNonNull(role, "role");
        requireNonNull(content, "content");
        if (!role.equals(SYSTEM) && !role.equals(USER) && !role.equals(ASSISTANT)) {
            throw new IllegalArgumentException("role: " + role + " (expected: system, user or assistant)");
        }
    }
}
