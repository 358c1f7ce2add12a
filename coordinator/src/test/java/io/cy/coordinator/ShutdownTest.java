package io.cy.coordinator;

import static io.cy.coordinator.TestStack.TIMEOUT;
import static io.cy.coordinator.TestStack.call;
import static io.cy.coordinator.TestStack.request;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.TestStack.Result;
import io.cy.llm.proto.StreamPredictResponse;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Graceful shutdown: health turns NOT_SERVING, new calls are refused, open streams finish within
 * the grace period and are cancelled after it.
 */
class ShutdownTest {

    @TempDir
    Path dir;

    @Test
    void openStreamsFinishWhileNewCallsAreRefused() throws Exception {
        try (TestStack stack = TestStack.start(dir, sim -> { })) {
            final ManagedChannel channel = stack.coordinatorChannel();
            // given a load balancer watching health, and a stream of ~2 s in flight
            final HealthWatch watch = HealthWatch.start(channel, "");
            assertThat(watch.next()).isEqualTo(ServingStatus.SERVING);
            final InFlightStream stream = InFlightStream.start(channel, request(50, Map.of("sim.gap_ms", "40")), 3);
            assertThat(stream.progress.await(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).isTrue();

            // when the coordinator is asked to shut down
            final CompletableFuture<Void> shutdown =
                    CompletableFuture.runAsync(() -> stack.coordinator.shutdown(Duration.ofSeconds(10)));

            // then health turns NOT_SERVING while the stream is still running
            assertThat(watch.next()).isEqualTo(ServingStatus.NOT_SERVING);
            assertThat(stream.done).as("stream still running when NOT_SERVING arrives").isNotDone();
            watch.cancel();

            // and new clients are refused while the stream is still running
            final int port = stack.coordinator.grpcEndpoint().port();
            Eventually.await("TCP listener closed", Duration.ofSeconds(5), () -> !acceptsConnections(port));
            final Result refused = call(stack.channel(stack.coordinator.grpcEndpoint()), request(1));
            assertThat(refused.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
            assertThat(stream.done).as("stream still running when new calls are refused").isNotDone();
            assertThat(shutdown).isNotDone();

            // and the open stream completes with every chunk, after which shutdown returns
            assertThat(stream.done.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.OK);
            assertThat(stream.chunks()).hasSize(50);
            assertThat(stream.chunks().stream().map(StreamPredictResponse::getIndex).toList())
                    .isEqualTo(IntStream.range(0, 50).boxed().toList());
            assertThat(stream.responses.get(stream.responses.size() - 1).getEndOfStream()).isTrue();
            shutdown.get(5, TimeUnit.SECONDS);
            assertThat(stack.sim().stats().callsSucceeded()).isEqualTo(1);
            assertThat(stack.sim().stats().callsCancelled()).isZero();
            assertThat(stack.coordinator.activeCalls()).isZero();
        }
    }

    @Test
    void streamsStillOpenAfterTheGracePeriodAreCancelled() throws Exception {
        try (TestStack stack = TestStack.start(dir, sim -> { })) {
            // given a stream that stalls after 3 chunks and would never end by itself
            final InFlightStream stream = InFlightStream.start(stack.coordinatorChannel(),
                    request(50, Map.of("sim.stall_after", "3")), 3);
            assertThat(stream.progress.await(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).isTrue();
            final Duration grace = Duration.ofMillis(300);

            // when the coordinator shuts down with a short grace period
            final long started = System.nanoTime();
            final CompletableFuture<Void> shutdown =
                    CompletableFuture.runAsync(() -> stack.coordinator.shutdown(grace));

            // then shutdown returns, the client gets an error after the grace, and the sidecar sees the cancel
            shutdown.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            final Status status = stream.done.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            assertThat(status.isOk()).as("client status %s", status).isFalse();
            assertThat(Duration.ofNanos(stream.endedAtNanos - started)).isGreaterThanOrEqualTo(grace);
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(10));
            assertThat(stream.chunks()).hasSize(3);
            assertThat(stack.sim().stats().awaitCancelled(1, TIMEOUT)).isTrue();
            assertThat(stack.sim().stats().awaitInflight(0, TIMEOUT)).isTrue();
            assertThat(stack.coordinator.activeCalls()).isZero();
        }
    }

    @Test
    void withNothingOpenShutdownReturnsAtOnceAndIsIdempotent() throws Exception {
        try (TestStack stack = TestStack.start(dir, sim -> { })) {
            assertThat(call(stack.coordinatorChannel(), request(2)).status().isOk()).isTrue();

            final long started = System.nanoTime();
            stack.coordinator.shutdown(Duration.ofSeconds(10));
            stack.coordinator.shutdown(Duration.ofSeconds(10));

            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
            assertThat(call(stack.channel(stack.coordinator.grpcEndpoint()), request(1)).status().getCode())
                    .isEqualTo(Status.Code.UNAVAILABLE);
            assertThat(stack.sim().stats().callsStarted()).isEqualTo(1);
        }
    }

    private static boolean acceptsConnections(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** A grpc.health.v1 Watch, as load balancers keep one open. */
    static final class HealthWatch implements ClientResponseObserver<HealthCheckRequest, HealthCheckResponse> {

        private final BlockingQueue<ServingStatus> statuses = new LinkedBlockingQueue<>();
        private volatile ClientCallStreamObserver<HealthCheckRequest> call;

        static HealthWatch start(ManagedChannel channel, String service) {
            final HealthWatch watch = new HealthWatch();
            HealthGrpc.newStub(channel).watch(HealthCheckRequest.newBuilder().setService(service).build(), watch);
            return watch;
        }

        ServingStatus next() throws InterruptedException {
            final ServingStatus status = statuses.poll(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            assertThat(status).as("a health status within %s", TIMEOUT).isNotNull();
            return status;
        }

        void cancel() {
            call.cancel("test done watching", null);
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<HealthCheckRequest> requestStream) {
            this.call = requestStream;
        }

        @Override
        public void onNext(HealthCheckResponse response) {
            statuses.add(response.getStatus());
        }

        @Override
        public void onError(Throwable t) {
        }

        @Override
        public void onCompleted() {
        }
    }
}
