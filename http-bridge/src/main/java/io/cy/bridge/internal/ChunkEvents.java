package io.cy.bridge.internal;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import java.util.function.IntFunction;

/**
 * The server-sent events of one streamed completion ({@code data: <chunk>\n\n}), each written
 * into one buffer of the caller's ({@link Exchange#eventBuffer}). A chunk differs from the one
 * before only in its text, so everything else is encoded once per completion and copied; only the
 * text is escaped per token, by Jackson's own string encoder, so the bytes are those Jackson
 * writes for the same chunk.
 */
final class ChunkEvents {

    private static final byte[] ROLE = utf8("\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},");
    private static final byte[] CHAT_TEXT = utf8("\"index\":0,\"delta\":{\"content\":\"");
    private static final byte[] CHAT_FINISH = utf8("\"index\":0,\"delta\":{},");
    private static final byte[] TEXT = utf8("\"text\":\"");
    private static final byte[] TEXT_FINISH = utf8("\"text\":\"\",\"index\":0,");
    /** After a chat delta's text, and after a completion's text. */
    private static final byte[] CHAT_AFTER_TEXT = utf8("\"},");
    private static final byte[] TEXT_AFTER_TEXT = utf8("\",\"index\":0,");
    private static final byte[] NOT_FINISHED = utf8("\"logprobs\":null,\"finish_reason\":null}]");
    private static final byte[] FINISH_REASON = utf8("\"logprobs\":null,\"finish_reason\":\"");
    private static final byte[] FINISH_REASON_END = utf8("\"}]");
    private static final byte[] USAGE_NULL = utf8(",\"usage\":null");
    private static final byte[] EVENT_END = utf8("}\n\n");

    private static final byte[] DATA = utf8("data: ");
    private static final byte[] CHOICES = utf8(",\"choices\":[{");

    private final boolean chat;
    /** {@code data: {"id":…,"object":…,"created":…,"model":…,"choices":[{}: the part all chunks share. */
    private final byte[] head;
    private final boolean usageOnChunks;

    /**
     * @param headFields the chunk object with the fields before {@code choices} only
     *     ({@code {"id":…,"object":…,"created":…,"model":…}}), as Jackson wrote it
     */
    ChunkEvents(boolean chat, byte[] headFields, boolean usageOnChunks) {
        this.chat = chat;
        this.usageOnChunks = usageOnChunks;
        final int fields = headFields.length - 1; // without the closing brace
        head = new byte[DATA.length + fields + CHOICES.length];
        System.arraycopy(DATA, 0, head, 0, DATA.length);
        System.arraycopy(headFields, 0, head, DATA.length, fields);
        System.arraycopy(CHOICES, 0, head, DATA.length + fields, CHOICES.length);
    }

    /** Chat only: the first chunk, announcing the assistant's role. */
    ByteBuf role(IntFunction<ByteBuf> buffers) {
        final ByteBuf event = begin(buffers, ROLE.length);
        event.writeBytes(ROLE).writeBytes(NOT_FINISHED);
        return end(event);
    }

    ByteBuf text(IntFunction<ByteBuf> buffers, String text) {
        // Room for the text as plain ASCII; the buffer grows for anything longer.
        final ByteBuf event = begin(buffers, CHAT_TEXT.length + text.length() + CHAT_AFTER_TEXT.length);
        event.writeBytes(chat ? CHAT_TEXT : TEXT);
        writeEscaped(event, text);
        event.writeBytes(chat ? CHAT_AFTER_TEXT : TEXT_AFTER_TEXT).writeBytes(NOT_FINISHED);
        return end(event);
    }

    /** The chunk with the finish reason and no new text. */
    ByteBuf finish(IntFunction<ByteBuf> buffers, String finishReason) {
        final ByteBuf event = begin(buffers, TEXT_FINISH.length + finishReason.length());
        event.writeBytes(chat ? CHAT_FINISH : TEXT_FINISH).writeBytes(FINISH_REASON);
        writeEscaped(event, finishReason);
        event.writeBytes(FINISH_REASON_END);
        return end(event);
    }

    private ByteBuf begin(IntFunction<ByteBuf> buffers, int middle) {
        final ByteBuf event = buffers.apply(head.length + middle + NOT_FINISHED.length + USAGE_NULL.length
                + EVENT_END.length);
        return event.writeBytes(head);
    }

    private ByteBuf end(ByteBuf event) {
        if (usageOnChunks) {
            event.writeBytes(USAGE_NULL);
        }
        return event.writeBytes(EVENT_END);
    }

    /**
     * The text as the inside of a JSON string. Most tokens need no escape and go straight in as
     * UTF-8; the others through Jackson's encoder, which escapes as its generator does.
     */
    static void writeEscaped(ByteBuf out, String text) {
        for (int i = 0; i < text.length(); i++) {
            final char c = text.charAt(i);
            if (c < 0x20 || c == '"' || c == '\\' || Character.isSurrogate(c)) {
                out.writeBytes(JsonStringEncoder.getInstance().quoteAsUTF8(text));
                return;
            }
        }
        ByteBufUtil.writeUtf8(out, text);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(UTF_8);
    }
}
