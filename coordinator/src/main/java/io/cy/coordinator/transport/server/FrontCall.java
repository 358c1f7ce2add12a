package io.cy.coordinator.transport.server;

import io.cy.coordinator.transport.wire.GrpcWire;
import io.cy.coordinator.transport.wire.InboundMessages;
import io.grpc.Attributes;
import io.grpc.Context;
import io.grpc.Grpc;
import io.grpc.KnownLength;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.SecurityLevel;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.Status;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.zip.GZIPInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client call on a stream of a {@link FrontConnection}: grpc-java's {@link ServerCall}
 * contract on the coordinator's own HTTP/2 server, so that the handlers and interceptors written
 * for grpc-java run unchanged while a response message costs one DATA frame write.
 *
 * <p>As in grpc-java: messages are delivered as requested, and the half-close after the last of
 * them; the listener runs with the call's {@link Context} attached (its deadline, the server for
 * reflection), on the connection's event loop; a handler or listener that throws ends the call
 * with UNKNOWN ("Application error processing RPC"). Every response advertises
 * {@code grpc-accept-encoding: gzip}; responses are gzip-compressed when the service asks
 * ({@link #setCompression}) and the client's {@code grpc-accept-encoding} lists gzip. Any thread
 * may call the call's methods; they run on the event loop.
 *
 * <p>The messages sent during one turn of the event loop go out as one DATA frame write at its
 * end, as grpc-java's framer gathers them until a flush: a sidecar's burst of tokens costs the
 * HTTP/2 encoder and its flow controller one write instead of one per token. At most
 * {@link #UNSENT_LIMIT} bytes wait so; they count as sent for {@link #isReady()}.
 */
final class FrontCall<ReqT, RespT> extends ServerCall<ReqT, RespT> {

    private static final Logger logger = LoggerFactory.getLogger(FrontCall.class);
    private static final AsciiString STATUS_OK = AsciiString.cached("200");
    private static final AsciiString CONTENT_TYPE_GRPC = AsciiString.cached("application/grpc");
    private static final AsciiString GZIP = AsciiString.cached("gzip");
    /** The most bytes of messages held back until the end of the turn: one default-size DATA frame. */
    static final int UNSENT_LIMIT = 16 * 1024;
    // Room for a burst of 16 short tokens without growing.
    private static final int UNSENT_INITIAL_BYTES = 1024;

    private final FrontConnection connection;
    private final EventLoop loop;
    private final int streamId;
    private final MethodDescriptor<ReqT, RespT> method;
    private final Context.CancellableContext context;
    private final String authority;
    private final InboundMessages messages;
    private final int maxMessageBytes;
    private final boolean clientAcceptsGzip;

    // Event loop only.
    private Listener<ReqT> listener;
    private int requested;
    private boolean delivering;
    private boolean endOfInput;
    private boolean halfCloseDelivered;
    private boolean headersSent;
    private boolean closeCalled;
    private boolean over;
    // Asked for by the service; in effect from the response headers on, if the client accepts gzip.
    private boolean compressionAsked;
    private boolean compressing;
    private boolean messageCompression = true;
    // Messages framed during this turn, not yet given to the encoder; null when none.
    private ByteBuf unsent;
    // In the connection's queue for the end of this turn: at most once.
    private boolean queuedForTurnEnd;

    private volatile boolean ready = true;
    private volatile boolean cancelled;

    FrontCall(FrontConnection connection, int streamId, MethodDescriptor<ReqT, RespT> method,
              Context.CancellableContext context, String authority, int maxMessageBytes, boolean gzip,
              boolean clientAcceptsGzip) {
        this.connection = connection;
        this.loop = connection.loop();
        this.streamId = streamId;
        this.method = method;
        this.context = context;
        this.authority = authority;
        this.maxMessageBytes = maxMessageBytes;
        this.clientAcceptsGzip = clientAcceptsGzip;
        this.messages = new InboundMessages(maxMessageBytes, gzip, "the client");
    }

    /** Hands the call to its handler; on the event loop. */
    void start(ServerCallHandler<ReqT, RespT> handler, Metadata headers) {
        final Context previous = context.attach();
        try {
            listener = handler.startCall(this, headers);
        } catch (RuntimeException | Error e) {
            logger.error("{}: the handler failed to start the call", method.getFullMethodName(), e);
            close(GrpcWire.APPLICATION_ERROR, new Metadata());
            return;
        } finally {
            context.detach(previous);
        }
        if (listener == null) {
            close(GrpcWire.APPLICATION_ERROR, new Metadata());
            return;
        }
        // As grpc-java does once the stream can take messages.
        listener(l -> l.onReady());
        deliver();
    }

    // ---- ServerCall ----

    @Override
    public void request(int n) {
        if (!loop.inEventLoop()) {
            loop.execute(() -> request(n));
            return;
        }
        requested = (int) Math.min(Integer.MAX_VALUE, (long) requested + n);
        final int held = messages.takeHeldBytes();
        if (held > 0) {
            connection.returnBytes(streamId, held);
        }
        deliver();
    }

    @Override
    public void sendHeaders(Metadata headers) {
        if (!loop.inEventLoop()) {
            loop.execute(() -> sendHeaders(headers));
            return;
        }
        if (headersSent || closeCalled || over) {
            return;
        }
        headersSent = true;
        compressing = compressionAsked && clientAcceptsGzip;
        final Http2Headers out = new DefaultHttp2Headers(false, 6).status(STATUS_OK)
                .set(GrpcWire.CONTENT_TYPE, CONTENT_TYPE_GRPC)
                .set(GrpcWire.GRPC_ACCEPT_ENCODING, GZIP);
        if (compressing) {
            out.set(GrpcWire.GRPC_ENCODING, GZIP);
        }
        GrpcWire.addMetadata(out, headers);
        connection.writeHeaders(streamId, out, false, null);
    }

    @Override
    public void sendMessage(RespT message) {
        if (!loop.inEventLoop()) {
            loop.execute(() -> sendMessage(message));
            return;
        }
        if (closeCalled || over) {
            return;
        }
        if (!headersSent) {
            sendHeaders(new Metadata());
        }
        if (unsent == null) {
            unsent = connection.alloc().buffer(UNSENT_INITIAL_BYTES);
        }
        if (!queuedForTurnEnd) {
            queuedForTurnEnd = true;
            connection.holdBack(this);
        }
        try {
            if (compressing && messageCompression) {
                GrpcWire.appendGzipFrame(unsent, message instanceof byte[]
                        ? new ByteArrayInputStream((byte[]) message) : method.streamResponse(message));
            } else if (message instanceof byte[]) {
                GrpcWire.appendFrame(unsent, (byte[]) message);
            } else {
                GrpcWire.appendFrame(unsent, method.streamResponse(message));
            }
        } catch (IOException | RuntimeException e) {
            logger.error("{}: cannot serialise a response", method.getFullMethodName(), e);
            close(Status.INTERNAL.withDescription("cannot serialise the response (" + e.getClass().getSimpleName()
                    + ")"), new Metadata());
            return;
        }
        if (unsent.readableBytes() >= UNSENT_LIMIT) {
            sendUnsent();
        }
    }

    /** The turn is over: what is held back goes to the encoder, before the connection's flush. */
    void turnEnded() {
        queuedForTurnEnd = false;
        sendUnsent();
    }

    /** Gives the messages held back to the encoder, as one DATA frame write. */
    private void sendUnsent() {
        final ByteBuf data = unsent;
        if (data == null) {
            return;
        }
        unsent = null;
        ready = connection.writeData(streamId, data);
    }

    @Override
    public boolean isReady() {
        return ready && !cancelled;
    }

    @Override
    public void close(Status status, Metadata trailers) {
        if (!loop.inEventLoop()) {
            loop.execute(() -> close(status, trailers));
            return;
        }
        if (closeCalled || over) {
            return;
        }
        closeCalled = true;
        messages.clear();
        sendUnsent();
        final Http2Headers out = headersSent
                ? new DefaultHttp2Headers(false, 4)
                : new DefaultHttp2Headers(false, 6).status(STATUS_OK).set(GrpcWire.CONTENT_TYPE, CONTENT_TYPE_GRPC);
        out.set(GrpcWire.GRPC_STATUS, AsciiString.of(Integer.toString(status.getCode().value())));
        if (status.getDescription() != null) {
            out.set(GrpcWire.GRPC_MESSAGE, GrpcWire.encodeMessage(status.getDescription()));
        }
        GrpcWire.addMetadata(out, trailers);
        connection.writeHeaders(streamId, out, true, written -> {
            if (written) {
                complete();
            } else {
                cancelled(false);
            }
        });
    }

    @Override
    public boolean isCancelled() {
        return cancelled;
    }

    @Override
    public Attributes getAttributes() {
        return connection.attributes();
    }

    @Override
    public SecurityLevel getSecurityLevel() {
        return connection.attributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION) == null
                ? SecurityLevel.NONE : SecurityLevel.PRIVACY_AND_INTEGRITY;
    }

    @Override
    public String getAuthority() {
        return authority;
    }

    @Override
    public MethodDescriptor<ReqT, RespT> getMethodDescriptor() {
        return method;
    }

    /**
     * Asks for {@code gzip} or {@code identity}; as in grpc-java, it takes effect with the response
     * headers (so call it before the first message), and only if the client accepts the encoding.
     */
    @Override
    public void setCompression(String compressor) {
        if (!"gzip".equals(compressor) && !"identity".equals(compressor)) {
            throw new IllegalArgumentException("compressor: '" + compressor + "' (expected: gzip or identity)");
        }
        if (!loop.inEventLoop()) {
            loop.execute(() -> compressionAsked = "gzip".equals(compressor));
            return;
        }
        compressionAsked = "gzip".equals(compressor);
    }

    @Override
    public void setMessageCompression(boolean enabled) {
        if (!loop.inEventLoop()) {
            loop.execute(() -> messageCompression = enabled);
            return;
        }
        messageCompression = enabled;
    }

    // ---- from the connection, on the event loop ----

    /** A DATA frame from the client; returns the bytes to give back to its window now. */
    int onData(ByteBuf data, boolean endOfStream) {
        if (over || closeCalled) {
            return data.readableBytes();
        }
        final int returnNow = messages.add(data, requested > 0);
        if (messages.error() != null) {
            fail(messages.error());
            return returnNow;
        }
        if (endOfStream) {
            endOfInput = true;
        }
        deliver();
        return returnNow;
    }

    /** The client can (or can no longer) take more without waiting. */
    void writabilityChanged(boolean writable) {
        final boolean was = ready;
        ready = writable;
        if (writable && !was) {
            listener(l -> l.onReady());
        }
    }

    /**
     * The stream is closed: after our trailers that is the call's end (Netty may say so before
     * the trailers' write is reported done); before them, the call was cancelled.
     */
    void streamClosed() {
        if (closeCalled) {
            complete();
        } else {
            cancelled(false);
        }
    }

    /** The client reset the stream, the connection closed, or the server is shutting down now. */
    void cancelled(boolean resetStream) {
        if (over) {
            return;
        }
        over = true;
        cancelled = true;
        ready = false;
        messages.clear();
        if (unsent != null) {
            unsent.release();
            unsent = null;
        }
        if (resetStream) {
            connection.reset(streamId, Http2Error.CANCEL);
        }
        listener(l -> l.onCancel());
        context.cancel(null);
    }

    // ---- inside ----

    /** The call ended as its handler closed it and the trailers went out. */
    private void complete() {
        if (over) {
            return;
        }
        over = true;
        ready = false;
        listener(l -> l.onComplete());
        context.cancel(null);
    }

    /** Ends a call the client broke (an oversized or malformed message): trailers with {@code status}, then cancelled. */
    private void fail(Status status) {
        close(status, new Metadata());
        cancelled(false);
    }

    private void deliver() {
        if (delivering || listener == null) {
            return;
        }
        delivering = true;
        try {
            while (!over && !closeCalled) {
                if (requested > 0 && !messages.isEmpty()) {
                    requested--;
                    final InboundMessages.Message message = messages.poll();
                    if (message.owedBytes() > 0) {
                        connection.returnBytes(streamId, message.owedBytes());
                    }
                    final ReqT request;
                    try {
                        request = method.parseRequest(stream(message));
                    } catch (RuntimeException | IOException e) {
                        fail(Status.INTERNAL.withDescription("the request message does not parse as "
                                + method.getFullMethodName() + "'s request"));
                        return;
                    }
                    listener(l -> l.onMessage(request));
                    continue;
                }
                if (endOfInput && messages.isEmpty() && !halfCloseDelivered) {
                    halfCloseDelivered = true;
                    listener(l -> l.onHalfClose());
                }
                break;
            }
        } finally {
            delivering = false;
        }
    }

    private InputStream stream(InboundMessages.Message message) throws IOException {
        if (!message.compressed()) {
            return new KnownLengthBytes(message.bytes());
        }
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(message.bytes()))) {
            final byte[] inflated = in.readNBytes(maxMessageBytes + 1);
            if (inflated.length > maxMessageBytes) {
                throw new IOException("inflated message over " + maxMessageBytes + " bytes");
            }
            return new KnownLengthBytes(inflated);
        }
    }

    /** Runs a listener method with the call's context; a listener that throws ends the call. */
    private void listener(java.util.function.Consumer<Listener<ReqT>> event) {
        if (listener == null) {
            return;
        }
        final Context previous = context.attach();
        try {
            event.accept(listener);
        } catch (RuntimeException | Error e) {
            logger.error("{}: a call listener failed", method.getFullMethodName(), e);
            if (!over && !closeCalled) {
                close(GrpcWire.APPLICATION_ERROR, new Metadata());
            }
        } finally {
            context.detach(previous);
        }
    }

    /** Lets protobuf's parser size its buffer from the message length. */
    private static final class KnownLengthBytes extends ByteArrayInputStream implements KnownLength {

        KnownLengthBytes(byte[] bytes) {
            super(bytes);
        }
    }
}
