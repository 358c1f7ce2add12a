package io.cy.bench.load;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One HTTP/1.1 connection of a load run, one exchange at a time, kept alive between them. The
 * last handler of its channel's pipeline, after Netty's {@code HttpClientCodec}: it hands each
 * part of the response to the exchange in progress, stamped with the time it was read, so what
 * the figures include of the client is the decoding of the bytes and nothing more.
 *
 * <p>Everything but {@link #send} and {@link #reusable} runs on the channel's event loop; the
 * exchange and its keep-alive are volatile so that a connection handed back from another thread
 * is judged on what the event loop last wrote.
 */
final class HttpConnection extends ChannelInboundHandlerAdapter {

    /** The receiving side of one exchange; every method runs on the connection's event loop. */
    interface Exchange {
        void onHead(HttpResponse head, long nanos);

        /** A part of the body; the exchange is over after a {@link LastHttpContent}. */
        void onContent(HttpContent content, long nanos);

        /** The connection closed before the response ended; {@code cause} is null when it was just closed. */
        void onClosed(Throwable cause, long nanos);
    }

    private final Channel channel;
    private final AtomicBoolean counted = new AtomicBoolean(true);
    private volatile Exchange exchange;
    private volatile boolean keepAlive;
    private Throwable failure;

    HttpConnection(Channel channel) {
        this.channel = channel;
    }

    /**
     * Sends the request of a new exchange. If the connection closed meanwhile, the exchange hears
     * of it through {@link Exchange#onClosed}, like of any close before its response ended.
     */
    void send(FullHttpRequest request, Exchange next) {
        if (channel.eventLoop().inEventLoop()) {
            sendNow(request, next);
        } else {
            channel.eventLoop().execute(() -> sendNow(request, next));
        }
    }

    /**
     * Whether the connection can carry another exchange: open, between exchanges, and neither side
     * asked to close it after the last one.
     */
    boolean reusable() {
        return channel.isActive() && exchange == null && keepAlive;
    }

    boolean isActive() {
        return channel.isActive();
    }

    void close() {
        channel.close();
    }

    Channel channel() {
        return channel;
    }

    /** True the first time only: the pool stops counting a connection once, when it lets it go or it closes. */
    boolean uncount() {
        return counted.compareAndSet(true, false);
    }

    private void sendNow(FullHttpRequest request, Exchange next) {
        if (!channel.isActive()) {
            ReferenceCountUtil.release(request);
            next.onClosed(failure, System.nanoTime());
            return;
        }
        exchange = next;
        keepAlive = HttpUtil.isKeepAlive(request);
        // A failed write means a broken connection: closing it ends the exchange through channelInactive.
        channel.writeAndFlush(request).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        final long now = System.nanoTime();
        try {
            final Exchange current = exchange;
            if (current == null) {
                // An answer nobody asked for: what follows on this connection cannot be trusted.
                ctx.close();
                return;
            }
            if (msg instanceof HttpObject) {
                final DecoderResult result = ((HttpObject) msg).decoderResult();
                if (result.isFailure()) {
                    failure = result.cause();
                    ctx.close();
                    return;
                }
            }
            if (msg instanceof HttpResponse) {
                final HttpResponse head = (HttpResponse) msg;
                keepAlive = keepAlive && HttpUtil.isKeepAlive(head);
                current.onHead(head, now);
            }
            if (msg instanceof HttpContent) {
                if (msg instanceof LastHttpContent) {
                    // Free before the exchange hears of its end: it may hand the connection on at once.
                    exchange = null;
                }
                current.onContent((HttpContent) msg, now);
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (failure == null) {
            failure = cause;
        }
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        final Exchange current = exchange;
        exchange = null;
        if (current != null) {
            current.onClosed(failure, System.nanoTime());
        }
        ctx.fireChannelInactive();
    }
}
