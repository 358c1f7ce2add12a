package io.cy.bridge.internal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;

/** The events written piecewise are byte for byte what Jackson writes for the same chunk. */
class ChunkEventsTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final IntFunction<ByteBuf> BUFFERS = new UnpooledByteBufAllocator(false)::buffer;

    @Test
    void textIsEscapedAsJacksonEscapesIt() throws Exception {
        final String[] texts = {"Hello", "", " world", "say \"hi\"", "back\\slash", "line\nbreak\ttab\r",
                "\u0000\u001f", "caf\u00e9 \u65e5\u672c", "\ud83d\ude00 emoji", "</script>\u2028", "\u007f"};
        final ChunkEvents chat = new ChunkEvents(true, head("chat.completion.chunk", "m\"odel"), false);
        final ChunkEvents text = new ChunkEvents(false, head("text_completion", "m"), true);
        for (String t : texts) {
            assertThat(string(chat.text(BUFFERS, t))).isEqualTo("data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\","
                    + "\"created\":7,\"model\":\"m\\\"odel\",\"choices\":[{\"index\":0,\"delta\":{\"content\":"
                    + MAPPER.writeValueAsString(t) + "},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
            assertThat(string(text.text(BUFFERS, t))).isEqualTo("data: {\"id\":\"x\",\"object\":\"text_completion\","
                    + "\"created\":7,\"model\":\"m\",\"choices\":[{\"text\":" + MAPPER.writeValueAsString(t)
                    + ",\"index\":0,\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n");
        }
    }

    @Test
    void roleAndFinishChunks() {
        final ChunkEvents chat = new ChunkEvents(true, head("chat.completion.chunk", "m"), true);
        final String head = "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"created\":7,\"model\":\"m\",";
        assertThat(string(chat.role(BUFFERS))).isEqualTo(head + "\"choices\":[{\"index\":0,\"delta\":{\"role\":"
                + "\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n");
        assertThat(string(chat.finish(BUFFERS, "length"))).isEqualTo(head + "\"choices\":[{\"index\":0,\"delta\":{},"
                + "\"logprobs\":null,\"finish_reason\":\"length\"}],\"usage\":null}\n\n");
        final ChunkEvents text = new ChunkEvents(false, head("text_completion", "m"), false);
        assertThat(string(text.finish(BUFFERS, "stop"))).isEqualTo("data: {\"id\":\"x\",\"object\":\"text_completion\","
                + "\"created\":7,\"model\":\"m\",\"choices\":[{\"text\":\"\",\"index\":0,\"logprobs\":null,"
                + "\"finish_reason\":\"stop\"}]}\n\n");
    }

    private static byte[] head(String object, String model) {
        final ObjectNode root = MAPPER.createObjectNode();
        root.put("id", "x");
        root.put("object", object);
        root.put("created", 7);
        root.put("model", model);
        try {
            return MAPPER.writeValueAsBytes(root);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static String string(ByteBuf event) {
        try {
            return event.toString(UTF_8);
        } finally {
            event.release();
        }
    }
}
