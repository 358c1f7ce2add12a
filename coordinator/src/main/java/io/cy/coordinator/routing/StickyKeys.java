package io.cy.coordinator.routing;

import io.cy.llm.proto.StreamPredictRequest;
import io.grpc.Metadata;

/** The sticky key of a call, as {@code routes.sticky_key} says. */
public final class StickyKeys {

    public static final Metadata.Key<String> SESSION_HEADER =
            Metadata.Key.of("x-session-id", Metadata.ASCII_STRING_MARSHALLER);
    public static final String SESSION_EXTRA = "session_id";

    private StickyKeys() {}

    /** The tenant, the session (metadata.extra["session_id"], else header x-session-id), or empty. */
    public static String of(StickyKey kind, String tenant, StreamPredictRequest request, Metadata headers) {
        switch (kind) {
            case TENANT:
                return tenant;
            case SESSION:
                final String extra = request.getMetadata().getExtraOrDefault(SESSION_EXTRA, "");
                if (!extra.isEmpty()) {
                    return extra;
                }
                final String header = headers.get(SESSION_HEADER);
                return header == null ? "" : header;
            default:
                return "";
        }
    }
}
