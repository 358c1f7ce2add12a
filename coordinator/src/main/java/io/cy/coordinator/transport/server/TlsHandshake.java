package io.cy.coordinator.transport.server;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stands behind the {@link SslHandler} of a TLS connection until its handshake is over, then
 * hands the connection to a {@link FrontConnection}, with the TLS session for its calls. A client
 * that did not negotiate {@code h2} by ALPN is disconnected, as grpc-java's server does: without
 * it, the client may not even speak HTTP/2. A failed handshake (a plaintext client, TLS 1.1, a
 * client certificate missing or not signed by the CA) is logged at DEBUG and counted.
 */
final class TlsHandshake extends ChannelInboundHandlerAdapter {

    private static final Logger logger = LoggerFactory.getLogger(TlsHandshake.class);

    private final GrpcFrontServer server;
    private final SslHandler ssl;

    TlsHandshake(GrpcFrontServer server, SslHandler ssl) {
        this.server = server;
        this.ssl = ssl;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) throws Exception {
        if (!(event instanceof SslHandshakeCompletionEvent)) {
            super.userEventTriggered(ctx, event);
            return;
        }
        final SslHandshakeCompletionEvent done = (SslHandshakeCompletionEvent) event;
        if (!done.isSuccess()) {
            server.handshakeFailed();
            logger.debug("TLS handshake with {} failed: {}", ctx.channel().remoteAddress(), done.cause().toString());
            ctx.close();
            return;
        }
        if (!ApplicationProtocolNames.HTTP_2.equals(ssl.applicationProtocol())) {
            server.handshakeFailed();
            logger.debug("client {} negotiated no h2 by ALPN (got: {}): closing", ctx.channel().remoteAddress(),
                    ssl.applicationProtocol());
            ctx.close();
            return;
        }
        ctx.pipeline().replace(this, null,
                new FrontConnection(server, ctx.channel().eventLoop(), ssl.engine().getSession()).handler());
    }

    /** Until the handshake is over, a failure is the handshake's: the event above reports it. */
    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        logger.debug("TLS connection from {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
        ctx.close();
    }
}
