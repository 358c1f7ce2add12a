package io.cy.coordinator.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The order of waiting calls: priority bands first, then the tenants in turn, each in its own order. */
class FairQueueTest {

    private static List<String> drain(FairQueue<String> queue) {
        final List<String> out = new ArrayList<>();
        for (String next = queue.peek(); next != null; next = queue.peek()) {
            assertThat(queue.poll()).isEqualTo(next);
            out.add(next);
        }
        assertThat(queue.size()).isZero();
        return out;
    }

    @Test
    void aFloodingTenantTakesTurnsWithTheOthers() {
        final FairQueue<String> queue = new FairQueue<>();
        for (int i = 1; i <= 5; i++) {
            queue.add("a", 0, "a" + i);
        }
        queue.add("b", 0, "b1");
        queue.add("b", 0, "b2");
        queue.add("c", 0, "c1");

        assertThat(drain(queue)).containsExactly("a1", "b1", "c1", "a2", "b2", "a3", "a4", "a5");
    }

    @Test
    void higherPrioritiesGoFirstWhateverTheirTenant() {
        final FairQueue<String> queue = new FairQueue<>();
        queue.add("a", 0, "a-normal");
        queue.add("a", -5, "a-low");
        queue.add("b", 7, "b-high");
        queue.add("a", 7, "a-high");

        assertThat(drain(queue)).containsExactly("b-high", "a-high", "a-normal", "a-low");
    }

    @Test
    void aCallThatLeavesLosesItsPlaceAndNothingElse() {
        final FairQueue<String> queue = new FairQueue<>();
        queue.add("a", 0, "a1");
        queue.add("b", 0, "b1");
        queue.add("a", 0, "a2");
        queue.add("c", 3, "c1");

        assertThat(queue.remove("b", 0, "b1")).isTrue();
        assertThat(queue.remove("b", 0, "b1")).isFalse();
        assertThat(queue.remove("c", 3, "c1")).isTrue();
        assertThat(queue.size()).isEqualTo(2);
        assertThat(drain(queue)).containsExactly("a1", "a2");
    }
}
