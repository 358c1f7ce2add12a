package io.cy.bridge.internal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.Objects.requireNonNull;

import io.cy.llm.proto.GenerationParameters;
import io.cy.llm.proto.StreamMetadata;
import io.cy.llm.proto.StreamPredictRequest;
import java.util.List;
import java.util.Map;

/**
 * A validated {@code /v1/chat/completions} or {@code /v1/completions} request, reduced to what
 * the upstream call and the response need.
 *
 * @param chat whether it came as chat messages (the answer is a {@code chat.completion})
 * @param prompt the rendered prompt (chat) or the caller's prompt as is (completions)
 * @param maxTokens the {@code max_new_tokens} asked for; 0 when the caller left it to the worker
 * @param user OpenAI's {@code user}, sent as {@code metadata.player_id}; empty when absent
 * @param stop stop sequences the bridge applies to the output; empty for none
 * @param extra OpenAI's {@code metadata} tags, sent as {@code metadata.extra}
 */
record CompletionRequest(
        boolean chat,
        String model,
        String prompt,
        int maxTokens,
        double temperature,
        double topP,
        double repetitionPenalty,
        String user,
        List<String> stop,
        boolean stream,
        boolean includeUsage,
        Map<String, String> extra) {

    CompletionRequest {
        requireNonNull(model, "model");
        requireNonNull(prompt, "prompt");
        requireNonNull(user, "user");
        stop = List.copyOf(stop);
        extra = Map.copyOf(extra);
    }

    /** The one StreamPredict request message for this completion. */
    StreamPredictRequest toUpstream(String traceId) {
        return StreamPredictRequest.newBuilder()
                .setModelId(model)
                .setPrompt(prompt)
                .setGeneration(GenerationParameters.newBuilder()
                        .setMaxNewTokens(maxTokens)
                        .setTemperature(temperature)
                        .setTopP(topP)
                        .setRepetitionPenalty(repetitionPenalty))
                .setMetadata(StreamMetadata.newBuilder()
                        .setTraceId(traceId)
                        .setPlayerId(user)
                        .putAllExtra(extra))
                .build();
    }

    /**
     * An estimate of the prompt's tokens for {@code usage}: the worker does not report it, and
     * one token per four bytes of UTF-8 is the usual rule of thumb for English text with BPE
     * vocabularies. Rounded up, so a non-empty prompt counts at least one token.
     */
    int promptTokens() {
        return (prompt.getBytes(UTF_8).length + 3) / 4;
    }
}
