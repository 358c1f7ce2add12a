package io.cy.coordinator;

import static io.cy.coordinator.TestStack.TIMEOUT;
import static io.cy.coordinator.TestStack.call;
import static io.cy.coordinator.TestStack.request;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.TestStack.Result;
import io.cy.coordinator.service.CallSummary;
import io.cy.sim.SimConfig;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The one retry (gRFC A6): a call whose sidecar fails with UNAVAILABLE before the first response
 * goes to another sidecar; never after the first chunk; and the retry budget bounds what a
 * failing fleet gets. Attempts are counted at the simulated sidecars.
 */
class RetryBeforeFirstResponseTest {

    /** Ejection off, so that the failing sidecars keep being picked. */
    private static final String NO_EJECTION = "sidecars: {outlier: {max_ejection_percent: 0}, retry_budget_percent: %d}";

    @TempDir
    Path dir;

    private TestStack stack;
    private ManagedChannel channel;

    @AfterEach
    void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    private void start(int sidecars, int failing, Consumer<SimConfig.Builder> fault, int budgetPercent)
            throws Exception {
        final AtomicInteger index = new AtomicInteger();
        stack = TestStack.start(dir, sidecars, sim -> {
            if (index.getAndIncrement() < failing) {
                fault.accept(sim);
            }
        }, NO_EJECTION.formatted(budgetPercent), Map.of());
        channel = stack.coordinatorChannel();
    }

    private long started(int sim) {
        return stack.sims.get(sim).stats().callsStarted();
    }

    @Test
    void aCallRefusedBeforeItsFirstResponseIsRetriedOnTheOtherSidecar() throws Exception {
        start(2, 1, sim -> sim.failStatus(Status.Code.UNAVAILABLE).failAfter(0), 100);

        for (int i = 0; i < 10; i++) {
            final Result result = call(channel, request(4));
            assertThat(result.status().getCode()).as("call %d: %s", i, result.status()).isEqualTo(Status.Code.OK);
            assertThat(result.chunks()).hasSize(4);
            final CallSummary summary = stack.summaries.poll(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            assertThat(summary.sidecar()).isEqualTo(stack.sims.get(1).target());
        }

        assertThat(started(0)).as("the failing sidecar had its share of first attempts").isGreaterThanOrEqualTo(3);
        assertThat(stack.sims.get(0).stats().callsFailed()).isEqualTo(started(0));
        assertThat(stack.sims.get(1).stats().callsSucceeded()).isEqualTo(10);
    }

    @Test
    void thereIsNoRetryAfterTheFirstChunk() throws Exception {
        start(2, 1, sim -> sim.failStatus(Status.Code.UNAVAILABLE).failAfter(2), 100);

        int failed = 0;
        for (int i = 0; i < 10; i++) {
            final Result result = call(channel, request(4));
            if (!result.status().isOk()) {
                failed++;
                assertThat(result.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
                assertThat(result.chunks()).as("what the first sidecar sent, and nothing more").hasSize(2);
            }
        }

        assertThat(failed).isEqualTo(started(0)).isGreaterThanOrEqualTo(3);
        assertThat(started(0) + started(1)).as("one attempt per call").isEqualTo(10);
    }

    @Test
    void aRetryStaysInTheBackendOfTheFirstAttempt() throws Exception {
        final AtomicInteger index = new AtomicInteger();
        stack = TestStack.start(dir, 2, sim -> {
            sim.models(java.util.List.of("m"));
            if (index.getAndIncrement() == 0) {
                sim.failStatus(Status.Code.UNAVAILABLE).failAfter(0);
            }
        }, """
                backends:
                  - id: a
                    addresses: ["unix://%1$s/sidecar-0.sock"]
                    models: [{id: m}]
                    outlier: {max_ejection_percent: 0}
                    retry_budget_percent: 100
                  - id: b
                    addresses: ["unix://%1$s/sidecar-1.sock"]
                    models: [{id: m}]
                routes:
                  aliases:
                    default: {backend: a, model: m}
                """.formatted(dir), Map.of());
        channel = stack.coordinatorChannel();

        // "m" resolves to both backends; a call whose first attempt failed in a is not moved to b
        int failed = 0;
        for (int i = 0; i < 6; i++) {
            final Result result = call(channel, request(2).toBuilder().setModelId("m").build());
            if (!result.status().isOk()) {
                failed++;
                assertThat(result.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
            }
        }

        assertThat(started(0)).isEqualTo(failed).isPositive();
        assertThat(started(0) + started(1)).isEqualTo(6);
    }

    @Test
    void theRetryBudgetHoldsUnderAFailingFleet() throws Exception {
        start(2, 2, sim -> sim.failStatus(Status.Code.UNAVAILABLE).failAfter(0), 20);
        final int calls = 50;

        final long startNanos = System.nanoTime();
        for (int i = 0; i < calls; i++) {
            assertThat(call(channel, request(2)).status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        }
        final long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - startNanos);

        final long retries = started(0) + started(1) - calls;
        assertThat(retries).as("retries do happen").isGreaterThanOrEqualTo(3);
        // 20 % of 50 calls; more only if the calls took longer than the 10 s window
        assertThat(retries).as("retries after %d s", seconds).isLessThanOrEqualTo(seconds < 9 ? 10 : 10 + 3 * (seconds / 9 + 1));
    }
}
