package io.cy.coordinator.transport.wire;

import io.netty.buffer.ByteBuf;

/**
 * A server call that also takes a response message already serialised, as the readable bytes of
 * a buffer: a relay passes the bytes it received on without an array in between.
 */
public interface SerializedResponses {

    /**
     * Sends the readable bytes of {@code message} as one response message, as
     * {@code sendMessage} would send the message they encode. The caller keeps the buffer: it is
     * read before this returns, and neither released nor kept.
     */
    void sendSerializedMessage(ByteBuf message);
}
