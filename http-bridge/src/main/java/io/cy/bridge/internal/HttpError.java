package io.cy.bridge.internal;

import static java.util.Objects.requireNonNull;

import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.Map;

/**
 * An error answer: the HTTP status, extra response headers, and the body in OpenAI's envelope
 * {@code {"error":{"message","type","param","code"}}}. Made by the factories below for the
 * bridge's own refusals, and by {@link HttpStatuses} for upstream statuses.
 *
 * @param type OpenAI's error type, e.g. {@code invalid_request_error}
 * @param code a stable machine-readable code, e.g. {@code rate_limit_exceeded}; null for none
 * @param param the request field at fault, e.g. {@code messages[0].content}; null for none
 * @param headers extra response headers ({@code Retry-After}, {@code WWW-Authenticate}, {@code Allow})
 */
record HttpError(HttpResponseStatus status, String type, String code, String param, String message,
                 Map<String, String> headers) {

    static final String INVALID_REQUEST = "invalid_request_error";
    static final String SERVER_ERROR = "server_error";

    HttpError {
        requireNonNull(status, "status");
        requireNonNull(type, "type");
        requireNonNull(message, "message");
        headers = Map.copyOf(requireNonNull(headers, "headers"));
    }

    /** A request field with a value the bridge refuses; the message names the field and what was expected. */
    static HttpError invalidValue(String param, String message) {
        return new HttpError(HttpResponseStatus.BAD_REQUEST, INVALID_REQUEST, "invalid_value", param, message, Map.of());
    }

    /** A parameter that would change the output and that the bridge cannot honour. */
    static HttpError unsupported(String param, String message) {
        return new HttpError(HttpResponseStatus.BAD_REQUEST, INVALID_REQUEST, "unsupported_parameter", param, message,
                Map.of());
    }

    static HttpError invalidJson(String message) {
        return new HttpError(HttpResponseStatus.BAD_REQUEST, INVALID_REQUEST, "invalid_json", null, message, Map.of());
    }

    /** The request line or headers could not be parsed (or were too long). */
    static HttpError malformed(HttpResponseStatus status, String message) {
        return new HttpError(status, INVALID_REQUEST, "malformed_request", null, message, Map.of());
    }

    static HttpError tooLarge(int maxBodyBytes) {
        return new HttpError(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, INVALID_REQUEST, "request_too_large", null,
                "request body larger than " + maxBodyBytes + " bytes (expected: <= " + maxBodyBytes + ")", Map.of());
    }

    static HttpError unsupportedMediaType(String contentType) {
        return new HttpError(HttpResponseStatus.UNSUPPORTED_MEDIA_TYPE, INVALID_REQUEST, "unsupported_media_type", null,
                "Content-Type: " + (contentType == null ? "(none)" : contentType) + " (expected: application/json)",
                Map.of());
    }

    static HttpError methodNotAllowed(String method, String path, String allowed) {
        return new HttpError(HttpResponseStatus.METHOD_NOT_ALLOWED, INVALID_REQUEST, "method_not_allowed", null,
                "method " + method + " not allowed for " + path + " (expected: " + allowed + ")", Map.of("Allow", allowed));
    }

    static HttpError unknownPath(String method, String path) {
        return new HttpError(HttpResponseStatus.NOT_FOUND, INVALID_REQUEST, "unknown_url", null,
                "Invalid URL (" + method + " " + path + ")", Map.of());
    }

    /** A failure in the bridge's own code; the details stay in its log. */
    static HttpError internal(Throwable t) {
        return new HttpError(HttpResponseStatus.INTERNAL_SERVER_ERROR, SERVER_ERROR, "internal_error", null,
                "bridge error (" + t.getClass().getSimpleName() + ")", Map.of());
    }

    /** The upstream answered in a way the contract does not allow. */
    static HttpError badGateway(String message) {
        return new HttpError(HttpResponseStatus.BAD_GATEWAY, SERVER_ERROR, "upstream_error", null, message, Map.of());
    }

    static HttpError notReady(String message) {
        return new HttpError(HttpResponseStatus.SERVICE_UNAVAILABLE, SERVER_ERROR, "not_ready", null, message, Map.of());
    }
}
