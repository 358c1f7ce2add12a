package io.cy.coordinator.service;

import io.cy.coordinator.auth.CallOrigin;
import io.cy.llm.proto.ControlMessage;
import io.cy.llm.proto.StreamPredictRequest;
import io.cy.llm.proto.StreamPredictResponse;
import io.cy.llm.proto.WorkerHealthRequest;
import io.cy.llm.proto.WorkerHealthResponse;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCallHandler;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.stub.ServerCalls;
import java.util.List;

/**
 * Binds one implementation to both names of the service: {@code cy.llm.AiInference}, as
 * generated clients call it, and the unqualified {@code AiInference} that the integration
 * guide's grpcurl commands use. Each keeps its own schema, so reflection lists both.
 */
public final class AiInferenceServices {

    /** StreamPredict as the coordinator calls it on a sidecar: responses stay bytes. */
    public static final MethodDescriptor<StreamPredictRequest, byte[]> SIDECAR_STREAM_PREDICT =
            relayed(io.cy.llm.proto.AiInferenceGrpc.getStreamPredictMethod());

    /** The fully qualified and the unqualified service names. */
    public static final List<String> SERVICE_NAMES = List.of(
            io.cy.llm.proto.AiInferenceGrpc.SERVICE_NAME,
            io.cy.llm.proto.unqualified.AiInferenceGrpc.SERVICE_NAME);

    private AiInferenceServices() {}

    public static List<ServerServiceDefinition> bind(
            StreamPredictForwarder streamPredict, ControlHandler control, HealthHandler health) {
        return List.of(
                bind(io.cy.llm.proto.AiInferenceGrpc.getServiceDescriptor(),
                        io.cy.llm.proto.AiInferenceGrpc.getStreamPredictMethod(),
                        io.cy.llm.proto.AiInferenceGrpc.getControlMethod(),
                        io.cy.llm.proto.AiInferenceGrpc.getHealthMethod(),
                        streamPredict, control, health),
                bind(io.cy.llm.proto.unqualified.AiInferenceGrpc.getServiceDescriptor(),
                        io.cy.llm.proto.unqualified.AiInferenceGrpc.getStreamPredictMethod(),
                        io.cy.llm.proto.unqualified.AiInferenceGrpc.getControlMethod(),
                        io.cy.llm.proto.unqualified.AiInferenceGrpc.getHealthMethod(),
                        streamPredict, control, health));
    }

    private static ServerServiceDefinition bind(
            ServiceDescriptor generated,
            MethodDescriptor<StreamPredictRequest, StreamPredictResponse> streamPredictMethod,
            MethodDescriptor<ControlMessage, ControlMessage> controlMethod,
            MethodDescriptor<WorkerHealthRequest, WorkerHealthResponse> healthMethod,
            StreamPredictForwarder streamPredict, ControlHandler control, HealthHandler health) {
        final MethodDescriptor<StreamPredictRequest, byte[]> relayed = relayed(streamPredictMethod);
        final ServiceDescriptor descriptor = ServiceDescriptor.newBuilder(generated.getName())
                .setSchemaDescriptor(generated.getSchemaDescriptor())
                .addMethod(relayed)
                .addMethod(controlMethod)
                .addMethod(healthMethod)
                .build();
        final ServerCallHandler<ControlMessage, ControlMessage> controlHandler = (call, headers) ->
                ServerCalls.<ControlMessage, ControlMessage>asyncUnaryCall(
                        (request, responses) -> control.control(request, headers,
                                CallOrigin.clientAddress(call, headers), CallOrigin.api(call, headers), responses))
                        .startCall(call, headers);
        return ServerServiceDefinition.builder(descriptor)
                .addMethod(relayed, streamPredict)
                .addMethod(controlMethod, controlHandler)
                .addMethod(healthMethod, ServerCalls.asyncUnaryCall(health::health))
                .build();
    }

    private static MethodDescriptor<StreamPredictRequest, byte[]> relayed(
            MethodDescriptor<StreamPredictRequest, StreamPredictResponse> method) {
        return method.toBuilder(method.getRequestMarshaller(), ByteMarshaller.INSTANCE).build();
    }
}
