package io.cy.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.StreamPredictRequest;
import io.cy.llm.proto.StreamPredictResponse;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class CallCommandTest {

    private final FakeAiInference fake = new FakeAiInference();
    private final Captured out = new Captured();
    private final Captured err = new Captured();
    private Server server;
    private ManagedChannel channel;

    @AfterEach
    void stop() {
        if (channel != null) {
            channel.shutdownNow();
        }
        if (server != null) {
            server.shutdownNow();
        }
    }

    private int call(String... flags) throws Exception {
        if (server == null) {
            start();
        }
        return new CallCommand(channel, out.stream, err.stream).run(CallArgs.parse(List.of(flags)));
    }

    private void start() throws IOException {
        final String name = InProcessServerBuilder.generateName();
        server = InProcessServerBuilder.forName(name).directExecutor().addService(fake.definition()).build().start();
        channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    }

    @Test
    void streamPrintsChunksThenASummaryWithTheHeaderTraceId() throws Exception {
        final int exit = call();

        assertThat(exit).isZero();
        assertThat(out.text()).isEqualTo("tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7 tok8 tok9 tok10 tok11 tok12 "
                + "tok13 tok14 tok15 \n");
        assertThat(err.text()).isEqualTo(
                "-- 16 chunks, ttft_ms=1.3 tokens_per_sec=400.0, trace_id=trace-from-server, status OK\n");
    }

    @Test
    void streamSendsOneRequestWithTheGivenParameters() throws Exception {
        call("--model", "m1", "--prompt", "Hi", "--max-new-tokens", "2", "--temperature", "0.5", "--trace-id", "t-9");

        assertThat(fake.lastPredict.get().getModelId()).isEqualTo("m1");
        assertThat(fake.lastPredict.get().getPrompt()).isEqualTo("Hi");
        assertThat(fake.lastPredict.get().getGeneration().getMaxNewTokens()).isEqualTo(2);
        assertThat(fake.lastPredict.get().getGeneration().getTemperature()).isEqualTo(0.5);
        assertThat(fake.lastPredict.get().getMetadata().getTraceId()).isEqualTo("t-9");
        assertThat(fake.lastAuthorization.get()).isNull();
    }

    @Test
    void streamFallsBackToTheTraceIdInTheMessages() throws Exception {
        fake.withoutTraceIdHeader();

        call("--max-new-tokens", "1", "--trace-id", "mine");

        assertThat(err.text()).contains("trace_id=mine, status OK");
    }

    @Test
    void tokenIsSentAsBearerAuthorization() throws Exception {
        call("--method", "health", "--token", "s3cret");

        assertThat(fake.lastAuthorization.get()).isEqualTo("Bearer s3cret");
    }

    @Test
    void streamErrorMidwayKeepsTheChunksAndExitsOne() throws Exception {
        fake.failing(Status.RESOURCE_EXHAUSTED.withDescription("GPU memory"), 2);

        final int exit = call("--max-new-tokens", "5");

        assertThat(exit).isEqualTo(1);
        assertThat(out.text()).isEqualTo("tok0 tok1 \n");
        assertThat(err.text()).isEqualTo("-- 2 chunks, trace_id=trace-from-server, status RESOURCE_EXHAUSTED\n"
                + "error: RESOURCE_EXHAUSTED: GPU memory\n");
    }

    @Test
    void streamErrorBeforeAnyChunkPrintsNothingToStdout() throws Exception {
        fake.failing(Status.NOT_FOUND.withDescription("unknown model: x"), 0);

        final int exit = call("--model", "x");

        assertThat(exit).isEqualTo(1);
        assertThat(out.text()).isEmpty();
        assertThat(err.text()).isEqualTo("-- 0 chunks, status NOT_FOUND\nerror: NOT_FOUND: unknown model: x\n");
    }

    @Test
    void healthPrintsHealthyThenSortedMetrics() throws Exception {
        final int exit = call("--method", "health", "--trace-id", "h-1");

        assertThat(exit).isZero();
        assertThat(out.text()).isEqualTo("healthy=true\nbackend=fake\nrequests_inflight=0\nversion=1\n");
        assertThat(err.text()).isEmpty();
        assertThat(fake.lastHealth.get().getTraceId()).isEqualTo("h-1");
    }

    @Test
    void controlSendsCommandAndPayloadAndPrintsTheAnswerSorted() throws Exception {
        final int exit = call("--method", "control", "--command", "unload_model", "--payload", "model_id=m1", "b=2");

        assertThat(exit).isZero();
        assertThat(fake.lastControl.get().getCommand()).isEqualTo("unload_model");
        assertThat(fake.lastControl.get().getPayloadMap()).isEqualTo(Map.of("model_id", "m1", "b", "2"));
        assertThat(out.text()).isEqualTo(
                "command=unload_model_response\necho={b=2, model_id=m1}\nmessage=done\nstatus=ok\n");
    }

    @Test
    void unaryErrorPrintsCodeAndDescriptionAndExitsOne() throws Exception {
        fake.failing(Status.UNAVAILABLE.withDescription("no sidecar"), 0);

        final int exit = call("--method", "control");

        assertThat(exit).isEqualTo(1);
        assertThat(out.text()).isEmpty();
        assertThat(err.text()).isEqualTo("error: UNAVAILABLE: no sidecar\n");
    }

    @Test
    void errorWithoutDescriptionPrintsTheCode() throws Exception {
        fake.failing(Status.INTERNAL, 0);

        final int exit = call("--method", "health");

        assertThat(exit).isEqualTo(1);
        assertThat(err.text()).isEqualTo("error: INTERNAL\n");
    }

    @Test
    void deadlineEndsAStreamThatNeverAnswers() throws Exception {
        final String name = InProcessServerBuilder.generateName();
        server = InProcessServerBuilder.forName(name).directExecutor()
                .addService(new StallingAiInference()).build().start();
        channel = InProcessChannelBuilder.forName(name).directExecutor().build();

        final int exit = call("--deadline-ms", "50");

        assertThat(exit).isEqualTo(1);
        assertThat(err.text()).contains("status DEADLINE_EXCEEDED").contains("error: DEADLINE_EXCEEDED");
    }

    /** Accepts a stream and never answers it. */
    private static final class StallingAiInference extends AiInferenceGrpc.AiInferenceImplBase {
        @Override
        public StreamObserver<StreamPredictRequest> streamPredict(StreamObserver<StreamPredictResponse> responses) {
            return new StreamObserver<>() {
                @Override
                public void onNext(StreamPredictRequest request) {}

                @Override
                public void onError(Throwable t) {}

                @Override
                public void onCompleted() {}
            };
        }
    }
}
