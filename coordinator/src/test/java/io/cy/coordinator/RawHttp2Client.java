package io.cy.coordinator;

import static java.util.concurrent.TimeUnit.SECONDS;

import com.google.protobuf.MessageLite;
import io.cy.coordinator.transport.wire.GrpcWire;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2ConnectionHandlerBuilder;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameAdapter;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersEncoder;
import io.netty.handler.codec.http2.Http2Settings;
import java.io.ByteArrayOutputStream;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A bare HTTP/2 client (cleartext, prior knowledge) for what a gRPC library never sends: odd
 * headers, malformed messages, ping floods, resets at a chosen moment. It records the frames the
 * server sends on streams, the first GOAWAY, and when the server closes the connection.
 */
final class RawHttp2Client implements AutoCloseable {

    static final long TIMEOUT_SECONDS = 10;

    /** A frame the server sent on a stream. */
    sealed interface StreamFrame permits Headers, Data, Reset {
        int streamId();
    }

    record Headers(int streamId, Http2Headers headers, boolean endStream) implements StreamFrame {}

    record Data(int streamId, byte[] bytes, boolean endStream) implements StreamFrame {}

    record Reset(int streamId, long errorCode) implements StreamFrame {}

    record GoAway(int lastStreamId, long errorCode, String debugData) {}

    /** What the server sent on one stream until it ended it. */
    record Response(List<Headers> headerFrames, byte[] data, Reset reset) {

        /** The status in the last HEADERS frame (the trailers, or a trailers-only response). */
        int grpcStatus() {
            final CharSequence status = last().headers().get(GrpcWire.GRPC_STATUS);
            if (status == null) {
                throw new AssertionError("no grpc-status in " + last().headers());
            }
            return Integer.parseInt(status.toString());
        }

        /** The percent-decoded grpc-message of the last HEADERS frame, or null. */
        String grpcMessage() {
            final CharSequence message = last().headers().get(GrpcWire.GRPC_MESSAGE);
            return message == null ? null : GrpcWire.decodeMessage(message);
        }

        boolean trailersOnly() {
            return headerFrames.size() == 1 && headerFrames.get(0).endStream() && data.length == 0;
        }

        Headers last() {
            if (headerFrames.isEmpty()) {
                throw new AssertionError("no HEADERS frame on the stream" + (reset == null ? "" : "; reset " + reset));
            }
            return headerFrames.get(headerFrames.size() - 1);
        }
    }

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Map<Integer, BlockingQueue<StreamFrame>> frames = new ConcurrentHashMap<>();
    private final CompletableFuture<Void> settingsRead = new CompletableFuture<>();
    private final CompletableFuture<GoAway> goAway = new CompletableFuture<>();
    private final BlockingQueue<GoAway> goAways = new LinkedBlockingQueue<>();
    private final CompletableFuture<Void> closed = new CompletableFuture<>();
    private final Http2ConnectionHandler handler;
    private final Channel channel;

    /** Connects and waits for the server's SETTINGS, so that the server has taken the connection. */
    RawHttp2Client(SocketAddress server) throws Exception {
        this(server, Http2HeadersEncoder.NEVER_SENSITIVE);
    }

    /** As above; the headers {@code sensitive} names are sent as HPACK literals never indexed. */
    RawHttp2Client(SocketAddress server, Http2HeadersEncoder.SensitivityDetector sensitive) throws Exception {
        handler = new Http2ConnectionHandlerBuilder().server(false).frameListener(new Recorder())
                .initialSettings(new Http2Settings()).headerSensitivityDetector(sensitive).build();
        try {
            channel = new Bootstrap().group(group).channel(NioSocketChannel.class).handler(handler)
                    .connect(server).syncUninterruptibly().channel();
            channel.closeFuture().addListener(f -> closed.complete(null));
            settingsRead.get(TIMEOUT_SECONDS, SECONDS);
        } catch (Exception | Error e) {
            group.shutdownGracefully(0, 0, SECONDS);
            throw e;
        }
    }

    /** The headers of a gRPC request for {@code path}, to be changed by the test. */
    static Http2Headers grpcRequest(String path) {
        return new DefaultHttp2Headers().method("POST").scheme("http").path(path).authority("localhost")
                .set("content-type", "application/grpc").set("te", "trailers");
    }

    /** {@code body} with a gRPC message prefix (uncompressed). */
    static byte[] framed(byte[] body) {
        return ByteBuffer.allocate(5 + body.length).put((byte) 0).putInt(body.length).put(body).array();
    }

    static byte[] framed(MessageLite message) {
        return framed(message.toByteArray());
    }

    /** Opens a stream with {@code headers}; returns its id. */
    int open(Http2Headers headers, boolean endStream) throws Exception {
        return onLoop(() -> {
            final int id = handler.connection().local().incrementAndGetNextStreamId();
            handler.encoder().writeHeaders(ctx(), id, headers, 0, endStream, ctx().newPromise());
            handler.flush(ctx());
            return id;
        });
    }

    void data(int streamId, byte[] bytes, boolean endStream) throws Exception {
        onLoop(() -> {
            handler.encoder().writeData(ctx(), streamId, Unpooled.wrappedBuffer(bytes), 0, endStream,
                    ctx().newPromise());
            handler.flush(ctx());
            return null;
        });
    }

    void reset(int streamId, Http2Error error) throws Exception {
        onLoop(() -> {
            handler.resetStream(ctx(), streamId, error.code(), ctx().newPromise());
            handler.flush(ctx());
            return null;
        });
    }

    /** Sends {@code count} PING frames at once. */
    void pings(int count) throws Exception {
        onLoop(() -> {
            for (int i = 0; i < count; i++) {
                handler.encoder().writePing(ctx(), false, i, ctx().newPromise());
            }
            handler.flush(ctx());
            return null;
        });
    }

    /** The next frame the server sent on {@code streamId}. */
    StreamFrame next(int streamId) throws InterruptedException {
        final StreamFrame frame = queue(streamId).poll(TIMEOUT_SECONDS, SECONDS);
        if (frame == null) {
            throw new AssertionError("no frame from the server on stream " + streamId + " within "
                    + TIMEOUT_SECONDS + " s");
        }
        return frame;
    }

    /** Everything the server sends on {@code streamId} until it ends or resets the stream. */
    Response response(int streamId) throws InterruptedException {
        final List<Headers> headers = new ArrayList<>();
        final ByteArrayOutputStream data = new ByteArrayOutputStream();
        while (true) {
            final StreamFrame frame = next(streamId);
            if (frame instanceof Reset reset) {
                return new Response(headers, data.toByteArray(), reset);
            }
            if (frame instanceof Headers h) {
                headers.add(h);
                if (h.endStream()) {
                    return new Response(headers, data.toByteArray(), null);
                }
            } else if (frame instanceof Data d) {
                data.writeBytes(d.bytes());
                if (d.endStream()) {
                    return new Response(headers, data.toByteArray(), null);
                }
            }
        }
    }

    /** The first GOAWAY from the server, or null if it closed the connection without one. */
    GoAway awaitGoAwayOrClose() throws Exception {
        CompletableFuture.anyOf(goAway, closed).get(TIMEOUT_SECONDS, SECONDS);
        // Frames read before the close are recorded before the channel goes inactive.
        return goAway.getNow(null);
    }

    /** The next GOAWAY from the server (the first, then the second, ...); fails if none comes within the timeout. */
    GoAway nextGoAway() throws InterruptedException {
        final GoAway next = goAways.poll(TIMEOUT_SECONDS, SECONDS);
        if (next == null) {
            throw new AssertionError("no GOAWAY from the server within " + TIMEOUT_SECONDS + " s");
        }
        return next;
    }

    /** Whether the server has sent a GOAWAY so far. */
    boolean goAwayReceived() {
        return goAway.isDone();
    }

    /** Whether the server has closed the connection so far. */
    boolean isClosed() {
        return closed.isDone();
    }

    /** Whether the server closed the connection within the timeout. */
    boolean awaitClosed() throws InterruptedException {
        return channel.closeFuture().await(TIMEOUT_SECONDS, SECONDS);
    }

    @Override
    public void close() {
        channel.close().awaitUninterruptibly(TIMEOUT_SECONDS, SECONDS);
        group.shutdownGracefully(0, 0, SECONDS).awaitUninterruptibly(TIMEOUT_SECONDS, SECONDS);
    }

    private BlockingQueue<StreamFrame> queue(int streamId) {
        return frames.computeIfAbsent(streamId, id -> new LinkedBlockingQueue<>());
    }

    private void record(StreamFrame frame) {
        queue(frame.streamId()).add(frame);
    }

    private ChannelHandlerContext ctx() {
        return channel.pipeline().context(handler);
    }

    private <T> T onLoop(Callable<T> task) throws Exception {
        return channel.eventLoop().submit(task).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    private final class Recorder extends Http2FrameAdapter {

        @Override
        public void onSettingsRead(ChannelHandlerContext ctx, Http2Settings settings) {
            settingsRead.complete(null);
        }

        @Override
        public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
                                  boolean endOfStream) {
            record(new Headers(streamId, headers, endOfStream));
        }

        @Override
        public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int streamDependency,
                                  short weight, boolean exclusive, int padding, boolean endOfStream) {
            record(new Headers(streamId, headers, endOfStream));
        }

        @Override
        public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding,
                              boolean endOfStream) {
            final int bytes = data.readableBytes() + padding;
            record(new Data(streamId, ByteBufUtil.getBytes(data), endOfStream));
            return bytes;
        }

        @Override
        public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) {
            record(new Reset(streamId, errorCode));
        }

        @Override
        public void onGoAwayRead(ChannelHandlerContext ctx, int lastStreamId, long errorCode, ByteBuf debugData) {
            final GoAway received = new GoAway(lastStreamId, errorCode, debugData.toString(StandardCharsets.UTF_8));
            goAways.add(received);
            goAway.complete(received);
        }
    }
}
