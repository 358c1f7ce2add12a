package io.cy.bridge.internal;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.timeout.IdleStateEvent;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Fires {@link IdleStateEvent#ALL_IDLE_STATE_EVENT} once a connection has gone the whole limit
 * without a read, a write, or turning writable again (a client reading what was held back).
 * {@link BridgeHandler} closes it then when it is between requests or stuck behind a client that
 * stopped reading.
 *
 * <p>Netty's {@code IdleStateHandler} does the same by the completion of every write: it swaps
 * the void promise of each streamed token for a new promise with a listener. Here a write counts
 * when it is made: the bridge writes only while the connection is writable, so a client that
 * stops reading stops the writes too. One timer at a time, pushed back rather than rescheduled:
 * activity costs a clock read. Confined to the connection's event loop.
 */
final class IdleTimeout extends ChannelDuplexHandler {

    private final long limitNanos;
    private long lastActivityNanos;
    private ScheduledFuture<?> check;

    IdleTimeout(long limitNanos) {
        if (limitNanos <= 0) {
            throw new IllegalArgumentException("limitNanos: " + limitNanos + " (expected: > 0)");
        }
        this.limitNanos = limitNanos;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        if (ctx.channel().isActive() && ctx.channel().isRegistered()) {
            start(ctx);
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        start(ctx);
        ctx.fireChannelActive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        stop();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        stop();
        ctx.fireChannelInactive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        lastActivityNanos = System.nanoTime();
        ctx.fireChannelRead(msg);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            lastActivityNanos = System.nanoTime();
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        lastActivityNanos = System.nanoTime();
        ctx.write(msg, promise);
    }

    private void start(ChannelHandlerContext ctx) {
        if (check != null) {
            return;
        }
        lastActivityNanos = System.nanoTime();
        check = ctx.executor().schedule(() -> check(ctx), limitNanos, TimeUnit.NANOSECONDS);
    }

    private void stop() {
        if (check != null) {
            check.cancel(false);
            check = null;
        }
    }

    private void check(ChannelHandlerContext ctx) {
        if (check == null || !ctx.channel().isOpen()) {
            return;
        }
        final long left = lastActivityNanos + limitNanos - System.nanoTime();
        if (left > 0) {
            check = ctx.executor().schedule(() -> check(ctx), left, TimeUnit.NANOSECONDS);
            return;
        }
        // Counted again from now: a connection left open by the handler is told again a limit later.
        lastActivityNanos = System.nanoTime();
        check = ctx.executor().schedule(() -> check(ctx), limitNanos, TimeUnit.NANOSECONDS);
        ctx.fireUserEventTriggered(IdleStateEvent.ALL_IDLE_STATE_EVENT);
    }
}
