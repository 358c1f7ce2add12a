package io.cy.coordinator.tracing;

import static java.util.Objects.requireNonNull;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * The OpenTelemetry the coordinator traces with: the SDK as the standard {@code OTEL_*}
 * variables configure it (exporter, endpoint, sampler, batch processor queue), or nothing at all
 * when none of them asks for traces. The SDK's batch span processor exports off the call path
 * with a bounded queue ({@code OTEL_BSP_MAX_QUEUE_SIZE}, 2048 by default) and drops spans
 * rather than wait when it is full; {@link #droppedSpans} counts them.
 */
public final class Tracing {

    private final OpenTelemetry openTelemetry;
    private final LongSupplier droppedSpans;

    public Tracing(OpenTelemetry openTelemetry, LongSupplier droppedSpans) {
        this.openTelemetry = requireNonNull(openTelemetry, "openTelemetry");
        this.droppedSpans = requireNonNull(droppedSpans, "droppedSpans");
    }

    public OpenTelemetry openTelemetry() {
        return openTelemetry;
    }

    /** Spans the batch processor dropped since start (its queue was full); 0 without tracing. */
    public long droppedSpans() {
        return droppedSpans.getAsLong();
    }

    /**
     * The SDK configured from {@code env}, or {@link OpenTelemetry#noop()} when tracing is not
     * asked for. Never made the global OpenTelemetry: each coordinator has its own.
     */
    public static Tracing fromEnvironment(Map<String, String> env) {
        if (!requested(env)) {
            return new Tracing(OpenTelemetry.noop(), () -> 0);
        }
        final DroppedSpans dropped = new DroppedSpans();
        final OpenTelemetry sdk = AutoConfiguredOpenTelemetrySdk.builder()
                // Traces only: metrics are Prometheus's, logs stdout's, unless the variables say otherwise.
                // OTLP over HTTP: the JDK's client sends it; gRPC would need another sender on the classpath.
                .addPropertiesSupplier(() -> Map.of("otel.metrics.exporter", "none", "otel.logs.exporter", "none",
                        "otel.service.name", "cy-coordinator", "otel.exporter.otlp.protocol", "http/protobuf"))
                // The variables as given (the process's own, or a test's): they win over the defaults above.
                .addPropertiesCustomizer(config -> properties(env))
                .addMeterProviderCustomizer((meters, config) -> meters.registerMetricReader(dropped))
                .build()
                .getOpenTelemetrySdk();
        return new Tracing(sdk, dropped::count);
    }

    /** {@code OTEL_BSP_MAX_QUEUE_SIZE} as {@code otel.bsp.max.queue.size}, for every {@code OTEL_} variable. */
    private static Map<String, String> properties(Map<String, String> env) {
        final Map<String, String> properties = new java.util.HashMap<>();
        env.forEach((name, value) -> {
            if (name.startsWith("OTEL_") && value != null) {
                properties.put(name.toLowerCase(java.util.Locale.ROOT).replace('_', '.'), value);
            }
        });
        return properties;
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
