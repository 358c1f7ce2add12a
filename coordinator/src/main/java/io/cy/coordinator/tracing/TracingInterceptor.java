package io.cy.coordinator.tracing;

import static java.util.Objects.requireNonNull;

import io.grpc.Contexts;
import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.propagation.TextMapPropagator;

/**
 * Starts the server span of every StreamPredict call, as a child of the client's W3C
 * {@code traceparent} when it sent one, and leaves a {@link CallTrace} in the gRPC context for
 * the forwarder. Installed outside authentication, so refused calls have spans too; those end
 * when the call is closed. Never throws: a failure here only loses the span.
 */
public final class TracingInterceptor implements ServerInterceptor {

    private static final String STREAM_PREDICT = "StreamPredict";

    private final Tracer tracer;
    private final TextMapPropagator propagator;

    public TracingInterceptor(OpenTelemetry openTelemetry) {
        requireNonNull(openTelemetry, "openTelemetry");
        this.tracer = openTelemetry.getTracer("io.cy.coordinator");
        this.propagator = openTelemetry.getPropagators().getTextMapPropagator();
    }

    @Override
    public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata headers,
                                                                 ServerCallHandler<ReqT, RespT> next) {
        if (!STREAM_PREDICT.equals(call.getMethodDescriptor().getBareMethodName())) {
            return next.startCall(call, headers);
        }
        final CallTrace trace;
        try {
            final io.opentelemetry.context.Context parent =
                    propagator.extract(io.opentelemetry.context.Context.root(), headers, MetadataTextMap.INSTANCE);
            final Span span = tracer.spanBuilder(call.getMethodDescriptor().getFullMethodName())
                    .setParent(parent)
                    .setSpanKind(SpanKind.SERVER)
                    .setAttribute("rpc.system", "grpc")
                    .setAttribute("rpc.service", String.valueOf(call.getMethodDescriptor().getServiceName()))
                    .setAttribute("rpc.method", STREAM_PREDICT)
                    .startSpan();
            trace = new CallTrace(tracer, span, propagator);
        } catch (RuntimeException e) {
            return next.startCall(call, headers);
        }
        final ServerCall<ReqT, RespT> closing = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            public void close(Status status, Metadata trailers) {
                super.close(status, trailers);
                trace.closedBeforeClaim(status);
            }
        };
        return Contexts.interceptCall(io.grpc.Context.current().withValue(CallTrace.KEY, trace), closing, headers,
                next);
    }
}
