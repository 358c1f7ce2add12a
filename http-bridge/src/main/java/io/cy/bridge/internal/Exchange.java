package io.cy.bridge.internal;

import static java.nio.charset.StandardCharsets.US_ASCII;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.EventExecutor;
import java.io.UncheckedIOException;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One request and its response on a connection: either one JSON answer or a stream of
 * server-sent events. Every response carries {@code x-request-id}; the connection stays open
 * after it when the client asked for keep-alive and the bridge is not shutting down.
 *
 * <p>Confined to the connection's event loop, like everything that writes to it. The upstream
 * side registers what to do when the client goes away ({@link #onClientGone}) and when the
 * connection can take more output again ({@link #onWritable}).
 */
final class Exchange {

    /**
     * One line per request at DEBUG: the coordinator already logs (and audits) every call the
     * bridge makes, so an INFO line here would double the access log of the in-process bridge.
     */
    private static final Logger accessLog = LoggerFactory.getLogger("cy.http.access");
    private static final byte[] DATA = "data: ".getBytes(US_ASCII);
    private static final byte[] EVENT_ERROR = "event: error\ndata: ".getBytes(US_ASCII);
    private static final byte[] END = "\n\n".getBytes(US_ASCII);
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(US_ASCII);
    private static final byte[] HEX = "0123456789abcdef".getBytes(US_ASCII);
    private static final int CRLF_LENGTH = 2;
    /** An HTTP chunk's size line: up to 8 hex digits (4 GiB) and CRLF. */
    private static final int CHUNK_SIZE_ROOM = 8 + CRLF_LENGTH;

    /** What the connection does when a response is complete. */
    interface Owner {
        /** @param closing whether the connection closes after this response */
        void exchangeDone(Exchange exchange, boolean closing);

        /** Whether the bridge is shutting down: responses then close their connections. */
        boolean draining();
    }

    private final ChannelHandlerContext ctx;
    /** Writes from here pass the HTTP codec by: the handler just below the codec receives them. */
    private ChannelHandlerContext belowCodec;
    private final Owner owner;
    private final ObjectMapper mapper;
    private final HttpVersion version;
    private final String method;
    private final String path;
    private final String requestId;
    private final boolean requestKeepAlive;
    private final long startNanos = System.nanoTime();
    private Runnable onClientGone = () -> {};
    private Runnable onWritable = () -> {};
    private boolean streaming;
    private boolean done;
    private boolean keepAlive;
    private boolean forceClose;
    private int status;
    // Headers the upstream asked for (x-cy-degraded); set on the event loop before the head goes out.
    private java.util.Map<String, String> responseHeaders = java.util.Map.of();

    Exchange(ChannelHandlerContext ctx, Owner owner, ObjectMapper mapper, HttpVersion version, String method,
             String path, String requestId, boolean requestKeepAlive) {
        this.ctx = ctx;
        this.owner = owner;
        this.mapper = mapper;
        this.version = version;
        this.method = method;
        this.path = path;
        this.requestId = requestId;
        this.requestKeepAlive = requestKeepAlive;
    }

    String requestId() {
        return requestId;
    }

    /** The HTTP client's address as gRPC prints a peer ({@code /127.0.0.1:52114}); null when unknown. */
    String clientAddress() {
        final Object address = ctx.channel().remoteAddress();
        return address == null ? null : address.toString();
    }

    /** The DER of the client certificate this connection's TLS handshake verified; null without one. */
    byte[] clientCertificate() {
        final SslHandler ssl = ctx.pipeline().get(SslHandler.class);
        if (ssl == null) {
            return null;
        }
        try {
            final java.security.cert.Certificate[] chain = ssl.engine().getSession().getPeerCertificates();
            return chain.length == 0 ? null : chain[0].getEncoded();
        } catch (javax.net.ssl.SSLPeerUnverifiedException | java.security.cert.CertificateEncodingException e) {
            return null;
        }
    }

    /** The connection's event loop: upstream callbacks run there, so no state here needs a lock. */
    EventExecutor executor() {
        return ctx.executor();
    }

    /** Whether the connection takes more output now without growing its buffer past the high-water mark. */
    boolean isWritable() {
        return ctx.channel().isWritable();
    }

    /** Whether the bridge is shutting down. */
    boolean draining() {
        return owner.draining();
    }

    /** Whether a response (or the head of an event stream) went out already. */
    boolean responseStarted() {
        return streaming || done;
    }

    void onClientGone(Runnable r) {
        onClientGone = r;
    }

    void onWritable(Runnable r) {
        onWritable = r;
    }

    /** Close the connection after this response whatever the client asked, e.g. after a malformed request. */
    void closeAfterResponse() {
        forceClose = true;
    }

    void sendJson(HttpResponseStatus responseStatus, byte[] json) {
        sendJson(responseStatus, json, Map.of());
    }

    void sendError(HttpError error) {
        sendJson(error.status(), errorJson(error), error.headers());
    }

    /** The error envelope {@code {"error":{"message","type","param","code"}}}. */
    byte[] errorJson(HttpError error) {
        final ObjectNode root = mapper.createObjectNode();
        final ObjectNode body = root.putObject("error");
        body.put("message", error.message());
        body.put("type", error.type());
        body.put("param", error.param());
        body.put("code", error.code());
        try {
            return mapper.writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Sends the head of a {@code text/event-stream} response; events follow with {@link #sendEvent} and {@link #sendData}. */
    void startEventStream() {
        if (done || streaming) {
            return;
        }
        streaming = true;
        belowCodec = ctx.pipeline().context(HttpServerCodec.class);
        final HttpResponse response = new DefaultHttpResponse(version, HttpResponseStatus.OK);
        final HttpHeaders headers = response.headers();
        headers.set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8");
        headers.set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_CACHE);
        HttpUtil.setTransferEncodingChunked(response, true);
        finishHead(response, HttpResponseStatus.OK);
        // Flushed now: clients (OpenAI's SDKs among them) return the stream once they have the head.
        write(response, true);
    }

    /** One event {@code data: <json>} with the blank line that ends it, flushed at once. */
    void sendData(byte[] json) {
        if (!streaming || done) {
            return;
        }
        sendEvent(eventBuffer(DATA.length + json.length + END.length).writeBytes(DATA).writeBytes(json).writeBytes(END));
    }

    /**
     * A buffer for one event, with room before it for its size line as an HTTP chunk
     * ({@link #sendEvent} frames it in place).
     */
    ByteBuf eventBuffer(int sizeHint) {
        final ByteBuf event = ctx.alloc().buffer(CHUNK_SIZE_ROOM + sizeHint + CRLF_LENGTH);
        event.writerIndex(CHUNK_SIZE_ROOM).readerIndex(CHUNK_SIZE_ROOM);
        return event;
    }

    /**
     * One whole event from {@link #eventBuffer}, {@code data: <json>} and the blank line that ends
     * it, flushed at once; the buffer is released here when the stream has ended.
     *
     * <p>The event goes out as one HTTP chunk in one buffer: its size line is written into the
     * room before it and the CRLF after it, and the buffer is written below the HTTP codec, which
     * would otherwise add a buffer for each and write all three on their own. The codec stays in
     * its chunked state and ends the response ({@link #endEventStream}) as it would have.
     */
    void sendEvent(ByteBuf event) {
        if (!streaming || done) {
            event.release();
            return;
        }
        final int size = event.readableBytes();
        if (size == 0) {
            event.release(); // a chunk of size 0 would end the response
            return;
        }
        int start = event.readerIndex() - CRLF_LENGTH;
        event.setByte(start, '\r').setByte(start + 1, '\n');
        for (int rest = size; rest != 0; rest >>>= 4) {
            event.setByte(--start, HEX[rest & 0xf]);
        }
        event.readerIndex(start).writeByte('\r').writeByte('\n');
        // The void promise saves a promise and a listener per token: a failed write reaches
        // BridgeHandler.exceptionCaught, which closes the connection, as CLOSE_ON_FAILURE would.
        belowCodec.write(event, ctx.voidPromise());
        ctx.flush();
    }

    /** {@code data: [DONE]}, then the end of the response. */
    void endEventStream() {
        if (!streaming || done) {
            return;
        }
        write(new DefaultHttpContent(Unpooled.wrappedBuffer(DONE)), false);
        finish(LastHttpContent.EMPTY_LAST_CONTENT);
    }

    /**
     * An error after the stream started: an {@code error} event with the error envelope, then the
     * end of the response without {@code [DONE]}, so no client mistakes it for a complete answer.
     */
    void failEventStream(HttpError error) {
        if (!streaming || done) {
            return;
        }
        write(new DefaultHttpContent(Unpooled.wrappedBuffer(EVENT_ERROR, errorJson(error), END)), false);
        finish(LastHttpContent.EMPTY_LAST_CONTENT);
    }

    /** Our own failure while the request is in progress: cancel the upstream call, then answer {@code error}. */
    void abort(HttpError error) {
        if (done) {
            return;
        }
        final Runnable cancel = onClientGone;
        onClientGone = () -> {};
        cancel.run();
        if (streaming) {
            failEventStream(error);
        } else {
            sendError(error);
        }
    }

    /** Called by the connection when the client closed it; the upstream call is cancelled. */
    void clientGone() {
        if (done) {
            return;
        }
        done = true;
        final Runnable r = onClientGone;
        onClientGone = () -> {};
        r.run();
        log("client gone");
    }

    /** Called by the connection when it becomes writable again. */
    void writabilityChanged() {
        if (!done && ctx.channel().isWritable()) {
            onWritable.run();
        }
    }

    private void sendJson(HttpResponseStatus responseStatus, byte[] json, Map<String, String> extraHeaders) {
        if (done || streaming) {
            return;
        }
        final FullHttpResponse response =
                new DefaultFullHttpResponse(version, responseStatus, Unpooled.wrappedBuffer(json));
        final HttpHeaders headers = response.headers();
        headers.set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
        headers.setInt(HttpHeaderNames.CONTENT_LENGTH, json.length);
        extraHeaders.forEach(headers::set);
        finishHead(response, responseStatus);
        finish(response);
    }

    /** A header for the response, when it has not started yet. */
    void addResponseHeader(String name, String value) {
        if (responseHeaders.isEmpty()) {
            responseHeaders = new java.util.LinkedHashMap<>(2);
        }
        responseHeaders.put(name, value);
    }

    private void finishHead(HttpResponse response, HttpResponseStatus responseStatus) {
        status = responseStatus.code();
        keepAlive = requestKeepAlive && !forceClose && !owner.draining();
        response.headers().set("x-request-id", requestId);
        responseHeaders.forEach(response.headers()::set);
        HttpUtil.setKeepAlive(response, keepAlive);
    }

    private void finish(Object last) {
        done = true;
        onClientGone = () -> {};
        onWritable = () -> {};
        final boolean closing = !keepAlive || owner.draining();
        final ChannelFuture f = ctx.writeAndFlush(last);
        if (closing) {
            f.addListener(ChannelFutureListener.CLOSE);
        } else {
            f.addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
        }
        log(null);
        owner.exchangeDone(this, closing);
    }

    private void write(Object msg, boolean flush) {
        final ChannelFuture f = flush ? ctx.writeAndFlush(msg) : ctx.write(msg);
        // A failed write means the connection is broken: closing it cancels the upstream call.
        f.addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
    }

    private void log(String note) {
        if (accessLog.isDebugEnabled()) {
            accessLog.debug("{} {} {} {} ms x-request-id={}{}", method, path, status,
                    (System.nanoTime() - startNanos) / 1_000_000, requestId, note == null ? "" : " (" + note + ")");
        }
    }
}
