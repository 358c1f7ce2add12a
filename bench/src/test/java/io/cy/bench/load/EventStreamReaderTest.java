package io.cy.bench.load;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class EventStreamReaderTest {

    private final List<String> events = new ArrayList<>();
    private final EventStreamReader.Sink sink = (type, data) -> events.add(type + "|" + data);

    @Test
    void eventsAreFoundWhereverTheBytesAreSplit() {
        final byte[] body = ("data: {\"a\":1}\n\n: a comment\nid: 7\ndata: [DONE]\n\nevent: error\ndata: x\n\n")
                .getBytes(UTF_8);
        for (int split = 0; split <= body.length; split++) {
            events.clear();
            final EventStreamReader reader = new EventStreamReader(1024);

            assertThat(reader.read(Unpooled.wrappedBuffer(body, 0, split), sink)).isTrue();
            assertThat(reader.read(Unpooled.wrappedBuffer(body, split, body.length - split), sink)).isTrue();

            assertThat(events).containsExactly("message|{\"a\":1}", "message|[DONE]", "error|x");
            assertThat(reader.midEvent()).isFalse();
        }
    }

    @Test
    void crlfDataLinesAndNoSpaceAfterTheColon() {
        final EventStreamReader reader = new EventStreamReader(1024);

        reader.read(Unpooled.copiedBuffer("data:one\r\ndata: two\r\n\r\n", UTF_8), sink);

        assertThat(events).containsExactly("message|one\ntwo");
    }

    @Test
    void aBodyCutInsideAnEventIsNoticed() {
        final EventStreamReader reader = new EventStreamReader(1024);

        reader.read(Unpooled.copiedBuffer("data: [DONE]\n", UTF_8), sink);

        assertThat(events).isEmpty();
        assertThat(reader.midEvent()).isTrue();
    }

    @Test
    void linesAndEventsAreBounded() {
        assertThat(new EventStreamReader(8).read(Unpooled.copiedBuffer("data: 123456789\n\n", UTF_8), sink)).isFalse();
        final EventStreamReader reader = new EventStreamReader(9);
        assertThat(reader.read(Unpooled.copiedBuffer("data: 123\ndata: 456\n", UTF_8), sink)).isTrue();
        assertThat(reader.read(Unpooled.copiedBuffer("data: 789\n", UTF_8), sink)).isFalse();
        assertThat(reader.read(Unpooled.copiedBuffer("\n", UTF_8), sink)).isFalse();
        assertThat(events).isEmpty();
    }
}
