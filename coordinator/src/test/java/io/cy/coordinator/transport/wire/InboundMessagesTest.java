package io.cy.coordinator.transport.wire;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class InboundMessagesTest {

    private static ByteBuf frames(String... messages) {
        final ByteBuf out = Unpooled.buffer();
        for (String m : messages) {
            GrpcWire.appendFrame(out, m.getBytes(StandardCharsets.UTF_8));
        }
        return out;
    }

    private static String text(InboundMessages.Message m) {
        return m.buffer() != null ? m.buffer().toString(StandardCharsets.UTF_8) : new String(m.bytes(),
                StandardCharsets.UTF_8);
    }

    @Test
    void keptAsArraysByDefault() {
        final InboundMessages messages = new InboundMessages(1024, false, "the sidecar");
        final ByteBuf data = frames("one", "two");

        assertThat(messages.add(data, true)).isZero();
        data.release();

        final InboundMessages.Message one = messages.poll();
        assertThat(one.buffer()).isNull();
        assertThat(text(one)).isEqualTo("one");
        assertThat(one.owedBytes()).isEqualTo(5 + 3);
        assertThat(text(messages.poll())).isEqualTo("two");
        assertThat(messages.isEmpty()).isTrue();
    }

    @Test
    void aMessageWholeInItsFrameIsASliceOfTheFrameUntilUnpinned() {
        final InboundMessages messages = InboundMessages.keepingBuffers(1024, false, "the sidecar");
        final ByteBuf data = frames("one", "two");

        messages.add(data, true);
        data.release();
        // Both slices hold the frame's buffer: no copy was made.
        assertThat(data.refCnt()).isEqualTo(2);
        final InboundMessages.Message one = messages.poll();
        assertThat(text(one)).isEqualTo("one");
        one.buffer().release();
        assertThat(data.refCnt()).isEqualTo(1);

        messages.unpin();
        assertThat(data.refCnt()).as("the frame is free once the queued message is a copy").isZero();
        final InboundMessages.Message two = messages.poll();
        assertThat(text(two)).isEqualTo("two");
        assertThat(two.owedBytes()).isEqualTo(5 + 3);
        two.buffer().release();
    }

    @Test
    void aMessageSplitOverFramesIsHandedOverInTheBufferItWasAssembledIn() {
        final InboundMessages messages = InboundMessages.keepingBuffers(1024, false, "the sidecar");
        final ByteBuf whole = frames("a message in two frames");
        final ByteBuf first = whole.readRetainedSlice(9);

        assertThat(messages.add(first, true)).isEqualTo(9);
        first.release();
        assertThat(messages.isEmpty()).isTrue();
        assertThat(messages.add(whole, true)).isEqualTo(5 + 23 - 9);
        whole.release();

        final InboundMessages.Message m = messages.poll();
        assertThat(text(m)).isEqualTo("a message in two frames");
        assertThat(m.owedBytes()).isZero();
        m.buffer().release();
        assertThat(whole.refCnt()).isZero();
    }

    @Test
    void clearAndRefusalReleaseWhatIsQueued() {
        final InboundMessages messages = InboundMessages.keepingBuffers(8, false, "the sidecar");
        final ByteBuf data = frames("one", "two");
        messages.add(data, false);
        data.release();
        assertThat(data.refCnt()).isEqualTo(2);

        messages.clear();
        assertThat(data.refCnt()).isZero();

        final ByteBuf tooLong = frames("ok", "far too long");
        messages.add(tooLong, true);
        tooLong.release();
        assertThat(messages.error().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(messages.error().getDescription()).isEqualTo("message from the sidecar: 12 bytes (expected: <= 8)");
        assertThat(messages.isEmpty()).isTrue();
        assertThat(tooLong.refCnt()).isZero();
    }
}
