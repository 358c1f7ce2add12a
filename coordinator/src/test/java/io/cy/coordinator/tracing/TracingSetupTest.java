package io.cy.coordinator.tracing;

import static org.assertj.core.api.Assertions.assertThat;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The SDK from the {@code OTEL_*} variables: off without them, and the batch processor's drops counted. */
class TracingSetupTest {

    @Test
    void withoutVariablesThereIsNoTracing() {
        assertThat(Tracing.fromEnvironment(Map.of()).openTelemetry()).isSameAs(OpenTelemetry.noop());
        assertThat(Tracing.fromEnvironment(Map.of("OTEL_TRACES_EXPORTER", "none")).openTelemetry())
                .isSameAs(OpenTelemetry.noop());
        assertThat(Tracing.fromEnvironment(Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318",
                "OTEL_SDK_DISABLED", "true")).openTelemetry()).isSameAs(OpenTelemetry.noop());
    }

    @Test
    void spansThatFindTheQueueFullAreDroppedAndCounted() throws Exception {
        final int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        // OTLP over HTTP by default. A queue of 1 exported once a minute: every span after the first finds it full.
        final Tracing tracing = Tracing.fromEnvironment(Map.of(
                "OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:" + closedPort,
                "OTEL_BSP_MAX_QUEUE_SIZE", "1",
                "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "1",
                "OTEL_BSP_SCHEDULE_DELAY", "60000"));
        try {
            assertThat(tracing.openTelemetry()).isInstanceOf(OpenTelemetrySdk.class);
            final Tracer tracer = tracing.openTelemetry().getTracer("test");
            for (int i = 0; i < 20; i++) {
                tracer.spanBuilder("span-" + i).startSpan().end();
            }

            assertThat(tracing.droppedSpans()).isGreaterThanOrEqualTo(18);
        } finally {
            ((OpenTelemetrySdk) tracing.openTelemetry()).shutdown().join(5, java.util.concurrent.TimeUnit.SECONDS);
        }
    }
}
