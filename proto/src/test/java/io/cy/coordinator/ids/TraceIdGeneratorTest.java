package io.cy.coordinator.ids;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class TraceIdGeneratorTest {

    @Test
    void aNewIdIsAVersion7UuidCarryingTheTimeItWasMade() {
        final long before = System.currentTimeMillis();
        final UUID id = UUID.fromString(TraceIdGenerator.next());
        final long after = System.currentTimeMillis();

        assertThat(id.version()).isEqualTo(7);
        assertThat(id.variant()).isEqualTo(2);
        assertThat(id.getMostSignificantBits() >>> 16).isBetween(before, after);
    }

    @Test
    void idsMadeInLaterMillisecondsSortAfterAsText() throws Exception {
        final List<String> ids = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            final long at = System.currentTimeMillis();
            ids.add(TraceIdGenerator.next());
            while (System.currentTimeMillis() == at) {
                Thread.onSpinWait();
            }
        }

        assertThat(ids).isSorted();
    }

    @Test
    void idsMadeInOneMillisecondDiffer() {
        final HashSet<String> ids = new HashSet<>();
        for (int i = 0; i < 10_000; i++) {
            ids.add(TraceIdGenerator.next());
        }

        assertThat(ids).hasSize(10_000);
    }
}
