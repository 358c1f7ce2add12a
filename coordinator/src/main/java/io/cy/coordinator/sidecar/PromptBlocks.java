package io.cy.coordinator.sidecar;

/**
 * Cuts a prompt's first UTF-8 bytes into blocks and hashes each block chained to the ones before
 * it, so that block {@code i}'s hash stands for the whole prefix up to it: two prompts share the
 * first {@code k} block hashes exactly when they share (up to hash collisions) their first
 * {@code k} blocks. This is the approximate prefix tree of prefix affinity: a prefix is a path of
 * blocks, and only the path's last node needs to be looked up.
 *
 * <p>UTF-8 lengths are counted from the chars, without encoding the prompt.
 */
final class PromptBlocks {

    /** About 16 tokens: the granularity at which workers' KV caches are shared. */
    static final int BLOCK_BYTES = 64;

    private static final long SEED = 0x9E3779B97F4A7C15L;
    private static final long LANE = 0x100000001B3L;

    private PromptBlocks() {}

    /** How many block hashes {@link #hash} may write for a prompt of {@code chars} chars. */
    static int maxBlocks(int chars, int prefixBytes) {
        final long bytes = Math.min((long) prefixBytes, 3L * chars);
        return (int) ((bytes + BLOCK_BYTES - 1) / BLOCK_BYTES);
    }

    /**
     * Writes the chained hash of each block of the first {@code prefixBytes} bytes of {@code prompt}
     * into {@code into}, a last shorter block included; returns how many (0 for an empty prompt).
     * A char is never split: one that would cross {@code prefixBytes} ends the prefix before it.
     */
    static int hash(String prompt, int prefixBytes, long[] into) {
        final int chars = prompt.length();
        int blocks = 0;
        long chain = SEED;
        int bytes = 0;
        int i = 0;
        while (i < chars && bytes < prefixBytes) {
            final int blockEnd = Math.min(prefixBytes, bytes + BLOCK_BYTES);
            // Four independent lanes, so that the multiplications overlap instead of queueing.
            long a = 0;
            long b = 0;
            long c = 0;
            long d = 0;
            int lane = 0;
            final int start = bytes;
            while (i < chars) {
                final char ch = prompt.charAt(i);
                final int length = ch < 0x80 ? 1 : ch < 0x800 || Character.isSurrogate(ch) ? 2 : 3;
                if (bytes + length > blockEnd) {
                    break;
                }
                bytes += length;
                i++;
                switch (lane) {
                    case 0 -> a = a * LANE + ch;
                    case 1 -> b = b * LANE + ch;
                    case 2 -> c = c * LANE + ch;
                    default -> d = d * LANE + ch;
                }
                lane = (lane + 1) & 3;
            }
            if (bytes == start) {
                // A char wider than what is left of the prefix: the prefix ends here.
                break;
            }
            chain = Hashing.mix(chain ^ a ^ Long.rotateLeft(b, 16) ^ Long.rotateLeft(c, 32)
                    ^ Long.rotateLeft(d, 48) ^ ((long) (bytes - start) << 56));
            into[blocks++] = chain == 0 ? 1 : chain;
        }
        return blocks;
    }
}
