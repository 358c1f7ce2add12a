package io.cy.coordinator.transport.client;

import static java.util.concurrent.TimeUnit.SECONDS;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2Connection;
import io.netty.handler.codec.http2.DefaultHttp2ConnectionDecoder;
import io.netty.handler.codec.http2.DefaultHttp2ConnectionEncoder;
import io.netty.handler.codec.http2.DefaultHttp2FrameReader;
import io.netty.handler.codec.http2.DefaultHttp2FrameWriter;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameAdapter;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * An HTTP/2 server (cleartext, prior knowledge) on 127.0.0.1 whose answers the test scripts:
 * each request becomes an {@link Exchange} that the test answers frame by frame, and that
 * records what the client sent on its stream.
 */
final class ScriptedHttp2Server implements AutoCloseable {

    private static final long TIMEOUT_SECONDS = 5;

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final BlockingQueue<Exchange> exchanges = new LinkedBlockingQueue<>();
    private final AtomicInteger connections = new AtomicInteger();
    private final Http2Settings settings;
    private final Channel listener;

    ScriptedHttp2Server() {
        this(new Http2Settings());
    }

    /** A server that announces {@code settings} to every client. */
    ScriptedHttp2Server(Http2Settings settings) {
        this.settings = settings;
        this.listener = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(newConnection(connections.incrementAndGet()));
                    }
                })
                .bind("127.0.0.1", 0)
                .syncUninterruptibly()
                .channel();
    }

    int port() {
        return ((InetSocketAddress) listener.localAddress()).getPort();
    }

    /** The next request to reach the server, in the order their HEADERS arrived. */
    Exchange nextExchange() throws InterruptedException {
        final Exchange exchange = exchanges.poll(TIMEOUT_SECONDS, SECONDS);
        if (exchange == null) {
            throw new AssertionError("no request reached the server within " + TIMEOUT_SECONDS + " s");
        }
        return exchange;
    }

    @Override
    public void close() {
        listener.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, SECONDS).syncUninterruptibly();
    }

    /** A gRPC length-prefixed message: the flags byte, the 4-byte big-endian length, the bytes. */
    static byte[] grpcFrame(int flags, byte[] message) {
        return ByteBuffer.allocate(5 + message.length).put((byte) flags).putInt(message.length).put(message).array();
    }

    /** The HEADERS of a gRPC response that carries messages. */
    static Http2Headers responseHeaders() {
        return new DefaultHttp2Headers().status("200").set("content-type", "application/grpc");
    }

    private Http2ConnectionHandler newConnection(int connectionId) {
        final Map<Integer, Exchange> byStream = new HashMap<>();
        final Http2Connection connection = new DefaultHttp2Connection(true);
        final Http2ConnectionEncoder encoder = new DefaultHttp2ConnectionEncoder(connection,
                new DefaultHttp2FrameWriter() {
                    // What the flow controller really lets out, which is what flow-control tests measure.
                    @Override
                    public ChannelFuture writeData(ChannelHandlerContext ctx, int streamId, ByteBuf data,
                                                   int padding, boolean endStream, ChannelPromise promise) {
                        final Exchange exchange = byStream.get(streamId);
                        if (exchange != null) {
                            exchange.dataBytesSent.addAndGet(data.readableBytes());
                        }
                        return super.writeData(ctx, streamId, data, padding, endStream, promise);
                    }
                });
        final Http2ConnectionDecoder decoder =
                new DefaultHttp2ConnectionDecoder(connection, encoder, new DefaultHttp2FrameReader());
        final Http2ConnectionHandler handler = new Http2ConnectionHandler(decoder, encoder, settings) {};
        final Map<Long, CompletableFuture<Void>> pings = new HashMap<>();
        decoder.frameListener(new Http2FrameAdapter() {
            @Override
            public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
                                      boolean endOfStream) {
                final Exchange exchange = new Exchange(connectionId, streamId, headers, ctx, handler, pings);
                byStream.put(streamId, exchange);
                exchanges.add(exchange);
                if (endOfStream) {
                    exchange.requestEnded.complete(new byte[0]);
                }
            }

            @Override
            public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers,
                                      int streamDependency, short weight, boolean exclusive, int padding,
                                      boolean endOfStream) {
                onHeadersRead(ctx, streamId, headers, padding, endOfStream);
            }

            @Override
            public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding,
                                  boolean endOfStream) {
                final Exchange exchange = byStream.get(streamId);
                final int processed = data.readableBytes() + padding;
                if (exchange != null) {
                    final byte[] bytes = ByteBufUtil.getBytes(data);
                    exchange.requestBytes.writeBytes(bytes);
                    exchange.requestData.add(new RequestData(bytes, endOfStream));
                    if (endOfStream) {
                        exchange.requestEnded.complete(exchange.requestBytes.toByteArray());
                    }
                }
                return processed;
            }

            @Override
            public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) {
                final Exchange exchange = byStream.get(streamId);
                if (exchange != null) {
                    exchange.reset.complete(Http2Error.valueOf(errorCode));
                }
            }

            @Override
            public void onPingAckRead(ChannelHandlerContext ctx, long data) {
                final CompletableFuture<Void> ping = pings.remove(data);
                if (ping != null) {
                    ping.complete(null);
                }
            }
        });
        return handler;
    }

    /** One DATA frame the client sent. */
    record RequestData(byte[] bytes, boolean endStream) {}

    /** One request and the stream the test answers it on; every answer is written and flushed at once. */
    static final class Exchange {

        private final int connectionId;
        private final int streamId;
        private final Http2Headers requestHeaders;
        private final ChannelHandlerContext ctx;
        private final Http2ConnectionHandler handler;
        private final Map<Long, CompletableFuture<Void>> pings;
        // The server's event loop only.
        private final ByteArrayOutputStream requestBytes = new ByteArrayOutputStream();

        private final BlockingQueue<RequestData> requestData = new LinkedBlockingQueue<>();
        /** All request DATA bytes, once the client ends its side of the stream. */
        final CompletableFuture<byte[]> requestEnded = new CompletableFuture<>();
        /** The code of the client's RST_STREAM. */
        final CompletableFuture<Http2Error> reset = new CompletableFuture<>();
        private final AtomicLong dataBytesSent = new AtomicLong();

        private Exchange(int connectionId, int streamId, Http2Headers requestHeaders, ChannelHandlerContext ctx,
                         Http2ConnectionHandler handler, Map<Long, CompletableFuture<Void>> pings) {
            this.connectionId = connectionId;
            this.streamId = streamId;
            this.requestHeaders = requestHeaders;
            this.ctx = ctx;
            this.handler = handler;
            this.pings = pings;
        }

        /** 1 for the server's first connection, 2 for its second, ... */
        int connectionId() {
            return connectionId;
        }

        int streamId() {
            return streamId;
        }

        /** A request header's value, or null. */
        String requestHeader(String name) {
            final CharSequence value = requestHeaders.get(name);
            return value == null ? null : value.toString();
        }

        /** The next DATA frame the client sent on this stream. */
        RequestData nextRequestData() throws InterruptedException {
            final RequestData data = requestData.poll(TIMEOUT_SECONDS, SECONDS);
            if (data == null) {
                throw new AssertionError("no request DATA within " + TIMEOUT_SECONDS + " s");
            }
            return data;
        }

        /** DATA bytes the server has put on the wire on this stream so far (flow control permitting). */
        long dataBytesSent() {
            return dataBytesSent.get();
        }

        Exchange headers() {
            return headers(responseHeaders(), false);
        }

        Exchange headers(Http2Headers headers, boolean endStream) {
            return write(() -> handler.encoder().writeHeaders(ctx, streamId, headers, 0, endStream, ctx.newPromise()));
        }

        /** Each message in a DATA frame of its own. */
        Exchange messages(byte[]... messages) {
            return write(() -> {
                ChannelFuture last = null;
                for (byte[] message : messages) {
                    last = handler.encoder().writeData(ctx, streamId, Unpooled.wrappedBuffer(grpcFrame(0, message)),
                            0, false, ctx.newPromise());
                }
                return last;
            });
        }

        /** One DATA frame of exactly {@code bytes}. */
        Exchange data(byte[] bytes, boolean endStream) {
            return write(() -> handler.encoder().writeData(ctx, streamId, Unpooled.wrappedBuffer(bytes), 0, endStream,
                    ctx.newPromise()));
        }

        /** Trailers with {@code grpc-status} and the given names and values, ending the stream. */
        Exchange trailers(int grpcStatus, String... namesAndValues) {
            final Http2Headers trailers = new DefaultHttp2Headers().set("grpc-status", String.valueOf(grpcStatus));
            for (int i = 0; i < namesAndValues.length; i += 2) {
                trailers.add(namesAndValues[i], namesAndValues[i + 1]);
            }
            return headers(trailers, true);
        }

        void rst(Http2Error error) {
            write(() -> handler.resetStream(ctx, streamId, error.code(), ctx.newPromise()));
        }

        /** GOAWAY on this exchange's connection, which stays open. */
        void goAway(int lastStreamId) {
            write(() -> handler.goAway(ctx, lastStreamId, Http2Error.NO_ERROR.code(), Unpooled.EMPTY_BUFFER,
                    ctx.newPromise()));
        }

        void closeConnection() {
            ctx.channel().close().syncUninterruptibly();
        }

        /** Closes the connection with a TCP reset (SO_LINGER 0), as a crashed sidecar's kernel does. */
        void resetConnection() {
            ctx.channel().config().setOption(io.netty.channel.ChannelOption.SO_LINGER, 0);
            ctx.channel().close().syncUninterruptibly();
        }

        /** Whether the stream's flow-control window lets the server send what it has queued. */
        boolean isWritable() {
            return CompletableFuture.supplyAsync(() -> {
                        final var stream = handler.connection().stream(streamId);
                        return stream != null && handler.encoder().flowController().isWritable(stream);
                    }, ctx.executor())
                    .orTimeout(TIMEOUT_SECONDS, SECONDS).join();
        }

        /**
         * Returns once the client has read every frame sent before: the client answers a PING in
         * order, so its ACK comes after whatever those frames made it write.
         */
        void roundTrip() {
            final CompletableFuture<Void> acked = new CompletableFuture<>();
            write(() -> {
                final long data = System.nanoTime();
                pings.put(data, acked);
                return handler.encoder().writePing(ctx, false, data, ctx.newPromise());
            });
            acked.orTimeout(TIMEOUT_SECONDS, SECONDS).join();
        }

        private Exchange write(Supplier<ChannelFuture> frame) {
            onLoop(() -> {
                frame.get();
                handler.flush(ctx);
            });
            return this;
        }

        private void onLoop(Runnable task) {
            CompletableFuture.runAsync(task, ctx.executor()).orTimeout(TIMEOUT_SECONDS, SECONDS).join();
        }
    }
}
