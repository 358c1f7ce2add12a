package io.cy.bridge.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class StopScannerTest {

    @Test
    void withoutStopSequencesEverythingPassesAtOnce() {
        final StopScanner s = new StopScanner(List.of());
        assertThat(s.accept("abc")).isEqualTo("abc");
        assertThat(s.flush()).isEmpty();
        assertThat(s.matched()).isFalse();
    }

    @Test
    void matchInsideOneChunk() {
        final StopScanner s = new StopScanner(List.of("STOP"));
        assertThat(s.accept("one STOP two")).isEqualTo("one ");
        assertThat(s.matched()).isTrue();
        assertThat(s.accept("more")).isEmpty();
    }

    @Test
    void matchSplitAcrossChunksHoldsOnlyAPossiblePrefix() {
        final StopScanner s = new StopScanner(List.of("STOP"));
        assertThat(s.accept("one S")).isEqualTo("one "); // "S" may start "STOP"
        assertThat(s.accept("T")).isEmpty();             // "ST" still may
        assertThat(s.accept("OP and")).isEmpty();
        assertThat(s.matched()).isTrue();
    }

    @Test
    void heldTextIsReleasedWhenItTurnsOutNotToMatch() {
        final StopScanner s = new StopScanner(List.of("STOP"));
        assertThat(s.accept("one ST")).isEqualTo("one ");
        assertThat(s.accept("ART")).isEqualTo("START");
        assertThat(s.accept(" ST")).isEqualTo(" ");
        assertThat(s.flush()).isEqualTo("ST"); // the stream ended: what was held goes out
        assertThat(s.matched()).isFalse();
    }

    @Test
    void earliestOfSeveralSequencesWins() {
        final StopScanner s = new StopScanner(List.of("world", "lo, w"));
        assertThat(s.accept("Hello, world")).isEqualTo("Hel");
    }

    @Test
    void heldTailNeverExceedsLongestSequenceMinusOne() {
        final StopScanner s = new StopScanner(List.of("abcdef"));
        assertThat(s.accept("xxabcde")).isEqualTo("xx");
        assertThat(s.flush()).isEqualTo("abcde");
    }

    @Test
    void surrogatePairsAreNotSplit() {
        final StopScanner s = new StopScanner(List.of("\udc00x"));
        // The low surrogate could start the (odd) stop sequence; its high surrogate stays with it.
        assertThat(s.accept("a\ud800\udc00")).isEqualTo("a");
        assertThat(s.flush()).isEqualTo("\ud800\udc00");
    }
}
