package io.cy.coordinator;

import static io.cy.coordinator.QuotaCalls.assertExhausted;
import static io.cy.coordinator.QuotaCalls.awaitInflight;
import static io.cy.coordinator.QuotaCalls.request;
import static io.cy.coordinator.QuotaCalls.usage;
import static io.cy.coordinator.TestStack.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.QuotaCalls.Stream;
import io.cy.coordinator.TestStack.Result;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Concurrency and request-rate limits hold exactly for calls racing through the coordinator. */
class QuotaConcurrencyTest {

    @TempDir
    Path dir;

    @Test
    void aConcurrencyLimitOfEightNeverOpensANinthStreamAtTheSidecar() throws Exception {
        try (TestStack stack = TestStack.start(dir, 1, sim -> { }, "quota: {default: {concurrent: 8}}", Map.of())) {
            final ManagedChannel channel = stack.coordinatorChannel();
            // given: 32 calls of 10 chunks 30 ms apart, started together so that they overlap
            final List<Stream> streams = new ArrayList<>();
            for (int i = 0; i < 32; i++) {
                streams.add(Stream.start(channel, request("", 10, Map.of("sim.gap_ms", "30")), 10));
            }

            // then: each either completes with all its chunks or is refused for concurrency
            int ok = 0;
            int refused = 0;
            for (Stream stream : streams) {
                final Result result = stream.awaitResult();
                if (result.status().isOk()) {
                    ok++;
                    assertThat(result.chunks()).hasSize(10);
                } else {
                    refused++;
                    final long hint = assertExhausted(result, "tenant default: 9 concurrent streams (limit 8)");
                    assertThat(hint).isEqualTo(1000);
                    assertThat(result.responses()).isEmpty();
                }
            }
            assertThat(ok).isGreaterThanOrEqualTo(8);
            assertThat(refused).as("calls refused while eight were open").isPositive();
            assertThat(stack.sim().stats().maxInflight()).isBetween(1, 8);
            assertThat(stack.sim().stats().callsStarted()).isEqualTo(ok);
            awaitInflight(channel, "default", 0);
            assertThat(usage(channel, "default", "admitted")).isEqualTo(ok);
            assertThat(usage(channel, "default", "rejected.concurrent")).isEqualTo(refused);
        }
    }

    @Test
    void requestsPerMinuteAreExactForCallsRacingThroughTheCoordinator() throws Exception {
        // given: 20 requests a minute (one refills every 3 s), and 8 threads making 5 calls each at once
        try (TestStack stack = TestStack.start(dir, 1, sim -> { },
                "quota: {tenants: {racer: {requests_per_minute: 20}}}", Map.of())) {
            final ManagedChannel channel = stack.coordinatorChannel();
            final ExecutorService pool = Executors.newFixedThreadPool(8);
            final CyclicBarrier start = new CyclicBarrier(8);
            final ConcurrentLinkedQueue<Result> results = new ConcurrentLinkedQueue<>();
            final long started = System.nanoTime();
            try {
                final List<Future<?>> threads = new ArrayList<>();
                for (int t = 0; t < 8; t++) {
                    threads.add(pool.submit(() -> {
                        start.await(10, TimeUnit.SECONDS);
                        for (int i = 0; i < 5; i++) {
                            results.add(QuotaCalls.call(channel, request("racer", 2)));
                        }
                        return null;
                    }));
                }
                for (Future<?> thread : threads) {
                    thread.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
            final long elapsedMillis = Duration.ofNanos(System.nanoTime() - started).toMillis();

            // then: 20 admitted (plus one per 3 s the race took), every other call refused with the rate's hint
            final long ok = results.stream().filter(r -> r.status().isOk()).count();
            assertThat(ok).isBetween(20L, 20L + elapsedMillis / 3000);
            for (Result result : results) {
                if (!result.status().isOk()) {
                    final long hint = assertExhausted(result, "tenant racer: 21 requests/min (limit 20)");
                    assertThat(hint).isBetween(Math.max(1, 3000 - elapsedMillis), 3000L);
                }
            }
            assertThat(results.stream().map(r -> r.status().getCode()))
                    .containsOnly(Status.Code.OK, Status.Code.RESOURCE_EXHAUSTED);
            assertThat(stack.sim().stats().callsStarted()).isEqualTo(ok);
        }
    }
}
