package io.cy.coordinator.auth;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.call.TraceIds;
import io.cy.coordinator.config.CoordinatorConfig;
import io.cy.coordinator.transport.server.UnixPeer;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.security.cert.X509Certificate;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Authenticates every call before any handler runs and puts the caller's {@link Identity} in
 * the gRPC {@link Context}. It never throws: a missing or bad credential closes the call with
 * UNAUTHENTICATED, a caller without the needed role with PERMISSION_DENIED, each with the reason
 * and never the credential. A call on the Unix socket without an authorization header is
 * authenticated by its peer's uid or gid ({@code auth.unix_peers}), one over TLS with a verified
 * client certificate by that certificate ({@code auth.client_certs}); a header, when sent, wins.
 * When the issuer's keys must be fetched first, the call waits without
 * holding a thread: nothing is requested from the client until the caller is known.
 */
public final class AuthInterceptor implements ServerInterceptor {

    private static final Logger logger = LoggerFactory.getLogger(AuthInterceptor.class);
    private static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    /** Told of every call refused here, for the audit log. Must not block or throw. */
    @FunctionalInterface
    public interface RejectionListener {
        /** @param api {@code grpc}, or {@code http} for calls of the HTTP bridge */
        void rejected(String fullMethodName, Status status, String peer, String traceId, String api);
    }

    private final Authenticator authenticator;
    private final AuthPolicy policy;
    private final RejectionListener rejections;

    public AuthInterceptor(Authenticator authenticator, CoordinatorConfig.Auth config, RejectionListener rejections) {
        this.authenticator = requireNonNull(authenticator, "authenticator");
        this.policy = new AuthPolicy(config);
        this.rejections = requireNonNull(rejections, "rejections");
    }

    @Override
    public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
            ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
        final AuthPolicy.Requirement requirement;
        final CompletableFuture<Authentication> authentication;
        try {
            requirement = policy.requirementFor(call.getMethodDescriptor().getServiceName(),
                    call.getMethodDescriptor().getFullMethodName());
            if (requirement.kind() == AuthPolicy.Requirement.Kind.OPEN) {
                return next.startCall(call, headers);
            }
            final String header = headers.get(AUTHORIZATION);
            if (header == null || header.isBlank()) {
                // Only Unix-socket connections carry a peer: never TCP, never the HTTP bridge.
                final UnixPeer peer = call.getAttributes().get(UnixPeer.TRANSPORT_ATTR);
                if (peer != null) {
                    return admit(call, headers, next, requirement, authenticator.authenticate(peer), Context.current());
                }
                // Only a certificate the handshake verified against the CA bundle is ever seen here.
                final X509Certificate certificate = authenticator.knowsClientCerts()
                        ? CallOrigin.clientCertificate(call, headers) : null;
                if (certificate != null) {
                    return admit(call, headers, next, requirement, authenticator.authenticate(certificate),
                            Context.current());
                }
                return refuse(call, headers, Status.UNAUTHENTICATED.withDescription(BearerHeader.MISSING));
            }
            final String problem = BearerHeader.problem(header);
            if (problem != null) {
                return refuse(call, headers, Status.UNAUTHENTICATED.withDescription(problem));
            }
            final String token = BearerHeader.token(header);
            authentication = authenticator.authenticate(token);
        } catch (RuntimeException e) {
            logger.error("authentication of {} failed", call.getMethodDescriptor().getFullMethodName(), e);
            return refuse(call, headers, Status.INTERNAL.withDescription("authentication failed in the coordinator"));
        }
        final Context context = Context.current();
        if (authentication.isDone()) {
            return admit(call, headers, next, requirement, authentication.join(), context);
        }
        final DelayedListener<ReqT> delayed = new DelayedListener<>();
        authentication.whenComplete((result, error) -> {
            final Authentication outcome = error == null ? result
                    : Authentication.rejected("authentication failed: " + error.getClass().getSimpleName());
            delayed.setDelegate(admit(call, headers, next, requirement, outcome, context));
        });
        return delayed;
    }

    private <ReqT, RespT> ServerCall.Listener<ReqT> admit(
            ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next,
            AuthPolicy.Requirement requirement, Authentication authentication, Context context) {
        try {
            if (!authentication.isAuthenticated()) {
                return refuse(call, headers, authentication.failure());
            }
            final Identity identity = authentication.identity();
            if (requirement.kind() == AuthPolicy.Requirement.Kind.ROLE && !identity.hasRole(requirement.role())) {
                return refuse(call, headers, Status.PERMISSION_DENIED.withDescription("role '" + requirement.role()
                        + "' required for " + call.getMethodDescriptor().getFullMethodName()
                        + " (tenant " + identity.tenant() + " has roles: " + String.join(", ", identity.roles()) + ")"));
            }
            return Contexts.interceptCall(context.withValue(Identity.CURRENT, identity), call, headers, next);
        } catch (RuntimeException e) {
            logger.error("starting {} failed", call.getMethodDescriptor().getFullMethodName(), e);
            return refuse(call, headers, Status.INTERNAL.withDescription("authentication failed in the coordinator"));
        }
    }

    private <ReqT, RespT> ServerCall.Listener<ReqT> refuse(ServerCall<ReqT, RespT> call, Metadata headers,
                                                            Status status) {
        logger.debug("refused {}: {} {}", call.getMethodDescriptor().getFullMethodName(), status.getCode(),
                status.getDescription());
        // The client's trace id (or a new one) names the refusal in its answer, the audit log and
        // the access log alike.
        final String traceId = TraceIds.fromHeaders(headers);
        final Metadata trailers = new Metadata();
        trailers.put(TraceIds.TRACE_ID, traceId);
        call.close(status, trailers);
        try {
            rejections.rejected(call.getMethodDescriptor().getFullMethodName(), status,
                    CallOrigin.clientAddress(call, headers), traceId, CallOrigin.api(call, headers));
        } catch (RuntimeException e) {
            logger.error("rejection listener failed", e);
        }
        return new ServerCall.Listener<>() { };
    }
}
