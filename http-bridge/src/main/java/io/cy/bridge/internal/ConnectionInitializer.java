package io.cy.bridge.internal;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.cy.coordinator.transport.netty.ServerTlsContext;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.group.ChannelGroup;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.flush.FlushConsolidationHandler;
import java.time.Duration;
import java.util.function.BooleanSupplier;

/**
 * The pipeline of every accepted connection:
 *
 * <pre>
 * SslHandler           with TLS only: TLS 1.2+, ALPN http/1.1, the context in use when the connection came
 * FlushConsolidation   tokens that arrive together leave in one write: a flush waits for the
 *                      end of the event loop's current task (microseconds), not for more tokens
 * IdleTimeout          closes idle keep-alive connections and clients that stopped reading
 * HttpServerCodec      HTTP/1.1; request line and headers bounded by Netty's defaults (4 KiB, 8 KiB)
 * BodyLimitAggregator  whole bodies up to the limit, 413 beyond it
 * BridgeHandler        one request at a time, routed by {@link Routes}
 * </pre>
 */
public final class ConnectionInitializer extends ChannelInitializer<Channel> {

    private final Routes routes;
    private final ObjectMapper mapper;
    private final int maxBodyBytes;
    private final long idleNanos;
    private final BooleanSupplier draining;
    private final ChannelGroup connections;
    private final ServerTlsContext tls;

    /** @param tls null for plaintext */
    public ConnectionInitializer(Routes routes, ObjectMapper mapper, int maxBodyBytes, Duration idleTimeout,
            BooleanSupplier draining, ChannelGroup connections, ServerTlsContext tls) {
        this.tls = tls;
        this.routes = requireNonNull(routes, "routes");
        this.mapper = requireNonNull(mapper, "mapper");
        this.maxBodyBytes = maxBodyBytes;
        this.idleNanos = idleTimeout.toNanos();
        this.draining = requireNonNull(draining, "draining");
        this.connections = requireNonNull(connections, "connections");
    }

    @Override
    protected void initChannel(Channel ch) {
        // Tracked for shutdown; the group forgets a connection when it closes.
        connections.add(ch);
        if (tls != null) {
            // Handshake failures (a plaintext client, TLS 1.1) reach BridgeHandler's exceptionCaught, logged at DEBUG.
            ch.pipeline().addLast("tls", tls.newHandler(ch.alloc()));
        }
        ch.pipeline()
                // Without it every token is its own write system call (and wakes the client once
                // per token) even when a burst of them came from the sidecar in one read.
                .addLast("flush", new FlushConsolidationHandler(
                        FlushConsolidationHandler.DEFAULT_EXPLICIT_FLUSH_AFTER_FLUSHES, true))
                .addLast("idle", new IdleTimeout(idleNanos))
                .addLast("codec", new HttpServerCodec())
                .addLast("aggregator", new BodyLimitAggregator(maxBodyBytes))
                .addLast("bridge", new BridgeHandler(routes, mapper, draining));
    }
}
