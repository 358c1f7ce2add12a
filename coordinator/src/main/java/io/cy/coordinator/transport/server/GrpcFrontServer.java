package io.cy.coordinator.transport.server;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.transport.netty.Endpoint;
import io.cy.coordinator.transport.netty.NettyTransport;
import io.cy.coordinator.transport.netty.ServerTlsContext;
import io.cy.coordinator.transport.wire.FloodLimits;
import io.cy.coordinator.transport.wire.WriteCoalescer;
import io.grpc.Attributes;
import io.grpc.Server;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.ssl.SslHandler;
import java.io.IOException;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * The coordinator's gRPC listener: an HTTP/2 server of its own on the shared event loops, serving
 * grpc-java service definitions (interceptors and all) through {@link FrontCall}s. It replaces
 * grpc-java's Netty server on the listening sockets so that a relayed token costs one DATA frame
 * write rather than grpc's per-message framing, write queue and stream bookkeeping. Handlers run
 * on the event loop of their connection, as with grpc-java's direct executor. With a
 * {@link ServerTlsContext} the listener speaks TLS only: {@link TlsHandshake} stands in front of
 * each connection until its handshake negotiated {@code h2}.
 *
 * <p>Lifecycle as {@link Server}'s: {@link #shutdown} stops accepting and sends GOAWAY, calls in
 * progress go on; {@link #shutdownNow} cancels them; terminated once every connection closed.
 */
public final class GrpcFrontServer extends Server {

    /**
     * A call's {@link io.grpc.Grpc#TRANSPORT_ATTR_REMOTE_ADDR} as text, {@code String.valueOf} of it,
     * made once per connection rather than by every call that records where it came from.
     */
    public static final Attributes.Key<String> TRANSPORT_ATTR_REMOTE_ADDR_TEXT =
            Attributes.Key.create("cy-remote-addr-text");

    /**
     * Limits and timings, as grpc-java's server builder takes them.
     *
     * @param keepaliveTimeout how long a pinged client may take to answer before it is disconnected
     * @param handshakeTimeout how long a new connection may take to start HTTP/2 (send its preface)
     * @param maxConnectionAge how long a connection may live (±10%) before the two-step GOAWAY; null: forever
     * @param maxConnectionAgeGrace how long calls may go on after that GOAWAY; null: as long as they last
     * @param maxConnectionIdle how long a connection may go without a stream before the GOAWAY; null: forever
     * @param floodLimits what a client may make the server do before it is disconnected
     */
    public record Settings(int maxConcurrentStreams, int maxHeaderListBytes, int maxMessageBytes,
                           Duration keepaliveTime, Duration keepaliveTimeout, Duration permitKeepaliveTime,
                           Duration handshakeTimeout, Duration maxConnectionAge, Duration maxConnectionAgeGrace,
                           Duration maxConnectionIdle, FloodLimits floodLimits) {

        public Settings {
            requireNonNull(keepaliveTime, "keepaliveTime");
            requireNonNull(keepaliveTimeout, "keepaliveTimeout");
            requireNonNull(permitKeepaliveTime, "permitKeepaliveTime");
            requireNonNull(handshakeTimeout, "handshakeTimeout");
            requirePositive(maxConnectionAge, "maxConnectionAge");
            requirePositive(maxConnectionAgeGrace, "maxConnectionAgeGrace");
            requirePositive(maxConnectionIdle, "maxConnectionIdle");
            requireNonNull(floodLimits, "floodLimits");
        }

        /** Connections that live for as long as their clients keep them, with {@link FloodLimits#DEFAULTS}. */
        public Settings(int maxConcurrentStreams, int maxHeaderListBytes, int maxMessageBytes,
                        Duration keepaliveTime, Duration keepaliveTimeout, Duration permitKeepaliveTime,
                        Duration handshakeTimeout) {
            this(maxConcurrentStreams, maxHeaderListBytes, maxMessageBytes, keepaliveTime, keepaliveTimeout,
                    permitKeepaliveTime, handshakeTimeout, null, null, null, FloodLimits.DEFAULTS);
        }

        private static void requirePositive(Duration d, String name) {
            if (d != null && (d.isNegative() || d.isZero())) {
                throw new IllegalArgumentException(name + ": " + d + " (expected: > 0, or null for none)");
            }
        }
    }

    private final Endpoint listen;
    private final NettyTransport transport;
    private final List<ServerServiceDefinition> services;
    private final Map<String, ServerMethodDefinition<?, ?>> methods = new HashMap<>();
    private final Settings settings;
    private final ServerTlsContext tls;
    private final Set<FrontConnection> connections = ConcurrentHashMap.newKeySet();
    private final CountDownLatch terminated = new CountDownLatch(1);
    private final LongAdder connectionErrors = new LongAdder();
    private final LongAdder handshakeFailures = new LongAdder();
    private Channel listener;
    private volatile boolean shutdown;

    /** A plaintext listener; @param services what to serve, with their interceptors applied */
    public GrpcFrontServer(Endpoint listen, NettyTransport transport, List<ServerServiceDefinition> services,
                           Settings settings) {
        this(listen, transport, services, settings, null);
    }

    /**
     * @param services what to serve, with their interceptors applied
     * @param tls with it, the listener speaks TLS only (ALPN h2); null: plaintext only
     */
    public GrpcFrontServer(Endpoint listen, NettyTransport transport, List<ServerServiceDefinition> services,
                           Settings settings, ServerTlsContext tls) {
        this.tls = tls;
        this.listen = requireNonNull(listen, "listen");
        this.transport = requireNonNull(transport, "transport");
        this.services = List.copyOf(requireNonNull(services, "services"));
        this.settings = requireNonNull(settings, "settings");
        for (ServerServiceDefinition service : this.services) {
            for (ServerMethodDefinition<?, ?> method : service.getMethods()) {
                methods.put(method.getMethodDescriptor().getFullMethodName(), method);
            }
        }
    }

    @Override
    public synchronized GrpcFrontServer start() throws IOException {
        if (listener != null) {
            throw new IllegalStateException("already started");
        }
        final ServerBootstrap bootstrap = new ServerBootstrap()
                .group(transport.bossGroup(), transport.workerGroup())
                .channel(transport.serverChannelType(listen))
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel channel) {
                        if (tls == null) {
                            channel.pipeline().addLast(new WriteCoalescer(),
                                    new FrontConnection(GrpcFrontServer.this, channel.eventLoop(), null).handler());
                            return;
                        }
                        final SslHandler ssl = tls.newHandler(channel.alloc());
                        ssl.setHandshakeTimeoutMillis(settings.handshakeTimeout().toMillis());
                        channel.pipeline().addLast(ssl, new TlsHandshake(GrpcFrontServer.this, ssl));
                    }
                });
        try {
            listener = bootstrap.bind(listen.socketAddress()).sync().channel();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while binding " + listen, e);
        } catch (RuntimeException e) {
            throw new IOException(e.getMessage(), e);
        }
        listener.closeFuture().addListener(f -> maybeTerminated());
        return this;
    }

    @Override
    public List<? extends SocketAddress> getListenSockets() {
        return listener == null ? List.of() : List.of(listener.localAddress());
    }

    @Override
    public List<ServerServiceDefinition> getServices() {
        return services;
    }

    @Override
    public List<ServerServiceDefinition> getImmutableServices() {
        return services;
    }

    @Override
    public List<ServerServiceDefinition> getMutableServices() {
        return List.of();
    }

    @Override
    public synchronized GrpcFrontServer shutdown() {
        if (shutdown) {
            return this;
        }
        shutdown = true;
        if (listener == null) {
            terminated.countDown();
            return this;
        }
        listener.close();
        for (FrontConnection connection : connections) {
            connection.loop().execute(connection::goAway);
        }
        maybeTerminated();
        return this;
    }

    @Override
    public GrpcFrontServer shutdownNow() {
        shutdown();
        for (FrontConnection connection : connections) {
            connection.loop().execute(connection::closeNow);
        }
        return this;
    }

    @Override
    public boolean isShutdown() {
        return shutdown;
    }

    @Override
    public boolean isTerminated() {
        return terminated.getCount() == 0;
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
        return terminated.await(timeout, unit);
    }

    @Override
    public void awaitTermination() throws InterruptedException {
        terminated.await();
    }

    /** Client connections that ended in an I/O error (reset, broken pipe) or another failure. */
    public long connectionErrors() {
        return connectionErrors.sum();
    }

    /** TLS connections refused during the handshake: no TLS, an old version, no h2 by ALPN, no valid client certificate. */
    public long handshakeFailures() {
        return handshakeFailures.sum();
    }

    // ---- for the connections ----

    void handshakeFailed() {
        handshakeFailures.increment();
    }

    void connectionFailed() {
        connectionErrors.increment();
    }

    ServerMethodDefinition<?, ?> method(String fullMethodName) {
        return methods.get(fullMethodName);
    }

    Settings settings() {
        return settings;
    }

    void connectionOpened(FrontConnection connection) {
        connections.add(connection);
        if (shutdown) {
            // Accepted just before the listener closed.
            connection.goAway();
        }
    }

    void connectionClosed(FrontConnection connection) {
        connections.remove(connection);
        maybeTerminated();
    }

    private void maybeTerminated() {
        if (shutdown && connections.isEmpty() && (listener == null || !listener.isOpen())) {
            terminated.countDown();
        }
    }
}
