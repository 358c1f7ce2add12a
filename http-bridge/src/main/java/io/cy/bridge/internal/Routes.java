package io.cy.bridge.internal;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cy.bridge.BridgeConfig;
import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.ControlMessage;
import io.cy.llm.proto.WorkerHealthRequest;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.netty.buffer.ByteBufInputStream;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * What each path does. Every request ends in exactly one answer through its {@link Exchange};
 * refusals are {@link HttpError}s, upstream statuses go through {@link HttpStatuses}.
 *
 * <pre>
 * POST /v1/chat/completions   chat messages → prompt (per-model template) → one StreamPredict
 * POST /v1/completions        prompt as is → one StreamPredict
 * GET  /v1/models             the configured models, else Control list_models with the caller's credential
 * GET  /healthz               the bridge is up
 * GET  /readyz                the upstream's Health says healthy (unless the check is off)
 * </pre>
 */
public final class Routes {

    /** Deadline of the Control call behind {@code /v1/models}. */
    static final Duration CONTROL_TIMEOUT = Duration.ofSeconds(10);
    /** Deadline of the Health call behind {@code /readyz}: probes expect an answer within seconds. */
    static final Duration READY_TIMEOUT = Duration.ofSeconds(2);

    private static final Pattern JACKSON_SOURCE = Pattern.compile("\\[Source: [^\\]]*?; (line: \\d+, column: \\d+)\\]");

    private final BridgeConfig config;
    private final Upstream upstream;
    private final ObjectMapper mapper;
    private final RequestParser parser;
    private final Clock clock;

    public Routes(BridgeConfig config, Upstream upstream, ObjectMapper mapper, Clock clock) {
        this.config = requireNonNull(config, "config");
        this.upstream = requireNonNull(upstream, "upstream");
        this.mapper = requireNonNull(mapper, "mapper");
        this.clock = requireNonNull(clock, "clock");
        this.parser = new RequestParser(model -> ChatTemplate.named(config.templateFor(model)));
    }

    /** Answers {@code request} through {@code exchange}, now or later; the request is released by the caller. */
    void dispatch(Exchange exchange, FullHttpRequest request) {
        final Throwable failure = request.decoderResult().cause();
        if (failure instanceof BodyLimitAggregator.BodyTooLargeException) {
            final BodyLimitAggregator.BodyTooLargeException tooLarge = (BodyLimitAggregator.BodyTooLargeException) failure;
            if (tooLarge.closeConnection()) {
                exchange.closeAfterResponse();
            }
            exchange.sendError(HttpError.tooLarge(tooLarge.maxBodyBytes()));
            return;
        }
        if (!request.decoderResult().isSuccess()) {
            exchange.closeAfterResponse(); // the rest of the connection's bytes cannot be trusted
            exchange.sendError(malformed(failure));
            return;
        }
        final String path = pathOf(request.uri());
        final HttpMethod method = request.method();
        switch (path) {
            case "/v1/chat/completions":
            case "/v1/completions":
                if (!method.equals(HttpMethod.POST)) {
                    exchange.sendError(HttpError.methodNotAllowed(method.name(), path, "POST"));
                    return;
                }
                completion(exchange, request, path.equals("/v1/chat/completions"));
                return;
            case "/v1/models":
            case "/healthz":
            case "/readyz":
                if (!method.equals(HttpMethod.GET)) {
                    exchange.sendError(HttpError.methodNotAllowed(method.name(), path, "GET"));
                    return;
                }
                if (path.equals("/v1/models")) {
                    models(exchange, request);
                } else if (path.equals("/healthz")) {
                    exchange.sendJson(HttpResponseStatus.OK, json(mapper.createObjectNode().put("status", "ok")));
                } else {
                    ready(exchange, request);
                }
                return;
            default:
                exchange.sendError(HttpError.unknownPath(method.name(), path));
        }
    }

    private void completion(Exchange exchange, FullHttpRequest request, boolean chat) {
        final String mimeType = mimeType(request);
        if (!"application/json".equalsIgnoreCase(mimeType)) {
            exchange.sendError(HttpError.unsupportedMediaType(request.headers().get(HttpHeaderNames.CONTENT_TYPE)));
            return;
        }
        final CompletionRequest completion;
        try {
            final JsonNode body = parseJson(request);
            completion = chat ? parser.chat(body) : parser.text(body);
        } catch (RequestException e) {
            exchange.sendError(e.error());
            return;
        }
        final CompletionJson json = new CompletionJson(mapper, completion, clock.instant().getEpochSecond());
        final CompletionCall.Output output = completion.stream()
                ? new CompletionCall.EventStream(exchange, json, completion)
                : new CompletionCall.Collected(exchange, json);
        final Metadata headers = upstreamHeaders(exchange, request);
        headers.put(Upstream.STREAM, String.valueOf(completion.stream()));
        new CompletionCall(exchange, completion, json, output).start(upstream, headers);
    }

    private JsonNode parseJson(FullHttpRequest request) throws RequestException {
        try (ByteBufInputStream in = new ByteBufInputStream(request.content())) {
            return mapper.readTree(in);
        } catch (JsonProcessingException e) {
            throw new RequestException(HttpError.invalidJson(describe(e)));
        } catch (IOException e) {
            // Reading a buffer in memory fails only on malformed text, e.g. invalid UTF-8.
            throw new RequestException(HttpError.invalidJson("invalid JSON: " + e.getMessage()));
        }
    }

    private void models(Exchange exchange, FullHttpRequest request) {
        if (!config.models().isEmpty()) {
            exchange.sendJson(HttpResponseStatus.OK, modelList(config.models()));
            return;
        }
        final ControlMessage listModels = ControlMessage.newBuilder()
                .setTraceId(exchange.requestId())
                .setCommand("list_models")
                .build();
        final ClientCall<ControlMessage, ControlMessage> call = upstream.unary(AiInferenceGrpc.getControlMethod(),
                listModels, upstreamHeaders(exchange, request), exchange.executor(), CONTROL_TIMEOUT,
                (answer, status, trailers) -> {
                    if (answer == null) {
                        exchange.sendError(HttpStatuses.fromGrpc(status, trailers));
                    } else if ("error".equals(answer.getPayloadOrDefault("status", ""))) {
                        exchange.sendError(HttpError.badGateway(
                                "list_models: " + answer.getPayloadOrDefault("message", "error")));
                    } else {
                        exchange.sendJson(HttpResponseStatus.OK,
                                modelList(splitModels(answer.getPayloadOrDefault("models", ""))));
                    }
                });
        exchange.onClientGone(() -> call.cancel("client disconnected", null));
    }

    private void ready(Exchange exchange, FullHttpRequest request) {
        if (exchange.draining()) {
            exchange.sendError(HttpError.notReady("shutting down"));
            return;
        }
        if (!config.readyCheck()) {
            exchange.sendJson(HttpResponseStatus.OK, json(mapper.createObjectNode().put("status", "ready")));
            return;
        }
        final WorkerHealthRequest health = WorkerHealthRequest.newBuilder().setTraceId(exchange.requestId()).build();
        final ClientCall<?, ?> call = upstream.unary(AiInferenceGrpc.getHealthMethod(), health,
                upstreamHeaders(exchange, request), exchange.executor(), READY_TIMEOUT,
                (answer, status, trailers) -> {
                    if (answer == null) {
                        exchange.sendError(HttpError.notReady("upstream Health: " + status.getCode()
                                + (status.getDescription() == null ? "" : ": " + status.getDescription())));
                    } else if (!answer.getHealthy()) {
                        exchange.sendError(HttpError.notReady("upstream not healthy"));
                    } else {
                        exchange.sendJson(HttpResponseStatus.OK, json(mapper.createObjectNode().put("status", "ready")));
                    }
                });
        exchange.onClientGone(() -> call.cancel("client disconnected", null));
    }

    private static Metadata upstreamHeaders(Exchange exchange, FullHttpRequest request) {
        final Metadata headers = Upstream.headers(request.headers().get(HttpHeaderNames.AUTHORIZATION),
                exchange.requestId(), exchange.clientAddress(), exchange.clientCertificate());
        Upstream.traceContext(headers, request.headers().get("traceparent"), request.headers().get("tracestate"));
        return headers;
    }

    /** OpenAI's model list: {@code {"object":"list","data":[{"id","object":"model","created","owned_by"}]}}. */
    private byte[] modelList(List<String> models) {
        final ObjectNode root = mapper.createObjectNode();
        root.put("object", "list");
        final ArrayNode data = root.putArray("data");
        for (String model : models) {
            final ObjectNode m = data.addObject();
            m.put("id", model);
            m.put("object", "model");
            m.put("created", 0);
            m.put("owned_by", "cy");
        }
        return json(root);
    }

    private static List<String> splitModels(String commaList) {
        final List<String> models = new ArrayList<>();
        for (String part : commaList.split(",")) {
            if (!part.isBlank()) {
                models.add(part.trim());
            }
        }
        return models;
    }

    private byte[] json(JsonNode node) {
        try {
            return mapper.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String mimeType(FullHttpRequest request) {
        final CharSequence mime = HttpUtil.getMimeType(request);
        return mime == null ? null : mime.toString().trim();
    }

    /** The path of a request target: origin form ({@code /v1/x?q}) or absolute form ({@code http://h/v1/x}). */
    static String pathOf(String uri) {
        String s = uri;
        final int scheme = s.indexOf("://");
        if (scheme > 0 && scheme < s.indexOf('/')) {
            final int slash = s.indexOf('/', scheme + 3);
            s = slash < 0 ? "/" : s.substring(slash);
        }
        int end = s.length();
        final int query = s.indexOf('?');
        if (query >= 0) {
            end = query;
        }
        final int fragment = s.indexOf('#');
        if (fragment >= 0 && fragment < end) {
            end = fragment;
        }
        return s.substring(0, end);
    }

    /** Where the JSON broke and why, e.g. {@code invalid JSON at line 1, column 17: Unexpected character ...}. */
    static String describe(JsonProcessingException e) {
        String why = e.getOriginalMessage() == null ? e.getClass().getSimpleName() : e.getOriginalMessage();
        why = JACKSON_SOURCE.matcher(why).replaceAll("[$1]").replace('\n', ' ');
        final JsonLocation at = e.getLocation();
        if (at == null || at.getLineNr() < 1) {
            return "invalid JSON: " + why;
        }
        return "invalid JSON at line " + at.getLineNr() + ", column " + at.getColumnNr() + ": " + why;
    }

    private static HttpError malformed(Throwable cause) {
        if (cause instanceof TooLongHttpLineException) {
            return HttpError.malformed(HttpResponseStatus.REQUEST_URI_TOO_LONG, "request line too long: " + cause.getMessage());
        }
        if (cause instanceof TooLongHttpHeaderException) {
            return HttpError.malformed(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                    "request headers too large: " + cause.getMessage());
        }
        if (cause instanceof TooLongFrameException) {
            return HttpError.malformed(HttpResponseStatus.BAD_REQUEST, "request too long: " + cause.getMessage());
        }
        return HttpError.malformed(HttpResponseStatus.BAD_REQUEST,
                "malformed HTTP request: " + (cause == null ? "unknown" : cause.getMessage()));
    }
}
