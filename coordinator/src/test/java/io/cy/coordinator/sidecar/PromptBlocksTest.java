package io.cy.coordinator.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class PromptBlocksTest {

    private static long[] blocks(String prompt, int prefixBytes) {
        final long[] into = new long[PromptBlocks.maxBlocks(prompt.length(), prefixBytes)];
        return Arrays.copyOf(into, PromptBlocks.hash(prompt, prefixBytes, into));
    }

    @Test
    void blocksOf64BytesUpToThePrefixLengthAndAShorterLastOne() {
        assertThat(blocks("a".repeat(2_000), 1024)).hasSize(16);
        assertThat(blocks("a".repeat(100), 1024)).hasSize(2);
        assertThat(blocks("a".repeat(64), 1024)).hasSize(1);
        assertThat(blocks("", 1024)).isEmpty();
    }

    @Test
    void bytesAreCountedAsUtf8() {
        // é is 2 bytes, 中 3, 😀 4 (two chars)
        assertThat(blocks("é".repeat(64), 1024)).hasSize(2);
        assertThat(blocks("中".repeat(100), 1024)).hasSize(5);
        assertThat(blocks("😀".repeat(100), 1024)).hasSize(7);
        // past the limit nothing counts: these differ at byte 101
        assertThat(blocks("é".repeat(50) + "x", 100)).isEqualTo(blocks("é".repeat(50) + "y", 100));
        assertThat(blocks("é".repeat(49) + "x", 100)).isNotEqualTo(blocks("é".repeat(49) + "y", 100));
        // a 3-byte char that would cross the limit is left out
        assertThat(blocks("ab中", 4)).isEqualTo(blocks("ab", 4));
    }

    @Test
    void eachBlockHashStandsForTheWholePrefixBeforeIt() {
        final String shared = "s".repeat(130);
        final long[] one = blocks(shared + "one", 1024);
        final long[] two = blocks(shared + "two", 1024);
        final long[] shifted = blocks("t" + shared.substring(1) + "one", 1024);

        assertThat(one[0]).isEqualTo(two[0]);
        assertThat(one[1]).isEqualTo(two[1]);
        assertThat(one[2]).isNotEqualTo(two[2]);
        // a difference in the first block changes every block after it
        assertThat(shifted[1]).isNotEqualTo(one[1]);
        assertThat(shifted[2]).isNotEqualTo(one[2]);
    }

    @Test
    void everyCharCounts() {
        for (String base : new String[] {"x".repeat(63), "x".repeat(21) + "é" + "x".repeat(40)}) {
            for (int i = 0; i < base.length(); i++) {
                final char[] changed = base.toCharArray();
                changed[i] = changed[i] == 'y' ? 'z' : 'y';
                assertThat(blocks(new String(changed), 1024)).as("char %d of %s", i, base)
                        .isNotEqualTo(blocks(base, 1024));
            }
        }
        assertThat(blocks("ab", 1024)).isNotEqualTo(blocks("ba", 1024));
        assertThat(blocks("a", 1024)).isNotEqualTo(blocks("a\0", 1024));
    }
}
