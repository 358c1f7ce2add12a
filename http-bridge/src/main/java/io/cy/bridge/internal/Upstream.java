package io.cy.bridge.internal;

import static java.util.Objects.requireNonNull;

import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.StreamPredictRequest;
import io.cy.llm.proto.StreamPredictResponse;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The AiInference service the bridge calls: the coordinator inside the same process, or a
 * remote address. Calls are made with the generated method descriptors on raw {@link ClientCall}s,
 * so the bridge controls flow ({@code request(n)}) itself, and their callbacks run on the HTTP
 * connection's event loop (the executor passed in), where all per-request state lives.
 */
public final class Upstream {

    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    static final Metadata.Key<String> TRACE_ID = Metadata.Key.of("trace-id", Metadata.ASCII_STRING_MARSHALLER);
    /** Tells the coordinator the call came through the HTTP bridge, so its audit records {@code api = http}. */
    static final Metadata.Key<String> API = Metadata.Key.of("cy-api", Metadata.ASCII_STRING_MARSHALLER);
    /** The HTTP client's address, which the coordinator's audit log records instead of its own peer (the bridge). */
    static final Metadata.Key<String> CLIENT_ADDRESS =
            Metadata.Key.of("cy-client-address", Metadata.ASCII_STRING_MARSHALLER);

    /** The client certificate the bridge's TLS handshake verified (DER), which the coordinator authenticates as over gRPC. */
    static final Metadata.Key<byte[]> CLIENT_CERTIFICATE =
            Metadata.Key.of("cy-client-cert-bin", Metadata.BINARY_BYTE_MARSHALLER);

    /** Whether the HTTP request asked for {@code stream: true} ({@code true} or {@code false}), for usage records. */
    static final Metadata.Key<String> STREAM = Metadata.Key.of("cy-stream", Metadata.ASCII_STRING_MARSHALLER);

    static final Metadata.Key<String> TRACEPARENT = Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER);
    static final Metadata.Key<String> TRACESTATE = Metadata.Key.of("tracestate", Metadata.ASCII_STRING_MARSHALLER);
    /** W3C allows 55 characters for traceparent and 512 for tracestate. */
    private static final int MAX_TRACE_HEADER_CHARS = 512;

    private static final Logger log = LoggerFactory.getLogger(Upstream.class);

    private final Channel channel;
    private final Duration streamDeadline;

    /** @param streamDeadline deadline of each StreamPredict call; null for none */
    public Upstream(Channel channel, Duration streamDeadline) {
        this.channel = requireNonNull(channel, "channel");
        this.streamDeadline = streamDeadline;
    }

    /**
     * The headers of every upstream call: the caller's {@code authorization} unchanged (identity,
     * quotas and audit apply as for gRPC callers), the request id as {@code trace-id},
     * {@code cy-api: http} and the client's address as {@code cy-client-address}.
     *
     * @param authorization the HTTP {@code Authorization} header; null when absent
     * @param clientAddress the HTTP client's address; null when unknown
     * @param clientCertificate the DER of the client certificate TLS verified; null when none
     */
    static Metadata headers(String authorization, String traceId, String clientAddress, byte[] clientCertificate) {
        final Metadata headers = new Metadata();
        if (authorization != null) {
            headers.put(AUTHORIZATION, authorization);
        }
        headers.put(TRACE_ID, traceId);
        headers.put(API, "http");
        if (clientAddress != null) {
            headers.put(CLIENT_ADDRESS, clientAddress);
        }
        if (clientCertificate != null) {
            headers.put(CLIENT_CERTIFICATE, clientCertificate);
        }
        return headers;
    }

    /**
     * The client's W3C trace context, passed on so that the coordinator's span continues the
     * client's trace; values too long to be trace context, or not ASCII, are left out.
     */
    static void traceContext(Metadata headers, String traceparent, String tracestate) {
        if (isTraceHeader(traceparent)) {
            headers.put(TRACEPARENT, traceparent);
            if (isTraceHeader(tracestate)) {
                headers.put(TRACESTATE, tracestate);
            }
        }
    }

    private static boolean isTraceHeader(String value) {
        if (value == null || value.isEmpty() || value.length() > MAX_TRACE_HEADER_CHARS) {
            return false;
        }
        for (int i = 0; i < value.length(); i++) {
            if (value.charAt(i) < 0x20 || value.charAt(i) > 0x7e) {
                return false;
            }
        }
        return true;
    }

        /** A new, unstarted StreamPredict call whose callbacks run on {@code executor}. */
    ClientCall<StreamPredictRequest, StreamPredictResponse> newStreamPredict(Executor executor) {
        CallOptions options = CallOptions.DEFAULT.withExecutor(executor);
        if (streamDeadline != null) {
            options = options.withDeadlineAfter(streamDeadline.toNanos(), TimeUnit.NANOSECONDS);
        }
        return channel.newCall(AiInferenceGrpc.getStreamPredictMethod(), options);
    }

    /**
     * Starts a unary call ({@code Control}, {@code Health}); {@code result} runs once, on
     * {@code executor}. The returned call may be cancelled when the client goes away.
     */
    <ReqT, RespT> ClientCall<ReqT, RespT> unary(MethodDescriptor<ReqT, RespT> method, ReqT request, Metadata headers,
            Executor executor, Duration timeout, UnaryResult<RespT> result) {
        final ClientCall<ReqT, RespT> call = channel.newCall(method, CallOptions.DEFAULT
                .withExecutor(executor)
                .withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS));
        call.start(new ClientCall.Listener<>() {
            private RespT response;

            @Override
            public void onMessage(RespT message) {
                response = message;
            }

            @Override
            public void onClose(Status status, Metadata trailers) {
                try {
                    if (status.isOk() && response == null) {
                        result.done(null, Status.INTERNAL.withDescription("upstream sent no response"), trailers);
                    } else {
                        result.done(status.isOk() ? response : null, status, trailers);
                    }
                } catch (RuntimeException e) {
                    // Nothing to hand it to: grpc would only log it, less clearly.
                    log.error("{} answer could not be handled", method.getFullMethodName(), e);
                }
            }
        }, headers);
        call.sendMessage(request);
        call.halfClose();
        call.request(2); // one response; asking for more lets a protocol violation surface as an error
        return call;
    }

    /** The end of a unary call. */
    interface UnaryResult<T> {
        /** @param response the answer when {@code status} is OK, else null */
        void done(T response, Status status, Metadata trailers);
    }
}
