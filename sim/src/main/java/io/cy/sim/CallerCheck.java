package io.cy.sim;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.security.MessageDigest;

/**
 * Records every call's headers and checks its internal token, as the worker does with
 * {@code authorization: Bearer <CY_LLM_INTERNAL_TOKEN>}.
 *
 * <p>It only judges; the service ends a rejected call itself, so a rejected StreamPredict is
 * counted in the stats like any other failed call.
 */
final class CallerCheck implements ServerInterceptor {

    /** Why the current call is not authenticated; absent when it is. */
    static final Context.Key<String> AUTH_ERROR = Context.key("cy-sim-auth-error");

    private static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    private final SimStats stats;
    private final byte[] expected;

    /** @param internalToken null for no auth */
    CallerCheck(SimStats stats, String internalToken) {
        this.stats = stats;
        this.expected = internalToken == null ? null : ("Bearer " + internalToken).getBytes(UTF_8);
    }

    @Override
    public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
            ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
        // A copy: tests read it after the call, and gRPC owns the original.
        final Metadata copy = new Metadata();
        copy.merge(headers);
        stats.headers(call.getMethodDescriptor().getBareMethodName(), copy);
        final String error = authError(headers);
        if (error == null) {
            return next.startCall(call, headers);
        }
        return Contexts.interceptCall(Context.current().withValue(AUTH_ERROR, error), call, headers, next);
    }

    private String authError(Metadata headers) {
        if (expected == null) {
            return null;
        }
        final String presented = headers.get(AUTHORIZATION);
        if (presented == null) {
            return "missing authorization metadata (expected: Bearer <internal token>)";
        }
        // Constant time, so response timing does not reveal how much of a guess was right.
        if (!MessageDigest.isEqual(expected, presented.getBytes(UTF_8))) {
            return "invalid internal token";
        }
        return null;
    }
}
