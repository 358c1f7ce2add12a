package io.cy.bench.load;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.transport.netty.NettyTransport;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.handler.codec.http.HttpClientCodec;
import java.net.SocketAddress;
import java.util.Deque;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;

/**
 * The HTTP/1.1 connections a load run uses towards one target, closed together. HTTP/1.1 carries
 * one exchange at a time per connection, so there is one connection per call in progress: a call
 * takes an idle one or opens one, and gives it back when its response has ended. The number open
 * at once is bounded; a load run never needs more than its concurrency.
 */
public final class HttpConnections implements AutoCloseable {

    private static final int CONNECT_TIMEOUT_MILLIS = (int) TimeUnit.SECONDS.toMillis(10);

    private final HttpTarget target;
    // Resolved once: a host name looked up per connection would block the event loop that opens it.
    private final SocketAddress address;
    private final int max;
    private final Bootstrap bootstrap;
    // Most recently used first: a closed loop keeps reusing the connections it warmed.
    private final Deque<HttpConnection> idle = new ConcurrentLinkedDeque<>();
    private final Set<HttpConnection> all = ConcurrentHashMap.newKeySet();
    private final AtomicInteger opened = new AtomicInteger();
    private volatile boolean closed;

    private HttpConnections(HttpTarget target, SocketAddress address, int max, Bootstrap bootstrap) {
        this.target = target;
        this.address = address;
        this.max = max;
        this.bootstrap = bootstrap;
    }

    /**
     * Connections on the transport's event loops; none is opened until asked for.
     *
     * @param max the most open at once
     */
    public static HttpConnections open(NettyTransport transport, HttpTarget target, int max) {
        requireNonNull(transport, "transport");
        requireNonNull(target, "target");
        if (max < 1) {
            throw new IllegalArgumentException("max: " + max + " (expected: >= 1)");
        }
        final Bootstrap bootstrap = new Bootstrap()
                .group(transport.workerGroup())
                .channel(transport.channelType(target.endpoint()))
                // As gRPC does: a small request or event must not wait for Nagle's algorithm.
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, CONNECT_TIMEOUT_MILLIS)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpClientCodec(), new HttpConnection(ch));
                    }
                });
        return new HttpConnections(target, target.endpoint().socketAddress(), max, bootstrap);
    }

    public HttpTarget target() {
        return target;
    }

    /** The most connections open at once. */
    public int max() {
        return max;
    }

    /**
     * An idle connection, else a new one. {@code ready} gets it, or the reason there is none,
     * once: now, or on the new connection's event loop when it is connected.
     */
    void acquire(BiConsumer<HttpConnection, Throwable> ready) {
        HttpConnection connection;
        while ((connection = idle.pollFirst()) != null) {
            if (connection.isActive()) {
                ready.accept(connection, null);
                return;
            }
            // Closed while idle: uncounted here if its close listener has not done it yet, so
            // that a full pool can open its replacement now.
            if (connection.uncount()) {
                opened.decrementAndGet();
            }
        }
        if (closed) {
            ready.accept(null, new IllegalStateException("connections closed"));
            return;
        }
        if (opened.incrementAndGet() > max) {
            opened.decrementAndGet();
            ready.accept(null, new IllegalStateException(max + " connections in use (expected: at most one per call"
                    + " in progress)"));
            return;
        }
        bootstrap.connect(address).addListener((ChannelFuture f) -> {
            if (!f.isSuccess()) {
                opened.decrementAndGet();
                ready.accept(null, f.cause());
                return;
            }
            final HttpConnection c = f.channel().pipeline().get(HttpConnection.class);
            all.add(c);
            // Runs before the channel's handlers hear it is inactive: a call ended by the close
            // finds the connection no longer counted when it asks for the next one.
            f.channel().closeFuture().addListener(x -> {
                all.remove(c);
                idle.remove(c);
                if (c.uncount()) {
                    opened.decrementAndGet();
                }
            });
            if (closed) {
                c.close();
            }
            ready.accept(c, null);
        });
    }

    /** Gives a connection back after its exchange: kept for the next call if it can carry one, else closed. */
    void release(HttpConnection connection) {
        if (!closed && connection.reusable()) {
            idle.offerFirst(connection);
            return;
        }
        discard(connection);
    }

    /**
     * Lets go of a connection that must carry nothing more: one whose exchange may still be in
     * progress, or that came when its taker had given up. Closed, and not counted from now on
     * though it may take a moment to close, so the next call may open another.
     */
    void discard(HttpConnection connection) {
        if (connection.uncount()) {
            opened.decrementAndGet();
        }
        connection.close();
    }

    /** Connections open now, idle or in use. */
    int openCount() {
        return all.size();
    }

    /** Closes every connection; calls still in progress end as closed. */
    @Override
    public void close() {
        closed = true;
        idle.clear();
        for (HttpConnection connection : all) {
            connection.close();
        }
        for (HttpConnection connection : all) {
            connection.channel().closeFuture().awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
    }
}
