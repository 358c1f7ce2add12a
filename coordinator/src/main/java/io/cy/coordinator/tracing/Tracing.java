package io.cy.coordinator.tracing;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import java.util.Map;

/**
 * The OpenTelemetry the coordinator traces with: the SDK as the standard {@code OTEL_*}
 * variables configure it (exporter, endpoint, sampler, batch processor queue), or nothing at all
 * when none of them asks for traces. The SDK's batch span processor exports off the call path
 * with a bounded queue ({@code OTEL_BSP_MAX_QUEUE_SIZE}, 2048 by default) and drops spans
 * rather than wait when it is full.
 */
public final class Tracing {

    private Tracing() {}

    /** The SDK configured from {@code env}, or {@link OpenTelemetry#noop()} when tracing is not asked for. */
    public static OpenTelemetry fromEnvironment(Map<String, String> env) {
        if (!requested(env)) {
            return OpenTelemetry.noop();
        }
        return AutoConfiguredOpenTelemetrySdk.builder()
                // Traces only: metrics are Prometheus's, logs stdout's, unless the variables say otherwise.
                .addPropertiesSupplier(() -> Map.of("otel.metrics.exporter", "none", "otel.logs.exporter", "none",
                        "otel.service.name", "cy-coordinator"))
                .build()
                .getOpenTelemetrySdk();
    }

    /** Whether the variables name an exporter or an endpoint for traces, and do not disable the SDK. */
    static boolean requested(Map<String, String> env) {
        if ("true".equalsIgnoreCase(env.get("OTEL_SDK_DISABLED"))) {
            return false;
        }
        for (String name : new String[] {"OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"}) {
            final String value = env.get(name);
            if (value != null && !value.isBlank() && !"none".equalsIgnoreCase(value)) {
                return true;
            }
        }
        return false;
    }
}
