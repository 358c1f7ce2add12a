package io.cy.coordinator.transport.wire;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayList;
import java.util.List;

/**
 * Copies the small buffers written between two flushes into one, so that the socket gets one
 * buffer per flush. Netty's HTTP/2 codec writes every frame as two or three buffers (the frame
 * header, the payload, each with a promise of its own); a relayed call makes some eight of them,
 * each an entry in the channel's outbound buffer, with its accounting when added and when
 * written. Copying a few hundred bytes costs less than that bookkeeping. For plaintext
 * connections only: over TLS, {@code SslHandler} gathers small writes into one record already.
 *
 * <p>A buffer larger than {@link #COPY_LIMIT} bytes, or anything that is not a buffer, goes on
 * as it is, after what was gathered before it, so the order of the bytes never changes. The
 * gathered writes' promises are completed, in order, when the one write of their bytes is. What
 * is gathered is written at the next flush, or before a close; between two flushes the codec
 * writes at most what its flow-control windows allow.
 *
 * <p>Confined to the channel's event loop, as every handler is.
 */
public final class WriteCoalescer extends ChannelOutboundHandlerAdapter {

    /** Larger buffers are not copied: a copy would cost more than the entry it saves. */
    static final int COPY_LIMIT = 4096;
    private static final int INITIAL_BYTES = 4096;

    private ByteBuf gathered;
    private final List<ChannelPromise> promises = new ArrayList<>();

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof ByteBuf buf && buf.readableBytes() <= COPY_LIMIT) {
            if (gathered == null) {
                gathered = ctx.alloc().directBuffer(INITIAL_BYTES);
            }
            try {
                gathered.writeBytes(buf, buf.readerIndex(), buf.readableBytes());
            } finally {
                buf.release();
            }
            if (!promise.isVoid()) {
                promises.add(promise);
            }
            return;
        }
        writeGathered(ctx);
        ctx.write(msg, promise);
    }

    @Override
    public void flush(ChannelHandlerContext ctx) {
        writeGathered(ctx);
        ctx.flush();
    }

    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
        // Handed to the channel, which fails what it cannot write as it closes.
        writeGathered(ctx);
        ctx.close(promise);
    }

    @Override
    public void disconnect(ChannelHandlerContext ctx, ChannelPromise promise) {
        writeGathered(ctx);
        ctx.disconnect(promise);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (gathered != null) {
            gathered.release();
            gathered = null;
            final ClosedChannelException closed = new ClosedChannelException();
            for (ChannelPromise p : promises) {
                p.tryFailure(closed);
            }
            promises.clear();
        }
    }

    private void writeGathered(ChannelHandlerContext ctx) {
        final ByteBuf buf = gathered;
        if (buf == null) {
            return;
        }
        gathered = null;
        final int count = promises.size();
        if (count == 0) {
            ctx.write(buf, ctx.voidPromise());
        } else if (count == 1) {
            ctx.write(buf, promises.get(0));
        } else {
            final ChannelPromise[] waiting = promises.toArray(new ChannelPromise[0]);
            ctx.write(buf).addListener(f -> {
                final Throwable cause = f.cause();
                for (ChannelPromise p : waiting) {
                    if (cause == null) {
                        p.trySuccess();
                    } else {
                        p.tryFailure(cause);
                    }
                }
            });
        }
        promises.clear();
    }
}
