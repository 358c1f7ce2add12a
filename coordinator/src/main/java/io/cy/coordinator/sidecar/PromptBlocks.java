package io.cy.coordinator.sidecar;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Cuts a prompt's first UTF-8 bytes into blocks and hashes each block chained to the ones before
 * it, so that block {@code i}'s hash stands for the whole prefix up to it: two prompts share the
 * first {@code k} block hashes exactly when they share (up to hash collisions) their first
 * {@code k} blocks. This is the approximate prefix tree of prefix affinity: a prefix is a path of
 * blocks, and only the path's last node needs to be looked up.
 *
 * <p>The prefix is encoded by the JDK (a copy for ASCII text) and read eight bytes at a time: a
 * char-by-char walk cost three times as much, and the copies, at most twice
 * {@code affinity_prefix_bytes}, are what a pick allocates.
 */
final class PromptBlocks {

    /** About 16 tokens: the granularity at which workers' KV caches are shared. */
    static final int BLOCK_BYTES = 64;

    private static final long SEED = 0x9E3779B97F4A7C15L;
    private static final long LANE = 0x100000001B3L;
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

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
        final byte[] utf8 = utf8(prompt, prefixBytes);
        final int length = prefixLength(utf8, prefixBytes);
        int blocks = 0;
        long chain = SEED;
        for (int start = 0; start < length; start += BLOCK_BYTES) {
            final int end = Math.min(length, start + BLOCK_BYTES);
            chain = Hashing.mix(chain ^ block(utf8, start, end) ^ ((long) (end - start) << 56));
            into[blocks++] = chain == 0 ? 1 : chain;
        }
        return blocks;
    }

    /** At least the first {@code prefixBytes} bytes of the prompt's UTF-8 form, when it has that many. */
    private static byte[] utf8(String prompt, int prefixBytes) {
        // Each char is at least one byte: the first prefixBytes chars are enough.
        if (prompt.length() <= prefixBytes) {
            return prompt.getBytes(StandardCharsets.UTF_8);
        }
        int end = prefixBytes;
        if (Character.isHighSurrogate(prompt.charAt(end - 1))) {
            // Not half a pair, which would encode as '?'.
            end--;
        }
        return prompt.substring(0, end).getBytes(StandardCharsets.UTF_8);
    }

    /** {@code prefixBytes}, or less to end on a whole char, or the length of a shorter prefix. */
    private static int prefixLength(byte[] utf8, int prefixBytes) {
        if (utf8.length <= prefixBytes) {
            return utf8.length;
        }
        int length = prefixBytes;
        // A continuation byte (10xxxxxx) at the cut means the char it belongs to crosses it.
        while (length > 0 && (utf8[length] & 0xC0) == 0x80) {
            length--;
        }
        return length;
    }

    /** Bytes {@code start} to {@code end} (at most a block), eight at a time into four independent lanes. */
    private static long block(byte[] utf8, int start, int end) {
        long a = 0;
        long b = 0;
        long c = 0;
        long d = 0;
        int i = start;
        for (; i + 32 <= end; i += 32) {
            a = (a ^ (long) LONGS.get(utf8, i)) * LANE;
            b = (b ^ (long) LONGS.get(utf8, i + 8)) * LANE;
            c = (c ^ (long) LONGS.get(utf8, i + 16)) * LANE;
            d = (d ^ (long) LONGS.get(utf8, i + 24)) * LANE;
        }
        for (; i + 8 <= end; i += 8) {
            a = (a ^ (long) LONGS.get(utf8, i)) * LANE;
        }
        long tail = 0;
        for (int shift = 0; i < end; i++, shift += 8) {
            tail |= (utf8[i] & 0xFFL) << shift;
        }
        b = (b ^ tail) * LANE;
        return a ^ Long.rotateLeft(b, 16) ^ Long.rotateLeft(c, 32) ^ Long.rotateLeft(d, 48);
    }
}
