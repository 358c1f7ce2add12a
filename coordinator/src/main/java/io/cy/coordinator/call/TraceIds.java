package io.cy.coordinator.call;

import io.cy.coordinator.ids.TraceIdGenerator;
import io.grpc.Metadata;

/**
 * Where a call's trace id comes from, and the headers that carry it. Every call has one, refused
 * calls included, so that a client's id finds the call's audit row and access-log line.
 */
public final class TraceIds {

    /** The longest trace id accepted, from the message or a header. */
    public static final int MAX_CHARS = 128;

    public static final Metadata.Key<String> TRACE_ID =
            Metadata.Key.of("trace-id", Metadata.ASCII_STRING_MARSHALLER);
    static final Metadata.Key<String> REQUEST_ID = Metadata.Key.of("x-request-id", Metadata.ASCII_STRING_MARSHALLER);

    private TraceIds() {}

    /** The trace id for a call refused before any message was read: from the headers, else a new one. */
    public static String fromHeaders(Metadata headers) {
        return resolve("", headers);
    }

    /**
     * The trace id for a call: the one in the message if set and valid, else the {@code trace-id}
     * or {@code x-request-id} header if usable, else a new UUID (version 7). A message whose trace id
     * is invalid is refused, and the refusal is recorded under the id found next.
     */
    public static String resolve(String fromMessage, Metadata headers) {
        if (!fromMessage.isEmpty() && PrintableText.check(fromMessage, MAX_CHARS) == null) {
            return fromMessage;
        }
        String fromHeader = headers.get(TRACE_ID);
        if (fromHeader == null || fromHeader.isEmpty()) {
            fromHeader = headers.get(REQUEST_ID);
        }
        if (fromHeader != null && !fromHeader.isEmpty()
                && PrintableText.check(fromHeader, MAX_CHARS) == null) {
            return fromHeader;
        }
        return newId();
    }

    /** A new id: a version 7 UUID, see {@link TraceIdGenerator}. */
    public static String newId() {
        return TraceIdGenerator.next();
    }
}
