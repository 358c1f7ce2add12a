package io.cy.bridge;

import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.ControlMessage;
import io.cy.llm.proto.StreamPredictRequest;
import io.cy.llm.proto.StreamPredictResponse;
import io.cy.llm.proto.WorkerHealthRequest;
import io.cy.llm.proto.WorkerHealthResponse;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A real AiInference service on the in-process transport, standing in for the coordinator. What
 * a StreamPredict call does is chosen by its model id:
 *
 * <ul>
 *   <li>{@code fail:CODE} — fails before any chunk with that status; RESOURCE_EXHAUSTED carries the
 *       trailer {@code retry-after-ms: 1500}, UNAVAILABLE {@code grpc-retry-pushback-ms: 2500}
 *   <li>{@code fail-after-1:CODE} — one chunk, then that status
 *   <li>{@code no-eos} — the chunks, then OK without the final {@code end_of_stream} message
 *   <li>{@code rate-limited} — RESOURCE_EXHAUSTED with {@code retry-after-ms: 50}, counted
 *   <li>{@code unrouted} — NOT_FOUND with trailer {@code cy-error: model_not_found}, as the
 *       coordinator ends a call whose model resolves to nothing
 *   <li>anything else — {@link #chunks} one by one, then {@code end_of_stream}
 * </ul>
 *
 * <p>Credentials follow a test convention: {@code Bearer bad} is UNAUTHENTICATED, anything else
 * (or none) passes. Every call's headers and the last StreamPredict request are recorded.
 */
final class FakeUpstream implements AutoCloseable {

    static final List<String> DEFAULT_CHUNKS = List.of("Hello", ",", " world", "!");

    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    static final Metadata.Key<String> RETRY_AFTER_MS = Metadata.Key.of("retry-after-ms", Metadata.ASCII_STRING_MARSHALLER);
    static final Metadata.Key<String> PUSHBACK_MS =
            Metadata.Key.of("grpc-retry-pushback-ms", Metadata.ASCII_STRING_MARSHALLER);
    private static final Context.Key<Boolean> BAD_TOKEN = Context.key("bad-token");

    final AtomicReference<StreamPredictRequest> lastRequest = new AtomicReference<>();
    final AtomicReference<Metadata> lastHeaders = new AtomicReference<>();
    final AtomicInteger rateLimitedCalls = new AtomicInteger();
    volatile List<String> chunks = DEFAULT_CHUNKS;
    volatile boolean healthy = true;
    volatile String models = "alpha,beta";

    private final Server server;
    private final ManagedChannel channel;

    FakeUpstream() throws IOException {
        final String name = "fake-upstream-" + UUID.randomUUID();
        server = InProcessServerBuilder.forName(name)
                .directExecutor()
                .addService(ServerInterceptors.intercept(new Service(), new Recorder()))
                .build()
                .start();
        channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    }

    /** The channel the bridge calls; closed with this. */
    ManagedChannel channel() {
        return channel;
    }

    String lastHeader(String name) {
        final Metadata headers = lastHeaders.get();
        return headers == null ? null : headers.get(Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER));
    }

    @Override
    public void close() {
        channel.shutdownNow();
        server.shutdownNow();
    }

    /** Records headers and judges the credential, as the coordinator's interceptor would. */
    private final class Recorder implements ServerInterceptor {
        @Override
        public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata headers,
                ServerCallHandler<ReqT, RespT> next) {
            final Metadata copy = new Metadata();
            copy.merge(headers);
            lastHeaders.set(copy);
            final boolean bad = "Bearer bad".equals(headers.get(AUTHORIZATION));
            return Contexts.interceptCall(Context.current().withValue(BAD_TOKEN, bad), call, headers, next);
        }
    }

    private final class Service extends AiInferenceGrpc.AiInferenceImplBase {

        @Override
        public StreamObserver<StreamPredictRequest> streamPredict(StreamObserver<StreamPredictResponse> out) {
            final boolean bad = Boolean.TRUE.equals(BAD_TOKEN.get());
            return new StreamObserver<>() {
                private boolean received;

                @Override
                public void onNext(StreamPredictRequest request) {
                    if (received) {
                        return;
                    }
                    received = true;
                    lastRequest.set(request);
                    if (bad) {
                        out.onError(Status.UNAUTHENTICATED.withDescription("invalid token").asRuntimeException());
                        return;
                    }
                    respond(request, out);
                }

                @Override
                public void onError(Throwable t) {
                    // cancelled by the client
                }

                @Override
                public void onCompleted() {
                    // half-close after the one request message
                }
            };
        }

        @Override
        public void control(ControlMessage request, StreamObserver<ControlMessage> out) {
            if (Boolean.TRUE.equals(BAD_TOKEN.get())) {
                out.onError(Status.UNAUTHENTICATED.withDescription("invalid token").asRuntimeException());
                return;
            }
            out.onNext(ControlMessage.newBuilder()
                    .setTraceId(request.getTraceId())
                    .setCommand(request.getCommand() + "_response")
                    .putPayload("status", "ok")
                    .putPayload("models", models)
                    .build());
            out.onCompleted();
        }

        @Override
        public void health(WorkerHealthRequest request, StreamObserver<WorkerHealthResponse> out) {
            out.onNext(WorkerHealthResponse.newBuilder().setHealthy(healthy).putMetrics("backend", "fake").build());
            out.onCompleted();
        }

        private void respond(StreamPredictRequest request, StreamObserver<StreamPredictResponse> out) {
            final String model = request.getModelId();
            final String trace = request.getMetadata().getTraceId();
            if (model.startsWith("fail:")) {
                out.onError(failure(Status.Code.valueOf(model.substring("fail:".length()))));
                return;
            }
            if (model.equals("unrouted")) {
                final Metadata trailers = new Metadata();
                trailers.put(Metadata.Key.of("cy-error", Metadata.ASCII_STRING_MARSHALLER), "model_not_found");
                out.onError(Status.NOT_FOUND.withDescription("unknown model \"unrouted\" (aliases: default;"
                        + " backends: gpu-a)").asRuntimeException(trailers));
                return;
            }
            if (model.equals("rate-limited")) {
                rateLimitedCalls.incrementAndGet();
                final Metadata trailers = new Metadata();
                trailers.put(RETRY_AFTER_MS, "50");
                out.onError(Status.RESOURCE_EXHAUSTED.withDescription("tenant quota exceeded: 0 tokens left")
                        .asRuntimeException(trailers));
                return;
            }
            final List<String> script = chunks;
            if (model.startsWith("fail-after-1:")) {
                out.onNext(chunk(trace, script.get(0), 0));
                out.onError(failure(Status.Code.valueOf(model.substring("fail-after-1:".length()))));
                return;
            }
            for (int i = 0; i < script.size(); i++) {
                out.onNext(chunk(trace, script.get(i), i));
            }
            if (!model.equals("no-eos")) {
                out.onNext(StreamPredictResponse.newBuilder()
                        .setTraceId(trace).setEndOfStream(true).setIndex(script.size()).setTtftMs(1).build());
            }
            out.onCompleted();
        }

        private StreamPredictResponse chunk(String trace, String text, int index) {
            return StreamPredictResponse.newBuilder().setTraceId(trace).setChunk(text).setIndex(index).build();
        }

        private RuntimeException failure(Status.Code code) {
            final Metadata trailers = new Metadata();
            if (code == Status.Code.RESOURCE_EXHAUSTED) {
                trailers.put(RETRY_AFTER_MS, "1500");
            } else if (code == Status.Code.UNAVAILABLE) {
                trailers.put(PUSHBACK_MS, "2500");
            }
            return code.toStatus().withDescription("simulated " + code).asRuntimeException(trailers);
        }
    }
}
