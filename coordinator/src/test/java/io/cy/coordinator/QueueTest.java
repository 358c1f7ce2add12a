package io.cy.coordinator;

import static io.cy.coordinator.QuotaCalls.assertExhausted;
import static io.cy.coordinator.QuotaCalls.control;
import static io.cy.coordinator.QuotaCalls.request;
import static io.cy.coordinator.TestStack.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.QuotaCalls.Stream;
import io.cy.coordinator.TestStack.Result;
import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.WorkerHealthRequest;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Calls beyond a backend's max_inflight wait in its queue, within its bounds, and leave it when their client does. */
class QueueTest {

    /** A call that holds its sidecar slot until cancelled: 1,000 chunks 20 ms apart. */
    private static final Map<String, String> HOLD = Map.of("sim.gap_ms", "20");

    @TempDir
    Path dir;

    @Test
    void callsBeyondMaxInflightWaitTheirTurnAndTheSidecarNeverHasMore() throws Exception {
        try (TestStack stack = TestStack.start(dir, 1, sim -> { }, "sidecars: {max_inflight: 2}", Map.of())) {
            final ManagedChannel channel = stack.coordinatorChannel();
            // given: 12 calls of 5 chunks 10 ms apart, started together
            final List<Stream> streams = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                streams.add(Stream.start(channel, request("t" + (i % 3), 5, Map.of("sim.gap_ms", "10")), 5));
            }

            // then: all complete, never more than two at once at the sidecar
            for (Stream stream : streams) {
                final Result result = stream.awaitResult();
                assertThat(result.status().isOk()).as("%s", result.status()).isTrue();
                assertThat(result.chunks()).hasSize(5);
            }
            assertThat(stack.sim().stats().maxInflight()).isEqualTo(2);
            assertThat(stack.sim().stats().callsStarted()).isEqualTo(12);
            final Map<String, String> sidecars = control(channel, "list_sidecars", Map.of()).getPayloadMap();
            assertThat(sidecars).containsEntry("backend.default.queue_depth", "0");
            assertThat(Long.parseLong(sidecars.get("backend.default.queue_wait_p50_ms"))).isPositive();
        }
    }

    @Test
    void aFullQueueRefusesAtOnceNamingItsLimitWithPushback() throws Exception {
        try (TestStack stack = TestStack.start(dir, 1, sim -> { },
                "sidecars: {max_inflight: 1, queue: {max_length: 2}}", Map.of())) {
            final ManagedChannel channel = stack.coordinatorChannel();
            // given: one call on the only slot and two waiting
            final Stream holder = Stream.start(channel, request("a", 1000, HOLD), 1);
            assertThat(holder.awaitChunks()).isTrue();
            final Stream second = Stream.start(channel, request("a", 2), 0);
            final Stream third = Stream.start(channel, request("b", 2), 0);
            awaitQueued(channel, 2);
            assertThat(health(channel)).containsEntry("queued", "2");

            // when: a fourth comes
            final long started = System.nanoTime();
            final Result refused = QuotaCalls.call(channel, request("c", 2));

            // then: refused at once, without reaching the sidecar
            assertExhausted(refused, "queue of backend default: 2 calls waiting (expected: <= 2, queue.max_length)");
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(2));
            assertThat(stack.sim().stats().callsStarted()).isEqualTo(1);

            // and the waiting calls are served once the slot frees
            holder.cancel();
            assertThat(second.awaitResult().status().isOk()).isTrue();
            assertThat(third.awaitResult().status().isOk()).isTrue();
            assertThat(stack.sim().stats().callsStarted()).isEqualTo(3);
        }
    }

    @Test
    void aCallWaitingPastMaxWaitIsRefusedWithPushbackAndNeverSent() throws Exception {
        try (TestStack stack = TestStack.start(dir, 1, sim -> { },
                "sidecars: {max_inflight: 1, queue: {max_wait: 300ms}}", Map.of())) {
            final ManagedChannel channel = stack.coordinatorChannel();
            final Stream holder = Stream.start(channel, request("a", 1000, HOLD), 1);
            assertThat(holder.awaitChunks()).isTrue();

            final long started = System.nanoTime();
            final Result refused = QuotaCalls.call(channel, request("b", 2));

            assertExhausted(refused, "ms in the queue of backend default (expected: <= 300ms, queue.max_wait)");
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isBetween(Duration.ofMillis(290), Duration.ofSeconds(5));
            assertThat(stack.sim().stats().callsStarted()).isEqualTo(1);
            assertThat(control(channel, "list_sidecars", Map.of()).getPayloadMap())
                    .containsEntry("backend.default.queue_depth", "0");
            holder.cancel();
        }
    }

    @Test
    void aCallCancelledOrPastItsDeadlineWhileQueuedReachesNothingDownstream() throws Exception {
        try (TestStack stack = TestStack.start(dir, 1, sim -> { },
                "sidecars: {max_inflight: 1}\nquota: {default: {concurrent: 10}}", Map.of())) {
            final ManagedChannel channel = stack.coordinatorChannel();
            final Stream holder = Stream.start(channel, request("a", 1000, HOLD), 1);
            assertThat(holder.awaitChunks()).isTrue();
            // given: one call cancelled by its client and one whose deadline passes, both queued
            final Stream cancelled = Stream.start(channel, request("b", 2), 0);
            awaitQueued(channel, 1);
            final Stream expiring = Stream.start(channel, request("b", 2), 0, new Metadata(), Duration.ofMillis(300));
            awaitQueued(channel, 2);

            cancelled.cancel();
            assertThat(cancelled.awaitResult().status().getCode()).isEqualTo(Status.Code.CANCELLED);
            assertThat(expiring.awaitResult().status().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
            awaitQueued(channel, 0);

            // then: the slot, once free, goes to a new call; neither queued call was ever sent
            holder.cancel();
            assertThat(holder.awaitResult().status().getCode()).isEqualTo(Status.Code.CANCELLED);
            assertThat(QuotaCalls.call(channel, request("c", 2)).status().isOk()).isTrue();
            assertThat(stack.sim().stats().callsStarted()).isEqualTo(2);
            // and their quota admissions were settled: tenant b holds no concurrent slot
            QuotaCalls.awaitInflight(channel, "b", 0);
        }
    }

    @Test
    void higherPriorityCallsLeaveTheQueueFirst() throws Exception {
        try (TestStack stack = TestStack.start(dir, 1, sim -> { }, "sidecars: {max_inflight: 1}", Map.of())) {
            final ManagedChannel channel = stack.coordinatorChannel();
            final Stream holder = Stream.start(channel, request("a", 1000, HOLD), 1);
            assertThat(holder.awaitChunks()).isTrue();
            // given: low, then normal, then high priority calls queued in that order
            final List<Stream> queued = new ArrayList<>();
            final int[] priorities = {-5, 0, 7};
            for (int i = 0; i < priorities.length; i++) {
                // 3 chunks 20 ms apart: far more than the order of callbacks among calls on the client
                queued.add(Stream.start(channel, request("a", 3, Map.of("sim.gap_ms", "20")).toBuilder()
                        .setPriority(priorities[i]).build(), 0));
                awaitQueued(channel, i + 1);
            }

            // when: the slot frees
            holder.cancel();

            // then: they are served highest first: the one served first finished first
            final List<Long> finished = new ArrayList<>();
            for (Stream stream : queued) {
                assertThat(stream.awaitResult().status().isOk()).isTrue();
            }
            for (Stream stream : queued) {
                finished.add(stream.finishedNanos);
            }
            assertThat(finished.get(2)).isLessThan(finished.get(1));
            assertThat(finished.get(1)).isLessThan(finished.get(0));
        }
    }

    static void awaitQueued(ManagedChannel channel, int depth) throws InterruptedException {
        Eventually.await("queue depth " + depth, TIMEOUT, () -> String.valueOf(depth).equals(
                control(channel, "list_sidecars", Map.of()).getPayloadOrDefault("backend.default.queue_depth", "")));
    }

    /** Waits until at least {@code depth} calls wait in {@code backend}'s queue. */
    static void awaitQueued(ManagedChannel channel, int depth, String backend) throws InterruptedException {
        Eventually.await("queue depth >= " + depth, TIMEOUT, () -> Integer.parseInt(control(channel, "list_sidecars",
                Map.of()).getPayloadOrDefault("backend." + backend + ".queue_depth", "0")) >= depth);
    }

    static Map<String, String> health(ManagedChannel channel) {
        return AiInferenceGrpc.newBlockingStub(channel).health(WorkerHealthRequest.getDefaultInstance()).getMetricsMap();
    }
}
