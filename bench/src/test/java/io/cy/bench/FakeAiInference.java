package io.cy.bench;

import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.ControlMessage;
import io.cy.llm.proto.StreamPredictRequest;
import io.cy.llm.proto.StreamPredictResponse;
import io.cy.llm.proto.WorkerHealthRequest;
import io.cy.llm.proto.WorkerHealthResponse;
import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A small AiInference server for tests: streams {@code "tok<i> "} chunks like the worker,
 * answers Health and Control with fixed maps, and remembers what it was sent.
 */
final class FakeAiInference extends AiInferenceGrpc.AiInferenceImplBase {

    static final String TRACE_ID = "trace-from-server";
    static final Metadata.Key<String> TRACE_ID_KEY = Metadata.Key.of("trace-id", Metadata.ASCII_STRING_MARSHALLER);
    static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    final AtomicReference<StreamPredictRequest> lastPredict = new AtomicReference<>();
    final AtomicReference<ControlMessage> lastControl = new AtomicReference<>();
    final AtomicReference<WorkerHealthRequest> lastHealth = new AtomicReference<>();
    final AtomicReference<String> lastAuthorization = new AtomicReference<>();

    private volatile Status failWith;
    private volatile int failAfter;
    private volatile boolean traceIdHeader = true;

    /** Ends every StreamPredict with {@code status} after {@code chunks} chunks; every unary call at once. */
    FakeAiInference failing(Status status, int chunks) {
        failWith = status;
        failAfter = chunks;
        return this;
    }

    /** Leaves the {@code trace-id} response header out, so only the messages carry the trace id. */
    FakeAiInference withoutTraceIdHeader() {
        traceIdHeader = false;
        return this;
    }

    /** This service with the interceptor that records the caller's headers and sets {@code trace-id}. */
    ServerServiceDefinition definition() {
        return ServerInterceptors.intercept(this, new HeaderInterceptor());
    }

    @Override
    public StreamObserver<StreamPredictRequest> streamPredict(StreamObserver<StreamPredictResponse> responses) {
        return new StreamObserver<>() {
            @Override
            public void onNext(StreamPredictRequest request) {
                if (lastPredict.compareAndSet(null, request)) {
                    answer(request, responses);
                }
            }

            @Override
            public void onError(Throwable t) {
                // The client went away; nothing to answer.
            }

            @Override
            public void onCompleted() {
                if (lastPredict.get() == null) {
                    responses.onError(Status.INVALID_ARGUMENT.withDescription("Empty request stream").asRuntimeException());
                }
            }
        };
    }

    private void answer(StreamPredictRequest request, StreamObserver<StreamPredictResponse> responses) {
        final int chunks = request.getGeneration().getMaxNewTokens();
        final String traceId = request.getMetadata().getTraceId().isEmpty()
                ? TRACE_ID : request.getMetadata().getTraceId();
        for (int i = 0; i < chunks; i++) {
            if (failWith != null && i == failAfter) {
                responses.onError(failWith.asRuntimeException());
                return;
            }
            responses.onNext(StreamPredictResponse.newBuilder()
                    .setTraceId(traceId).setChunk("tok" + i + " ").setIndex(i).build());
        }
        if (failWith != null) {
            responses.onError(failWith.asRuntimeException());
            return;
        }
        responses.onNext(StreamPredictResponse.newBuilder()
                .setTraceId(traceId).setEndOfStream(true).setIndex(chunks)
                .setTtftMs(1.25f).setTokensPerSec(400f).build());
        responses.onCompleted();
    }

    @Override
    public void health(WorkerHealthRequest request, StreamObserver<WorkerHealthResponse> responses) {
        lastHealth.set(request);
        if (failWith != null) {
            responses.onError(failWith.asRuntimeException());
            return;
        }
        responses.onNext(WorkerHealthResponse.newBuilder()
                .setHealthy(true)
                .putAllMetrics(Map.of("requests_inflight", "0", "backend", "fake", "version", "1"))
                .build());
        responses.onCompleted();
    }

    @Override
    public void control(ControlMessage request, StreamObserver<ControlMessage> responses) {
        lastControl.set(request);
        if (failWith != null) {
            responses.onError(failWith.asRuntimeException());
            return;
        }
        responses.onNext(ControlMessage.newBuilder()
                .setCommand(request.getCommand() + "_response")
                .putPayload("status", "ok")
                .putPayload("message", "done")
                .putPayload("echo", String.valueOf(new java.util.TreeMap<>(request.getPayloadMap())))
                .build());
        responses.onCompleted();
    }

    private final class HeaderInterceptor implements ServerInterceptor {
        @Override
        public <Q, R> ServerCall.Listener<Q> interceptCall(
                ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
            lastAuthorization.set(headers.get(AUTHORIZATION));
            return next.startCall(new SimpleForwardingServerCall<>(call) {
                @Override
                public void sendHeaders(Metadata responseHeaders) {
                    if (traceIdHeader) {
                        responseHeaders.put(TRACE_ID_KEY, TRACE_ID);
                    }
                    super.sendHeaders(responseHeaders);
                }
            }, headers);
        }
    }
}
