package io.cy.bridge.internal;

import java.util.List;

/**
 * Applies stop sequences to streamed text. Output is released as soon as it cannot be the start
 * of a stop sequence; only a tail that could still grow into one is held back, at most the longest
 * sequence's length minus one characters, so a sequence split across chunks is still found and
 * nothing is buffered without bound.
 *
 * <p>Not thread-safe: one per call, used on the call's event loop.
 */
final class StopScanner {

    private final List<String> stops;
    private final StringBuilder held = new StringBuilder();
    private boolean matched;

    StopScanner(List<String> stops) {
        this.stops = List.copyOf(stops);
    }

    /**
     * Takes the next chunk and returns the text that may be sent now; after a stop sequence is
     * found ({@link #matched()}), that is the text before it, and later chunks yield nothing.
     */
    String accept(String chunk) {
        if (matched) {
            return "";
        }
        if (stops.isEmpty()) {
            return chunk;
        }
        held.append(chunk);
        final int at = earliestMatch();
        if (at >= 0) {
            matched = true;
            final String out = held.substring(0, at);
            held.setLength(0);
            return out;
        }
        int release = held.length() - partialMatchLength();
        // Never split a surrogate pair between what goes out and what stays.
        if (release > 0 && release < held.length() && Character.isHighSurrogate(held.charAt(release - 1))) {
            release--;
        }
        final String out = held.substring(0, release);
        held.delete(0, release);
        return out;
    }

    /** The text held back, at the end of the stream (where it can no longer start a stop sequence). */
    String flush() {
        final String out = held.toString();
        held.setLength(0);
        return out;
    }

    boolean matched() {
        return matched;
    }

    private int earliestMatch() {
        int earliest = -1;
        for (String stop : stops) {
            final int i = held.indexOf(stop);
            if (i >= 0 && (earliest < 0 || i < earliest)) {
                earliest = i;
            }
        }
        return earliest;
    }

    /** The length of the longest tail of {@code held} that is a proper prefix of some stop sequence. */
    private int partialMatchLength() {
        int longest = 0;
        for (String stop : stops) {
            final int max = Math.min(stop.length() - 1, held.length());
            for (int len = max; len > longest; len--) {
                if (regionEquals(held.length() - len, stop, len)) {
                    longest = len;
                    break;
                }
            }
        }
        return longest;
    }

    private boolean regionEquals(int start, String stop, int len) {
        for (int i = 0; i < len; i++) {
            if (held.charAt(start + i) != stop.charAt(i)) {
                return false;
            }
        }
        return true;
    }
}
