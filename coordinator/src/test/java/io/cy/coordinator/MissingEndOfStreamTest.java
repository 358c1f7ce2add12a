package io.cy.coordinator;

import static io.cy.coordinator.TestStack.call;
import static io.cy.coordinator.TestStack.request;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.TestStack.Result;
import io.cy.coordinator.transport.netty.Endpoint;
import io.cy.coordinator.transport.netty.NettyTransport;
import io.cy.coordinator.transport.server.GrpcFrontServer;
import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.StreamPredictRequest;
import io.cy.llm.proto.StreamPredictResponse;
import io.cy.llm.proto.WorkerHealthRequest;
import io.cy.llm.proto.WorkerHealthResponse;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A sidecar that ends its stream with OK but without the {@code end_of_stream} message the
 * contract ends every stream with: the answer may have been cut short, so the client hears
 * INTERNAL naming the sidecar and the messages it had sent, after the chunks themselves, over
 * gRPC and through the HTTP bridge.
 */
class MissingEndOfStreamTest {

    private static final int CHUNKS = 3;

    @TempDir
    static Path dir;

    private static final NettyTransport sidecarTransport = NettyTransport.create(1, "no-eos-sidecar");
    private static GrpcFrontServer sidecar;
    private static TestStack stack;

    @BeforeAll
    static void start() throws Exception {
        sidecar = new GrpcFrontServer(Endpoint.tcp("127.0.0.1", 0), sidecarTransport,
                List.of(new EndsWithoutEndOfStream().bindService()), ByteService.settings(null, null, null)).start();
        stack = TestStack.start(dir, 0, sim -> { }, "",
                Map.of("SIDECAR_GRPC_ADDR", "127.0.0.1:" + ByteService.address(sidecar).getPort()));
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
        if (sidecar != null) {
            sidecar.shutdownNow();
        }
        sidecarTransport.close();
    }

    @Test
    void aGrpcClientGetsTheChunksThenInternal() throws Exception {
        final Result result = call(stack.coordinatorChannel(), request(10));

        assertThat(result.responses()).hasSize(CHUNKS).noneMatch(StreamPredictResponse::getEndOfStream);
        assertThat(result.status().getCode()).isEqualTo(Status.Code.INTERNAL);
        assertThat(result.status().getDescription())
                .startsWith("sidecar ")
                .endsWith("ended the stream without an end_of_stream message after " + CHUNKS + " messages");
    }

    @Test
    void anHttpClientGetsTheChunksThenAnErrorEvent() throws Exception {
        final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        final HttpResponse<String> response = http.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + stack.coordinator.httpEndpoint().port() + "/v1/chat/completions"))
                .timeout(TestStack.TIMEOUT)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"sim\",\"stream\":true,\"max_tokens\":10,"
                        + "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"))
                .build(), HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(200); // the stream had started
        final String body = response.body();
        assertThat(body.split("\"delta\":\\{\"content\":\"", -1)).hasSize(CHUNKS + 1);
        assertThat(body).contains("event: error\ndata: ")
                .contains("ended the stream without an end_of_stream message after " + CHUNKS + " messages")
                .doesNotContain("finish_reason\":\"stop\"")
                .doesNotContain("data: [DONE]");
    }

    /** Healthy, and answers every StreamPredict with {@link #CHUNKS} chunks and OK, but no end_of_stream. */
    private static final class EndsWithoutEndOfStream extends AiInferenceGrpc.AiInferenceImplBase {

        @Override
        public void health(WorkerHealthRequest request, StreamObserver<WorkerHealthResponse> responses) {
            responses.onNext(WorkerHealthResponse.newBuilder().setHealthy(true).build());
            responses.onCompleted();
        }

        @Override
        public StreamObserver<StreamPredictRequest> streamPredict(StreamObserver<StreamPredictResponse> responses) {
            return new StreamObserver<>() {
                private boolean answered;

                @Override
                public void onNext(StreamPredictRequest request) {
                    if (answered) {
                        return;
                    }
                    answered = true;
                    for (int i = 0; i < CHUNKS; i++) {
                        responses.onNext(StreamPredictResponse.newBuilder().setIndex(i).setChunk(" w" + i).build());
                    }
                    responses.onCompleted();
                }

                @Override
                public void onError(Throwable t) {
                    // The coordinator cancelled: nothing to clean up.
                }

                @Override
                public void onCompleted() {
                    // Answered at the first message already.
                }
            };
        }
    }
}
