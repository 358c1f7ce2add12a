package io.cy.bridge.internal;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * How chat messages become one prompt. The worker takes plain text, so the bridge renders the
 * conversation in the format the model was trained on, ending where the assistant's reply starts.
 */
public enum ChatTemplate {

    /**
     * The integration guide's format: {@code System: …}, {@code User: …}, {@code Assistant: …}
     * lines, then {@code Assistant:} ({@code [user "Hello"]} becomes {@code "User: Hello\nAssistant:"}).
     */
    PLAIN("plain") {
        @Override
        String render(List<ChatMessage> messages) {
            final StringBuilder sb = new StringBuilder();
            for (ChatMessage m : messages) {
                sb.append(label(m.role())).append(": ").append(m.content()).append('\n');
            }
            return sb.append("Assistant:").toString();
        }

        private String label(String role) {
            switch (role) {
                case ChatMessage.SYSTEM:
                    return "System";
                case ChatMessage.ASSISTANT:
                    return "Assistant";
                default:
                    return "User";
            }
        }
    },

    /** {@code <|im_start|>role\ncontent<|im_end|>\n} per message, then {@code <|im_start|>assistant\n}. */
    CHATML("chatml") {
        @Override
        String render(List<ChatMessage> messages) {
            final StringBuilder sb = new StringBuilder();
            for (ChatMessage m : messages) {
                sb.append("<|im_start|>").append(m.role()).append('\n').append(m.content()).append("<|im_end|>\n");
            }
            return sb.append("<|im_start|>assistant\n").toString();
        }
    },

    /**
     * Llama 3's header format; message text is trimmed, as in the model's own template, and the
     * prompt ends with an open assistant header.
     */
    LLAMA3("llama3") {
        @Override
        String render(List<ChatMessage> messages) {
            final StringBuilder sb = new StringBuilder("<|begin_of_text|>");
            for (ChatMessage m : messages) {
                sb.append("<|start_header_id|>").append(m.role()).append("<|end_header_id|>\n\n")
                        .append(m.content().strip()).append("<|eot_id|>");
            }
            return sb.append("<|start_header_id|>assistant<|end_header_id|>\n\n").toString();
        }
    };

    private final String templateName;

    ChatTemplate(String templateName) {
        this.templateName = templateName;
    }

    /** The template called {@code name}; the exception message lists the known names. */
    public static ChatTemplate named(String name) {
        requireNonNull(name, "name");
        for (ChatTemplate t : values()) {
            if (t.templateName.equals(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException(name + " (expected: plain, chatml or llama3)");
    }

    /** The name used in settings: {@code plain}, {@code chatml}, {@code llama3}. */
    public String templateName() {
        return templateName;
    }

    /** The prompt for {@code messages}, whose roles are already normalised by {@link ChatMessage}. */
    abstract String render(List<ChatMessage> messages);
}
