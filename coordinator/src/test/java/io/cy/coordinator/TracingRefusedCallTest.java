package io.cy.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A call refused at authentication, before the forwarder saw it, still has its span, ended with the refusal. */
class TracingRefusedCallTest {

    @TempDir
    Path dir;

    @Test
    void aCallRefusedForItsCredentialsEndsItsSpanWithTheRefusal() throws Exception {
        final InMemorySpanExporter spans = InMemorySpanExporter.create();
        try (OpenTelemetrySdk sdk = OpenTelemetrySdk.builder().setTracerProvider(SdkTracerProvider.builder()
                .addSpanProcessor(SimpleSpanProcessor.create(spans)).build()).build();
             TestStack stack = TestStack.start(dir, 1, sim -> { }, "",
                     Map.of("CY_AUTH_MODE", "required", "CY_AUTH_HMAC_SECRET", "refused-call-secret-0123456789abcdef"),
                     sdk)) {

            final TestStack.Result result = TestStack.call(stack.coordinatorChannel(), TestStack.request(2));

            assertThat(result.status().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
            Eventually.await("the server span", Duration.ofSeconds(20), () -> !spans.getFinishedSpanItems().isEmpty());
            final List<SpanData> finished = spans.getFinishedSpanItems();
            assertThat(finished).hasSize(1);
            final SpanData server = finished.get(0);
            assertThat(server.getKind()).isEqualTo(SpanKind.SERVER);
            assertThat(server.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
            assertThat(server.getAttributes().get(AttributeKey.stringKey("rpc.grpc.status_code")))
                    .isEqualTo("UNAUTHENTICATED");
            assertThat(stack.sim().stats().callsStarted()).isZero();
        }
    }
}
