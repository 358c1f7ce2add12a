package io.cy.coordinator.tracing;

import io.grpc.Metadata;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapSetter;
import java.util.List;

/** gRPC metadata as OpenTelemetry's propagators read and write it: {@code traceparent}, {@code tracestate}. */
enum MetadataTextMap implements TextMapGetter<Metadata>, TextMapSetter<Metadata> {
    INSTANCE;

    /** A W3C header longer than this is not trace context but noise; it is ignored. */
    private static final int MAX_VALUE_CHARS = 512;

    @Override
    public Iterable<String> keys(Metadata carrier) {
        return List.of("traceparent", "tracestate");
    }

    @Override
    public String get(Metadata carrier, String key) {
        if (carrier == null) {
            return null;
        }
        final String value = carrier.get(Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER));
        return value == null || value.length() > MAX_VALUE_CHARS ? null : value;
    }

    @Override
    public void set(Metadata carrier, String key, String value) {
        if (carrier != null) {
            carrier.put(Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER), value);
        }
    }
}
