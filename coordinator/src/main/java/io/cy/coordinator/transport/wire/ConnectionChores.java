package io.cy.coordinator.transport.wire;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http2.DefaultHttp2RemoteFlowController;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2LocalFlowController;
import io.netty.handler.codec.http2.Http2RemoteFlowController;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.codec.http2.UniformStreamByteDistributor;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * What every HTTP/2 connection of the coordinator does besides its streams, client side and
 * server side alike: one flush for all the writes of an event-loop turn (as grpc-java's write
 * queue does), giving delivered bytes back to the peer's window, and keepalive: a PING when
 * nothing was read for a while, and the connection closed when no answer comes in time.
 * Just before its flush, a connection may hand over what it held back during the turn.
 *
 * <p>Confined to the connection's event loop.
 */
public final class ConnectionChores {

    private final EventLoop loop;
    private final Http2ConnectionHandler handler;
    // The handler's, held here: reached through the handler, each look-up went through three encoders.
    private final Http2Connection connection;
    private final Http2LocalFlowController localFlow;
    private final Runnable beforeFlush;
    private final Runnable flushTask = this::flushNow;
    private ChannelHandlerContext ctx;
    private boolean flushScheduled;

    // Reads are counted, not timed: a read is on every call's path, a keepalive tick is not, and
    // the tick only needs to know whether anything was read since the one before.
    private long reads;
    private long readsAtLastTick;
    // A ping is unanswered while nothing was read after it.
    private long readsAtLastPing = -1;
    private ScheduledFuture<?> keepalive;

    /**
     * The flow controller for what {@code connection} sends: Netty's, with a distributor that
     * shares the connection window among streams in turn. gRPC sends no priorities, and the default
     * distributor's priority tree (a heap over the open streams, and the state it keeps of closed
     * ones) costs every write and every new stream a walk through memory shared by all of them.
     */
    public static Http2RemoteFlowController remoteFlowController(Http2Connection connection) {
        return new DefaultHttp2RemoteFlowController(connection, new UniformStreamByteDistributor(connection));
    }

    public ConnectionChores(EventLoop loop, Http2ConnectionHandler handler) {
        this(loop, handler, () -> { });
    }

    /** @param beforeFlush runs at the end of a turn in which a flush was asked for, before the flush */
    public ConnectionChores(EventLoop loop, Http2ConnectionHandler handler, Runnable beforeFlush) {
        this.loop = loop;
        this.handler = handler;
        this.connection = handler.connection();
        // Set when the handler's decoder was built, before the handler itself.
        this.localFlow = connection.local().flowController();
        this.beforeFlush = beforeFlush;
    }

    /** The handler's context, once it is in the pipeline. */
    public void attach(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    /** Flushes once the event loop's current turn is over, with whatever else was written in it. */
    public void scheduleFlush() {
        if (!flushScheduled) {
            flushScheduled = true;
            loop.execute(flushTask);
        }
    }

    /** Gives {@code bytes} of a stream back to the peer's window (a WINDOW_UPDATE when due). */
    public void returnBytes(int streamId, int bytes) {
        final Http2Stream stream = connection.stream(streamId);
        if (stream == null) {
            return;
        }
        try {
            if (localFlow.consumeBytes(stream, bytes)) {
                scheduleFlush();
            }
        } catch (Http2Exception e) {
            handler.onError(ctx, false, e);
        }
    }

    /** Something was read: the peer is alive. */
    public void onRead() {
        reads++;
    }

    /**
     * Pings when nothing was read for {@code time} (checked every {@code time}, so a ping goes out
     * between one and two times {@code time} after the last read); runs {@code onTimeout} when
     * nothing is read within {@code timeout} of a ping. A zero {@code time} means no pings.
     */
    public void startKeepalive(Duration time, Duration timeout, Runnable onTimeout) {
        final long timeNanos = time.toNanos();
        if (timeNanos <= 0 || keepalive != null) {
            return;
        }
        keepalive = loop.scheduleWithFixedDelay(() -> {
            final boolean readSinceLastTick = reads != readsAtLastTick;
            readsAtLastTick = reads;
            if (readSinceLastTick || reads == readsAtLastPing || ctx == null) {
                return;
            }
            final long readsAtPing = reads;
            readsAtLastPing = readsAtPing;
            handler.encoder().writePing(ctx, false, System.nanoTime(), ctx.newPromise());
            scheduleFlush();
            loop.schedule(() -> {
                if (reads == readsAtPing) {
                    onTimeout.run();
                }
            }, timeout.toNanos(), TimeUnit.NANOSECONDS);
        }, timeNanos, timeNanos, TimeUnit.NANOSECONDS);
    }

    /** The connection is over: no more pings. */
    public void stop() {
        if (keepalive != null) {
            keepalive.cancel(false);
        }
    }

    private void flushNow() {
        flushScheduled = false;
        beforeFlush.run();
        if (ctx != null) {
            handler.flush(ctx);
        }
    }
}
