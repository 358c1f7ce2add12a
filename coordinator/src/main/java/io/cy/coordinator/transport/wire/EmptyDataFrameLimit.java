package io.cy.coordinator.transport.wire;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.DecoratingHttp2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameListener;
import io.netty.handler.codec.http2.Http2FrameListenerDecorator;
import io.netty.handler.codec.http2.Http2Headers;

/**
 * The limit on DATA frames with no bytes and no END_STREAM in a row, which have no use but to
 * burn CPU (CVE-2019-9518): past {@code max}, the connection ends with GOAWAY
 * ENHANCE_YOUR_CALM. What Netty's builder adds around the decoder it builds, here for the decoder
 * {@link GuardedHandlerBuilder} builds in its place; HEADERS, like bytes or an END_STREAM, start
 * the count again.
 */
final class EmptyDataFrameLimit extends DecoratingHttp2ConnectionDecoder {

    private final int max;

    EmptyDataFrameLimit(Http2ConnectionDecoder decoder, int max) {
        super(decoder);
        if (max < 1) {
            throw new IllegalArgumentException("max: " + max + " (expected: > 0)");
        }
        this.max = max;
    }

    @Override
    public void frameListener(Http2FrameListener listener) {
        super.frameListener(listener == null ? null : new Counting(listener, max));
    }

    @Override
    public Http2FrameListener frameListener() {
        final Http2FrameListener listener = super.frameListener();
        return listener instanceof Counting counting ? counting.inner() : listener;
    }

    private static final class Counting extends Http2FrameListenerDecorator {

        private final int max;
        private int emptyInARow;
        /** Told once: the connection is closing after that. */
        private boolean exceeded;

        Counting(Http2FrameListener listener, int max) {
            super(listener);
            this.max = max;
        }

        Http2FrameListener inner() {
            return listener;
        }

        @Override
        public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding, boolean endOfStream)
                throws Http2Exception {
            if (endOfStream || data.isReadable()) {
                emptyInARow = 0;
            } else if (++emptyInARow > max && !exceeded) {
                exceeded = true;
                throw Http2Exception.connectionError(Http2Error.ENHANCE_YOUR_CALM,
                        "Maximum number %d of empty data frames without end_of_stream flag received", max);
            }
            return super.onDataRead(ctx, streamId, data, padding, endOfStream);
        }

        @Override
        public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
                boolean endOfStream) throws Http2Exception {
            emptyInARow = 0;
            super.onHeadersRead(ctx, streamId, headers, padding, endOfStream);
        }

        @Override
        public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int streamDependency,
                short weight, boolean exclusive, int padding, boolean endOfStream) throws Http2Exception {
            emptyInARow = 0;
            super.onHeadersRead(ctx, streamId, headers, streamDependency, weight, exclusive, padding, endOfStream);
        }
    }
}
