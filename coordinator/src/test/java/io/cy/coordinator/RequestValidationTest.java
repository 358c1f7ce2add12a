package io.cy.coordinator;

import static io.cy.coordinator.TestStack.call;
import static io.cy.coordinator.TestStack.request;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.TestStack.Result;
import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.GenerationParameters;
import io.cy.llm.proto.StreamMetadata;
import io.cy.llm.proto.StreamPredictRequest;
import io.cy.llm.proto.StreamPredictResponse;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Each validation rule answers with its status and a message naming the field and the limit. */
class RequestValidationTest {

    private static final String LIMITS = "limits: {max_prompt_bytes: 1024, max_new_tokens: 64, max_request_bytes: 4096}";

    @TempDir
    static Path dir;

    private static TestStack stack;

    @BeforeAll
    static void start() throws Exception {
        stack = TestStack.start(dir, 1, sim -> { }, LIMITS, java.util.Map.of());
    }

    @AfterAll
    static void stop() {
        stack.close();
    }

    @AfterEach
    void sidecarNeverSawAnInvalidCallAndTheCoordinatorStillServes() throws Exception {
        assertThat(stack.sim().stats().callsStarted()).isZero();
        final Result valid = call(stack.coordinatorChannel(), request(2));
        assertThat(valid.status().isOk()).as("%s", valid.status()).isTrue();
        stack.sim().stats().reset();
    }

    static Iterable<Arguments> invalidRequests() {
        return java.util.List.of(
                rule(r -> r.setPrompt(""), "prompt: empty (expected: non-empty)"),
                rule(r -> r.setPrompt("x".repeat(1025)), "prompt: 1025 bytes (expected: <= 1024)"),
                rule(r -> r.setPrompt("é".repeat(513)), "prompt: 1026 bytes (expected: <= 1024)"),
                rule(r -> r.setModelId("m".repeat(257)), "model_id: 257 characters (expected: <= 256)"),
                rule(r -> r.setModelId("sim\nx"),
                        "model_id: non-printable character U+000A at index 3 (expected: printable characters)"),
                rule(r -> r.setModelId("a\u200Bb"),
                        "model_id: non-printable character U+200B at index 1 (expected: printable characters)"),
                rule(r -> r.setGeneration(gen(r).setMaxNewTokens(100_000)),
                        "generation.max_new_tokens: 100000 (expected: <= 64)"),
                rule(r -> r.setGeneration(gen(r).setMaxNewTokens(-1)),
                        "generation.max_new_tokens: 4294967295 (expected: <= 64)"),
                rule(r -> r.setGeneration(gen(r).setTemperature(2.5)),
                        "generation.temperature: 2.5 (expected: in [0, 2])"),
                rule(r -> r.setGeneration(gen(r).setTemperature(-0.1)),
                        "generation.temperature: -0.1 (expected: in [0, 2])"),
                rule(r -> r.setGeneration(gen(r).setTemperature(Double.NaN)),
                        "generation.temperature: NaN (expected: in [0, 2])"),
                rule(r -> r.setGeneration(gen(r).setTopP(1.5)), "generation.top_p: 1.5 (expected: in [0, 1])"),
                rule(r -> r.setGeneration(gen(r).setRepetitionPenalty(10.5)),
                        "generation.repetition_penalty: 10.5 (expected: in [0, 10])"),
                rule(r -> r.setPriority(101), "priority: 101 (expected: in [-100, 100])"),
                rule(r -> r.setPriority(-101), "priority: -101 (expected: in [-100, 100])"),
                rule(r -> r.setMetadata(StreamMetadata.newBuilder().setTraceId("t".repeat(129))),
                        "metadata.trace_id: 129 characters (expected: <= 128)"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("invalidRequests")
    void rejectsWithInvalidArgumentNamingFieldAndLimit(UnaryOperator<StreamPredictRequest.Builder> change,
                                                       String message) throws Exception {
        final Result result = call(stack.coordinatorChannel(), change.apply(request(2).toBuilder()).build());

        assertThat(result.status().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(result.status().getDescription()).isEqualTo(message);
        assertThat(result.responses()).isEmpty();
    }

    @Test
    void acceptsValuesAtTheLimits() throws Exception {
        stack.sim().stats().reset();
        final Result result = call(stack.coordinatorChannel(), request(64).toBuilder()
                .setPrompt("x".repeat(1024))
                .setModelId("m".repeat(256))
                .setPriority(-100)
                .setGeneration(GenerationParameters.newBuilder()
                        .setMaxNewTokens(64).setTemperature(2).setTopP(1).setRepetitionPenalty(10))
                .build());

        assertThat(result.status().isOk()).as("%s", result.status()).isTrue();
        assertThat(result.chunks()).hasSize(64);
        stack.sim().stats().reset();
    }

    @Test
    void zeroMeansUnsetForGenerationParameters() throws Exception {
        final Result result = call(stack.coordinatorChannel(), request(0).toBuilder()
                .setGeneration(GenerationParameters.getDefaultInstance()).build());

        assertThat(result.status().isOk()).as("%s", result.status()).isTrue();
        stack.sim().stats().reset();
    }

    @Test
    void oversizedMessageIsResourceExhaustedNamingTheLimit() throws Exception {
        // Within the prompt limit is not enough: the whole message is capped on the wire.
        final StreamPredictRequest big = request(2).toBuilder()
                .setMetadata(StreamMetadata.newBuilder().putExtra("blob", "b".repeat(8000))).build();

        final Result result = call(stack.coordinatorChannel(), big);

        assertThat(result.status().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(result.status().getDescription()).contains("4096");
    }

    @Test
    void emptyRequestStreamIsInvalidArgument() throws Exception {
        final CompletableFuture<Status> closed = new CompletableFuture<>();
        final StreamObserver<StreamPredictRequest> requests = AiInferenceGrpc.newStub(stack.coordinatorChannel())
                .streamPredict(new StreamObserver<StreamPredictResponse>() {
                    @Override
                    public void onNext(StreamPredictResponse value) {
                        closed.completeExceptionally(new AssertionError("unexpected response " + value));
                    }

                    @Override
                    public void onError(Throwable t) {
                        closed.complete(Status.fromThrowable(t));
                    }

                    @Override
                    public void onCompleted() {
                        closed.complete(Status.OK);
                    }
                });
        requests.onCompleted();

        final Status status = closed.get(20, TimeUnit.SECONDS);
        assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(status.getDescription()).isEqualTo("Empty request stream");
    }

    private static Arguments rule(UnaryOperator<StreamPredictRequest.Builder> change, String message) {
        return Arguments.of(change, message);
    }

    private static GenerationParameters.Builder gen(StreamPredictRequest.Builder request) {
        return request.getGeneration().toBuilder();
    }
}
