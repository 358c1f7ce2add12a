package io.cy.bridge;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cy.bridge.internal.BridgeHandler;
import io.cy.bridge.internal.ConnectionInitializer;
import io.cy.bridge.internal.Routes;
import io.cy.bridge.internal.Upstream;
import io.cy.coordinator.transport.netty.Endpoint;
import io.cy.coordinator.transport.netty.NettyTransport;
import io.cy.coordinator.transport.netty.ServerTlsContext;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The OpenAI-compatible HTTP API in front of AiInference: a Netty HTTP/1.1 server that turns
 * each {@code /v1/chat/completions} or {@code /v1/completions} request into one StreamPredict
 * call on {@code upstream} and the answer back into OpenAI's JSON or server-sent events.
 *
 * <pre>{@code
 * HttpBridge bridge = HttpBridge.start(BridgeConfig.fromEnvironment(System.getenv()),
 *         channel, transport);
 * ...
 * bridge.shutdown(Duration.ofSeconds(30));
 * }</pre>
 *
 * <p>The bridge owns neither the event loops nor the upstream channel: whoever created them
 * closes them, after {@link #shutdown}. Sharing the coordinator's event loops means a token goes
 * from the gRPC side to the HTTP connection without crossing a thread pool.
 */
public final class HttpBridge implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(HttpBridge.class);

    /**
     * Netty's defaults, stated because they are the bridge's buffering bound per connection: the
     * next upstream message is requested only while less than the high mark is queued.
     */
    private static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(32 << 10, 64 << 10);
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(5);

    private final Endpoint endpoint;
    private final Channel serverChannel;
    private final ChannelGroup connections;
    private final AtomicBoolean draining;
    private final AtomicBoolean closed = new AtomicBoolean();

    private HttpBridge(Endpoint endpoint, Channel serverChannel, ChannelGroup connections, AtomicBoolean draining) {
        this.endpoint = endpoint;
        this.serverChannel = serverChannel;
        this.connections = connections;
        this.draining = draining;
    }

    /**
     * Binds {@code config.listen()} and starts serving.
     *
     * @param upstream where AiInference is served: a channel into the coordinator's own process, or a
     *     channel to a remote one
     * @param channelType the server channel class matching the event loops and the listen address
     * @throws IOException when the address cannot be bound
     */
    public static HttpBridge start(BridgeConfig config, io.grpc.Channel upstream, EventLoopGroup bossGroup,
            EventLoopGroup workerGroup, Class<? extends ServerChannel> channelType) throws IOException {
        return start(config, upstream, bossGroup, workerGroup, channelType, null);
    }

    /**
     * As {@link #start(BridgeConfig, io.grpc.Channel, EventLoopGroup, EventLoopGroup, Class)}, over
     * TLS when {@code tls} is not null: then the listener speaks TLS only, and a client
     * certificate its handshake verified goes upstream with each call ({@code cy-client-cert-bin}),
     * as the client's address does.
     */
    public static HttpBridge start(BridgeConfig config, io.grpc.Channel upstream, EventLoopGroup bossGroup,
            EventLoopGroup workerGroup, Class<? extends ServerChannel> channelType, ServerTlsContext tls)
            throws IOException {
        requireNonNull(config, "config");
        requireNonNull(upstream, "upstream");
        requireNonNull(bossGroup, "bossGroup");
        requireNonNull(workerGroup, "workerGroup");
        requireNonNull(channelType, "channelType");

        final ObjectMapper mapper = new ObjectMapper()
                // "{} x" is not a JSON object: say where it broke instead of ignoring the rest.
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
        final Routes routes = new Routes(config, new Upstream(upstream, config.upstreamDeadline()), mapper,
                Clock.systemUTC());
        final AtomicBoolean draining = new AtomicBoolean();
        final ChannelGroup connections = new DefaultChannelGroup("cy-http-bridge", GlobalEventExecutor.INSTANCE);

        final ServerBootstrap bootstrap = new ServerBootstrap()
                .group(bossGroup, workerGroup)
                .channel(channelType)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .childHandler(new ConnectionInitializer(routes, mapper, config.maxBodyBytes(), config.idleTimeout(),
                        draining::get, connections, tls));
        final ChannelFuture bound = bootstrap.bind(config.listen().socketAddress()).awaitUninterruptibly();
        if (!bound.isSuccess()) {
            final Throwable cause = bound.cause();
            throw new IOException("cannot listen on " + config.listen() + ": "
                    + (cause.getMessage() == null ? cause.toString() : cause.getMessage()), cause);
        }
        final Channel serverChannel = bound.channel();
        final Endpoint endpoint = config.listen().isUnix() ? config.listen()
                : config.listen().withPort(((InetSocketAddress) serverChannel.localAddress()).getPort());
        log.info("HTTP bridge listening on {}{}", endpoint, tls == null ? "" : " (TLS, " + tls.provider() + ")");
        return new HttpBridge(endpoint, serverChannel, connections, draining);
    }

    /** {@link #start(BridgeConfig, io.grpc.Channel, EventLoopGroup, EventLoopGroup, Class)} on a transport's event loops. */
    public static HttpBridge start(BridgeConfig config, io.grpc.Channel upstream, NettyTransport transport)
            throws IOException {
        return start(config, upstream, transport, null);
    }

    /** As {@link #start(BridgeConfig, io.grpc.Channel, NettyTransport)}, over TLS when {@code tls} is not null. */
    public static HttpBridge start(BridgeConfig config, io.grpc.Channel upstream, NettyTransport transport,
            ServerTlsContext tls) throws IOException {
        requireNonNull(config, "config");
        requireNonNull(transport, "transport");
        return start(config, upstream, transport.bossGroup(), transport.workerGroup(),
                transport.serverChannelType(config.listen()), tls);
    }

    /** The bound TCP port (the actual one when configured as 0); -1 on a Unix socket. */
    public int port() {
        return endpoint.isUnix() ? -1 : endpoint.port();
    }

    /** The bound address. */
    public Endpoint endpoint() {
        return endpoint;
    }

    /**
     * Stops accepting connections, closes idle ones, lets requests in progress finish for up to
     * {@code grace} (their connections close after the response; {@code /readyz} answers 503
     * meanwhile), then closes the rest, which cancels their upstream calls. Idempotent.
     */
    public void shutdown(Duration grace) {
        requireNonNull(grace, "grace");
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        draining.set(true);
        serverChannel.close().awaitUninterruptibly(CLOSE_TIMEOUT.toMillis());
        for (Channel ch : connections) {
            ch.eventLoop().execute(() -> ch.pipeline().fireUserEventTriggered(BridgeHandler.DRAIN));
        }
        if (!grace.isNegative() && !grace.isZero()) {
            connections.newCloseFuture().awaitUninterruptibly(grace.toMillis());
        }
        connections.close().awaitUninterruptibly(CLOSE_TIMEOUT.toMillis());
        if (endpoint.isUnix()) {
            try {
                Files.deleteIfExists(endpoint.socketPath());
            } catch (IOException e) {
                log.warn("cannot remove socket file {}", endpoint.socketPath(), e);
            }
        }
        log.info("HTTP bridge on {} stopped", endpoint);
    }

    /** {@link #shutdown} without grace: open requests are cut off and their upstream calls cancelled. */
    @Override
    public void close() {
        shutdown(Duration.ZERO);
    }

    @Override
    public String toString() {
        return "HttpBridge{" + endpoint + '}';
    }
}
