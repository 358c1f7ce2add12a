package io.cy.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class SimStatsTest {

    @Test
    void awaitTimesOutWhenNothingHappens() throws Exception {
        final SimStats stats = new SimStats();

        assertThat(stats.awaitCancelled(1, Duration.ofMillis(20))).isFalse();
        assertThat(stats.awaitPushback(Duration.ZERO)).isFalse();
    }

    @Test
    void awaitWakesOnTheChange() throws Exception {
        final SimStats stats = new SimStats();
        final CountDownLatch waiting = new CountDownLatch(1);
        final CompletableFuture<Boolean> cancelled = CompletableFuture.supplyAsync(() -> {
            waiting.countDown();
            try {
                return stats.awaitCancelled(1, Duration.ofSeconds(10));
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        assertThat(waiting.await(10, TimeUnit.SECONDS)).isTrue();

        stats.callStarted();
        stats.callCancelled();

        assertThat(cancelled.get(10, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void inflightAndMaxInflight() {
        final SimStats stats = new SimStats();

        stats.callStarted();
        stats.callStarted();
        stats.callSucceeded();
        stats.callStarted();
        stats.callFailed();
        stats.callCancelled();

        assertThat(stats.inflight()).isZero();
        assertThat(stats.maxInflight()).isEqualTo(2);
        assertThat(stats.callsStarted()).isEqualTo(3);
    }

    @Test
    void resetKeepsCallsInFlight() {
        final SimStats stats = new SimStats();
        stats.callStarted();
        stats.callStarted();
        stats.callSucceeded();
        stats.pushback();

        stats.reset();

        assertThat(stats.callsStarted()).isZero();
        assertThat(stats.pushbacks()).isZero();
        assertThat(stats.inflight()).isEqualTo(1);
        assertThat(stats.maxInflight()).isEqualTo(1);
    }
}
