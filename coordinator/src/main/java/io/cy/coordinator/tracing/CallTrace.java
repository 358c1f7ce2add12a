package io.cy.coordinator.tracing;

import io.grpc.Metadata;
import io.grpc.Status;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.propagation.TextMapPropagator;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.MDC;

/**
 * The spans of one StreamPredict call: the server span, started by {@link TracingInterceptor},
 * and a child span for each sidecar attempt. The forwarder reports to it at a few points (attempt
 * started, first chunk, attempt ended, call ended); with tracing off it gets {@link #NONE}, whose
 * methods do nothing.
 */
public class CallTrace {

    /** Where the interceptor leaves the call's trace for the forwarder. */
    static final io.grpc.Context.Key<CallTrace> KEY = io.grpc.Context.key("cy-call-trace");

    /** Tracing off, or a call the interceptor did not see. */
    public static final CallTrace NONE = new CallTrace();

    static final AttributeKey<String> CY_TRACE_ID = AttributeKey.stringKey("cy.trace_id");
    static final AttributeKey<String> TENANT = AttributeKey.stringKey("cy.tenant");
    static final AttributeKey<String> ALIAS = AttributeKey.stringKey("cy.alias");
    static final AttributeKey<String> MODEL = AttributeKey.stringKey("cy.model");
    static final AttributeKey<String> BACKEND = AttributeKey.stringKey("cy.backend");
    static final AttributeKey<String> SIDECAR = AttributeKey.stringKey("cy.sidecar");
    static final AttributeKey<Long> PROMPT_TOKENS = AttributeKey.longKey("cy.prompt_tokens");
    static final AttributeKey<Long> COMPLETION_TOKENS = AttributeKey.longKey("cy.completion_tokens");
    static final AttributeKey<Double> TTFT_MS = AttributeKey.doubleKey("cy.ttft_ms");
    static final AttributeKey<String> STATUS = AttributeKey.stringKey("rpc.grpc.status_code");

    private final Tracer tracer;
    private final Span server;
    private final TextMapPropagator propagator;
    private final AtomicBoolean claimed = new AtomicBoolean();
    private final AtomicBoolean ended = new AtomicBoolean();
    // One attempt at a time: set and ended under the forwarder's per-call order.
    private volatile Span attempt;

    private CallTrace() {
        this(null, Span.getInvalid(), null);
    }

    CallTrace(Tracer tracer, Span server, TextMapPropagator propagator) {
        this.tracer = tracer;
        this.server = server;
        this.propagator = propagator;
    }

    /** MDC keys of lines logged while a call is being ended or failed: its cy trace id and its span's id. */
    public static final String MDC_TRACE_ID = "trace_id";
    public static final String MDC_SPAN_ID = "span_id";

    /**
     * Puts the call's trace id (and, when traced, its server span's id) into the MDC until the
     * returned scope is closed, so that every line logged meanwhile on this thread carries them.
     * Meant for the moments a call ends or fails, not for every token.
     */
    public LogScope logScope(String traceId) {
        MDC.put(MDC_TRACE_ID, traceId);
        if (this != NONE) {
            MDC.put(MDC_SPAN_ID, server.getSpanContext().getSpanId());
        }
        return LOG_SCOPE;
    }

    /** Ends a {@link #logScope}; closing it does not throw. */
    public interface LogScope extends AutoCloseable {
        @Override
        void close();
    }

    private static final LogScope LOG_SCOPE = () -> {
        MDC.remove(MDC_TRACE_ID);
        MDC.remove(MDC_SPAN_ID);
    };

    /** The trace the interceptor started for the current call, or {@link #NONE}. */
    public static CallTrace current() {
        final CallTrace trace = KEY.get();
        return trace == null ? NONE : trace;
    }

    /** The forwarder takes the call: it ends the server span with the call's summary. */
    public void claim() {
        claimed.set(true);
    }

    /**
     * A sidecar attempt starts: its span, a child of the server span, and {@code traceparent}
     * (and {@code tracestate}) naming it in {@code sidecarHeaders}.
     */
    public void attemptStarted(Metadata sidecarHeaders, String backend, String sidecar, boolean retry) {
        if (this == NONE) {
            return;
        }
        if (retry) {
            server.addEvent("retry");
        }
        final Span span = tracer.spanBuilder("sidecar attempt")
                .setParent(io.opentelemetry.context.Context.root().with(server))
                .setSpanKind(SpanKind.CLIENT)
                .setAttribute(SIDECAR, sidecar)
                .setAttribute(BACKEND, backend)
                .startSpan();
        attempt = span;
        propagator.inject(io.opentelemetry.context.Context.root().with(span), sidecarHeaders, MetadataTextMap.INSTANCE);
    }

    /** The first response message of the current attempt arrived. */
    public void firstChunk() {
        if (this == NONE) {
            return;
        }
        final Span span = attempt;
        if (span != null) {
            span.addEvent("first chunk");
        }
        server.addEvent("first chunk");
    }

    /** The current attempt's sidecar call closed with {@code status}. */
    public void attemptEnded(Status status) {
        final Span span = attempt;
        if (this == NONE || span == null) {
            return;
        }
        span.setAttribute(STATUS, status.getCode().name());
        if (!status.isOk()) {
            span.setStatus(StatusCode.ERROR, String.valueOf(status.getDescription()));
        }
        span.end();
    }

    /**
     * The call ended: the server span gets the call's figures and ends. (Plain values, not the
     * service's call summary, so that this package does not depend on the one calling it.)
     *
     * @param timeToFirstChunkNanos -1 when no response came
     */
    public void end(String traceId, String tenant, String alias, String model, String backend, String sidecar,
                    long promptTokens,
                    long completionTokens, long timeToFirstChunkNanos, Status status) {
        if (this == NONE || !ended.compareAndSet(false, true)) {
            return;
        }
        server.setAttribute(CY_TRACE_ID, traceId)
                .setAttribute(TENANT, tenant)
                .setAttribute(MODEL, model)
                .setAttribute(ALIAS, alias)
                .setAttribute(BACKEND, backend)
                .setAttribute(SIDECAR, sidecar)
                .setAttribute(PROMPT_TOKENS, promptTokens)
                .setAttribute(COMPLETION_TOKENS, completionTokens);
        if (timeToFirstChunkNanos >= 0) {
            server.setAttribute(TTFT_MS, timeToFirstChunkNanos / 1e6);
        }
        endServer(status);
    }

    /** The call was closed before the forwarder took it (refused at authentication). */
    void closedBeforeClaim(Status status) {
        if (this == NONE || claimed.get() || !ended.compareAndSet(false, true)) {
            return;
        }
        endServer(status);
    }

    private void endServer(Status status) {
        server.setAttribute(STATUS, status.getCode().name());
        if (!status.isOk()) {
            server.setStatus(StatusCode.ERROR, String.valueOf(status.getDescription()));
        }
        server.end();
    }
}
