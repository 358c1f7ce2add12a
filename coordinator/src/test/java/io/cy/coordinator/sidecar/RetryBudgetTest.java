package io.cy.coordinator.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The retry budget: a percent of the calls over a sliding 10 s window, with a minimum of 3. */
class RetryBudgetTest {

    private static final long SECOND = 1_000_000_000L;

    private final AtomicLong now = new AtomicLong(-3 * SECOND + 17);

    private static int retriesTaken(RetryBudget budget, int tries) {
        int taken = 0;
        for (int i = 0; i < tries; i++) {
            if (budget.tryRetry()) {
                taken++;
            }
        }
        return taken;
    }

    @Test
    void aQuietBackendMayRetryThreeTimes() {
        final RetryBudget budget = new RetryBudget(20, now::get);
        budget.recordCall();

        assertThat(retriesTaken(budget, 10)).isEqualTo(RetryBudget.MIN_RETRIES);
    }

    @Test
    void retriesStayWithinThePercentOfTheCalls() {
        final RetryBudget budget = new RetryBudget(20, now::get);
        for (int i = 0; i < 100; i++) {
            budget.recordCall();
        }

        assertThat(retriesTaken(budget, 100)).isEqualTo(20);
    }

    @Test
    void theWindowSlidesSoOldCallsAndRetriesNoLongerCount() {
        final RetryBudget budget = new RetryBudget(20, now::get);
        for (int i = 0; i < 100; i++) {
            budget.recordCall();
        }
        assertThat(retriesTaken(budget, 20)).isEqualTo(20);

        now.addAndGet(9 * SECOND);
        assertThat(budget.tryRetry()).as("the same window").isFalse();

        now.addAndGet(SECOND);
        // those calls and retries are out of the window: only the minimum is left
        assertThat(retriesTaken(budget, 10)).isEqualTo(RetryBudget.MIN_RETRIES);
    }

    @Test
    void callsSpreadOverTheWindowAllCount() {
        // The window is the current second and the nine before it.
        now.set(-3 * SECOND);
        final RetryBudget budget = new RetryBudget(50, now::get);
        for (int second = 0; second < 10; second++) {
            for (int i = 0; i < 4; i++) {
                budget.recordCall();
            }
            now.addAndGet(SECOND);
        }
        now.addAndGet(-1);

        assertThat(retriesTaken(budget, 100)).isEqualTo(20);
    }

    @Test
    void zeroPercentTurnsRetriesOff() {
        final RetryBudget budget = new RetryBudget(0, now::get);
        budget.recordCall();

        assertThat(budget.tryRetry()).isFalse();
    }

    @Test
    void aPercentOutsideItsRangeIsRefusedNamingTheSetting() {
        assertThatThrownBy(() -> new RetryBudget(101))
                .hasMessage("retry_budget_percent: 101 (expected: in [0, 100])");
    }
}
