package io.cy.bridge.internal;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Turns an OpenAI request body into a {@link CompletionRequest}, or refuses it with a 400 that
 * names the field, the value and what was expected ({@code "n: 2 (expected: 1)"}).
 *
 * <p>Parameters that would change the output and that the worker cannot honour ({@code n > 1},
 * {@code tools}, {@code logprobs}, a structured {@code response_format}, penalties other than
 * {@code repetition_penalty}, …) are refused rather than silently ignored; fields the bridge does
 * not know are ignored, as OpenAI's own server does. Unset sampling parameters get the integration
 * guide's gateway defaults: temperature 0.7, top_p 0.9, repetition_penalty 1.0.
 */
final class RequestParser {

    static final double DEFAULT_TEMPERATURE = 0.7;
    static final double DEFAULT_TOP_P = 0.9;
    static final double DEFAULT_REPETITION_PENALTY = 1.0;
    /** OpenAI's limits for {@code stop} and {@code metadata}, so a request valid there is valid here. */
    static final int MAX_STOP_SEQUENCES = 4;
    /** Bounds the tail held back while matching, and the matching work per chunk. */
    static final int MAX_STOP_CHARS = 256;
    static final int MAX_METADATA_PAIRS = 16;
    static final int MAX_METADATA_KEY_CHARS = 64;
    static final int MAX_METADATA_VALUE_CHARS = 512;
    static final int MAX_USER_CHARS = 256;
    private static final int MAX_SHOWN_CHARS = 60;

    private final Function<String, ChatTemplate> templates;

    /** @param templates the chat template for a model id */
    RequestParser(Function<String, ChatTemplate> templates) {
        this.templates = requireNonNull(templates, "templates");
    }

    /** A {@code POST /v1/chat/completions} body. */
    CompletionRequest chat(JsonNode body) throws RequestException {
        requireObject(body);
        final String model = requiredString(body, "model");
        final List<ChatMessage> messages = messages(body.get("messages"));
        refuseIfTrue(body, "logprobs", "log probabilities are not available");
        refuseIfPresent(body, "top_logprobs", "log probabilities are not available");
        refuseTools(body);
        refuseUnlessOneOf(body, "tool_choice", "none or auto; tool calls are not supported", "none", "auto");
        refuseIfNotEmpty(body, "functions", "function calls are not supported");
        refuseUnlessOneOf(body, "function_call", "none or auto; function calls are not supported", "none", "auto");
        refuseResponseFormat(body.get("response_format"));
        refuseModalities(body.get("modalities"));
        refuseIfPresent(body, "audio", "audio output is not available");
        refuseIfPresent(body, "web_search_options", "web search is not available");
        Integer maxTokens = positiveInt(body, "max_completion_tokens");
        if (maxTokens == null) {
            maxTokens = positiveInt(body, "max_tokens");
        }
        return common(body, true, model, templates.apply(model).render(messages), maxTokens);
    }

    /** A {@code POST /v1/completions} body: the prompt goes upstream as is. */
    CompletionRequest text(JsonNode body) throws RequestException {
        requireObject(body);
        final String model = requiredString(body, "model");
        final String prompt = prompt(body.get("prompt"));
        refuseIfPresent(body, "logprobs", "log probabilities are not available");
        refuseIfTrue(body, "echo", "the prompt is not echoed");
        final JsonNode suffix = body.get("suffix");
        if (isSet(suffix) && !(suffix.isTextual() && suffix.asText().isEmpty())) {
            throw unsupported("suffix", "suffix: " + show(suffix) + " (expected: absent; insertion is not supported)");
        }
        final JsonNode bestOf = body.get("best_of");
        if (isSet(bestOf) && !(bestOf.canConvertToExactIntegral() && bestOf.asLong() == 1)) {
            throw unsupported("best_of", "best_of: " + show(bestOf) + " (expected: 1)");
        }
        return common(body, false, model, prompt, positiveInt(body, "max_tokens"));
    }

    /** The parameters both endpoints share. */
    private CompletionRequest common(JsonNode body, boolean chat, String model, String prompt, Integer maxTokens)
            throws RequestException {
        final JsonNode n = body.get("n");
        if (isSet(n) && !(n.canConvertToExactIntegral() && n.asLong() == 1)) {
            throw unsupported("n", "n: " + show(n) + " (expected: 1)");
        }
        refuseIfNonZero(body, "frequency_penalty");
        refuseIfNonZero(body, "presence_penalty");
        refuseIfNotEmpty(body, "logit_bias", "token biases are not supported");
        final double temperature = number(body, "temperature", 0, 2, DEFAULT_TEMPERATURE);
        final double topP = number(body, "top_p", 0, 1, DEFAULT_TOP_P);
        final double repetitionPenalty = repetitionPenalty(body);
        final List<String> stop = stop(body.get("stop"));
        final String user = user(body.get("user"));
        final Map<String, String> extra = metadata(body.get("metadata"));
        final boolean stream = bool(body, "stream");
        final boolean includeUsage = stream && includeUsage(body.get("stream_options"));
        return new CompletionRequest(chat, model, prompt, maxTokens == null ? 0 : maxTokens, temperature, topP,
                repetitionPenalty, user, stop, stream, includeUsage, extra);
    }

    private static void requireObject(JsonNode body) throws RequestException {
        if (body == null || body.isMissingNode()) {
            throw invalid(null, "body: empty (expected: a JSON object)");
        }
        if (!body.isObject()) {
            throw invalid(null, "body: " + show(body) + " (expected: a JSON object)");
        }
    }

    private static String requiredString(JsonNode body, String field) throws RequestException {
        final JsonNode node = body.get(field);
        if (!isSet(node)) {
            throw invalid(field, field + ": missing (expected: a string)");
        }
        if (!node.isTextual() || node.asText().isEmpty()) {
            throw invalid(field, field + ": " + show(node) + " (expected: a non-empty string)");
        }
        return node.asText();
    }

    private static List<ChatMessage> messages(JsonNode node) throws RequestException {
        if (!isSet(node)) {
            throw invalid("messages", "messages: missing (expected: an array of messages)");
        }
        if (!node.isArray()) {
            throw invalid("messages", "messages: " + show(node) + " (expected: an array of messages)");
        }
        if (node.isEmpty()) {
            throw invalid("messages", "messages: [] (expected: at least one message)");
        }
        final List<ChatMessage> messages = new ArrayList<>(node.size());
        for (int i = 0; i < node.size(); i++) {
            messages.add(message("messages[" + i + "]", node.get(i)));
        }
        return messages;
    }

    private static ChatMessage message(String path, JsonNode node) throws RequestException {
        if (!node.isObject()) {
            throw invalid(path, path + ": " + show(node) + " (expected: an object with role and content)");
        }
        final JsonNode roleNode = node.get("role");
        if (!isSet(roleNode) || !roleNode.isTextual()) {
            throw invalid(path + ".role", path + ".role: " + (isSet(roleNode) ? show(roleNode) : "missing")
                    + " (expected: system, developer, user or assistant)");
        }
        final String role;
        switch (roleNode.asText()) {
            case "system":
            case "developer":
                role = ChatMessage.SYSTEM;
                break;
            case "user":
                role = ChatMessage.USER;
                break;
            case "assistant":
                role = ChatMessage.ASSISTANT;
                break;
            case "tool":
            case "function":
                throw unsupported(path + ".role", path + ".role: " + roleNode.asText()
                        + " (expected: system, developer, user or assistant; tool calls are not supported)");
            default:
                throw invalid(path + ".role", path + ".role: " + show(roleNode)
                        + " (expected: system, developer, user or assistant)");
        }
        final JsonNode toolCalls = node.get("tool_calls");
        if (isSet(toolCalls) && !(toolCalls.isArray() && toolCalls.isEmpty())) {
            throw unsupported(path + ".tool_calls", path + ".tool_calls: present (expected: absent; tool calls are not supported)");
        }
        if (isSet(node.get("function_call"))) {
            throw unsupported(path + ".function_call",
                    path + ".function_call: present (expected: absent; function calls are not supported)");
        }
        return new ChatMessage(role, content(path + ".content", node.get("content"), role));
    }

    /** A string, or an array of text parts joined by newlines; an assistant's content may be null. */
    private static String content(String path, JsonNode node, String role) throws RequestException {
        if (!isSet(node)) {
            if (role.equals(ChatMessage.ASSISTANT)) {
                return "";
            }
            throw invalid(path, path + ": " + (node == null ? "missing" : "null")
                    + " (expected: a string or an array of text parts)");
        }
        if (node.isTextual()) {
            return node.asText();
        }
        if (!node.isArray()) {
            throw invalid(path, path + ": " + show(node) + " (expected: a string or an array of text parts)");
        }
        final StringBuilder sb = new StringBuilder();
        for (int i = 0; i < node.size(); i++) {
            final String partPath = path + "[" + i + "]";
            final JsonNode part = node.get(i);
            if (!part.isObject()) {
                throw invalid(partPath, partPath + ": " + show(part) + " (expected: {\"type\":\"text\",\"text\":...})");
            }
            final JsonNode type = part.get("type");
            if (type == null || !type.isTextual()) {
                throw invalid(partPath + ".type", partPath + ".type: " + (type == null ? "missing" : show(type))
                        + " (expected: text)");
            }
            if (!type.asText().equals("text")) {
                throw unsupported(partPath + ".type", partPath + ".type: " + type.asText()
                        + " (expected: text; only text parts are supported)");
            }
            final JsonNode text = part.get("text");
            if (text == null || !text.isTextual()) {
                throw invalid(partPath + ".text", partPath + ".text: " + (text == null ? "missing" : show(text))
                        + " (expected: a string)");
            }
            if (i > 0) {
                sb.append('\n');
            }
            sb.append(text.asText());
        }
        return sb.toString();
    }

    /** A string, or an array holding exactly one string. */
    private static String prompt(JsonNode node) throws RequestException {
        if (!isSet(node)) {
            throw invalid("prompt", "prompt: missing (expected: a string)");
        }
        if (node.isTextual()) {
            return node.asText();
        }
        if (node.isArray() && node.size() == 1 && node.get(0).isTextual()) {
            return node.get(0).asText();
        }
        if (node.isArray() && node.size() > 1 && allText(node)) {
            throw unsupported("prompt", "prompt: " + node.size() + " prompts (expected: 1)");
        }
        throw invalid("prompt", "prompt: " + show(node) + " (expected: a string)");
    }

    private static boolean allText(JsonNode array) {
        for (JsonNode element : array) {
            if (!element.isTextual()) {
                return false;
            }
        }
        return true;
    }

    private static void refuseTools(JsonNode body) throws RequestException {
        final JsonNode tools = body.get("tools");
        if (!isSet(tools) || (tools.isArray() && tools.isEmpty())) {
            return;
        }
        final String count = tools.isArray() ? tools.size() + (tools.size() == 1 ? " tool" : " tools") : show(tools);
        throw unsupported("tools", "tools: " + count + " (expected: none; tool calls are not supported)");
    }

    private static void refuseResponseFormat(JsonNode node) throws RequestException {
        if (!isSet(node)) {
            return;
        }
        final JsonNode type = node.isObject() ? node.get("type") : null;
        if (type != null && type.isTextual() && type.asText().equals("text")) {
            return;
        }
        throw unsupported("response_format", "response_format.type: " + (type == null ? show(node) : show(type))
                + " (expected: text; structured output is not supported)");
    }

    private static void refuseModalities(JsonNode node) throws RequestException {
        if (!isSet(node)) {
            return;
        }
        if (node.isArray() && node.size() == 1 && node.get(0).isTextual() && node.get(0).asText().equals("text")) {
            return;
        }
        throw unsupported("modalities", "modalities: " + show(node) + " (expected: [\"text\"])");
    }

    private static void refuseIfPresent(JsonNode body, String field, String why) throws RequestException {
        final JsonNode node = body.get(field);
        if (isSet(node)) {
            throw unsupported(field, field + ": " + show(node) + " (expected: absent; " + why + ")");
        }
    }

    private static void refuseIfTrue(JsonNode body, String field, String why) throws RequestException {
        final JsonNode node = body.get(field);
        if (isSet(node) && !(node.isBoolean() && !node.asBoolean())) {
            throw unsupported(field, field + ": " + show(node) + " (expected: false; " + why + ")");
        }
    }

    private static void refuseIfNotEmpty(JsonNode body, String field, String why) throws RequestException {
        final JsonNode node = body.get(field);
        if (isSet(node) && !(node.isContainerNode() && node.isEmpty())) {
            throw unsupported(field, field + ": " + show(node) + " (expected: empty; " + why + ")");
        }
    }

    private static void refuseUnlessOneOf(JsonNode body, String field, String expected, String... allowed)
            throws RequestException {
        final JsonNode node = body.get(field);
        if (!isSet(node)) {
            return;
        }
        if (node.isTextual()) {
            for (String a : allowed) {
                if (a.equals(node.asText())) {
                    return;
                }
            }
        }
        throw unsupported(field, field + ": " + show(node) + " (expected: " + expected + ")");
    }

    private static void refuseIfNonZero(JsonNode body, String field) throws RequestException {
        final JsonNode node = body.get(field);
        if (!isSet(node)) {
            return;
        }
        if (!node.isNumber()) {
            throw invalid(field, field + ": " + show(node) + " (expected: a number)");
        }
        if (node.asDouble() != 0) {
            throw unsupported(field, field + ": " + show(node) + " (expected: 0; use repetition_penalty)");
        }
    }

    /** A whole number in [1, 2^31 - 1], or null when absent. */
    private static Integer positiveInt(JsonNode body, String field) throws RequestException {
        final JsonNode node = body.get(field);
        if (!isSet(node)) {
            return null;
        }
        if (!node.isNumber() || !node.canConvertToExactIntegral()) {
            throw invalid(field, field + ": " + show(node) + " (expected: an integer >= 1)");
        }
        if (!node.canConvertToLong() || node.asLong() < 1) {
            throw invalid(field, field + ": " + show(node) + " (expected: >= 1)");
        }
        if (node.asLong() > Integer.MAX_VALUE) {
            throw invalid(field, field + ": " + show(node) + " (expected: <= " + Integer.MAX_VALUE + ")");
        }
        return (int) node.asLong();
    }

    private static double number(JsonNode body, String field, double min, double max, double absent)
            throws RequestException {
        final JsonNode node = body.get(field);
        if (!isSet(node)) {
            return absent;
        }
        if (!node.isNumber()) {
            throw invalid(field, field + ": " + show(node) + " (expected: a number in [" + fmt(min) + ", " + fmt(max) + "])");
        }
        final double value = node.asDouble();
        if (!(value >= min && value <= max)) {
            throw invalid(field, field + ": " + show(node) + " (expected: in [" + fmt(min) + ", " + fmt(max) + "])");
        }
        return value;
    }

    /** An extension of OpenAI's API the worker understands; must be positive (1.0 means none). */
    private static double repetitionPenalty(JsonNode body) throws RequestException {
        final JsonNode node = body.get("repetition_penalty");
        if (!isSet(node)) {
            return DEFAULT_REPETITION_PENALTY;
        }
        if (!node.isNumber() || !(node.asDouble() > 0) || Double.isInfinite(node.asDouble())) {
            throw invalid("repetition_penalty", "repetition_penalty: " + show(node) + " (expected: a number > 0)");
        }
        return node.asDouble();
    }

    /** Null, a string, or an array of at most four strings; none may be empty. */
    private static List<String> stop(JsonNode node) throws RequestException {
        if (!isSet(node)) {
            return List.of();
        }
        if (node.isTextual()) {
            return List.of(nonEmptyStop("stop", node));
        }
        if (!node.isArray()) {
            throw invalid("stop", "stop: " + show(node) + " (expected: a string or an array of strings)");
        }
        if (node.size() > MAX_STOP_SEQUENCES) {
            throw invalid("stop", "stop: " + node.size() + " sequences (expected: at most " + MAX_STOP_SEQUENCES + ")");
        }
        final List<String> stop = new ArrayList<>(node.size());
        for (int i = 0; i < node.size(); i++) {
            final JsonNode s = node.get(i);
            if (!s.isTextual()) {
                throw invalid("stop", "stop[" + i + "]: " + show(s) + " (expected: a string)");
            }
            stop.add(nonEmptyStop("stop[" + i + "]", s));
        }
        return stop;
    }

    private static String nonEmptyStop(String path, JsonNode node) throws RequestException {
        if (node.asText().isEmpty()) {
            throw invalid("stop", path + ": \"\" (expected: a non-empty string)");
        }
        if (node.asText().length() > MAX_STOP_CHARS) {
            throw invalid("stop", path + ": " + node.asText().length() + " characters (expected: <= "
                    + MAX_STOP_CHARS + ")");
        }
        return node.asText();
    }

    private static String user(JsonNode node) throws RequestException {
        if (!isSet(node)) {
            return "";
        }
        if (!node.isTextual()) {
            throw invalid("user", "user: " + show(node) + " (expected: a string)");
        }
        if (node.asText().length() > MAX_USER_CHARS) {
            throw invalid("user", "user: " + node.asText().length() + " characters (expected: <= " + MAX_USER_CHARS + ")");
        }
        return node.asText();
    }

    /** OpenAI's {@code metadata}: at most 16 string pairs, keys up to 64 and values up to 512 characters. */
    private static Map<String, String> metadata(JsonNode node) throws RequestException {
        if (!isSet(node)) {
            return Map.of();
        }
        if (!node.isObject()) {
            throw invalid("metadata", "metadata: " + show(node) + " (expected: an object of strings)");
        }
        if (node.size() > MAX_METADATA_PAIRS) {
            throw invalid("metadata", "metadata: " + node.size() + " keys (expected: at most " + MAX_METADATA_PAIRS + ")");
        }
        final Map<String, String> extra = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            final String key = e.getKey();
            final JsonNode value = e.getValue();
            if (key.length() > MAX_METADATA_KEY_CHARS) {
                throw invalid("metadata", "metadata key: " + key.length() + " characters (expected: <= "
                        + MAX_METADATA_KEY_CHARS + ")");
            }
            if (!value.isTextual()) {
                throw invalid("metadata", "metadata." + key + ": " + show(value) + " (expected: a string)");
            }
            if (value.asText().length() > MAX_METADATA_VALUE_CHARS) {
                throw invalid("metadata", "metadata." + key + ": " + value.asText().length()
                        + " characters (expected: <= " + MAX_METADATA_VALUE_CHARS + ")");
            }
            extra.put(key, value.asText());
        }
        return extra;
    }

    private static boolean bool(JsonNode body, String field) throws RequestException {
        final JsonNode node = body.get(field);
        if (!isSet(node)) {
            return false;
        }
        if (!node.isBoolean()) {
            throw invalid(field, field + ": " + show(node) + " (expected: true or false)");
        }
        return node.asBoolean();
    }

    private static boolean includeUsage(JsonNode node) throws RequestException {
        if (!isSet(node)) {
            return false;
        }
        if (!node.isObject()) {
            throw invalid("stream_options", "stream_options: " + show(node) + " (expected: an object)");
        }
        final JsonNode include = node.get("include_usage");
        if (!isSet(include)) {
            return false;
        }
        if (!include.isBoolean()) {
            throw invalid("stream_options.include_usage",
                    "stream_options.include_usage: " + show(include) + " (expected: true or false)");
        }
        return include.asBoolean();
    }

    /** Present and not JSON null: OpenAI treats an explicit null like an absent field. */
    private static boolean isSet(JsonNode node) {
        return node != null && !node.isNull() && !node.isMissingNode();
    }

    /** The value as JSON, shortened: it goes into an error message, not back in full. */
    private static String show(JsonNode node) {
        final String json = node.toString();
        return json.length() <= MAX_SHOWN_CHARS ? json : json.substring(0, MAX_SHOWN_CHARS) + "...";
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }

    private static RequestException invalid(String param, String message) {
        return new RequestException(HttpError.invalidValue(param, message));
    }

    private static RequestException unsupported(String param, String message) {
        return new RequestException(HttpError.unsupported(param, message));
    }
}
