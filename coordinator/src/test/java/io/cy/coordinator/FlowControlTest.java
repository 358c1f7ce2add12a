package io.cy.coordinator;

import static io.cy.coordinator.TestStack.TIMEOUT;
import static io.cy.coordinator.TestStack.request;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.StreamPredictResponse;
import io.cy.sim.SimStats;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client that stops reading pauses the sidecar: the coordinator relays the pushback instead of
 * buffering the stream.
 */
class FlowControlTest {

    private static final int CHUNKS = 8_000;
    private static final int CHUNK_BYTES = 4096;
    /** Generous: the HTTP/2 windows of both hops plus a few messages in flight; the full stream is 32 MB. */
    private static final long MAX_BYTES_AHEAD_OF_THE_CLIENT = 16L << 20;

    @TempDir
    Path dir;

    @Test
    void aClientThatReadsNothingPausesTheSidecar() throws Exception {
        try (TestStack stack = TestStack.start(dir, 1, sim -> { }, "limits: {max_new_tokens: 1000000}", Map.of())) {
            final SimStats sim = stack.sim().stats();
            final MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
            final ClientCall<io.cy.llm.proto.StreamPredictRequest, StreamPredictResponse> call =
                    stack.coordinatorChannel().newCall(AiInferenceGrpc.getStreamPredictMethod(), CallOptions.DEFAULT);
            final AtomicLong received = new AtomicLong();
            final CountDownLatch first = new CountDownLatch(1);
            final CompletableFuture<Status> closed = new CompletableFuture<>();
            call.start(new ClientCall.Listener<>() {
                @Override
                public void onMessage(StreamPredictResponse message) {
                    received.incrementAndGet();
                    first.countDown();
                }

                @Override
                public void onClose(Status status, Metadata trailers) {
                    closed.complete(status);
                }
            }, new Metadata());
            call.request(1);
            call.sendMessage(request(CHUNKS, Map.of("sim.chunk_bytes", String.valueOf(CHUNK_BYTES))));
            call.halfClose();
            assertThat(first.await(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).isTrue();

            // The client now reads nothing while the sidecar could produce 32 MB at once. The
            // sidecar is paused once the windows of both hops are full.
            assertThat(sim.awaitPushback(TIMEOUT)).as("sidecar saw pushback").isTrue();
            final long sentWhenPaused = awaitStable(sim);
            System.gc();
            final long heapWhenPaused = memory.getHeapMemoryUsage().getUsed();
            Thread.sleep(500); // time in which an unbounded relay would keep pulling chunks
            System.gc();
            final long heapLater = memory.getHeapMemoryUsage().getUsed();

            assertThat(received.get()).isEqualTo(1);
            assertThat(sentWhenPaused * CHUNK_BYTES)
                    .as("bytes the sidecar got to send ahead of the client")
                    .isLessThan(MAX_BYTES_AHEAD_OF_THE_CLIENT);
            assertThat(sim.chunksSent()).as("chunks sent while paused").isEqualTo(sentWhenPaused);
            assertThat(heapLater - heapWhenPaused).as("heap growth while paused").isLessThan(8L << 20);

            // Reading again resumes the stream, and nothing was lost on the way.
            call.request(Integer.MAX_VALUE);
            assertThat(closed.get(60, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.OK);
            assertThat(received.get()).isEqualTo(CHUNKS + 1);
            assertThat(sim.pushbacks()).isGreaterThanOrEqualTo(1);
        }
    }

    /** Waits until the sidecar has sent nothing more for 300 ms; returns the chunks sent by then. */
    private static long awaitStable(SimStats sim) throws InterruptedException {
        final long deadline = System.nanoTime() + TIMEOUT.toNanos();
        long last = sim.chunksSent();
        long stableSince = System.nanoTime();
        while (System.nanoTime() < deadline) {
            Thread.sleep(50);
            final long now = sim.chunksSent();
            if (now != last) {
                last = now;
                stableSince = System.nanoTime();
            } else if (System.nanoTime() - stableSince >= TimeUnit.MILLISECONDS.toNanos(300)) {
                return now;
            }
        }
        throw new AssertionError("the sidecar never paused: " + last + " chunks sent");
    }
}
