package io.cy.sim;

/**
 * The deterministic text of a call's chunks: chunk {@code i} is a word picked by a hash of the
 * prompt and {@code i}, so equal requests always yield equal streams.
 *
 * <p>Chunks are shared constant strings (or, for padded chunks, strings built once per word and
 * call), so producing a chunk allocates nothing beyond the response message.
 */
final class ChunkText {

    private static final String[] WORDS = {
        " the", " quick", " brown", " fox", " jumps", " over", " lazy", " dog",
        " a", " small", " model", " streams", " tokens", " one", " at", " time",
        " while", " the", " coordinator", " forwards", " each", " chunk", " to", " its",
        " client", " and", " keeps", " the", " stream", " moving", " under", " load",
        " river", " stone", " light", " north", " garden", " silver", " quiet", " window",
        " paper", " signal", " harbor", " winter", " copper", " meadow", " engine", " lantern",
        " bridge", " orbit", " canyon", " velvet", " thunder", " pixel", " cedar", " falcon",
        " marble", " echo", " summit", " amber", " glacier", " violet", " compass", ".",
    };

    private final long seed;
    private final int chunkBytes;
    private final String[] padded;

    /**
     * @param prompt the request's prompt; its (specified, hence stable) String hash seeds the words
     * @param chunkBytes 0 for plain words, else every chunk is exactly this many characters
     */
    ChunkText(String prompt, int chunkBytes) {
        this.seed = prompt.hashCode();
        this.chunkBytes = chunkBytes;
        this.padded = chunkBytes > 0 ? new String[WORDS.length] : null;
    }

    String chunk(int index) {
        final int word = wordIndex(index);
        if (padded == null) {
            return WORDS[word];
        }
        String text = padded[word];
        if (text == null) {
            text = pad(WORDS[word], chunkBytes);
            padded[word] = text;
        }
        return text;
    }

    private int wordIndex(int index) {
        // SplitMix64's finaliser: neighbouring indexes give unrelated words.
        long z = seed * 0x9E3779B97F4A7C15L + index;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z ^= z >>> 31;
        return (int) ((z >>> 1) % WORDS.length);
    }

    private static String pad(String word, int length) {
        final StringBuilder sb = new StringBuilder(length);
        while (sb.length() < length) {
            sb.append(word);
        }
        sb.setLength(length);
        return sb.toString();
    }
}
