package io.cy.bench.load;

import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.StreamPredictRequest;
import io.cy.llm.proto.StreamPredictResponse;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * StreamPredict calls of one plan, spread over the channels round-robin by slot. Every call
 * carries a trace id of its own in {@code metadata.trace_id}, as the gateway's calls do (unless
 * the plan's request has one): a target that assigns trace ids would otherwise have a sidecar that
 * echoes them in every response message, and its calls would carry more bytes than a plain proxy's.
 */
final class GrpcCalls implements CallFactory {

    private static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    private final LoadPlan plan;
    private final List<Channel> channels;
    private final MethodDescriptor<StreamPredictRequest, StreamPredictResponse> method =
            AiInferenceGrpc.getStreamPredictMethod();
    private final String authorization;
    private final int initialRequest;
    // Trace ids as UUIDs, one per call: a random half per run, a counter in the other.
    private final long traceIdRun = ThreadLocalRandom.current().nextLong();
    private final AtomicLong traceIdCount = new AtomicLong();

    GrpcCalls(LoadPlan plan, List<Channel> channels) {
        this.plan = plan;
        this.channels = channels;
        this.authorization = plan.token() == null ? null : "Bearer " + plan.token();
        this.initialRequest = plan.expectedChunks() >= 0 ? plan.expectedChunks() + 1 : 16;
    }

    @Override
    public LoadCall newCall(LoadRun run, long slot, long startNanos, Runnable onEnd) {
        final Channel channel = channels.get((int) (slot % channels.size()));
        // Fresh headers per call: gRPC adds its own entries to the object it is given.
        final Metadata headers = new Metadata();
        if (authorization != null) {
            headers.put(AUTHORIZATION, authorization);
        }
        return new StreamCall(run, startNanos, new StreamCheck(plan.expectedChunks()), onEnd,
                channel.newCall(method, CallOptions.DEFAULT), withTraceId(plan.request()), headers, initialRequest);
    }

    private StreamPredictRequest withTraceId(StreamPredictRequest request) {
        if (!request.getMetadata().getTraceId().isEmpty()) {
            return request;
        }
        return LoadPlan.withTraceId(request, new UUID(traceIdRun, traceIdCount.incrementAndGet()).toString());
    }
}
