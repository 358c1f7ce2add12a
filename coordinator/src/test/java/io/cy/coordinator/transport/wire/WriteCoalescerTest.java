package io.cy.coordinator.transport.wire;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class WriteCoalescerTest {

    private static ByteBuf text(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII);
    }

    private static String readText(EmbeddedChannel channel) {
        final ByteBuf out = channel.readOutbound();
        try {
            return out.toString(StandardCharsets.US_ASCII);
        } finally {
            out.release();
        }
    }

    @Test
    void smallWritesReachTheSocketAsOneBufferAtTheFlushAndTheirPromisesCompleteThen() {
        final EmbeddedChannel channel = new EmbeddedChannel(new WriteCoalescer());
        final ByteBuf header = text("HDR");
        final ByteBuf payload = text("payload");

        final ChannelFuture first = channel.write(header);
        final ChannelFuture second = channel.write(payload);

        assertThat(header.refCnt()).isZero();
        assertThat(payload.refCnt()).isZero();
        assertThat(first.isDone()).isFalse();
        assertThat((Object) channel.readOutbound()).isNull();

        channel.flush();

        assertThat(readText(channel)).isEqualTo("HDRpayload");
        assertThat((Object) channel.readOutbound()).isNull();
        assertThat(first.isSuccess()).isTrue();
        assertThat(second.isSuccess()).isTrue();
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void aLargeBufferGoesOnUncopiedAfterWhatWasGatheredBeforeIt() {
        final EmbeddedChannel channel = new EmbeddedChannel(new WriteCoalescer());
        final ByteBuf large = Unpooled.buffer(WriteCoalescer.COPY_LIMIT + 1).writeZero(WriteCoalescer.COPY_LIMIT + 1);

        channel.write(text("a"));
        channel.write(text("b"));
        channel.write(large);
        channel.write("not a buffer");
        channel.write(text("c"));
        channel.flush();

        assertThat(readText(channel)).isEqualTo("ab");
        final ByteBuf passed = channel.readOutbound();
        assertThat(passed).isSameAs(large);
        passed.release();
        assertThat((Object) channel.readOutbound()).isEqualTo("not a buffer");
        assertThat(readText(channel)).isEqualTo("c");
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void aFailedWriteFailsEveryPromiseGatheredIntoIt() {
        final IOException broken = new IOException("connection reset");
        final EmbeddedChannel channel = new EmbeddedChannel(new ChannelOutboundHandlerAdapter() {
            @Override
            public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                io.netty.util.ReferenceCountUtil.release(msg);
                promise.setFailure(broken);
            }
        }, new WriteCoalescer());

        final ChannelFuture first = channel.write(text("one"));
        final ChannelFuture second = channel.write(text("two"));
        final ChannelFuture third = channel.write(text("three"));
        channel.flush();

        assertThat(first.cause()).isSameAs(broken);
        assertThat(second.cause()).isSameAs(broken);
        assertThat(third.cause()).isSameAs(broken);
        channel.finishAndReleaseAll();
    }

    @Test
    void whatIsGatheredWhenTheChannelClosesIsHandedOnAndNotLeaked() {
        final EmbeddedChannel channel = new EmbeddedChannel(new WriteCoalescer());
        final ChannelFuture unflushed = channel.write(text("never flushed"));

        channel.close();

        // The channel fails the write it could not make, and releases its buffer.
        assertThat(unflushed.isDone()).isTrue();
        assertThat(unflushed.isSuccess()).isFalse();
        assertThat((Object) channel.readOutbound()).isNull();
    }

    @Test
    void aRemovedCoalescerReleasesWhatItHeldAndFailsItsPromises() {
        final WriteCoalescer coalescer = new WriteCoalescer();
        final EmbeddedChannel channel = new EmbeddedChannel(coalescer);
        final ChannelFuture unflushed = channel.write(text("held"));

        channel.pipeline().remove(coalescer);

        assertThat(unflushed.isSuccess()).isFalse();
        assertThat(unflushed.cause()).isInstanceOf(java.nio.channels.ClosedChannelException.class);
        assertThat(channel.finish()).isFalse();
    }
}
