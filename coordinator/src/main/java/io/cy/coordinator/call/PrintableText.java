package io.cy.coordinator.call;

/**
 * The rule for identifiers a client sends as text (model id, trace id): bounded in length and
 * printable, so that they can go into a log line or an audit row as they are.
 */
public final class PrintableText {

    private PrintableText() {}

    /** Why {@code text} is not an acceptable identifier of at most {@code maxChars}, or null. */
    public static String check(String text, int maxChars) {
        if (text.length() > maxChars) {
            return text.length() + " characters (expected: <= " + maxChars + ")";
        }
        for (int i = 0; i < text.length(); ) {
            final int cp = text.codePointAt(i);
            if (!isPrintable(cp)) {
                return String.format("non-printable character U+%04X at index %d (expected: printable characters)", cp, i);
            }
            i += Character.charCount(cp);
        }
        return null;
    }

    private static boolean isPrintable(int cp) {
        if (Character.isISOControl(cp)) {
            return false;
        }
        switch (Character.getType(cp)) {
            case Character.FORMAT:
            case Character.SURROGATE:
            case Character.UNASSIGNED:
            case Character.PRIVATE_USE:
            case Character.LINE_SEPARATOR:
            case Character.PARAGRAPH_SEPARATOR:
                return false;
            default:
                return true;
        }
    }
}
