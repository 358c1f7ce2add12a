package io.cy.coordinator.transport.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.DefaultHttp2Connection;
import io.netty.handler.codec.http2.DefaultHttp2ConnectionDecoder;
import io.netty.handler.codec.http2.DefaultHttp2ConnectionEncoder;
import io.netty.handler.codec.http2.DefaultHttp2FrameReader;
import io.netty.handler.codec.http2.DefaultHttp2FrameWriter;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameAdapter;
import io.netty.handler.codec.http2.Http2FrameListener;
import io.netty.handler.codec.http2.Http2Headers;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class EmptyDataFrameLimitTest {

    /** What reaches the listener behind the limit. */
    private static final class Recording extends Http2FrameAdapter {
        final List<String> frames = new ArrayList<>();

        @Override
        public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding, boolean endOfStream) {
            frames.add("DATA " + data.readableBytes() + (endOfStream ? " END_STREAM" : ""));
            return data.readableBytes() + padding;
        }

        @Override
        public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers,
                int padding, boolean endOfStream) {
            frames.add("HEADERS");
        }

        @Override
        public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers,
                int streamDependency, short weight, boolean exclusive, int padding, boolean endOfStream) {
            frames.add("HEADERS with priority");
        }
    }

    private final Recording inner = new Recording();

    /** The listener the limit puts in front of {@link #inner}, as the connection's reader calls it. */
    private Http2FrameListener limited(int max) {
        final DefaultHttp2ConnectionDecoder decoder = nettyDecoder();
        final EmptyDataFrameLimit limit = new EmptyDataFrameLimit(decoder, max);
        limit.frameListener(inner);
        assertThat(limit.frameListener()).as("what it was given, not its own wrapper").isSameAs(inner);
        final Http2FrameListener counting = decoder.frameListener();
        assertThat(counting).isNotSameAs(inner);
        return counting;
    }

    private static ByteBuf empty() {
        return Unpooled.EMPTY_BUFFER;
    }

    @Test
    void theFrameAfterTheLimitEndsTheConnectionOnceAndLaterFramesPassOnWhileItCloses() throws Exception {
        final Http2FrameListener listener = limited(2);
        listener.onDataRead(null, 1, empty(), 0, false);
        listener.onDataRead(null, 1, empty(), 0, false);

        assertThatThrownBy(() -> listener.onDataRead(null, 1, empty(), 0, false))
                .isInstanceOfSatisfying(Http2Exception.class, e -> {
                    assertThat(e.error()).isEqualTo(Http2Error.ENHANCE_YOUR_CALM);
                    assertThat(e.shutdownHint()).isEqualTo(Http2Exception.ShutdownHint.HARD_SHUTDOWN);
                    assertThat(e).hasMessageContaining("2");
                });
        // Told once: the GOAWAY is on its way, and the frames still in the read buffer are not errors again.
        listener.onDataRead(null, 1, empty(), 0, false);
        listener.onDataRead(null, 1, empty(), 0, false);

        assertThat(inner.frames).containsExactly("DATA 0", "DATA 0", "DATA 0", "DATA 0");
    }

    @Test
    void bytesEndOfStreamAndHeadersEachStartTheCountAgain() throws Exception {
        final Http2FrameListener listener = limited(2);
        final ByteBuf oneByte = Unpooled.wrappedBuffer(new byte[] {1});
        final Runnable[] resets = {
            () -> call(() -> listener.onDataRead(null, 1, oneByte.duplicate(), 0, false)),
            () -> call(() -> listener.onDataRead(null, 1, empty(), 0, true)),
            () -> call(() -> listener.onHeadersRead(null, 3, new DefaultHttp2Headers(), 0, false)),
            () -> call(() -> listener.onHeadersRead(null, 5, new DefaultHttp2Headers(), 0, (short) 16, false, 0, false)),
        };
        for (Runnable reset : resets) {
            listener.onDataRead(null, 1, empty(), 0, false);
            listener.onDataRead(null, 1, empty(), 0, false);
            reset.run();
        }
        listener.onDataRead(null, 1, empty(), 0, false);
        listener.onDataRead(null, 1, empty(), 0, false);

        assertThat(inner.frames).hasSize(4 * 3 + 2).contains("DATA 1", "DATA 0 END_STREAM", "HEADERS",
                "HEADERS with priority");
        assertThatThrownBy(() -> listener.onDataRead(null, 1, empty(), 0, false)).isInstanceOf(Http2Exception.class);
    }

    /** A server connection's decoder, as Netty makes it. */
    private static DefaultHttp2ConnectionDecoder nettyDecoder() {
        final Http2Connection connection = new DefaultHttp2Connection(true);
        return new DefaultHttp2ConnectionDecoder(connection,
                new DefaultHttp2ConnectionEncoder(connection, new DefaultHttp2FrameWriter()), new DefaultHttp2FrameReader());
    }

    @Test
    void aLimitBelowOneIsRefused() {
        final DefaultHttp2ConnectionDecoder decoder = nettyDecoder();

        assertThatThrownBy(() -> new EmptyDataFrameLimit(decoder, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("max: 0 (expected: > 0)");
    }

    private interface Frame {
        void read() throws Http2Exception;
    }

    private static void call(Frame frame) {
        try {
            frame.read();
        } catch (Http2Exception e) {
            throw new AssertionError("not expected here", e);
        }
    }
}
