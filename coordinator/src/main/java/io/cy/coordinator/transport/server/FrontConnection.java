package io.cy.coordinator.transport.server;

import io.cy.coordinator.transport.wire.ConnectionChores;
import io.cy.coordinator.transport.wire.GrpcWire;
import io.cy.coordinator.transport.wire.GuardedHandlerBuilder;
import io.grpc.Attributes;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Grpc;
import io.grpc.InternalServer;
import io.grpc.Metadata;
import io.grpc.ServerMethodDefinition;
import io.grpc.Status;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http2.DefaultHttp2Connection;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2LocalFlowController;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameAdapter;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2RemoteFlowController;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.util.AsciiString;
import io.netty.util.collection.IntObjectHashMap;
import io.netty.util.collection.IntObjectMap;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection to a {@link GrpcFrontServer}: HTTP/2 (prior knowledge, or over TLS after
 * {@link TlsHandshake}) whose streams are {@link FrontCall}s. It checks each new stream as grpc-java's server does (POST, a
 * gRPC content type, a known method, a grpc-timeout and grpc-encoding it can honour) and answers
 * what it cannot serve with a status at once: a method other than POST with HTTP 405, a content
 * type that is not gRPC's with 415 (both with {@code grpc-status} INTERNAL and a plain-text body,
 * as grpc-java answers). It pings an idle client (keepalive) and refuses a client that pings more
 * often than permitted.
 *
 * <p>It ends as grpc-java's server connection ends, in two steps: a GOAWAY with the last stream id
 * 2^31-1 and a PING, so that streams the client opened before it read the GOAWAY are still served;
 * when the PING's answer comes (or after {@link #SHUTDOWN_PING_TIMEOUT}), a GOAWAY with the last
 * stream really taken; then the connection closes once its calls are over, or when the grace runs
 * out. That is how the server shuts down, and how a connection ends past
 * {@code max_connection_age} (with ±10% jitter, so that clients connected together do not all
 * reconnect together) or {@code max_connection_idle} without a stream. Every method runs on the
 * connection's event loop.
 */
final class FrontConnection {

    private static final Logger logger = LoggerFactory.getLogger(FrontConnection.class);
    private static final AsciiString POST = AsciiString.cached("POST");
    private static final AsciiString STATUS_OK = AsciiString.cached("200");
    private static final AsciiString GZIP = AsciiString.cached("gzip");
    private static final AsciiString TEXT_PLAIN = AsciiString.cached("text/plain; charset=utf-8");
    private static final AsciiString CONTENT_TYPE_GRPC = AsciiString.cached("application/grpc");
    private static final int STREAM_WINDOW_BYTES = 1 << 20;
    private static final int CONNECTION_WINDOW_BYTES = 1 << 20;
    /** Pings sooner than permitted that are forgiven, as grpc-java's keepalive enforcer forgives them. */
    private static final int MAX_PING_STRIKES = 2;
    /** The PING of the two-step GOAWAY; its answer is told from a keepalive's by this payload (grpc-java's). */
    static final long SHUTDOWN_PING = 0x97ACEF001L;
    /** How long the two-step GOAWAY waits for the PING's answer before sending the second GOAWAY (as grpc-java). */
    static final Duration SHUTDOWN_PING_TIMEOUT = Duration.ofSeconds(10);

    private final GrpcFrontServer server;
    private final EventLoop loop;
    private final Http2Connection connection = new DefaultHttp2Connection(true);
    private final Handler handler;
    private final IntObjectMap<FrontCall<?, ?>> calls = new IntObjectHashMap<>();
    // Calls holding messages back until the end of the turn; each at most once, so bounded by the streams.
    private final ArrayDeque<FrontCall<?, ?>> holdingBack = new ArrayDeque<>();
    private final ConnectionChores chores;
    private ChannelHandlerContext ctx;
    private Attributes attributes = Attributes.EMPTY;
    // The first GOAWAY went out (shutdownReason is set); goingAway once the second did.
    private String shutdownReason;
    private Duration shutdownGrace;
    private ScheduledFuture<?> shutdownPingTimeout;
    private boolean goingAway;
    private ScheduledFuture<?> maxAge;
    private final IdleConnectionTimer idleTimer;
    private final SSLSession tlsSession;
    private long lastPingReceivedNanos;
    private int pingStrikes;

    /** @param tlsSession the session of a TLS connection, whose handshake is over; null for plaintext */
    FrontConnection(GrpcFrontServer server, EventLoop loop, SSLSession tlsSession) {
        this.server = server;
        this.loop = loop;
        this.tlsSession = tlsSession;
        connection.local().flowController(new DefaultHttp2LocalFlowController(connection,
                DefaultHttp2LocalFlowController.DEFAULT_WINDOW_UPDATE_RATIO, true));
        connection.remote().flowController(ConnectionChores.remoteFlowController(connection));
        final GrpcFrontServer.Settings limits = server.settings();
        final Http2Settings settings = new Http2Settings()
                .maxConcurrentStreams(limits.maxConcurrentStreams())
                .initialWindowSize(STREAM_WINDOW_BYTES)
                .maxHeaderListSize(limits.maxHeaderListBytes());
        handler = new GuardedHandlerBuilder<Handler>(connection, limits.floodLimits(), Handler::new)
                .initialSettings(settings)
                .frameListener(new FrameListener())
                .gracefulShutdownTimeoutMillis(0)
                .build();
        chores = new ConnectionChores(loop, handler, this::sendHeldBack);
        connection.addListener(new StreamListener());
        final Duration maxIdle = limits.maxConnectionIdle();
        idleTimer = maxIdle == null ? null : new IdleConnectionTimer(loop, maxIdle.toNanos(),
                () -> startGracefulShutdown("max_idle", null));
        handler.encoder().flowController().listener(new Http2RemoteFlowController.Listener() {
            @Override
            public void writabilityChanged(Http2Stream stream) {
                final FrontCall<?, ?> call = calls.get(stream.id());
                if (call != null) {
                    call.writabilityChanged(handler.encoder().flowController().isWritable(stream));
                }
            }
        });
    }

    Http2ConnectionHandler handler() {
        return handler;
    }

    EventLoop loop() {
        return loop;
    }

    Attributes attributes() {
        return attributes;
    }

    ByteBufAllocator alloc() {
        return ctx.alloc();
    }

    // ---- for the calls ----

    /** Writes headers (trailers, with {@code endOfStream}); {@code written} hears whether they went out. */
    void writeHeaders(int streamId, Http2Headers headers, boolean endOfStream, Consumer<Boolean> written) {
        pingStrikes = 0;
        final ChannelFuture f = handler.encoder().writeHeaders(ctx, streamId, headers, 0, endOfStream, ctx.newPromise());
        // A gRPC response that ends before the client's request does leaves the stream half-closed,
        // as grpc-java's server does: no RST_STREAM. A reset would make the client's END_STREAM,
        // still on its way, a frame on a closed stream, and the STREAM_CLOSED resets that answer such
        // frames count towards the flood limit on resets sent: enough short calls would end the
        // connection with ENHANCE_YOUR_CALM.
        if (written != null) {
            f.addListener(done -> written.accept(done.isSuccess()));
        }
        scheduleFlush();
    }

    /** A refusal on {@code streamId} went out whole: a client still sending a body is told it need not. */
    private void responseEnded(int streamId) {
        final Http2Stream stream = connection.stream(streamId);
        if (stream != null && stream.state() != Http2Stream.State.CLOSED) {
            handler.resetStream(ctx, streamId, Http2Error.NO_ERROR.code(), ctx.newPromise());
            scheduleFlush();
        }
    }

    /** Writes a DATA frame; returns whether the stream can take more without waiting. */
    boolean writeData(int streamId, ByteBuf data) {
        pingStrikes = 0;
        handler.encoder().writeData(ctx, streamId, data, 0, false, ctx.newPromise());
        scheduleFlush();
        final Http2Stream stream = connection.stream(streamId);
        return stream != null && handler.encoder().flowController().isWritable(stream);
    }

    /** {@code call} holds messages back: they are written just before the flush at the end of this turn. */
    void holdBack(FrontCall<?, ?> call) {
        holdingBack.add(call);
        scheduleFlush();
    }

    void reset(int streamId, Http2Error error) {
        handler.resetStream(ctx, streamId, error.code(), ctx.newPromise());
        scheduleFlush();
    }

    void returnBytes(int streamId, int bytes) {
        chores.returnBytes(streamId, bytes);
    }

    // ---- for the server ----

    /** Stops taking streams (the two-step GOAWAY); the connection closes once its calls are over. */
    void goAway() {
        startGracefulShutdown("server shutting down", null);
    }

    /** Cancels every call and closes. */
    void closeNow() {
        if (ctx != null) {
            ctx.channel().close();
        }
    }

    // ---- inside ----

    private void onHeaders(int streamId, Http2Headers headers, boolean endOfStream) {
        final FrontCall<?, ?> existing = calls.get(streamId);
        if (existing != null) {
            // Trailers from a client: allowed by HTTP/2, meaningless to gRPC, but they end its side.
            if (endOfStream) {
                existing.onData(io.netty.buffer.Unpooled.EMPTY_BUFFER, true);
            }
            return;
        }
        if (!AsciiString.contentEquals(POST, headers.method())) {
            refuseHttp(streamId, 405, ":method: '" + headers.method() + "' (expected: POST)");
            return;
        }
        if (!GrpcWire.isGrpcContentType(headers.get(GrpcWire.CONTENT_TYPE))) {
            refuseHttp(streamId, 415, "content-type: '" + headers.get(GrpcWire.CONTENT_TYPE)
                    + "' (expected: application/grpc)");
            return;
        }
        final CharSequence path = headers.path();
        final ServerMethodDefinition<?, ?> method = path == null || path.length() < 2 || path.charAt(0) != '/'
                ? null : server.method(path.subSequence(1, path.length()).toString());
        if (method == null) {
            refuse(streamId, Status.UNIMPLEMENTED.withDescription("Method not found: " + path));
            return;
        }
        final CharSequence encoding = headers.get(GrpcWire.GRPC_ENCODING);
        final boolean gzip = encoding != null && AsciiString.contentEquals("gzip", encoding);
        if (encoding != null && !gzip && !AsciiString.contentEquals("identity", encoding)) {
            refuse(streamId, Status.UNIMPLEMENTED.withDescription("grpc-encoding: '" + encoding
                    + "' (expected: identity or gzip)"));
            return;
        }
        final CharSequence timeout = headers.get(GrpcWire.GRPC_TIMEOUT);
        final long timeoutNanos = timeout == null ? -1 : GrpcWire.parseTimeoutNanos(timeout);
        if (timeout != null && timeoutNanos < 0) {
            refuse(streamId, Status.INTERNAL.withDescription("grpc-timeout: '" + timeout
                    + "' (expected: 1 to 8 digits and a unit, e.g. 10S)"));
            return;
        }
        // The server in the context is how grpc's reflection service finds what is served.
        final Context base = Context.ROOT.withValue(InternalServer.SERVER_CONTEXT_KEY, server);
        final Context.CancellableContext context = timeoutNanos < 0 ? base.withCancellation()
                : base.withDeadline(Deadline.after(timeoutNanos, TimeUnit.NANOSECONDS), loop);
        final CharSequence authority = headers.authority();
        final Metadata metadata = GrpcWire.metadata(headers);
        start(streamId, method, context, authority == null ? null : authority.toString(), gzip,
                GrpcWire.acceptsGzip(headers.get(GrpcWire.GRPC_ACCEPT_ENCODING)), metadata);
        if (endOfStream) {
            final FrontCall<?, ?> call = calls.get(streamId);
            if (call != null) {
                call.onData(io.netty.buffer.Unpooled.EMPTY_BUFFER, true);
            }
        }
    }

    private <ReqT, RespT> void start(int streamId, ServerMethodDefinition<ReqT, RespT> method,
                                     Context.CancellableContext context, String authority, boolean gzip,
                                     boolean clientAcceptsGzip, Metadata metadata) {
        final FrontCall<ReqT, RespT> call = new FrontCall<>(this, streamId, method.getMethodDescriptor(), context,
                authority, server.settings().maxMessageBytes(), gzip, clientAcceptsGzip);
        calls.put(streamId, call);
        if (context.getDeadline() != null) {
            context.addListener(c -> call.cancelled(true), Runnable::run);
        }
        call.start(method.getServerCallHandler(), metadata);
    }

    /**
     * Answers a stream that cannot be served with a trailers-only response; it names the encodings
     * taken, which is what a client sending an unknown {@code grpc-encoding} needs to hear.
     */
    private void refuse(int streamId, Status status) {
        final Http2Headers out = new DefaultHttp2Headers(false, 5).status(STATUS_OK)
                .set(GrpcWire.CONTENT_TYPE, CONTENT_TYPE_GRPC)
                .set(GrpcWire.GRPC_ACCEPT_ENCODING, GZIP)
                .set(GrpcWire.GRPC_STATUS, AsciiString.of(Integer.toString(status.getCode().value())));
        if (status.getDescription() != null) {
            out.set(GrpcWire.GRPC_MESSAGE, GrpcWire.encodeMessage(status.getDescription()));
        }
        writeHeaders(streamId, out, true, null);
    }

    /**
     * Answers a request that is not gRPC at all as grpc-java does: an HTTP error status, the gRPC
     * status INTERNAL with {@code message} for gRPC clients, and {@code message} as a plain-text
     * body for anything else.
     */
    private void refuseHttp(int streamId, int httpStatus, String message) {
        final Http2Headers out = new DefaultHttp2Headers(false, 4).status(AsciiString.of(Integer.toString(httpStatus)))
                .set(GrpcWire.CONTENT_TYPE, TEXT_PLAIN)
                .set(GrpcWire.GRPC_STATUS, AsciiString.of(Integer.toString(Status.Code.INTERNAL.value())))
                .set(GrpcWire.GRPC_MESSAGE, GrpcWire.encodeMessage(message));
        handler.encoder().writeHeaders(ctx, streamId, out, 0, false, ctx.newPromise());
        handler.encoder().writeData(ctx, streamId, ByteBufUtil.writeUtf8(ctx.alloc(), message), 0, true,
                ctx.newPromise()).addListener(done -> {
                    if (done.isSuccess()) {
                        responseEnded(streamId);
                    }
                });
        scheduleFlush();
    }

    /**
     * The first step of grpc-java's two-step GOAWAY: every stream id still allowed, and a PING;
     * the second step follows its answer, or {@link #SHUTDOWN_PING_TIMEOUT}. A later reason (the
     * server shutting down after max age began it) changes nothing.
     *
     * @param grace how long calls may go on after the second GOAWAY before the connection is
     *              closed under them; null: as long as they last
     */
    private void startGracefulShutdown(String reason, Duration grace) {
        if (shutdownReason != null || ctx == null) {
            return;
        }
        shutdownReason = reason;
        shutdownGrace = grace;
        stopTimers();
        handler.goAway(ctx, Integer.MAX_VALUE, Http2Error.NO_ERROR.code(),
                ByteBufUtil.writeAscii(ctx.alloc(), reason), ctx.newPromise());
        handler.encoder().writePing(ctx, false, SHUTDOWN_PING, ctx.newPromise());
        shutdownPingTimeout = loop.schedule(this::secondGoAway, SHUTDOWN_PING_TIMEOUT.toNanos(), TimeUnit.NANOSECONDS);
        scheduleFlush();
    }

    /** The second step: the GOAWAY naming the last stream taken; the connection closes once its calls are over. */
    private void secondGoAway() {
        if (shutdownPingTimeout == null || ctx == null) {
            return;
        }
        shutdownPingTimeout.cancel(false);
        shutdownPingTimeout = null;
        goingAway = true;
        handler.goAway(ctx, connection.remote().lastStreamCreated(), Http2Error.NO_ERROR.code(),
                ByteBufUtil.writeAscii(ctx.alloc(), shutdownReason), ctx.newPromise());
        scheduleFlush();
        if (shutdownGrace != null) {
            loop.schedule(() -> {
                if (ctx.channel().isOpen()) {
                    logger.debug("client {}: calls still open {} ms after GOAWAY ({}): closing",
                            attributes.get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR), shutdownGrace.toMillis(), shutdownReason);
                    closeNow();
                }
            }, shutdownGrace.toNanos(), TimeUnit.NANOSECONDS);
        }
        closeIfIdle();
    }

    private void stopTimers() {
        if (maxAge != null) {
            maxAge.cancel(false);
            maxAge = null;
        }
        if (idleTimer != null) {
            idleTimer.stop();
        }
    }

    private void scheduleFlush() {
        chores.scheduleFlush();
    }

    private void sendHeldBack() {
        FrontCall<?, ?> call;
        while ((call = holdingBack.poll()) != null) {
            call.turnEnded();
        }
    }

    private void closeIfIdle() {
        if (goingAway && calls.isEmpty() && connection.numActiveStreams() == 0 && ctx != null) {
            // Through the pipeline, so that the HTTP/2 handler flushes the GOAWAY before closing.
            ctx.channel().close();
        }
    }

    /** A client that pings more often than permitted is told so and disconnected, as grpc-java does. */
    private void onPing() {
        final long now = System.nanoTime();
        final long permitted = server.settings().permitKeepaliveTime().toNanos();
        if (lastPingReceivedNanos != 0 && now - lastPingReceivedNanos < permitted) {
            if (++pingStrikes > MAX_PING_STRIKES && ctx != null) {
                handler.goAway(ctx, connection.remote().lastStreamCreated(), Http2Error.ENHANCE_YOUR_CALM.code(),
                        ByteBufUtil.writeAscii(ctx.alloc(), "too_many_pings"), ctx.newPromise());
                // Through the pipeline, so that the HTTP/2 handler flushes the GOAWAY before closing.
                ctx.channel().close();
            }
        }
        lastPingReceivedNanos = now;
    }

    private final class Handler extends Http2ConnectionHandler {

        Handler(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder, Http2Settings settings) {
            super(decoder, encoder, settings);
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
            FrontConnection.this.ctx = ctx;
            chores.attach(ctx);
            final Attributes.Builder builder = Attributes.newBuilder()
                    .set(Grpc.TRANSPORT_ATTR_REMOTE_ADDR, ctx.channel().remoteAddress())
                    .set(GrpcFrontServer.TRANSPORT_ATTR_REMOTE_ADDR_TEXT, String.valueOf(ctx.channel().remoteAddress()))
                    .set(Grpc.TRANSPORT_ATTR_LOCAL_ADDR, ctx.channel().localAddress());
            // Once per connection: the kernel's answer cannot change while it is open.
            final UnixPeer peer = UnixPeer.of(ctx.channel());
            if (peer != null) {
                builder.set(UnixPeer.TRANSPORT_ATTR, peer);
            }
            if (tlsSession != null) {
                // grpc-java's key, so that its APIs (and our auth) find the verified client certificate.
                builder.set(Grpc.TRANSPORT_ATTR_SSL_SESSION, tlsSession);
            }
            attributes = builder.build();
            super.handlerAdded(ctx);
            server.connectionOpened(FrontConnection.this);
            if (tlsSession != null) {
                // Added once the TLS handshake was over: the channel became active long before.
                connectionActive(ctx);
            }
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) throws Exception {
            super.channelActive(ctx);
            connectionActive(ctx);
        }

        private void connectionActive(ChannelHandlerContext ctx) throws Http2Exception {
            connection.local().flowController().incrementWindowSize(connection.connectionStream(),
                    CONNECTION_WINDOW_BYTES - connection.local().flowController().windowSize(connection.connectionStream()));
            // A connection that never starts HTTP/2 would otherwise be held for as long as it stays open.
            final Duration handshakeTimeout = server.settings().handshakeTimeout();
            loop.schedule(() -> {
                if (!handler.decoder().prefaceReceived()) {
                    logger.debug("client {} sent no HTTP/2 preface within {} ms: closing",
                            attributes.get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR), handshakeTimeout.toMillis());
                    ctx.channel().close();
                }
            }, handshakeTimeout.toNanos(), TimeUnit.NANOSECONDS);
            final Duration maxConnectionAge = server.settings().maxConnectionAge();
            if (maxConnectionAge != null) {
                final long jittered = (long) (maxConnectionAge.toNanos() * (0.9 + ThreadLocalRandom.current().nextDouble(0.2)));
                maxAge = loop.schedule(() -> startGracefulShutdown("max_age", server.settings().maxConnectionAgeGrace()),
                        jittered, TimeUnit.NANOSECONDS);
            }
            if (idleTimer != null) {
                idleTimer.start();
            }
            chores.startKeepalive(server.settings().keepaliveTime(), server.settings().keepaliveTimeout(), () -> {
                logger.debug("client {} did not answer a keepalive ping: closing",
                        attributes.get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
                closeNow();
            });
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
            chores.onRead();
            super.channelRead(ctx, msg);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            chores.stop();
            stopTimers();
            if (shutdownPingTimeout != null) {
                shutdownPingTimeout.cancel(false);
                shutdownPingTimeout = null;
            }
            final List<FrontCall<?, ?>> open = new ArrayList<>(calls.values());
            calls.clear();
            for (FrontCall<?, ?> call : open) {
                call.cancelled(false);
            }
            holdingBack.clear();
            super.channelInactive(ctx);
            server.connectionClosed(FrontConnection.this);
        }

        /**
         * A client that resets or drops its connection is ordinary (a crashed process, a load
         * balancer's health check, a client's timeout): logged at DEBUG and counted, never left to
         * reach the pipeline's tail, where Netty logs every one as a WARN with a stack trace.
         * HTTP/2 protocol errors go to the handler's own error handling as before.
         */
        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) throws Exception {
            if (Http2CodecUtil.getEmbeddedHttp2Exception(cause) != null) {
                super.exceptionCaught(ctx, cause);
                return;
            }
            server.connectionFailed();
            if (cause instanceof IOException) {
                logger.debug("connection from {} failed: {}", attributes.get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR),
                        cause.toString());
            } else {
                logger.warn("connection from {} failed; closing it", attributes.get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR),
                        cause);
            }
            ctx.close();
        }

        @Override
        protected void onStreamError(ChannelHandlerContext ctx, boolean outbound, Throwable cause,
                                     Http2Exception.StreamException http2Ex) {
            logger.debug("HTTP/2 stream error from {}: {}", attributes.get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR),
                    http2Ex.getMessage());
            super.onStreamError(ctx, outbound, cause, http2Ex);
        }

        @Override
        protected void onConnectionError(ChannelHandlerContext ctx, boolean outbound, Throwable cause,
                                         Http2Exception http2Ex) {
            logger.debug("HTTP/2 connection error from {}: {}", attributes.get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR),
                    cause.toString());
            super.onConnectionError(ctx, outbound, cause, http2Ex);
        }
    }

    private final class FrameListener extends Http2FrameAdapter {

        @Override
        public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding,
                              boolean endOfStream) {
            final FrontCall<?, ?> call = calls.get(streamId);
            if (call == null) {
                return data.readableBytes() + padding;
            }
            return call.onData(data, endOfStream) + padding;
        }

        @Override
        public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
                                  boolean endOfStream) {
            onHeaders(streamId, headers, endOfStream);
        }

        @Override
        public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int streamDependency,
                                  short weight, boolean exclusive, int padding, boolean endOfStream) {
            onHeaders(streamId, headers, endOfStream);
        }

        @Override
        public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) {
            final FrontCall<?, ?> call = calls.remove(streamId);
            if (call != null) {
                call.cancelled(false);
            }
        }

        @Override
        public void onPingRead(ChannelHandlerContext ctx, long data) {
            onPing();
        }

        @Override
        public void onPingAckRead(ChannelHandlerContext ctx, long data) {
            if (data == SHUTDOWN_PING) {
                secondGoAway();
            }
        }
    }

    private final class StreamListener extends Http2ConnectionAdapter {

        @Override
        public void onStreamActive(Http2Stream stream) {
            if (idleTimer != null && connection.numActiveStreams() == 1) {
                idleTimer.onActive();
            }
        }

        @Override
        public void onStreamClosed(Http2Stream stream) {
            final FrontCall<?, ?> call = calls.remove(stream.id());
            if (call != null) {
                call.streamClosed();
            }
            if (idleTimer != null && connection.numActiveStreams() == 0) {
                idleTimer.onIdle();
            }
            closeIfIdle();
        }
    }
}
