package io.cy.bench.load;

import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.StreamPredictRequest;
import io.cy.llm.proto.StreamPredictResponse;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import java.util.List;

/** StreamPredict calls of one plan, spread over the channels round-robin by slot. */
final class GrpcCalls implements CallFactory {

    private static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    private final LoadPlan plan;
    private final List<Channel> channels;
    private final MethodDescriptor<StreamPredictRequest, StreamPredictResponse> method =
            AiInferenceGrpc.getStreamPredictMethod();
    private final String authorization;
    private final int initialRequest;

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
                channel.newCall(method, CallOptions.DEFAULT), plan.request(), headers, initialRequest);
    }
}
