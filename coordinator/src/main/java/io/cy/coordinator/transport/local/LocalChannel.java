package io.cy.coordinator.transport.local;

import static java.util.Objects.requireNonNull;

import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.Context;
import io.grpc.Grpc;
import io.grpc.InternalServer;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.inprocess.InProcessSocketAddress;
import java.net.SocketAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;

/**
 * A channel whose calls go straight to the coordinator's services, interceptors and all: the
 * client's {@link ClientCall} and the service's {@link io.grpc.ServerCall} are two sides of one
 * {@link LocalCall}, with no transport between them.
 *
 * <p>grpc-java's in-process transport did the same job with a client call, a client stream, a
 * server stream, a server call, their synchronisation contexts and serialising executors, and
 * the headers serialised to check their size; per call of the HTTP bridge that was as much CPU
 * as the bridge's JSON and HTTP codec together. What a caller over a socket gets is kept: the
 * call's {@link io.grpc.Context} with its deadline and the server (for reflection), messages only
 * as requested, readiness that follows the caller's requests, cancellation both ways, and
 * {@code UNKNOWN} for a service that throws.
 *
 * <p>The transport's peer address is an {@link InProcessSocketAddress}: that is how the services
 * know a call came from inside the process (the bridge), whose headers about its own client they
 * then believe.
 */
public final class LocalChannel extends Channel {

    private final Map<String, ServerMethodDefinition<?, ?>> methods = new HashMap<>();
    /** Every call's context derives from it: the server in it is how grpc's reflection service finds what is served. */
    private final Context baseContext;
    private final ScheduledExecutorService deadlines;
    private final Attributes attributes;
    private final String authority;
    private final Set<LocalCall<?, ?>> open = ConcurrentHashMap.newKeySet();
    private volatile boolean shutdown;

    /**
     * @param server what the calls' context names as their server (grpc's reflection service
     *               reads it); the listener serving the same {@code services}
     * @param services what to serve, with their interceptors applied
     * @param deadlines where the timers of calls with a deadline run
     * @param name the peer address's name, also the calls' authority
     */
    public LocalChannel(Server server, List<ServerServiceDefinition> services, ScheduledExecutorService deadlines,
                        String name) {
        this.baseContext = Context.ROOT.withValue(InternalServer.SERVER_CONTEXT_KEY, requireNonNull(server, "server"));
        this.deadlines = requireNonNull(deadlines, "deadlines");
        this.authority = requireNonNull(name, "name");
        for (ServerServiceDefinition service : services) {
            for (ServerMethodDefinition<?, ?> method : service.getMethods()) {
                methods.put(method.getMethodDescriptor().getFullMethodName(), method);
            }
        }
        final SocketAddress address = new InProcessSocketAddress(name);
        this.attributes = Attributes.newBuilder()
                .set(Grpc.TRANSPORT_ATTR_REMOTE_ADDR, address)
                .set(Grpc.TRANSPORT_ATTR_LOCAL_ADDR, address)
                .build();
    }

    @Override
    public <ReqT, RespT> ClientCall<ReqT, RespT> newCall(MethodDescriptor<ReqT, RespT> method,
                                                         CallOptions callOptions) {
        return new LocalCall<>(this, method, methods.get(method.getFullMethodName()), callOptions);
    }

    @Override
    public String authority() {
        return authority;
    }

    /**
     * Refuses new calls with {@code UNAVAILABLE}, and cancels those still open: their callers hear
     * {@code UNAVAILABLE}, their services {@code onCancel}. For after the grace period, when the
     * callers (the bridge) have had their chance to finish.
     */
    public void shutdownNow() {
        shutdown = true;
        for (LocalCall<?, ?> call : open) {
            call.abort(Status.UNAVAILABLE.withDescription("coordinator shut down"));
        }
    }

    /** Calls started and not yet over on both sides. */
    public int openCalls() {
        return open.size();
    }

    // ---- for LocalCall ----

    boolean isShutdown() {
        return shutdown;
    }

    Context baseContext() {
        return baseContext;
    }

    ScheduledExecutorService deadlines() {
        return deadlines;
    }

    Attributes attributes() {
        return attributes;
    }

    void opened(LocalCall<?, ?> call) {
        open.add(call);
        if (shutdown) {
            // Shut down while it started: nothing else would cancel it.
            call.abort(Status.UNAVAILABLE.withDescription("coordinator shut down"));
        }
    }

    void over(LocalCall<?, ?> call) {
        open.remove(call);
    }
}
