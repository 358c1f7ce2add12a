package io.cy.coordinator.transport.client;

import io.cy.coordinator.transport.wire.GrpcWire;
import io.cy.coordinator.transport.wire.InboundMessages;
import io.grpc.Deadline;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link SidecarCall} on one stream of a {@link SidecarConnection}. The response stream is cut
 * into messages here, at their 5-byte gRPC prefixes, and each message is kept as its bytes.
 *
 * <p>Flow control: the bytes of a complete message are given back to the sidecar's HTTP/2 window
 * only when the message is delivered, and messages are delivered only as requested. A reader
 * that stops requesting therefore stops the sidecar once one stream window is buffered here.
 *
 * <p>All state is confined to the connection's event loop; calls from other threads hop there.
 */
final class Http2SidecarCall<ReqT> implements SidecarCall<ReqT> {

    private static final Logger logger = LoggerFactory.getLogger(Http2SidecarCall.class);

    private final SidecarStreams streams;
    private final EventLoop loop;
    private final MethodDescriptor<ReqT, ?> method;
    private final Deadline deadline;

    // Event loop only, from here on.
    private Listener listener;
    private SidecarConnection connection;
    private int streamId = -1;
    // Writes made before the connection could open the stream, in order; at most a few messages.
    private ArrayDeque<Object> beforeStream;
    private boolean halfClosed;

    private final InboundMessages messages;
    private int requested;
    private boolean delivering;
    private boolean responseHeadersSeen;

    private Status finalStatus;
    private Metadata finalTrailers;
    // The final status drops queued messages (a reset or failure) instead of waiting for them.
    private boolean stopDelivery;
    private boolean closed;
    // Inside one of this call's own methods: the listener must not be called from there.
    private int inCall;
    private boolean readyOwed;

    private volatile boolean ready;
    private volatile boolean readyAwaited;
    private volatile boolean answeredBySidecar;

    Http2SidecarCall(SidecarStreams streams, EventLoop loop, MethodDescriptor<ReqT, ?> method, Deadline deadline,
                     int maxMessageBytes) {
        this.streams = streams;
        this.loop = loop;
        this.method = method;
        this.deadline = deadline;
        this.messages = new InboundMessages(maxMessageBytes, false, "the sidecar");
    }

    @Override
    public void start(Listener listener, Metadata headers) {
        if (!loop.inEventLoop()) {
            loop.execute(() -> start(listener, headers));
            return;
        }
        if (this.listener != null) {
            throw new IllegalStateException("already started");
        }
        this.listener = listener;
        if (finalStatus != null) {
            // Cancelled before it started.
            loop.execute(this::deliver);
            return;
        }
        inCall++;
        try {
            if (deadline != null && deadline.isExpired()) {
                fail(Status.DEADLINE_EXCEEDED.withDescription("deadline exceeded before the sidecar call started"));
                return;
            }
            final Http2Headers requestHeaders = streams.requestHeaders("/" + method.getFullMethodName());
            if (deadline != null) {
                requestHeaders.set(GrpcWire.GRPC_TIMEOUT,
                        GrpcWire.timeout(deadline.timeRemaining(TimeUnit.NANOSECONDS)));
            }
            GrpcWire.addMetadata(requestHeaders, headers);
            streams.connection(loop).open(this, requestHeaders);
        } finally {
            leave();
        }
    }

    @Override
    public void request(int n) {
        if (!loop.inEventLoop()) {
            loop.execute(() -> request(n));
            return;
        }
        requested = (int) Math.min(Integer.MAX_VALUE, (long) requested + n);
        final int held = messages.takeHeldBytes();
        if (held > 0 && connection != null && streamId >= 0) {
            connection.returnBytes(streamId, held);
        }
        // Messages already here go out at once, as grpc-java's direct executor delivers them;
        // the close never does (see deliver()).
        inCall++;
        try {
            deliver();
        } finally {
            leave();
        }
    }

    @Override
    public void sendMessage(ReqT message) {
        if (!loop.inEventLoop()) {
            loop.execute(() -> sendMessage(message));
            return;
        }
        if (closed || finalStatus != null || halfClosed) {
            return;
        }
        final ByteBuf frame;
        try {
            frame = frame(message);
        } catch (IOException | RuntimeException e) {
            logger.error("cannot serialise a request to sidecar {}", streams.target(), e);
            inCall++;
            try {
                cancelStream(Status.INTERNAL.withDescription("cannot serialise the request ("
                        + e.getClass().getSimpleName() + ")"));
            } finally {
                leave();
            }
            return;
        }
        if (streamId < 0) {
            queueBeforeStream(frame);
            return;
        }
        connection.writeData(streamId, frame, false);
    }

    @Override
    public void halfClose() {
        if (!loop.inEventLoop()) {
            loop.execute(this::halfClose);
            return;
        }
        if (closed || finalStatus != null || halfClosed) {
            return;
        }
        halfClosed = true;
        if (streamId < 0) {
            queueBeforeStream(Boolean.TRUE);
            return;
        }
        connection.writeData(streamId, null, true);
    }

    @Override
    public void cancel(String message) {
        if (!loop.inEventLoop()) {
            loop.execute(() -> cancel(message));
            return;
        }
        inCall++;
        try {
            cancelStream(Status.CANCELLED.withDescription(message));
        } finally {
            leave();
        }
    }

    @Override
    public boolean isReady() {
        if (ready) {
            return true;
        }
        // Only a caller that saw false is owed an onReady: most never look before the stream opens.
        readyAwaited = true;
        return ready;
    }

    @Override
    public boolean answeredBySidecar() {
        return answeredBySidecar;
    }

    // ---- from the connection, on the event loop ----

    /** The connection opens the stream now; what was written before it follows at once. */
    void streamOpening(SidecarConnection connection, int streamId) {
        this.connection = connection;
        this.streamId = streamId;
    }

    void flushBeforeStream() {
        if (beforeStream == null) {
            return;
        }
        final ArrayDeque<Object> writes = beforeStream;
        beforeStream = null;
        for (Object write : writes) {
            if (write instanceof ByteBuf) {
                connection.writeData(streamId, (ByteBuf) write, false);
            } else {
                connection.writeData(streamId, null, true);
            }
        }
    }

    /** Whether the call has its outcome already, so that a stream need not be opened for it. */
    boolean isFinished() {
        return finalStatus != null;
    }

    /** The stream can (or can no longer) take a message without waiting. */
    void writabilityChanged(boolean writable) {
        final boolean was = ready;
        ready = writable && finalStatus == null;
        if (ready && !was && readyAwaited && listener != null) {
            readyAwaited = false;
            if (inCall > 0) {
                readyOwed = true;
            } else {
                listener.onReady();
            }
        }
    }

    void onHeaders(Http2Headers headers, boolean endOfStream) {
        if (finalStatus != null) {
            return;
        }
        if (!endOfStream && isInformational(headers.status())) {
            // 100 Continue and the like come before the response (RFC 9113 §8.1); grpc-java skips them too.
            return;
        }
        if (!responseHeadersSeen) {
            responseHeadersSeen = true;
            if (endOfStream) {
                // Trailers-only: the sidecar ended the call before any response.
                answeredBySidecar = true;
                complete(GrpcWire.statusFromTrailers(headers), GrpcWire.metadata(headers), false);
                closeOurSide();
                return;
            }
            final Status http = GrpcWire.statusFromHttp(headers.status());
            if (!http.isOk()) {
                cancelStream(http);
                return;
            }
            final CharSequence contentType = headers.get(GrpcWire.CONTENT_TYPE);
            if (!GrpcWire.isGrpcContentType(contentType)) {
                cancelStream(Status.UNKNOWN.withDescription("content-type: '" + contentType
                        + "' (expected: application/grpc)"));
            }
            return;
        }
        if (!endOfStream) {
            cancelStream(Status.INTERNAL.withDescription("a second HEADERS frame without end of stream"));
            return;
        }
        answeredBySidecar = true;
        complete(GrpcWire.statusFromTrailers(headers), GrpcWire.metadata(headers), false);
        closeOurSide();
    }

    /**
     * After the sidecar's trailers, while our side of the stream is still open: close it, or the
     * stream would stay half open for as long as the connection lives.
     */
    private void closeOurSide() {
        if (!halfClosed && connection != null && streamId >= 0) {
            connection.reset(streamId, Http2Error.NO_ERROR);
        }
    }

    /** Takes a DATA frame; returns the bytes to give back to the window at once (see {@link InboundMessages}). */
    int onData(ByteBuf data, boolean endOfStream) {
        if (finalStatus != null) {
            return data.readableBytes();
        }
        if (!responseHeadersSeen) {
            // A malformed response (RFC 9113 §8.1): grpc-java fails the call with INTERNAL.
            cancelStream(Status.INTERNAL.withDescription("the sidecar sent DATA before its response HEADERS"),
                    Http2Error.PROTOCOL_ERROR);
            return data.readableBytes();
        }
        final int returnNow = messages.add(data, requested > 0);
        if (messages.error() != null) {
            cancelStream(messages.error());
            return returnNow;
        }
        deliver();
        if (endOfStream) {
            cancelStream(Status.INTERNAL.withDescription("the sidecar ended the stream without trailers"));
        }
        return returnNow;
    }

    void onReset(long errorCode) {
        final Http2Error error = Http2Error.valueOf(errorCode);
        final String name = error == null ? "error code " + errorCode : error.name();
        final Status status;
        if (error == Http2Error.REFUSED_STREAM) {
            status = Status.UNAVAILABLE.withDescription("the sidecar refused the stream (REFUSED_STREAM)");
        } else if (error == Http2Error.CANCEL && deadline != null && deadline.isExpired()) {
            // A gRPC server whose deadline (our grpc-timeout, rounded up) has passed can only reset
            // the stream with CANCEL, and it may do so before our own timer fires: as grpc-java's
            // ClientCallImpl does, the call then ends as what it is, a deadline exceeded.
            status = Status.DEADLINE_EXCEEDED.withDescription(
                    "the sidecar reset the stream (CANCEL) at or after the call's deadline");
        } else if (error == Http2Error.CANCEL) {
            status = Status.CANCELLED.withDescription("the sidecar reset the stream (CANCEL)");
        } else if (error == Http2Error.ENHANCE_YOUR_CALM) {
            status = Status.RESOURCE_EXHAUSTED.withDescription("the sidecar reset the stream (ENHANCE_YOUR_CALM)");
        } else {
            status = Status.INTERNAL.withDescription("the sidecar reset the stream (" + name + ")");
        }
        complete(status, new Metadata(), true);
    }

    /** The stream is gone (reset, connection closed, GOAWAY); without a status by now, that is the failure. */
    void onStreamClosed(Status ifNoStatus) {
        streamId = -1;
        connection = null;
        ready = false;
        if (finalStatus == null) {
            complete(ifNoStatus, new Metadata(), true);
        }
    }

    /** The call could not get a stream: no connection, or the stream could not be opened. */
    void fail(Status status) {
        complete(status, new Metadata(), true);
    }

    // ---- inside ----

    private void queueBeforeStream(Object write) {
        if (beforeStream == null) {
            beforeStream = new ArrayDeque<>(2);
        }
        beforeStream.add(write);
    }

    /** Ends the call on our side: resets the stream (if open) and closes the listener's call with {@code status}. */
    private void cancelStream(Status status) {
        cancelStream(status, Http2Error.CANCEL);
    }

    private void cancelStream(Status status, Http2Error reset) {
        if (closed || finalStatus != null) {
            return;
        }
        complete(status, new Metadata(), true);
        // A call still waiting for its connection is skipped when the connection opens.
        if (streamId >= 0 && connection != null) {
            connection.reset(streamId, reset);
        }
    }

    private static boolean isInformational(CharSequence status) {
        return status != null && status.length() == 3 && status.charAt(0) == '1';
    }

    private void complete(Status status, Metadata trailers, boolean stop) {
        if (finalStatus != null) {
            return;
        }
        finalStatus = status;
        finalTrailers = trailers;
        stopDelivery = stop;
        ready = false;
        if (stop) {
            releaseQueued();
        }
        if (inCall == 0) {
            deliver();
        } else {
            // Never inside the caller's own method: its onClose follows on the event loop.
            loop.execute(this::deliver);
        }
    }

    /** Hands over what is requested and queued, then the close once nothing is left to deliver. */
    private void deliver() {
        if (delivering || closed || listener == null) {
            return;
        }
        delivering = true;
        try {
            while (!closed) {
                if (!stopDelivery && requested > 0 && !messages.isEmpty()) {
                    requested--;
                    final InboundMessages.Message message = messages.poll();
                    if (message.owedBytes() > 0 && connection != null && streamId >= 0) {
                        connection.returnBytes(streamId, message.owedBytes());
                    }
                    listener.onMessage(message.bytes());
                    continue;
                }
                if (finalStatus != null && (stopDelivery || messages.isEmpty())) {
                    if (inCall > 0) {
                        // Never inside the caller's own method: its onClose follows on the event loop.
                        loop.execute(this::deliver);
                        break;
                    }
                    closed = true;
                    messages.clear();
                    listener.onClose(finalStatus, finalTrailers);
                }
                break;
            }
        } finally {
            delivering = false;
        }
    }

    private void leave() {
        inCall--;
        if (inCall == 0 && readyOwed) {
            readyOwed = false;
            loop.execute(() -> {
                if (ready && !closed) {
                    listener.onReady();
                }
            });
        }
    }

    private void releaseQueued() {
        messages.clear();
        if (beforeStream != null) {
            for (Object write : beforeStream) {
                if (write instanceof ByteBuf) {
                    ((ByteBuf) write).release();
                }
            }
            beforeStream = null;
        }
    }

    private ByteBuf frame(ReqT message) throws IOException {
        return GrpcWire.frame(streams.allocator(), method.streamRequest(message));
    }
}
