package io.cy.coordinator;

import static io.cy.coordinator.TestStack.TIMEOUT;
import static io.cy.coordinator.TestStack.call;
import static io.cy.coordinator.TestStack.request;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.TestStack.Result;
import io.cy.coordinator.service.CallSummary;
import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.StreamPredictRequest;
import io.cy.llm.proto.StreamPredictResponse;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Cancellation and deadlines travel from the client to the sidecar; a dying sidecar ends the client's call. */
class CancellationTest {

    @TempDir
    Path dir;

    @Test
    void clientCancelReachesTheSidecar() throws Exception {
        try (TestStack stack = TestStack.start(dir, sim -> { })) {
            final StreamingClient client = StreamingClient.start(stack.coordinatorChannel(),
                    request(100, Map.of("sim.stall_after", "2")), 2);
            assertThat(client.chunksReceived.await(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).isTrue();

            client.cancel();

            assertThat(stack.sim().stats().awaitCancelled(1, TIMEOUT)).isTrue();
            final CallSummary summary = stack.summaries.poll(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            assertThat(summary.cancelledByClient()).isTrue();
            assertThat(summary.status().getCode()).isEqualTo(Status.Code.CANCELLED);
            assertThat(summary.chunks()).isEqualTo(2);
            assertThat(stack.coordinator.sidecars().all().get(0).inflight()).isZero();
            assertThat(stack.coordinator.activeCalls()).isZero();
        }
    }

    @Test
    void clientDisconnectReachesTheSidecar() throws Exception {
        try (TestStack stack = TestStack.start(dir, sim -> { })) {
            final ManagedChannel channel = stack.coordinatorChannel();
            final StreamingClient client = StreamingClient.start(channel, request(100, Map.of("sim.stall_after", "1")), 1);
            assertThat(client.chunksReceived.await(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).isTrue();

            channel.shutdownNow();

            assertThat(stack.sim().stats().awaitCancelled(1, TIMEOUT)).isTrue();
            assertThat(stack.sim().stats().awaitInflight(0, TIMEOUT)).isTrue();
        }
    }

    @Test
    void clientDeadlinePropagatesToTheSidecar() throws Exception {
        try (TestStack stack = TestStack.start(dir, sim -> { })) {
            final Result result = call(stack.coordinatorChannel(), request(100, Map.of("sim.stall_after", "1")),
                    new Metadata(), Duration.ofMillis(500));

            assertThat(result.status().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
            assertThat(result.chunks()).hasSize(1);
            assertThat(stack.sim().stats().awaitCancelled(1, TIMEOUT)).isTrue();
        }
    }

    @Test
    void sidecarDeathMidStreamEndsTheClientsCallWithAnError() throws Exception {
        final Path socket = dir.resolve("external-sidecar.sock");
        final Process sidecar = startSidecarProcess(socket);
        try (TestStack stack = TestStack.start(dir, 0, sim -> { }, "",
                Map.of("SIDECAR_GRPC_ADDR", "unix://" + socket))) {
            final StreamingClient client = StreamingClient.start(stack.coordinatorChannel(),
                    request(100, Map.of("sim.stall_after", "3")), 3);
            assertThat(client.chunksReceived.await(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).isTrue();

            sidecar.destroyForcibly();

            final Status status = client.status.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            assertThat(status.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
            assertThat(status.getDescription()).contains("unix://" + socket);
            assertThat(client.received).isEqualTo(3);
            // The client may hear of the end a moment before the coordinator has counted it.
            Eventually.await("no open streams", TIMEOUT, () -> stack.coordinator.activeCalls() == 0);
        } finally {
            sidecar.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** The simulated sidecar as its own process, so that it can really die. */
    private static Process startSidecarProcess(Path socket) throws Exception {
        final Process process = new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"),
                "io.cy.sim.SimMain", "--listen", "unix://" + socket)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        try {
            Eventually.await("the sidecar process listens on " + socket, TIMEOUT,
                    () -> !process.isAlive() || UnixSocketFiles.isListening(socket));
        } catch (AssertionError | InterruptedException e) {
            process.destroyForcibly();
            throw e;
        }
        if (!process.isAlive()) {
            throw new AssertionError("simulated sidecar process exited with " + process.exitValue());
        }
        return process;
    }

    /** A StreamPredict client that can be cancelled mid-stream. */
    static final class StreamingClient implements ClientResponseObserver<StreamPredictRequest, StreamPredictResponse> {

        final CountDownLatch chunksReceived;
        final CompletableFuture<Status> status = new CompletableFuture<>();
        volatile int received;
        private volatile ClientCallStreamObserver<StreamPredictRequest> requests;

        private StreamingClient(int expectChunks) {
            this.chunksReceived = new CountDownLatch(expectChunks);
        }

        static StreamingClient start(ManagedChannel channel, StreamPredictRequest request, int expectChunks) {
            final StreamingClient client = new StreamingClient(expectChunks);
            AiInferenceGrpc.newStub(channel).streamPredict(client);
            client.requests.onNext(request);
            client.requests.onCompleted();
            return client;
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<StreamPredictRequest> requestStream) {
            this.requests = requestStream;
        }

        @Override
        public void onNext(StreamPredictResponse value) {
            received++;
            chunksReceived.countDown();
        }

        @Override
        public void onError(Throwable t) {
            status.complete(Status.fromThrowable(t));
        }

        @Override
        public void onCompleted() {
            status.complete(Status.OK);
        }

        void cancel() {
            requests.cancel("test cancels", null);
        }
    }
}
