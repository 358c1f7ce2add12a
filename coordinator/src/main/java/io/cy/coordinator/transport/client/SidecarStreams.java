package io.cy.coordinator.transport.client;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.transport.netty.Endpoint;
import io.cy.coordinator.transport.wire.GrpcWire;
import io.grpc.Deadline;
import io.grpc.MethodDescriptor;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.AsciiString;
import io.netty.util.concurrent.Future;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The StreamPredict path to one sidecar: one HTTP/2 connection per event loop, made by the
 * coordinator itself rather than through a grpc-java channel, so that a relayed response costs a
 * slice of a DATA frame instead of grpc's per-message machinery (deframer, call executor,
 * listener chain). A call uses the connection of the event loop it starts on, which is the loop
 * of its client's connection, so its messages never cross threads.
 *
 * <p>Health probes and Control keep their grpc-java channels ({@link Sidecar#channels()}).
 */
public final class SidecarStreams implements AutoCloseable {

    private static final AsciiString POST = AsciiString.cached("POST");
    private static final AsciiString HTTP = AsciiString.cached("http");
    private static final AsciiString HTTPS = AsciiString.cached("https");
    private static final AsciiString CONTENT_TYPE_GRPC = AsciiString.cached("application/grpc");
    private static final AsciiString TE = AsciiString.cached("te");
    private static final AsciiString TRAILERS = AsciiString.cached("trailers");
    private static final AsciiString USER_AGENT = AsciiString.cached("user-agent");
    private static final AsciiString USER_AGENT_VALUE = AsciiString.cached("cy-coordinator");
    private static final int CONNECT_TIMEOUT_MILLIS = 10_000;

    private final Endpoint endpoint;
    private final String target;
    private final AsciiString authority;
    private final EventLoop[] loops;
    // connections[i] is used and replaced only on loops[i].
    private final SidecarConnection[] connections;
    private final Bootstrap bootstrap;
    private final Settings settings;
    private final SslContext tls;
    private final String tlsServerName;
    private volatile SocketAddress address;
    private volatile boolean closed;

    /**
     * The sizes and timings of the connections.
     *
     * @param streamWindowBytes each stream's HTTP/2 window: what a sidecar may send ahead of a
     *     reader that does not read
     * @param maxMessageBytes the largest response message accepted
     */
    public record Settings(int streamWindowBytes, int maxMessageBytes, int maxHeaderListBytes,
                           Duration keepaliveTime, Duration keepaliveTimeout) {

        public Settings {
            requireNonNull(keepaliveTime, "keepaliveTime");
            requireNonNull(keepaliveTimeout, "keepaliveTimeout");
        }
    }

    public SidecarStreams(Endpoint endpoint, List<EventLoop> loops, Class<? extends Channel> channelType,
                          Settings settings) {
        this(endpoint, loops, channelType, settings, null, null);
    }

    /**
     * @param tls with it, the connections speak TLS (a TCP sidecar only); null: plaintext
     * @param tlsServerName the name the sidecar's certificate must carry; null: the endpoint's host
     */
    public SidecarStreams(Endpoint endpoint, List<EventLoop> loops, Class<? extends Channel> channelType,
                          Settings settings, SslContext tls, String tlsServerName) {
        if (tls != null && endpoint.isUnix()) {
            throw new IllegalArgumentException("tls: for TCP sidecars only (" + endpoint + " is a Unix socket)");
        }
        this.tls = tls;
        this.tlsServerName = tlsServerName;
        this.endpoint = requireNonNull(endpoint, "endpoint");
        this.target = endpoint.toString();
        this.loops = requireNonNull(loops, "loops").toArray(new EventLoop[0]);
        if (this.loops.length == 0) {
            throw new IllegalArgumentException("loops: empty (expected: at least one)");
        }
        this.connections = new SidecarConnection[this.loops.length];
        this.settings = requireNonNull(settings, "settings");
        this.authority = AsciiString.of(endpoint.isUnix() ? "localhost" : target);
        this.bootstrap = new Bootstrap()
                .channel(requireNonNull(channelType, "channelType"))
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, CONNECT_TIMEOUT_MILLIS);
        this.address = endpoint.socketAddress();
    }

    /**
     * A new call on the connection of the calling thread's event loop (any loop's from elsewhere).
     *
     * @param deadline when the call must be over, sent to the sidecar as grpc-timeout; null for none
     */
    public <ReqT> SidecarCall<ReqT> newCall(MethodDescriptor<ReqT, ?> method, Deadline deadline) {
        return new Http2SidecarCall<>(this, loops[loopIndex()], method, deadline, settings.maxMessageBytes());
    }

    /**
     * Looks the sidecar's host name up again, for the connections made from now on. Blocks on DNS,
     * so it is called from the health prober's thread, never from an event loop.
     */
    public void refreshAddress() {
        if (!endpoint.isUnix()) {
            address = endpoint.socketAddress();
        }
    }

    /** Closes every connection; calls still open on them end UNAVAILABLE. */
    public void close(Duration timeout) {
        closed = true;
        final List<Future<?>> closing = new ArrayList<>();
        for (int i = 0; i < loops.length; i++) {
            final int index = i;
            closing.add(loops[i].submit(() -> {
                final SidecarConnection connection = connections[index];
                connections[index] = null;
                if (connection != null) {
                    connection.close("coordinator shutting down");
                }
            }));
        }
        final long deadline = System.nanoTime() + timeout.toNanos();
        for (Future<?> f : closing) {
            f.awaitUninterruptibly(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(5));
    }

    // ---- for the connections and calls ----

    String target() {
        return target;
    }

    Settings settings() {
        return settings;
    }

    /** A new TLS handler for a connection, or null for plaintext. */
    SslHandler newTlsHandler(ByteBufAllocator alloc) {
        return tls == null ? null
                : tls.newHandler(alloc, tlsServerName != null ? tlsServerName : endpoint.host(), endpoint.port());
    }

    ByteBufAllocator allocator() {
        return ByteBufAllocator.DEFAULT;
    }

    /** The request headers of a call of {@code path}, before its metadata. */
    Http2Headers requestHeaders(String path) {
        // Not validated again: every name here is a constant or a metadata key grpc has checked.
        return new DefaultHttp2Headers(false, 8)
                .method(POST)
                .scheme(tls == null ? HTTP : HTTPS)
                .path(path)
                .authority(authority)
                .set(GrpcWire.CONTENT_TYPE, CONTENT_TYPE_GRPC)
                .set(TE, TRAILERS)
                .set(USER_AGENT, USER_AGENT_VALUE);
    }

    /** The usable connection of {@code loop}, connecting a new one if there is none; on that loop. */
    SidecarConnection connection(EventLoop loop) {
        final int i = indexOf(loop);
        SidecarConnection connection = connections[i];
        if (connection != null && connection.isUsable()) {
            return connection;
        }
        connection = new SidecarConnection(this, loop, i);
        if (closed) {
            connection.close("coordinator shutting down");
            return connection;
        }
        connections[i] = connection;
        connection.connect(bootstrap, address);
        return connection;
    }

    /** {@code connection} takes no more streams; the next call on its loop connects anew. On its loop. */
    void ended(SidecarConnection connection) {
        if (connections[connection.loopIndex()] == connection) {
            connections[connection.loopIndex()] = null;
        }
    }

    private int loopIndex() {
        for (int i = 0; i < loops.length; i++) {
            if (loops[i].inEventLoop()) {
                return i;
            }
        }
        return 0;
    }

    private int indexOf(EventLoop loop) {
        for (int i = 0; i < loops.length; i++) {
            if (loops[i] == loop) {
                return i;
            }
        }
        throw new IllegalArgumentException("not one of this sidecar's event loops: " + loop);
    }
}
