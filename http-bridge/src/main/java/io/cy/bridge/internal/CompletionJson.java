package io.cy.bridge.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.UncheckedIOException;

/**
 * The response objects of one completion, exactly as OpenAI shapes them: {@code chat.completion}
 * and {@code chat.completion.chunk} for chat, {@code text_completion} for completions. Fields go
 * out in OpenAI's order (id, object, created, model, choices, usage).
 */
final class CompletionJson {

    private final ObjectMapper mapper;
    private final boolean chat;
    private final String id;
    private final long created;
    // The request's model, or the one that served it when the coordinator degraded the call.
    private String model;
    /** With {@code stream_options.include_usage}, every chunk carries {@code "usage": null}, as OpenAI's do. */
    private final boolean usageOnChunks;

    CompletionJson(ObjectMapper mapper, CompletionRequest request, long createdEpochSeconds) {
        this.mapper = mapper;
        this.chat = request.chat();
        this.id = RequestIds.completionId(chat ? "chatcmpl-" : "cmpl-");
        this.created = createdEpochSeconds;
        this.model = request.model();
        this.usageOnChunks = request.includeUsage();
    }

    /** The model that serves the answer, when it is not the one requested (a degraded call). */
    void servedBy(String servedModel) {
        this.model = servedModel;
    }

    /** The whole answer of a non-streaming request. */
    byte[] full(String text, String finishReason, Usage usage) {
        final ObjectNode root = head(chat ? "chat.completion" : "text_completion");
        final ObjectNode choice = root.putArray("choices").addObject();
        if (chat) {
            choice.put("index", 0);
            final ObjectNode message = choice.putObject("message");
            message.put("role", "assistant");
            message.put("content", text);
            message.putNull("refusal");
        } else {
            choice.put("text", text);
            choice.put("index", 0);
        }
        choice.putNull("logprobs");
        choice.put("finish_reason", finishReason);
        usage(root.putObject("usage"), usage);
        return bytes(root);
    }

    /**
     * The events of a streamed answer up to its finish reason, with this answer's id, creation time
     * and model: taken once the model that serves it is known ({@link #servedBy}).
     */
    ChunkEvents chunkEvents() {
        return new ChunkEvents(chat, bytes(chunkHead()), usageOnChunks);
    }

    /** With {@code include_usage}: the last chunk, with no choices and the usage of the whole request. */
    byte[] usageChunk(Usage usage) {
        final ObjectNode root = chunkHead();
        root.putArray("choices");
        usage(root.putObject("usage"), usage);
        return bytes(root);
    }

    private ObjectNode head(String object) {
        final ObjectNode root = mapper.createObjectNode();
        root.put("id", id);
        root.put("object", object);
        root.put("created", created);
        root.put("model", model);
        return root;
    }

    private ObjectNode chunkHead() {
        return head(chat ? "chat.completion.chunk" : "text_completion");
    }

    private static void usage(ObjectNode node, Usage usage) {
        node.put("prompt_tokens", usage.promptTokens());
        node.put("completion_tokens", usage.completionTokens());
        node.put("total_tokens", usage.promptTokens() + usage.completionTokens());
    }

    private byte[] bytes(ObjectNode root) {
        try {
            return mapper.writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            // A tree of plain strings and numbers always serialises.
            throw new UncheckedIOException(e);
        }
    }

    /** Token counts: one upstream chunk is one token; the prompt's count is an estimate. */
    record Usage(int promptTokens, int completionTokens) {}
}
