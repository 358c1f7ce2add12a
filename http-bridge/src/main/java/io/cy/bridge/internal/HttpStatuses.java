package io.cy.bridge.internal;

import io.grpc.Metadata;
import io.grpc.Status;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The one table from upstream gRPC statuses to HTTP answers.
 *
 * <pre>
 * gRPC                                        HTTP  type                   code
 * INVALID_ARGUMENT                            400   invalid_request_error  invalid_argument
 * UNAUTHENTICATED                             401   authentication_error   invalid_api_key     + WWW-Authenticate: Bearer
 * PERMISSION_DENIED                           403   permission_error       permission_denied
 * NOT_FOUND                                   404   invalid_request_error  not_found
 *   with trailer cy-error: model_not_found    404   invalid_request_error  model_not_found     (param: model)
 * RESOURCE_EXHAUSTED                          429   rate_limit_error       rate_limit_exceeded + Retry-After
 * UNAVAILABLE                                 503   server_error           unavailable         + Retry-After
 * DEADLINE_EXCEEDED                           504   server_error           timeout
 * INTERNAL, DATA_LOSS                         500   server_error           internal_error
 * anything else (UNKNOWN, UNIMPLEMENTED, …)   502   server_error           upstream_error
 * </pre>
 *
 * <p>The message is the upstream's description: the coordinator words its statuses for clients
 * ({@code "generation.max_new_tokens: 100000 (expected: <= 8192)"}). {@code Retry-After} comes
 * from the trailers {@code retry-after-ms} or {@code grpc-retry-pushback-ms}, in whole seconds
 * rounded up (at least 1); the exact milliseconds go out as {@code retry-after-ms} as well, which
 * OpenAI's SDKs prefer.
 */
final class HttpStatuses {

    /** Set by the coordinator when a request's model resolved to nothing. */
    static final Metadata.Key<String> CY_ERROR = Metadata.Key.of("cy-error", Metadata.ASCII_STRING_MARSHALLER);
    static final String MODEL_NOT_FOUND = "model_not_found";

    static final Metadata.Key<String> RETRY_AFTER_MS = Metadata.Key.of("retry-after-ms", Metadata.ASCII_STRING_MARSHALLER);
    static final Metadata.Key<String> RETRY_PUSHBACK_MS =
            Metadata.Key.of("grpc-retry-pushback-ms", Metadata.ASCII_STRING_MARSHALLER);

    private HttpStatuses() {}

    /** The HTTP answer for an upstream call that ended with {@code status}; {@code trailers} may be null. */
    static HttpError fromGrpc(Status status, Metadata trailers) {
        final String message = describe(status);
        switch (status.getCode()) {
            case INVALID_ARGUMENT:
                return error(HttpResponseStatus.BAD_REQUEST, HttpError.INVALID_REQUEST, "invalid_argument", message);
            case UNAUTHENTICATED:
                return new HttpError(HttpResponseStatus.UNAUTHORIZED, "authentication_error", "invalid_api_key", null,
                        message, Map.of("WWW-Authenticate", "Bearer"));
            case PERMISSION_DENIED:
                return error(HttpResponseStatus.FORBIDDEN, "permission_error", "permission_denied", message);
            case NOT_FOUND:
                if (trailers != null && MODEL_NOT_FOUND.equals(trailers.get(CY_ERROR))) {
                    return new HttpError(HttpResponseStatus.NOT_FOUND, HttpError.INVALID_REQUEST, MODEL_NOT_FOUND,
                            "model", message, Map.of());
                }
                return error(HttpResponseStatus.NOT_FOUND, HttpError.INVALID_REQUEST, "not_found", message);
            case RESOURCE_EXHAUSTED:
                return new HttpError(HttpResponseStatus.TOO_MANY_REQUESTS, "rate_limit_error", "rate_limit_exceeded",
                        null, message, retryHeaders(trailers));
            case UNAVAILABLE:
                return new HttpError(HttpResponseStatus.SERVICE_UNAVAILABLE, HttpError.SERVER_ERROR, "unavailable",
                        null, message, retryHeaders(trailers));
            case DEADLINE_EXCEEDED:
                return error(HttpResponseStatus.GATEWAY_TIMEOUT, HttpError.SERVER_ERROR, "timeout", message);
            case INTERNAL:
            case DATA_LOSS:
                return error(HttpResponseStatus.INTERNAL_SERVER_ERROR, HttpError.SERVER_ERROR, "internal_error", message);
            default:
                return error(HttpResponseStatus.BAD_GATEWAY, HttpError.SERVER_ERROR, "upstream_error",
                        "upstream " + status.getCode() + ": " + message);
        }
    }

    /**
     * The retry delay the upstream asked for, in milliseconds, or -1. {@code retry-after-ms} wins
     * over {@code grpc-retry-pushback-ms}; negative or unparsable values are ignored.
     */
    static long retryAfterMillis(Metadata trailers) {
        if (trailers == null) {
            return -1;
        }
        final long ms = parseMillis(trailers.get(RETRY_AFTER_MS));
        return ms >= 0 ? ms : parseMillis(trailers.get(RETRY_PUSHBACK_MS));
    }

    private static Map<String, String> retryHeaders(Metadata trailers) {
        final long ms = retryAfterMillis(trailers);
        if (ms < 0) {
            return Map.of();
        }
        final Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Retry-After", Long.toString(Math.max(1, (ms + 999) / 1000)));
        headers.put("retry-after-ms", Long.toString(ms));
        return headers;
    }

    private static long parseMillis(String value) {
        if (value == null) {
            return -1;
        }
        try {
            return Math.max(-1, Long.parseLong(value.trim()));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static HttpError error(HttpResponseStatus status, String type, String code, String message) {
        return new HttpError(status, type, code, null, message, Map.of());
    }

    private static String describe(Status status) {
        final String description = status.getDescription();
        if (description != null && !description.isEmpty()) {
            return description;
        }
        final Throwable cause = status.getCause();
        if (cause != null && cause.getMessage() != null) {
            return cause.getMessage();
        }
        return status.getCode().toString();
    }
}
