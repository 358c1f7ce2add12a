package io.cy.bench.load;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cy.llm.proto.GenerationParameters;
import io.cy.llm.proto.StreamPredictRequest;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * Streamed chat completions of one plan: the plan's StreamPredict request, said in OpenAI's words
 * ({@code POST /v1/chat/completions} with {@code stream: true}): the same model, tokens, pacing and
 * metadata as a gRPC run. The prompt is the plan's as the user's message, so the bridge's chat
 * template wraps it ({@code User: ...\nAssistant:}) and the sidecar sees some 20 bytes more than in
 * a gRPC run.
 */
final class SseCalls implements CallFactory {

    static final String CHAT_PATH = "/v1/chat/completions";

    private final LoadPlan plan;
    private final HttpConnections connections;
    private final ObjectMapper mapper;
    private final String path;
    private final byte[] body;
    private final HttpHeaders headers;

    SseCalls(LoadPlan plan, HttpConnections connections, ObjectMapper mapper) {
        this.plan = plan;
        this.connections = connections;
        this.mapper = mapper;
        this.path = connections.target().path(CHAT_PATH);
        this.body = chatBody(mapper, plan.request());
        this.headers = new DefaultHttpHeaders()
                .set(HttpHeaderNames.HOST, connections.target().hostHeader())
                .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                .set(HttpHeaderNames.ACCEPT, "text/event-stream")
                .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        if (plan.token() != null) {
            headers.set(HttpHeaderNames.AUTHORIZATION, "Bearer " + plan.token());
        }
    }

    @Override
    public LoadCall newCall(LoadRun run, long slot, long startNanos, Runnable onEnd) {
        return new SseCall(run, connections, this::request, new SseCheck(mapper, plan.expectedChunks()), mapper,
                startNanos, onEnd);
    }

    private FullHttpRequest request() {
        final FullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, path,
                Unpooled.wrappedBuffer(body));
        request.headers().set(headers);
        return request;
    }

    /**
     * The request's model, prompt (as the one user message), sampling parameters and
     * {@code metadata.extra} (OpenAI's {@code metadata}, which the bridge passes on as is, so a
     * simulated sidecar's pacing keys work over HTTP too).
     */
    static byte[] chatBody(ObjectMapper mapper, StreamPredictRequest request) {
        final ObjectNode root = mapper.createObjectNode();
        root.put("model", request.getModelId());
        root.putArray("messages").addObject().put("role", "user").put("content", request.getPrompt());
        final GenerationParameters generation = request.getGeneration();
        if (generation.getMaxNewTokens() > 0) {
            root.put("max_tokens", generation.getMaxNewTokens());
        }
        root.put("temperature", generation.getTemperature());
        root.put("top_p", generation.getTopP());
        if (generation.getRepetitionPenalty() > 0) {
            // Unset in protobuf is 0, which OpenAI's side refuses: leave it to the bridge's default.
            root.put("repetition_penalty", generation.getRepetitionPenalty());
        }
        root.put("stream", true);
        final Map<String, String> extra = request.getMetadata().getExtraMap();
        if (!extra.isEmpty()) {
            final ObjectNode metadata = root.putObject("metadata");
            extra.forEach(metadata::put);
        }
        try {
            return mapper.writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            // A tree of plain strings and numbers always serialises.
            throw new UncheckedIOException(e);
        }
    }
}
