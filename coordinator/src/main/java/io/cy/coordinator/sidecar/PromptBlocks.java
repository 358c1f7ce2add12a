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

    /**
     * Chars {@code i} to {@code i + 3} packed into a word as the one-by-one path packs them, or -1
     * when one of them is not ASCII (a packed word of ASCII chars is never negative).
     */
    private static long ascii(String prompt, int i) {
        final char c0 = prompt.charAt(i);
        final char c1 = prompt.charAt(i + 1);
        final char c2 = prompt.charAt(i + 2);
        final char c3 = prompt.charAt(i + 3);
        if ((c0 | c1 | c2 | c3) >= 0x80) {
            return -1;
        }
        return c0 | (long) c1 << 16 | (long) c2 << 32 | (long) c3 << 48;
    }

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
            // Chars are packed four to a 64-bit word (char k of the block into word k / 4), and
            // word j is folded into lane j mod 4: the four lanes' multiplications overlap instead of
            // queueing. Sixteen ASCII chars at a time when they fit, one by one otherwise, which
            // hashes alike.
            long a = 0;
            long b = 0;
            long c = 0;
            long d = 0;
            long word = 0;
            int k = 0;
            final int start = bytes;
            while (i < chars) {
                if ((k & 15) == 0 && i + 16 <= chars && bytes + 16 <= blockEnd) {
                    final long w0 = ascii(prompt, i);
                    final long w1 = ascii(prompt, i + 4);
                    final long w2 = ascii(prompt, i + 8);
                    final long w3 = ascii(prompt, i + 12);
                    if ((w0 | w1 | w2 | w3) >= 0) {
                        a = (a ^ w0) * LANE;
                        b = (b ^ w1) * LANE;
                        c = (c ^ w2) * LANE;
                        d = (d ^ w3) * LANE;
                        i += 16;
                        k += 16;
                        bytes += 16;
                        continue;
                    }
                }
                final char ch = prompt.charAt(i);
                final int length = ch < 0x80 ? 1 : ch < 0x800 || Character.isSurrogate(ch) ? 2 : 3;
                if (bytes + length > blockEnd) {
                    break;
                }
                bytes += length;
                i++;
                word |= (long) ch << ((k & 3) << 4);
                k++;
                if ((k & 3) == 0) {
                    switch ((k >>> 2) - 1 & 3) {
                        case 0 -> a = (a ^ word) * LANE;
                        case 1 -> b = (b ^ word) * LANE;
                        case 2 -> c = (c ^ word) * LANE;
                        default -> d = (d ^ word) * LANE;
                    }
                    word = 0;
                }
            }
            if ((k & 3) != 0) {
                switch (k >>> 2 & 3) {
                    case 0 -> a = (a ^ word) * LANE;
                    case 1 -> b = (b ^ word) * LANE;
                    case 2 -> c = (c ^ word) * LANE;
                    default -> d = (d ^ word) * LANE;
                }
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
