package io.cy.bench.compare;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class JitWarmUpTest {

    private static final long SECOND = 1_000_000_000L;
    private static final Duration RUN = Duration.ofSeconds(20);

    @Test
    void aRunIsSettledWhenTheJitTakesAtMostThreePercentOfTheProcesssCpu() {
        assertThat(JitWarmUp.settled(SECOND, 30_000_000L)).isTrue();
        assertThat(JitWarmUp.settled(SECOND, 31_000_000L)).isFalse();
        assertThat(JitWarmUp.settled(SECOND, 0)).isTrue();
        assertThat(JitWarmUp.settled(SECOND, -1)).as("not known: nothing to wait for").isTrue();
        assertThat(JitWarmUp.settled(-1, 5)).isTrue();
    }

    @Test
    void oneQuietRunDoesNotEndTheWarmUp() {
        final JitWarmUp warmUp = new JitWarmUp(Duration.ofSeconds(60));

        warmUp.add(RUN, SECOND, 0);

        assertThat(warmUp.settled()).isFalse();
        assertThat(warmUp.wantsAnother(RUN)).isTrue();
    }

    @Test
    void theFirstRunDoesNotCountHoweverQuiet() {
        final JitWarmUp warmUp = new JitWarmUp(Duration.ofSeconds(60));
        warmUp.add(RUN, SECOND, 0);
        warmUp.add(Duration.ofSeconds(10), SECOND, 0);
        assertThat(warmUp.settled()).isFalse();
        assertThat(warmUp.settledInARow()).isEqualTo(1);

        warmUp.add(Duration.ofSeconds(10), SECOND, 0);

        assertThat(warmUp.settled()).isTrue();
        assertThat(warmUp.spent()).isEqualTo(Duration.ofSeconds(40));
    }

    @Test
    void twoQuietRunsInARowEndIt() {
        final JitWarmUp warmUp = new JitWarmUp(Duration.ofSeconds(120));
        warmUp.add(RUN, SECOND, 0);
        warmUp.add(RUN, SECOND, SECOND / 10);
        warmUp.add(RUN, SECOND, 0);
        assertThat(warmUp.settled()).as("a busy run in between starts the count again").isFalse();

        warmUp.add(RUN, SECOND, 0);

        assertThat(warmUp.settled()).isTrue();
        assertThat(warmUp.settledInARow()).isEqualTo(2);
        assertThat(warmUp.wantsAnother(RUN)).isFalse();
        assertThat(warmUp.spent()).isEqualTo(Duration.ofSeconds(80));
    }

    @Test
    void theLimitEndsAWarmUpThatNeverSettles() {
        final JitWarmUp warmUp = new JitWarmUp(Duration.ofSeconds(60));
        warmUp.add(RUN, SECOND, SECOND / 10);
        warmUp.add(RUN, SECOND, SECOND / 10);
        assertThat(warmUp.wantsAnother(RUN)).as("a third run reaches the limit exactly").isTrue();

        warmUp.add(RUN, SECOND, SECOND / 10);

        assertThat(warmUp.wantsAnother(RUN)).isFalse();
        assertThat(warmUp.wantsAnother(Duration.ofSeconds(1))).isFalse();
        assertThat(warmUp.settled()).isFalse();
    }

    @Test
    void runsAfterTheFirstAreAsLongUpToTenSeconds() {
        assertThat(JitWarmUp.settlingRun(Duration.ofSeconds(3))).isEqualTo(Duration.ofSeconds(3));
        assertThat(JitWarmUp.settlingRun(Duration.ofSeconds(10))).isEqualTo(Duration.ofSeconds(10));
        assertThat(JitWarmUp.settlingRun(Duration.ofSeconds(30))).isEqualTo(Duration.ofSeconds(10));
    }
}
