package io.cy.sim;

import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.ControlMessage;
import io.cy.llm.proto.StreamPredictRequest;
import io.cy.llm.proto.StreamPredictResponse;
import io.cy.llm.proto.WorkerHealthRequest;
import io.cy.llm.proto.WorkerHealthResponse;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.ScheduledExecutorService;

/** The simulated worker behind {@code cy.llm.AiInference}. */
final class SimService extends AiInferenceGrpc.AiInferenceImplBase {

    private static final String VERSION = version();

    private final SimConfig config;
    private final SimStats stats;
    private final ScheduledExecutorService timer;
    private volatile boolean healthy = true;

    SimService(SimConfig config, SimStats stats, ScheduledExecutorService timer) {
        this.config = config;
        this.stats = stats;
        this.timer = timer;
    }

    void setHealthy(boolean healthy) {
        this.healthy = healthy;
    }

    @Override
    public StreamObserver<StreamPredictRequest> streamPredict(StreamObserver<StreamPredictResponse> responses) {
        final PredictCall call = new PredictCall(
                (ServerCallStreamObserver<StreamPredictResponse>) responses, config, stats, timer);
        call.start(CallerCheck.AUTH_ERROR.get());
        return call;
    }

    @Override
    public void control(ControlMessage request, StreamObserver<ControlMessage> responses) {
        final String authError = CallerCheck.AUTH_ERROR.get();
        if (authError != null) {
            responses.onError(Status.UNAUTHENTICATED.withDescription(authError).asRuntimeException());
            return;
        }
        final ControlMessage.Builder reply = ControlMessage.newBuilder().setTraceId(request.getTraceId());
        final String command = request.getCommand();
        switch (command) {
            case "ping":
                reply.setCommand("ping_response").putPayload("status", "ok").putPayload("message", "pong");
                break;
            case "list_models":
                reply.setCommand("list_models_response")
                        .putPayload("status", "ok")
                        .putPayload("models", config.models().isEmpty() ? "sim" : String.join(",", config.models()));
                if (!config.adapters().isEmpty()) {
                    reply.putPayload("adapters", String.join(",", config.adapters()));
                }
                break;
            case "unload_model":
                unloadModel(request.getPayloadOrDefault("model_id", ""), reply.setCommand("unload_model_response"));
                break;
            default:
                // What the Rust sidecar answers to commands the worker does not know.
                reply.setCommand("ACK: " + command);
                break;
        }
        responses.onNext(reply.build());
        responses.onCompleted();
    }

    @Override
    public void health(WorkerHealthRequest request, StreamObserver<WorkerHealthResponse> responses) {
        final String authError = CallerCheck.AUTH_ERROR.get();
        if (authError != null) {
            responses.onError(Status.UNAUTHENTICATED.withDescription(authError).asRuntimeException());
            return;
        }
        responses.onNext(WorkerHealthResponse.newBuilder()
                .setHealthy(healthy)
                .putMetrics("requests_inflight", Integer.toString(stats.inflight()))
                .putMetrics("requests_success", Long.toString(stats.callsSucceeded()))
                .putMetrics("requests_failed", Long.toString(stats.callsFailed()))
                .putMetrics("requests_cancelled", Long.toString(stats.callsCancelled()))
                .putMetrics("backend", "sim")
                .putMetrics("version", VERSION)
                .build());
        responses.onCompleted();
    }

    private void unloadModel(String modelId, ControlMessage.Builder reply) {
        if (modelId.isEmpty()) {
            reply.putPayload("status", "error").putPayload("message", "missing payload model_id");
        } else if (!config.models().isEmpty() && !config.models().contains(modelId)) {
            reply.putPayload("status", "error").putPayload("message", "model not found: " + modelId);
        } else {
            reply.putPayload("status", "ok").putPayload("message", "unloaded " + modelId);
        }
    }

    private static String version() {
        // Set in the runnable jar's manifest; absent when running from classes.
        final String v = SimService.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }
}
