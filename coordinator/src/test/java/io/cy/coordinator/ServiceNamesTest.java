package io.cy.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import io.cy.llm.proto.ControlMessage;
import io.cy.llm.proto.GenerationParameters;
import io.cy.llm.proto.StreamPredictRequest;
import io.cy.llm.proto.StreamPredictResponse;
import io.cy.llm.proto.WorkerHealthRequest;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code cy.llm.AiInference} and the unqualified {@code AiInference} are one service, both visible. */
class ServiceNamesTest {

    @TempDir
    Path dir;

    private TestStack stack;
    private ManagedChannel channel;

    @BeforeEach
    void start() throws Exception {
        stack = TestStack.start(dir, sim -> { });
        channel = stack.coordinatorChannel();
    }

    @AfterEach
    void stop() {
        stack.close();
    }

    @Test
    void qualifiedNameAnswersAllThreeMethods() throws Exception {
        final var stub = io.cy.llm.proto.AiInferenceGrpc.newBlockingStub(channel);

        assertThat(stub.health(WorkerHealthRequest.getDefaultInstance()).getHealthy()).isTrue();
        assertThat(stub.control(ControlMessage.newBuilder().setCommand("ping").build()).getCommand())
                .isEqualTo("ping_response");
        assertThat(TestStack.call(channel, TestStack.request(3)).chunks()).hasSize(3);
    }

    @Test
    void unqualifiedNameAnswersAllThreeMethods() throws Exception {
        final var blocking = io.cy.llm.proto.unqualified.AiInferenceGrpc.newBlockingStub(channel);
        assertThat(blocking.health(WorkerHealthRequest.getDefaultInstance()).getMetricsMap())
                .containsEntry("backend", "java");
        assertThat(blocking.control(ControlMessage.newBuilder().setCommand("ping").build()).getPayloadMap())
                .containsEntry("status", "ok");

        final CompletableFuture<List<StreamPredictResponse>> done = new CompletableFuture<>();
        final List<StreamPredictResponse> received = new ArrayList<>();
        final StreamObserver<StreamPredictRequest> requests = io.cy.llm.proto.unqualified.AiInferenceGrpc
                .newStub(channel).streamPredict(new StreamObserver<>() {
                    @Override
                    public void onNext(StreamPredictResponse value) {
                        received.add(value);
                    }

                    @Override
                    public void onError(Throwable t) {
                        done.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                        done.complete(received);
                    }
                });
        requests.onNext(StreamPredictRequest.newBuilder().setModelId("sim").setPrompt("Hello")
                .setGeneration(GenerationParameters.newBuilder().setMaxNewTokens(4)).build());
        requests.onCompleted();

        final List<StreamPredictResponse> responses = done.get(20, TimeUnit.SECONDS);
        assertThat(responses).hasSize(5);
        assertThat(responses.get(4).getEndOfStream()).isTrue();
    }

    @Test
    void reflectionListsBothNamesAndResolvesTheUnqualifiedOne() throws Exception {
        final List<String> services = reflect(ServerReflectionRequest.newBuilder().setListServices("").build())
                .getListServicesResponse().getServiceList().stream()
                .map(ServiceResponse::getName).collect(Collectors.toList());
        assertThat(services).contains("cy.llm.AiInference", "AiInference", "grpc.health.v1.Health");

        // What `grpcurl localhost:50050 AiInference/Health` asks for.
        final ServerReflectionResponse file = reflect(ServerReflectionRequest.newBuilder()
                .setFileContainingSymbol("AiInference").build());
        final FileDescriptorProto proto = FileDescriptorProto.parseFrom(
                file.getFileDescriptorResponse().getFileDescriptorProto(0));
        assertThat(proto.getPackage()).isEmpty();
        assertThat(proto.getService(0).getName()).isEqualTo("AiInference");
        assertThat(proto.getService(0).getMethodList()).extracting(m -> m.getName())
                .containsExactly("StreamPredict", "Control", "Health");

        final ServerReflectionResponse qualified = reflect(ServerReflectionRequest.newBuilder()
                .setFileContainingSymbol("cy.llm.AiInference").build());
        assertThat(FileDescriptorProto.parseFrom(qualified.getFileDescriptorResponse().getFileDescriptorProto(0))
                .getPackage()).isEqualTo("cy.llm");
    }

    @Test
    void standardHealthServiceReportsServing() {
        final var health = HealthGrpc.newBlockingStub(channel);
        for (String service : List.of("", "cy.llm.AiInference", "AiInference")) {
            assertThat(health.check(HealthCheckRequest.newBuilder().setService(service).build()).getStatus())
                    .as("service '%s'", service)
                    .isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
        }
    }

    private ServerReflectionResponse reflect(ServerReflectionRequest request) throws Exception {
        final CompletableFuture<ServerReflectionResponse> response = new CompletableFuture<>();
        final StreamObserver<ServerReflectionRequest> requests = ServerReflectionGrpc.newStub(channel)
                .serverReflectionInfo(new StreamObserver<>() {
                    @Override
                    public void onNext(ServerReflectionResponse value) {
                        response.complete(value);
                    }

                    @Override
                    public void onError(Throwable t) {
                        response.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                    }
                });
        requests.onNext(request);
        requests.onCompleted();
        final ServerReflectionResponse answer = response.get(20, TimeUnit.SECONDS);
        assertThat(answer.hasErrorResponse()).as("%s", answer.getErrorResponse()).isFalse();
        return answer;
    }
}
