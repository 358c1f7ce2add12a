package io.cy.bridge.internal;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One HTTP/1.1 connection: requests in order, one {@link Exchange} at a time.
 *
 * <p>Requests pipelined behind one in progress wait, so responses leave in request order; reading
 * pauses while any wait, and a client that pipelines more than {@value #MAX_PIPELINED} at once
 * (all within bytes already read) is disconnected rather than buffered. Reading otherwise goes on while a response
 * streams, which is how a client's disconnect is seen at once and the upstream call cancelled.
 * The connection's writability is passed to the exchange, which turns it into upstream
 * {@code request(n)}.
 *
 * <p>Failures of our own code while handling a request end in a 500 here, the one place besides
 * the call's own callbacks; nothing is thrown to Netty.
 */
public final class BridgeHandler extends ChannelInboundHandlerAdapter implements Exchange.Owner {

    /** Fired at every connection when the bridge shuts down: idle ones close, busy ones close after their response. */
    public static final Object DRAIN = new Object() {
        @Override
        public String toString() {
            return "DRAIN";
        }
    };

    static final int MAX_PIPELINED = 16;

    private static final Logger log = LoggerFactory.getLogger(BridgeHandler.class);

    private final Routes routes;
    private final ObjectMapper mapper;
    private final BooleanSupplier draining;
    private ChannelHandlerContext ctx;
    private Exchange current;
    private final ArrayDeque<FullHttpRequest> queued = new ArrayDeque<>();

    public BridgeHandler(Routes routes, ObjectMapper mapper, BooleanSupplier draining) {
        this.routes = requireNonNull(routes, "routes");
        this.mapper = requireNonNull(mapper, "mapper");
        this.draining = requireNonNull(draining, "draining");
    }

    @Override
    public void handlerAdded(ChannelHandlerContext context) {
        ctx = context;
    }

    @Override
    public void channelRead(ChannelHandlerContext context, Object msg) {
        if (!(msg instanceof FullHttpRequest)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        final FullHttpRequest request = (FullHttpRequest) msg;
        if (current == null) {
            handle(request);
            return;
        }
        if (queued.size() >= MAX_PIPELINED) {
            log.debug("connection {}: more than {} pipelined requests; closing", context.channel().remoteAddress(),
                    MAX_PIPELINED);
            request.release();
            context.close();
            return;
        }
        queued.add(request);
        context.channel().config().setAutoRead(false);
    }

    @Override
    public void exchangeDone(Exchange exchange, boolean closing) {
        if (exchange != current) {
            return;
        }
        current = null;
        if (closing) {
            releaseQueued();
            return;
        }
        if (!queued.isEmpty()) {
            // Later, not from inside the previous exchange's last write.
            ctx.executor().execute(this::handleQueued);
        }
    }

    @Override
    public boolean draining() {
        return draining.getAsBoolean();
    }

    @Override
    public void channelInactive(ChannelHandlerContext context) {
        final Exchange exchange = current;
        current = null;
        releaseQueued();
        if (exchange != null) {
            exchange.clientGone();
        }
        context.fireChannelInactive();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext context) {
        if (current != null) {
            current.writabilityChanged();
        }
        context.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext context, Object event) {
        if (event instanceof IdleStateEvent) {
            // Idle between requests, or stuck behind a client that stopped reading: either way, done.
            // A response waiting on a slow upstream (writable, nothing to write) is left alone.
            if (current == null || !context.channel().isWritable()) {
                context.close();
            }
            return;
        }
        if (event == DRAIN) {
            if (current == null) {
                context.close();
            }
            return;
        }
        context.fireUserEventTriggered(event);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext context, Throwable cause) {
        // A failed TLS handshake (a plaintext client, an old TLS version) is the client's doing, as a reset is.
        if (cause instanceof IOException || cause instanceof javax.net.ssl.SSLException
                || cause.getCause() instanceof javax.net.ssl.SSLException) {
            log.debug("connection {} failed: {}", context.channel().remoteAddress(), cause.toString());
        } else {
            log.warn("connection {} failed", context.channel().remoteAddress(), cause);
        }
        context.close();
    }

    private void handle(FullHttpRequest request) {
        Exchange exchange = null;
        try {
            exchange = new Exchange(ctx, this, mapper, request.protocolVersion(), request.method().name(),
                    Routes.pathOf(request.uri()), RequestIds.resolve(request.headers().get("x-request-id")),
                    HttpUtil.isKeepAlive(request));
            current = exchange;
            routes.dispatch(exchange, request);
        } catch (RuntimeException e) {
            log.error("request {} {} failed", request.method(), request.uri(), e);
            if (exchange == null) {
                ctx.close();
            } else {
                exchange.abort(HttpError.internal(e));
            }
        } finally {
            request.release();
        }
    }

    private void handleQueued() {
        if (current != null || queued.isEmpty()) {
            return;
        }
        if (!ctx.channel().isActive()) {
            releaseQueued();
            return;
        }
        final FullHttpRequest next = queued.poll();
        if (queued.isEmpty()) {
            ctx.channel().config().setAutoRead(true);
        }
        handle(next);
    }

    private void releaseQueued() {
        FullHttpRequest r;
        while ((r = queued.poll()) != null) {
            r.release();
        }
    }
}
