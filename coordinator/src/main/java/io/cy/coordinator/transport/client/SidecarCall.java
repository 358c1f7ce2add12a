package io.cy.coordinator.transport.client;

import io.grpc.Metadata;
import io.grpc.Status;

/**
 * One gRPC call to a sidecar on a stream of its HTTP/2 connection, with responses kept as the
 * bytes of each message. It follows {@link io.grpc.ClientCall}'s contract where it has the same
 * methods: messages are delivered only as {@link #request requested}, {@link Listener#onClose}
 * comes exactly once and last, and no listener method runs inside a method of this call, except
 * that {@link #request} may hand over messages that are already here before it returns.
 *
 * <p>Any thread may call it; the work runs on the event loop of the connection, where the
 * listener is called. Calls made on that loop run at once, without a task hand-off.
 */
public interface SidecarCall<ReqT> {

    /** Starts the call: opens a stream with {@code headers} as its metadata. */
    void start(Listener listener, Metadata headers);

    /** Allows {@code n} more response messages to be delivered. */
    void request(int n);

    void sendMessage(ReqT message);

    void halfClose();

    /** Resets the stream; the listener then hears CANCELLED with {@code message}. */
    void cancel(String message);

    /** Whether a message sent now would go out without waiting for the sidecar's flow control. */
    boolean isReady();

    /**
     * Whether the status the listener got was the sidecar's own (it came in trailers), rather
     * than made up on this side of the connection (refused, reset, closed).
     */
    boolean answeredBySidecar();

    /** Receives what the sidecar answers; every method runs on the connection's event loop. */
    interface Listener {

        void onMessage(byte[] message);

        /** {@link #isReady()} turned true. */
        default void onReady() {}

        void onClose(Status status, Metadata trailers);
    }
}
