package io.cy.coordinator.transport.client;

import io.cy.coordinator.transport.wire.ConnectionChores;
import io.cy.coordinator.transport.wire.FloodLimits;
import io.cy.coordinator.transport.wire.GuardedHandlerBuilder;
import io.cy.coordinator.transport.wire.WriteCoalescer;
import io.grpc.Status;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http2.DefaultHttp2Connection;
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
import io.netty.handler.codec.http2.StreamBufferingEncoder;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.collection.IntObjectHashMap;
import io.netty.util.collection.IntObjectMap;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One HTTP/2 connection (prior knowledge, no TLS) to a sidecar, on one event loop, whose streams
 * are {@link Http2SidecarCall}s. Calls that start before the connection is up wait for it, at
 * most {@link #MAX_WAITING} of them; streams beyond the sidecar's concurrency limit wait in
 * Netty's {@link StreamBufferingEncoder} until a stream ends.
 *
 * <p>A connection is used until it closes or the sidecar sends GOAWAY; then {@link SidecarStreams}
 * opens another for new calls. Every method runs on the connection's event loop.
 */
final class SidecarConnection {

    private static final Logger logger = LoggerFactory.getLogger(SidecarConnection.class);

    /** Calls waiting for the connection to come up; beyond it, calls fail at once. */
    static final int MAX_WAITING = 10_000;
    private static final int CONNECTION_WINDOW_BYTES = 1 << 20;

    private final SidecarStreams streams;
    private final EventLoop loop;
    private final int loopIndex;
    private final Http2Connection connection = new DefaultHttp2Connection(false);
    private final Handler handler;
    private final IntObjectMap<Http2SidecarCall<?>> calls = new IntObjectHashMap<>();
    private final ArrayDeque<Http2SidecarCall<?>> waiting = new ArrayDeque<>();
    private final ArrayDeque<Http2Headers> waitingHeaders = new ArrayDeque<>();
    private final ConnectionChores chores;
    private Channel channel;
    private ChannelHandlerContext ctx;
    private boolean active;
    // Why the connection ended or stopped taking streams; null while it is usable.
    private String endReason;
    private boolean goingAway;


    SidecarConnection(SidecarStreams streams, EventLoop loop, int loopIndex) {
        this.streams = streams;
        this.loop = loop;
        this.loopIndex = loopIndex;
        final DefaultHttp2LocalFlowController inbound =
                new DefaultHttp2LocalFlowController(connection, DefaultHttp2LocalFlowController.DEFAULT_WINDOW_UPDATE_RATIO,
                        // The connection window is refilled as bytes arrive; each stream's own
                        // window is what holds a sidecar back from a slow reader.
                        true);
        connection.local().flowController(inbound);
        connection.remote().flowController(ConnectionChores.remoteFlowController(connection));
        final SidecarStreams.Settings limits = streams.settings();
        final Http2Settings settings = new Http2Settings()
                .pushEnabled(false)
                .maxConcurrentStreams(0)
                .initialWindowSize(limits.streamWindowBytes())
                .maxHeaderListSize(limits.maxHeaderListBytes());
        // A sidecar that floods us with frames to answer while it never reads is cut as a client would be.
        handler = new GuardedHandlerBuilder<Handler>(connection, FloodLimits.SIDECAR, Handler::new)
                .initialSettings(settings)
                .encoderEnforceMaxConcurrentStreams(true)
                .frameListener(new FrameListener())
                // Our own close happens when no call is left, or at shutdown: no grace to wait out.
                .gracefulShutdownTimeoutMillis(0)
                .build();
        chores = new ConnectionChores(loop, handler);
        connection.addListener(new StreamListener());
        handler.encoder().flowController().listener(new Http2RemoteFlowController.Listener() {
            @Override
            public void writabilityChanged(Http2Stream stream) {
                final Http2SidecarCall<?> call = calls.get(stream.id());
                if (call != null) {
                    call.writabilityChanged(handler.encoder().flowController().isWritable(stream));
                }
            }
        });
    }

    /** Connects; calls opened meanwhile wait. */
    void connect(Bootstrap bootstrap, SocketAddress address) {
        final ChannelFuture connect = bootstrap.clone()
                .group(loop)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        final SslHandler tls = streams.newTlsHandler(ch.alloc());
                        if (tls != null) {
                            // The preface and the first streams wait in it until the handshake is over.
                            ch.pipeline().addLast(tls);
                        } else {
                            ch.pipeline().addLast(new WriteCoalescer());
                        }
                        ch.pipeline().addLast(handler);
                    }
                })
                .connect(address);
        channel = connect.channel();
        connect.addListener(f -> {
            if (!f.isSuccess()) {
                end("cannot connect to sidecar " + streams.target() + ": " + describe(f.cause()));
            }
        });
    }

    int loopIndex() {
        return loopIndex;
    }

    /** Whether new streams may go here. */
    boolean isUsable() {
        return endReason == null && !goingAway;
    }

    /** Opens a stream for {@code call}, now or once the connection is up. */
    void open(Http2SidecarCall<?> call, Http2Headers headers) {
        if (!isUsable()) {
            call.fail(Status.UNAVAILABLE.withDescription(endReason != null ? endReason : "connection going away"));
            return;
        }
        if (!active) {
            if (waiting.size() >= MAX_WAITING) {
                call.fail(Status.UNAVAILABLE.withDescription("sidecar " + streams.target() + ": " + MAX_WAITING
                        + " calls already wait for the connection"));
                return;
            }
            waiting.add(call);
            waitingHeaders.add(headers);
            return;
        }
        createStream(call, headers);
    }

    private void createStream(Http2SidecarCall<?> call, Http2Headers headers) {
        final int id = connection.local().incrementAndGetNextStreamId();
        if (id < 0) {
            // Stream ids used up: this connection is done; the next call gets a new one.
            goingAway = true;
            call.fail(Status.UNAVAILABLE.withDescription("sidecar connection out of stream ids"));
            closeWhenIdle();
            return;
        }
        calls.put(id, call);
        call.streamOpening(this, id);
        handler.encoder().writeHeaders(ctx, id, headers, 0, false, ctx.newPromise()).addListener(f -> {
            if (!f.isSuccess()) {
                final Http2SidecarCall<?> failed = calls.remove(id);
                if (failed != null) {
                    failed.onStreamClosed(Status.UNAVAILABLE.withDescription("cannot open a stream to sidecar "
                            + streams.target() + ": " + describe(f.cause())));
                }
            }
        });
        call.flushBeforeStream();
        chores.scheduleFlush();
    }

    void writeData(int streamId, ByteBuf data, boolean endOfStream) {
        handler.encoder().writeData(ctx, streamId, data == null ? Unpooled.EMPTY_BUFFER : data, 0, endOfStream,
                ctx.newPromise());
        chores.scheduleFlush();
    }

    void reset(int streamId, Http2Error error) {
        handler.resetStream(ctx, streamId, error.code(), ctx.newPromise());
        chores.scheduleFlush();
    }

    /** Gives {@code bytes} of a stream back to the sidecar's window. */
    void returnBytes(int streamId, int bytes) {
        chores.returnBytes(streamId, bytes);
    }

    /** Closes the connection; its calls end UNAVAILABLE unless they had their status. */
    void close(String reason) {
        if (endReason == null) {
            endReason = reason;
        }
        if (channel != null) {
            channel.close();
        }
    }

    private void onActive(ChannelHandlerContext ctx) {
        active = true;
        if (!isUsable()) {
            return;
        }
        try {
            // The connection's own window, beyond the 64 KiB HTTP/2 starts with, so that many
            // streams answering at once do not wait on each other's window updates.
            connection.local().flowController().incrementWindowSize(connection.connectionStream(),
                    CONNECTION_WINDOW_BYTES - connection.local().flowController().windowSize(connection.connectionStream()));
        } catch (Http2Exception e) {
            handler.onError(ctx, false, e);
            return;
        }
        chores.startKeepalive(streams.settings().keepaliveTime(), streams.settings().keepaliveTimeout(),
                () -> close("sidecar " + streams.target() + " did not answer a keepalive ping within "
                        + streams.settings().keepaliveTimeout().toMillis() + " ms"));
        while (!waiting.isEmpty()) {
            final Http2SidecarCall<?> call = waiting.poll();
            final Http2Headers headers = waitingHeaders.poll();
            if (!call.isFinished()) {
                createStream(call, headers);
            }
        }
    }

    /** The connection is over: every call without a status fails with {@code reason}. */
    private void end(String reason) {
        if (endReason == null) {
            endReason = reason;
        }
        chores.stop();
        final Status status = Status.UNAVAILABLE.withDescription(endReason);
        while (!waiting.isEmpty()) {
            waitingHeaders.poll();
            waiting.poll().fail(status);
        }
        if (!calls.isEmpty()) {
            final List<Http2SidecarCall<?>> open = new ArrayList<>(calls.values());
            calls.clear();
            for (Http2SidecarCall<?> call : open) {
                call.onStreamClosed(status);
            }
        }
        streams.ended(this);
    }

    private void closeWhenIdle() {
        if (calls.isEmpty() && waiting.isEmpty() && channel != null) {
            close(endReason != null ? endReason : "sidecar connection closed after GOAWAY");
        }
    }

    private static String describe(Throwable t) {
        if (t instanceof javax.net.ssl.SSLException || t.getCause() instanceof javax.net.ssl.SSLException) {
            // TLS engines wrap the reason (a name the certificate lacks, an unknown CA) in generic messages.
            Throwable root = t;
            while (root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
            }
            return "TLS: " + (root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage());
        }
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }

    private final class Handler extends Http2ConnectionHandler {

        Handler(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder, Http2Settings settings) {
            super(decoder, encoder, settings);
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
            SidecarConnection.this.ctx = ctx;
            chores.attach(ctx);
            super.handlerAdded(ctx);
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) throws Exception {
            super.channelActive(ctx);
            onActive(ctx);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
            chores.onRead();
            super.channelRead(ctx, msg);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            end(endReason != null ? endReason : "connection to sidecar " + streams.target() + " closed");
            super.channelInactive(ctx);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) throws Exception {
            if (endReason == null) {
                endReason = "connection to sidecar " + streams.target() + " failed: " + describe(cause);
            }
            if (Http2CodecUtil.getEmbeddedHttp2Exception(cause) != null) {
                super.exceptionCaught(ctx, cause);
                return;
            }
            // A sidecar that restarts resets its connections: its calls fail naming it, and the
            // prober says when it is out of rotation. Not a stack trace at the pipeline's tail.
            // A TLS failure (a certificate the CA bundle does not vouch for, a wrong name) is named
            // in the failed calls' status and by the prober, like a refused connection: no stack trace.
            if (cause instanceof IOException || cause.getCause() instanceof javax.net.ssl.SSLException) {
                logger.debug("{}", endReason);
            } else {
                logger.warn("connection to sidecar {} failed; closing it", streams.target(), cause);
            }
            ctx.close();
        }

        @Override
        protected void onStreamError(ChannelHandlerContext ctx, boolean outbound, Throwable cause,
                                     Http2Exception.StreamException http2Ex) {
            final Http2SidecarCall<?> call = calls.get(http2Ex.streamId());
            if (call != null) {
                call.onStreamClosed(Status.INTERNAL.withDescription("HTTP/2 stream error with sidecar "
                        + streams.target() + ": " + describe(http2Ex)));
            }
            super.onStreamError(ctx, outbound, cause, http2Ex);
        }
    }

    private final class FrameListener extends Http2FrameAdapter {

        @Override
        public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding,
                              boolean endOfStream) {
            final Http2SidecarCall<?> call = calls.get(streamId);
            if (call == null) {
                return data.readableBytes() + padding;
            }
            return call.onData(data, endOfStream) + padding;
        }

        @Override
        public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
                                  boolean endOfStream) {
            final Http2SidecarCall<?> call = calls.get(streamId);
            if (call != null) {
                call.onHeaders(headers, endOfStream);
            }
        }

        @Override
        public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int streamDependency,
                                  short weight, boolean exclusive, int padding, boolean endOfStream) {
            onHeadersRead(ctx, streamId, headers, padding, endOfStream);
        }

        @Override
        public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) {
            final Http2SidecarCall<?> call = calls.get(streamId);
            if (call != null) {
                call.onReset(errorCode);
            }
        }

        @Override
        public void onGoAwayRead(ChannelHandlerContext ctx, int lastStreamId, long errorCode, ByteBuf debugData) {
            goingAway = true;
            final String debug = debugData.toString(StandardCharsets.UTF_8);
            endReason = "sidecar " + streams.target() + " sent GOAWAY (" + Http2Error.valueOf(errorCode)
                    + (debug.isEmpty() ? "" : ", " + debug) + ")";
            streams.ended(SidecarConnection.this);
            closeWhenIdle();
        }
    }

    private final class StreamListener extends Http2ConnectionAdapter {

        @Override
        public void onStreamActive(Http2Stream stream) {
            final Http2SidecarCall<?> call = calls.get(stream.id());
            if (call != null) {
                call.writabilityChanged(handler.encoder().flowController().isWritable(stream));
            }
        }

        @Override
        public void onStreamClosed(Http2Stream stream) {
            final Http2SidecarCall<?> call = calls.remove(stream.id());
            if (call != null) {
                call.onStreamClosed(Status.UNAVAILABLE.withDescription(endReason != null ? endReason
                        : "sidecar " + streams.target() + " closed the stream without a status"));
            }
            if (goingAway) {
                closeWhenIdle();
            }
        }
    }
}
