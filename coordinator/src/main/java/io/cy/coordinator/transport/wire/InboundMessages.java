package io.cy.coordinator.transport.wire;

import io.grpc.Status;
import io.netty.buffer.ByteBuf;
import java.util.ArrayDeque;

/**
 * The gRPC messages arriving on one HTTP/2 stream, cut at their 5-byte prefixes (a flag byte and
 * a big-endian length) out of the DATA frames, and kept until they are delivered.
 *
 * <p>Flow control, as grpc-java's deframer does it: the bytes of a complete message go back to
 * the peer's window only when it is {@link #poll polled}, and those of a message still incomplete
 * go back at once while the reader wants a message (so a message larger than the window cannot
 * stall its stream), else when it asks for one ({@link #takeHeldBytes}). A reader that asks for
 * nothing therefore stops the peer once a stream window is held here, partial message included.
 * Not thread-safe: one event loop uses it.
 */
public final class InboundMessages {

    private static final int PREFIX_BYTES = 5;

    /** One message: its bytes, whether they are compressed, and its bytes still owed to the window. */
    public record Message(byte[] bytes, boolean compressed, int owedBytes) {}

    private final ArrayDeque<Message> queue = new ArrayDeque<>();
    private final int maxMessageBytes;
    private final boolean compressionAllowed;
    private final String peer;
    // A message that arrived in part: its prefix and the body so far.
    private ByteBuf partial;
    // Bytes of the partial message taken while no message was wanted, not yet given back.
    private int heldBytes;
    private Status error;

    /**
     * @param compressionAllowed whether a compressed message is acceptable (a grpc-encoding was
     *     negotiated); else it is an error
     * @param peer who sends, for error messages ("the sidecar", "the client")
     */
    public InboundMessages(int maxMessageBytes, boolean compressionAllowed, String peer) {
        this.maxMessageBytes = maxMessageBytes;
        this.compressionAllowed = compressionAllowed;
        this.peer = peer;
    }

    /**
     * Takes a DATA frame's bytes; returns how many may be given back to the window now. After a
     * malformed or oversized message, {@link #error()} says what is wrong and nothing more is kept.
     *
     * @param wanted whether the reader has asked for a message it has not had yet
     */
    public int add(ByteBuf data, boolean wanted) {
        if (error != null) {
            return data.readableBytes();
        }
        int returnNow = 0;
        while (data.isReadable()) {
            if (partial == null) {
                if (data.readableBytes() >= PREFIX_BYTES) {
                    final int length = checkedLength(data, data.readerIndex());
                    if (length < 0) {
                        return returnNow + data.readableBytes();
                    }
                    if (data.readableBytes() >= PREFIX_BYTES + length) {
                        final boolean compressed = data.readByte() != 0;
                        data.skipBytes(PREFIX_BYTES - 1);
                        final byte[] bytes = new byte[length];
                        data.readBytes(bytes);
                        queue.add(new Message(bytes, compressed, PREFIX_BYTES + length));
                        continue;
                    }
                }
                partial = data.alloc().buffer(Math.min(data.readableBytes() + 64, 1 << 16));
            }
            final int have = partial.readableBytes();
            final int need = have < PREFIX_BYTES ? PREFIX_BYTES - have : PREFIX_BYTES + announced() - have;
            final int take = Math.min(need, data.readableBytes());
            partial.writeBytes(data, take);
            if (wanted) {
                returnNow += take;
            } else {
                heldBytes += take;
            }
            if (partial.readableBytes() < PREFIX_BYTES) {
                break;
            }
            if (have < PREFIX_BYTES && checkedLength(partial, partial.readerIndex()) < 0) {
                return returnNow + data.readableBytes();
            }
            if (partial.readableBytes() == PREFIX_BYTES + announced()) {
                final boolean compressed = partial.readByte() != 0;
                partial.skipBytes(PREFIX_BYTES - 1);
                final byte[] bytes = new byte[partial.readableBytes()];
                partial.readBytes(bytes);
                releasePartial();
                queue.add(new Message(bytes, compressed, 0));
            }
        }
        return returnNow;
    }

    /** The reader asks for a message: the bytes held back for the partial one may go back to the window. */
    public int takeHeldBytes() {
        final int held = heldBytes;
        heldBytes = 0;
        return held;
    }

    /** What made the stream unreadable, or null. */
    public Status error() {
        return error;
    }

    public boolean isEmpty() {
        return queue.isEmpty();
    }

    /** The next complete message, or null; the caller gives its owed bytes back to the window. */
    public Message poll() {
        return queue.poll();
    }

    /** Drops everything kept: the stream is over. */
    public void clear() {
        queue.clear();
        releasePartial();
    }

    private int announced() {
        return partial.getInt(partial.readerIndex() + 1);
    }

    /** The length announced at {@code index}, or -1 after recording why the message is refused. */
    private int checkedLength(ByteBuf buf, int index) {
        final int flags = buf.getUnsignedByte(index);
        final long length = buf.getUnsignedInt(index + 1);
        if (flags > 1) {
            return refuse(Status.INTERNAL.withDescription("invalid gRPC message flags from " + peer + ": " + flags));
        }
        if (flags == 1 && !compressionAllowed) {
            return refuse(Status.INTERNAL.withDescription(peer
                    + " sent a compressed message, but no compression was negotiated"));
        }
        if (length > maxMessageBytes) {
            return refuse(Status.RESOURCE_EXHAUSTED.withDescription("message from " + peer + ": " + length
                    + " bytes (expected: <= " + maxMessageBytes + ")"));
        }
        return (int) length;
    }

    private int refuse(Status status) {
        error = status;
        clear();
        return -1;
    }

    private void releasePartial() {
        if (partial != null) {
            partial.release();
            partial = null;
        }
    }
}
