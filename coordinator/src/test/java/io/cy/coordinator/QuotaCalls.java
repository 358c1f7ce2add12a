package io.cy.coordinator;

import static io.cy.coordinator.TestStack.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.TestStack.Result;
import io.cy.coordinator.quota.Quotas;
import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.ControlMessage;
import io.cy.llm.proto.GenerationParameters;
import io.cy.llm.proto.StreamMetadata;
import io.cy.llm.proto.StreamPredictRequest;
import io.cy.llm.proto.StreamPredictResponse;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.MetadataUtils;
import java.lang.reflect.Field;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/** Requests, background streams, Control quota commands and the checks the quota tests share. */
final class QuotaCalls {

    static final Metadata.Key<String> RETRY_AFTER_MS = Metadata.Key.of("retry-after-ms", Metadata.ASCII_STRING_MARSHALLER);
    static final Metadata.Key<String> RETRY_PUSHBACK_MS =
            Metadata.Key.of("grpc-retry-pushback-ms", Metadata.ASCII_STRING_MARSHALLER);

    private QuotaCalls() {}

    /**
     * A request of {@code tenant} (in {@code metadata.tenant}; "" for none) with the prompt "Hi":
     * two bytes, which the quota estimates as 0 tokens, so a call costs exactly its chunks.
     */
    static StreamPredictRequest request(String tenant, int maxNewTokens, Map<String, String> extra) {
        return StreamPredictRequest.newBuilder()
                .setModelId("sim")
                .setPrompt("Hi")
                .setGeneration(GenerationParameters.newBuilder()
                        .setMaxNewTokens(maxNewTokens).setTemperature(0.7).setTopP(0.9).setRepetitionPenalty(1.0))
                .setMetadata(StreamMetadata.newBuilder().setTenant(tenant).putAllExtra(extra))
                .build();
    }

    static StreamPredictRequest request(String tenant, int maxNewTokens) {
        return request(tenant, maxNewTokens, Map.of());
    }

    static Result call(ManagedChannel channel, StreamPredictRequest request) throws Exception {
        return TestStack.call(channel, request);
    }

    static ControlMessage control(ManagedChannel channel, String command, Map<String, String> payload) {
        return HealthAndControlTest.control(channel, command, payload);
    }

    /** Control {@code quota_get}: the tenant's limits and usage; asserts it answered ok. */
    static Map<String, String> quota(ManagedChannel channel, String tenant) {
        final Map<String, String> payload = control(channel, "quota_get", Map.of("tenant", tenant)).getPayloadMap();
        assertThat(payload).containsEntry("status", "ok");
        return payload;
    }

    static long usage(ManagedChannel channel, String tenant, String key) {
        return Long.parseLong(quota(channel, tenant).get("usage." + key));
    }

    /** Waits until {@code quota_get} reports {@code n} calls of {@code tenant} in flight. */
    static void awaitInflight(ManagedChannel channel, String tenant, long n) throws InterruptedException {
        Eventually.await("usage.inflight of tenant " + tenant + " is " + n, TIMEOUT,
                () -> usage(channel, tenant, "inflight") == n);
    }

    /** The quotas inside a running coordinator: for checks after it has stopped answering Control. */
    static Quotas quotasOf(Coordinator coordinator) throws ReflectiveOperationException {
        final Field forwarder = Coordinator.class.getDeclaredField("forwarder");
        forwarder.setAccessible(true);
        final Object streamPredict = forwarder.get(coordinator);
        final Field admission = streamPredict.getClass().getDeclaredField("callAdmission");
        admission.setAccessible(true);
        final Object callAdmission = admission.get(streamPredict);
        final Field quotas = callAdmission.getClass().getDeclaredField("quotas");
        quotas.setAccessible(true);
        return (Quotas) quotas.get(callAdmission);
    }

    static long retryAfterMillis(Metadata trailers) {
        return Long.parseLong(trailers.get(RETRY_AFTER_MS));
    }

    /**
     * A RESOURCE_EXHAUSTED refusal whose description contains {@code description}, with both retry
     * trailers present, equal and positive; returns the hint in milliseconds.
     */
    static long assertExhausted(Status status, Metadata trailers, String description) {
        assertThat(status.getCode()).as("%s", status).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(status.getDescription()).contains(description);
        assertThat(trailers).as("trailers of %s", status).isNotNull();
        assertThat(trailers.get(RETRY_AFTER_MS)).as("retry-after-ms").isNotNull();
        assertThat(trailers.get(RETRY_PUSHBACK_MS)).as("grpc-retry-pushback-ms").isEqualTo(trailers.get(RETRY_AFTER_MS));
        final long hint = retryAfterMillis(trailers);
        assertThat(hint).isPositive();
        return hint;
    }

    static long assertExhausted(Result result, String description) {
        return assertExhausted(result.status(), result.trailers(), description);
    }

    /** A StreamPredict call in the background: its chunks can be awaited, it can be cancelled, its end collected. */
    static final class Stream implements ClientResponseObserver<StreamPredictRequest, StreamPredictResponse> {

        final List<StreamPredictResponse> responses = new CopyOnWriteArrayList<>();
        final CountDownLatch chunksReceived;
        final CompletableFuture<Result> result = new CompletableFuture<>();
        /** When the call ended, on the client's clock. */
        volatile long finishedNanos;
        private final AtomicReference<Metadata> headers = new AtomicReference<>();
        private final AtomicReference<Metadata> trailers = new AtomicReference<>();
        private volatile ClientCallStreamObserver<StreamPredictRequest> requests;

        private Stream(int chunksToAwait) {
            this.chunksReceived = new CountDownLatch(chunksToAwait);
        }

        static Stream start(ManagedChannel channel, StreamPredictRequest request, int chunksToAwait) {
            return start(channel, request, chunksToAwait, new Metadata(), null);
        }

        /** Sends {@code request} and half-closes; {@link #chunksReceived} opens after {@code chunksToAwait} chunks. */
        static Stream start(ManagedChannel channel, StreamPredictRequest request, int chunksToAwait,
                            Metadata headers, Duration deadline) {
            final Stream stream = new Stream(chunksToAwait);
            var stub = AiInferenceGrpc.newStub(channel).withInterceptors(
                    MetadataUtils.newAttachHeadersInterceptor(headers),
                    MetadataUtils.newCaptureMetadataInterceptor(stream.headers, stream.trailers));
            if (deadline != null) {
                stub = stub.withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS);
            }
            stub.streamPredict(stream);
            stream.requests.onNext(request);
            stream.requests.onCompleted();
            return stream;
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<StreamPredictRequest> requestStream) {
            this.requests = requestStream;
        }

        @Override
        public void onNext(StreamPredictResponse response) {
            responses.add(response);
            if (!response.getEndOfStream()) {
                chunksReceived.countDown();
            }
        }

        @Override
        public void onError(Throwable t) {
            finishedNanos = System.nanoTime();
            result.complete(new Result(List.copyOf(responses), Status.fromThrowable(t), headers.get(), trailers.get()));
        }

        @Override
        public void onCompleted() {
            finishedNanos = System.nanoTime();
            result.complete(new Result(List.copyOf(responses), Status.OK, headers.get(), trailers.get()));
        }

        boolean awaitChunks() throws InterruptedException {
            return chunksReceived.await(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        }

        Result awaitResult() throws Exception {
            return result.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        }

        void cancel() {
            requests.cancel("test cancels", null);
        }
    }
}
