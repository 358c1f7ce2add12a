package io.cy.coordinator.transport.wire;

import static java.util.Objects.requireNonNull;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameListener;
import io.netty.handler.codec.http2.Http2FrameListenerDecorator;
import io.netty.handler.codec.http2.Http2Stream;
import java.time.Duration;

/**
 * The limit on RST_STREAM frames received (the CVE-2023-44487 "rapid reset" class): past
 * {@code max} in a window, the connection ends with GOAWAY ENHANCE_YOUR_CALM. Unlike Netty's
 * {@code Http2MaxRstFrameListener}, a reset of a stream whose response already went out whole
 * is not counted: a grpc-java client that has its answer before it sent its END_STREAM cancels
 * the stream instead, and a busy client doing so for short calls is no attack, since every one
 * of those calls was served. A rapid reset ends streams the server is still working on.
 *
 * <p>Runs on the connection's event loop only.
 */
final class ResetRateLimit extends Http2FrameListenerDecorator {

    private final Http2Connection connection;
    private final int max;
    private final long windowNanos;
    private long windowStart = System.nanoTime();
    private int count;

    ResetRateLimit(Http2FrameListener listener, Http2Connection connection, int max, Duration window) {
        super(listener);
        this.connection = requireNonNull(connection, "connection");
        this.max = max;
        this.windowNanos = window.toNanos();
    }

    @Override
    public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) throws Http2Exception {
        final Http2Stream stream = connection.stream(streamId);
        if (stream == null || stream.state() != Http2Stream.State.HALF_CLOSED_LOCAL) {
            final long now = System.nanoTime();
            if (now - windowStart >= windowNanos) {
                windowStart = now;
                count = 0;
            }
            if (++count > max) {
                throw Http2Exception.connectionError(Http2Error.ENHANCE_YOUR_CALM,
                        "Maximum number %d of RST frames received within %d seconds", max, windowNanos / 1_000_000_000L);
            }
        }
        super.onRstStreamRead(ctx, streamId, errorCode);
    }
}
