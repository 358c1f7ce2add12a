package io.cy.bridge.internal;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpMessage;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;

/**
 * Netty's aggregator with the bridge's answer to a body over the limit: instead of Netty's bare
 * 413 (or 417 for {@code Expect: 100-continue}), the request goes on to the handler as an empty
 * request that failed to decode with {@link BodyTooLargeException}, so the client gets the JSON
 * error with its {@code x-request-id}, in order with any earlier pipelined request.
 *
 * <p>A body announced too large by {@code Content-Length} is refused before it is read; the
 * aggregator then discards it as it arrives and the connection can stay open. A body found too
 * large while arriving (chunked) cannot be skipped reliably, so that connection closes.
 */
final class BodyLimitAggregator extends HttpObjectAggregator {

    BodyLimitAggregator(int maxBodyBytes) {
        super(maxBodyBytes);
    }

    @Override
    protected Object newContinueResponse(HttpMessage start, int maxContentLength, ChannelPipeline pipeline) {
        if (HttpUtil.is100ContinueExpected(start) && HttpUtil.getContentLength(start, -1L) > maxContentLength) {
            return null; // refused in handleOversizedMessage, with the JSON answer
        }
        return super.newContinueResponse(start, maxContentLength, pipeline);
    }

    @Override
    protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
        if (!(oversized instanceof HttpRequest)) {
            ctx.close();
            return;
        }
        final HttpRequest head = (HttpRequest) oversized;
        // Closing is needed when the body is already streaming in, or when nothing else would end it.
        final boolean close = oversized instanceof FullHttpMessage
                || (!HttpUtil.is100ContinueExpected(oversized) && !HttpUtil.isKeepAlive(oversized));
        final FullHttpRequest refused = new DefaultFullHttpRequest(head.protocolVersion(), head.method(), head.uri());
        refused.headers().set(head.headers());
        refused.setDecoderResult(DecoderResult.failure(new BodyTooLargeException(maxContentLength(), close)));
        ctx.fireChannelRead(refused);
    }

    /** Why a request reached the handler without its body. */
    static final class BodyTooLargeException extends TooLongFrameException {

        private static final long serialVersionUID = 1L;

        private final int maxBodyBytes;
        private final boolean closeConnection;

        BodyTooLargeException(int maxBodyBytes, boolean closeConnection) {
            super("request body larger than " + maxBodyBytes + " bytes");
            this.maxBodyBytes = maxBodyBytes;
            this.closeConnection = closeConnection;
        }

        int maxBodyBytes() {
            return maxBodyBytes;
        }

        boolean closeConnection() {
            return closeConnection;
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this; // an answer to a client, not a fault
        }
    }
}
