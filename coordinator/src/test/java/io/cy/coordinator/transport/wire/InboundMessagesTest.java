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
        return new String(m.bytes(), StandardCharsets.UTF_8);
    }

    @Test
    void messagesWholeInAFrameAreOwedToTheWindowUntilPolled() {
        final InboundMessages messages = new InboundMessages(1024, false, "the sidecar");
        final ByteBuf data = frames("one", "two");

        assertThat(messages.add(data, true)).isZero();
        data.release();

        final InboundMessages.Message one = messages.poll();
        assertThat(text(one)).isEqualTo("one");
        assertThat(one.owedBytes()).isEqualTo(5 + 3);
        assertThat(text(messages.poll())).isEqualTo("two");
        assertThat(messages.isEmpty()).isTrue();
    }

    @Test
    void aMessageSplitOverFramesGoesBackToTheWindowAsItArrivesWhileWanted() {
        final InboundMessages messages = new InboundMessages(1024, false, "the sidecar");
        final ByteBuf whole = frames("a message in two frames");
        final ByteBuf first = whole.readRetainedSlice(9);

        assertThat(messages.add(first, true)).isEqualTo(9);
        first.release();
        assertThat(messages.isEmpty()).isTrue();
        assertThat(messages.add(whole, false)).as("no longer wanted: held").isZero();
        whole.release();
        assertThat(messages.takeHeldBytes()).isEqualTo(5 + 23 - 9);

        final InboundMessages.Message m = messages.poll();
        assertThat(text(m)).isEqualTo("a message in two frames");
        assertThat(m.owedBytes()).isZero();
    }

    @Test
    void anOversizedMessageIsRefusedNamingTheLimitAndNothingIsKept() {
        final InboundMessages messages = new InboundMessages(8, false, "the sidecar");
        final ByteBuf data = frames("ok", "far too long", "more");

        assertThat(messages.add(data, true)).as("the rest goes back at once").isEqualTo(5 + 12 + 5 + 4);
        data.release();

        assertThat(messages.error().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(messages.error().getDescription()).isEqualTo("message from the sidecar: 12 bytes (expected: <= 8)");
        assertThat(messages.isEmpty()).isTrue();
    }
}
