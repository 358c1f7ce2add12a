package io.cy.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RepeatedTextTest {

    @Test
    void textEqualToTheFieldsLastIsNotEncodedAgain() {
        final RepeatedText repeated = new RepeatedText(2, false);
        final byte[] first = repeated.bytes(0, "acme");

        // Equal text in another String, as each call's request brings its own.
        assertThat(repeated.bytes(0, new String("acme"))).isSameAs(first);
        assertThat(first).isEqualTo("acme".getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void eachFieldKeepsItsOwnText() {
        final RepeatedText repeated = new RepeatedText(2, false);
        final byte[] tenant = repeated.bytes(0, "acme");
        final byte[] model = repeated.bytes(1, "llama");

        assertThat(repeated.bytes(1, "acme")).isNotSameAs(tenant).isEqualTo(tenant);
        assertThat(repeated.bytes(0, "acme")).isSameAs(tenant);
        assertThat(repeated.bytes(1, "llama")).isEqualTo(model);
    }

    @Test
    void textsTakingTurnsInAFieldAreKept() {
        // The client addresses of four connections, their calls' events interleaved.
        final RepeatedText repeated = new RepeatedText(1, false);
        final List<String> addresses = List.of("10.0.0.7:50412", "10.0.0.7:50414", "10.0.0.8:39120", "[::1]:61000");
        final Map<String, Set<byte[]>> seen = new HashMap<>();
        for (int round = 0; round < 3; round++) {
            for (String address : addresses) {
                final byte[] b = repeated.bytes(0, new String(address));
                assertThat(b).isEqualTo(address.getBytes(StandardCharsets.UTF_8));
                seen.computeIfAbsent(address, k -> Collections.newSetFromMap(new IdentityHashMap<>())).add(b);
            }
        }
        assertThat(seen.values()).allSatisfy(arrays -> assertThat(arrays).as("encoded once").hasSize(1));
    }

    @Test
    void aFieldKeepsItsLatestTextsOnly() {
        final RepeatedText repeated = new RepeatedText(1, false);
        final List<byte[]> first = new ArrayList<>();
        for (int i = 0; i <= RepeatedText.ENTRIES; i++) {
            first.add(repeated.bytes(0, "tenant-" + i));
        }

        // One more text than entries: the first one was replaced by the last, the others are kept.
        final byte[] again = repeated.bytes(0, "tenant-0");
        assertThat(again).isNotSameAs(first.get(0)).isEqualTo("tenant-0".getBytes(StandardCharsets.UTF_8));
        for (int i = 2; i <= RepeatedText.ENTRIES; i++) {
            assertThat(repeated.bytes(0, "tenant-" + i)).isSameAs(first.get(i));
        }
    }

    @Test
    void longTextIsEncodedEachTimeAndDoesNotReplaceWhatIsKept() {
        final RepeatedText repeated = new RepeatedText(1, false);
        final String longText = "x".repeat(RepeatedText.MAX_KEPT_CHARS + 1);
        final byte[] kept = repeated.bytes(0, "short");

        final byte[] once = repeated.bytes(0, longText);

        assertThat(repeated.bytes(0, longText)).isNotSameAs(once).isEqualTo(once);
        assertThat(repeated.bytes(0, "short")).isSameAs(kept);
    }

    @Test
    void nulBecomesTheReplacementCharacterOnlyWhenAsked() {
        final String text = "a\u0000b ü\u0000";
        assertThat(new String(new RepeatedText(1, true).bytes(0, text), StandardCharsets.UTF_8))
                .isEqualTo("a\uFFFDb ü\uFFFD");
        assertThat(new String(new RepeatedText(1, true).once(text), StandardCharsets.UTF_8))
                .isEqualTo("a\uFFFDb ü\uFFFD");
        assertThat(new RepeatedText(1, false).bytes(0, text)).isEqualTo(text.getBytes(StandardCharsets.UTF_8));
        assertThat(new RepeatedText(1, true).bytes(0, "ünï 😀")).isEqualTo("ünï 😀".getBytes(StandardCharsets.UTF_8));
    }
}
