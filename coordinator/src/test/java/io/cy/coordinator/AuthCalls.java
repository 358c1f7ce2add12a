package io.cy.coordinator;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.TestStack.Result;
import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.ControlMessage;
import io.cy.llm.proto.StreamMetadata;
import io.cy.llm.proto.StreamPredictRequest;
import io.cy.llm.proto.WorkerHealthRequest;
import io.cy.llm.proto.WorkerHealthResponse;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/** Calls with credentials, and the checks every auth test makes on how a call was refused. */
final class AuthCalls {

    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    private AuthCalls() {}

    /** Headers with {@code authorization: Bearer <credential>}. */
    static Metadata bearer(String credential) {
        return authorization("Bearer " + credential);
    }

    /** Headers with {@code authorization: <value>}; none at all for null. */
    static Metadata authorization(String value) {
        final Metadata headers = new Metadata();
        if (value != null) {
            headers.put(AUTHORIZATION, value);
        }
        return headers;
    }

    static Metadata noCredential() {
        return new Metadata();
    }

    /** A short StreamPredict call claiming {@code tenant} in {@code metadata.tenant} ("" claims none). */
    static Result predict(TestStack stack, Metadata headers, String tenant) throws Exception {
        return predict(stack.coordinatorChannel(), headers, tenant);
    }

    static Result predict(TestStack stack, Metadata headers) throws Exception {
        return predict(stack, headers, "");
    }

    static Result predict(ManagedChannel channel, Metadata headers, String tenant) throws Exception {
        final StreamPredictRequest request = TestStack.request(2).toBuilder()
                .setMetadata(StreamMetadata.newBuilder().setTenant(tenant)).build();
        return TestStack.call(channel, request, headers, null);
    }

    /** The tenant the sidecar saw in the most recent StreamPredict call. */
    static String forwardedTenant(TestStack stack) {
        assertThat(stack.sim().stats().lastRequest()).as("a StreamPredict call reached the sidecar").isNotNull();
        return stack.sim().stats().lastRequest().getMetadata().getTenant();
    }

    static ControlMessage ping(ManagedChannel channel, Metadata headers) {
        return AiInferenceGrpc.newBlockingStub(channel)
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
                .withDeadlineAfter(10, TimeUnit.SECONDS)
                .control(ControlMessage.newBuilder().setTraceId("auth-ping").setCommand("ping").build());
    }

    static ControlMessage unqualifiedPing(ManagedChannel channel, Metadata headers) {
        return io.cy.llm.proto.unqualified.AiInferenceGrpc.newBlockingStub(channel)
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
                .withDeadlineAfter(10, TimeUnit.SECONDS)
                .control(ControlMessage.newBuilder().setTraceId("auth-ping").setCommand("ping").build());
    }

    static WorkerHealthResponse health(ManagedChannel channel, Metadata headers) {
        return AiInferenceGrpc.newBlockingStub(channel)
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
                .withDeadlineAfter(10, TimeUnit.SECONDS)
                .health(WorkerHealthRequest.newBuilder().setTraceId("auth-health").build());
    }

    static WorkerHealthResponse unqualifiedHealth(ManagedChannel channel, Metadata headers) {
        return io.cy.llm.proto.unqualified.AiInferenceGrpc.newBlockingStub(channel)
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
                .withDeadlineAfter(10, TimeUnit.SECONDS)
                .health(WorkerHealthRequest.newBuilder().setTraceId("auth-health").build());
    }

    static ServingStatus grpcHealth(ManagedChannel channel, Metadata headers) {
        return HealthGrpc.newBlockingStub(channel)
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
                .withDeadlineAfter(10, TimeUnit.SECONDS)
                .check(HealthCheckRequest.newBuilder().setService("").build()).getStatus();
    }

    /** The services server reflection (v1) lists. */
    static List<String> reflectedServices(ManagedChannel channel, Metadata headers) throws Exception {
        final CompletableFuture<ServerReflectionResponse> response = new CompletableFuture<>();
        final StreamObserver<ServerReflectionRequest> requests = ServerReflectionGrpc.newStub(channel)
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
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
                        response.completeExceptionally(new AssertionError("reflection ended without an answer"));
                    }
                });
        requests.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
        requests.onCompleted();
        try {
            return response.get(TestStack.TIMEOUT.toSeconds(), TimeUnit.SECONDS)
                    .getListServicesResponse().getServiceList().stream()
                    .map(ServiceResponse::getName).collect(Collectors.toList());
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception cause) {
                throw cause;
            }
            throw e;
        }
    }

    /** How a unary call (or any call that throws) ended: OK if it returned. */
    static Status statusOf(Supplier<?> call) {
        try {
            call.get();
            return Status.OK;
        } catch (RuntimeException e) {
            final Status status = Status.fromThrowable(e);
            if (status.getCode() == Status.Code.UNKNOWN && status.getCause() == e) {
                throw e;
            }
            return status;
        }
    }

    /** How a reflection call ended. */
    static Status reflectionStatus(ManagedChannel channel, Metadata headers) throws InterruptedException, TimeoutException {
        try {
            reflectedServices(channel, headers);
            return Status.OK;
        } catch (InterruptedException | TimeoutException e) {
            throw e;
        } catch (Exception e) {
            return Status.fromThrowable(e);
        }
    }

    /**
     * Checks a refusal: its code, that the description gives {@code reason}, and that it repeats
     * nothing of the credential (neither whole nor any part of a token beyond its header).
     */
    static void assertRefused(Status status, Status.Code code, String reason, String credential) {
        assertThat(status.getCode()).as("status of the call: %s", status).isEqualTo(code);
        assertThat(status.getDescription()).as("description of %s", status).isNotBlank().contains(reason);
        for (String secret : secretParts(credential)) {
            assertThat(status.getDescription()).as("description of %s", status).doesNotContain(secret);
        }
    }

    /** The strings that must never be shown: the credential, and a JWT's payload and signature. */
    static List<String> secretParts(String credential) {
        final List<String> parts = new ArrayList<>();
        if (credential == null || credential.isBlank() || credential.trim().equals("Bearer")) {
            return parts;
        }
        final String token = credential.startsWith("Bearer ") ? credential.substring(7).trim() : credential;
        if (token.isEmpty()) {
            return parts;
        }
        parts.add(token);
        final String[] segments = token.split("\\.", -1);
        for (int i = 1; i < segments.length; i++) {
            if (segments[i].length() >= 16) {
                parts.add(segments[i]);
            }
        }
        return parts;
    }

    /** Hex of the SHA-256 of {@code key}, as {@code auth.api_keys[].sha256} holds it. */
    static String sha256Hex(String key) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key.getBytes(UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
