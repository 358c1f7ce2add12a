package io.cy.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Metadata;
import io.grpc.Status;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.EventData;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Traces of real calls, exported to the SDK's in-memory exporter: a server span per call under
 * the client's {@code traceparent} (gRPC metadata or HTTP header), a child span per sidecar
 * attempt, and that attempt's {@code traceparent} as the simulated sidecar receives it.
 */
class TracingTest {

    private static final String CLIENT_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
    private static final String CLIENT_SPAN_ID = "00f067aa0ba902b7";
    private static final String TRACEPARENT = "00-" + CLIENT_TRACE_ID + "-" + CLIENT_SPAN_ID + "-01";
    private static final Metadata.Key<String> TRACEPARENT_KEY =
            Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER);

    @TempDir
    static Path dir;

    private static final InMemorySpanExporter spans = InMemorySpanExporter.create();
    private static OpenTelemetrySdk sdk;
    private static TestStack stack;

    @BeforeAll
    static void start() throws Exception {
        sdk = OpenTelemetrySdk.builder()
                .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(spans)).build())
                .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
                .build();
        stack = TestStack.start(dir, 1, sim -> sim.models(List.of("sim")), "", Map.of(), sdk);
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
        if (sdk != null) {
            sdk.close();
        }
    }

    @BeforeEach
    void clear() {
        spans.reset();
        stack.summaries.clear();
        stack.mdcAtCallEnd.clear();
    }

    @Test
    void aGrpcCallIsAServerSpanUnderTheClientsTraceWithAnAttemptSpanTheSidecarContinues() throws Exception {
        final Metadata headers = new Metadata();
        headers.put(TRACEPARENT_KEY, TRACEPARENT);

        final TestStack.Result result = TestStack.call(stack.coordinatorChannel(), TestStack.request(3), headers, null);

        assertThat(result.status().getCode()).isEqualTo(Status.Code.OK);
        final SpanData server = awaitSpan(SpanKind.SERVER);
        final SpanData attempt = awaitSpan(SpanKind.CLIENT);
        assertThat(server.getTraceId()).isEqualTo(CLIENT_TRACE_ID);
        assertThat(server.getParentSpanId()).isEqualTo(CLIENT_SPAN_ID);
        assertThat(server.getName()).isEqualTo("cy.llm.AiInference/StreamPredict");
        assertThat(attempt.getTraceId()).isEqualTo(CLIENT_TRACE_ID);
        assertThat(attempt.getParentSpanId()).isEqualTo(server.getSpanId());
        // The sidecar sees the attempt as its parent.
        final String sent = stack.sim().stats().lastHeaders("StreamPredict").get(TRACEPARENT_KEY);
        assertThat(sent).isEqualTo("00-" + CLIENT_TRACE_ID + "-" + attempt.getSpanId() + "-01");

        assertThat(server.getAttributes().get(AttributeKey.stringKey("cy.trace_id"))).isEqualTo(result.traceIdHeader());
        assertThat(server.getAttributes().get(AttributeKey.stringKey("cy.model"))).isEqualTo("sim");
        assertThat(server.getAttributes().get(AttributeKey.stringKey("cy.tenant"))).isEqualTo("default");
        assertThat(server.getAttributes().get(AttributeKey.stringKey("cy.backend"))).isEqualTo("default");
        assertThat(server.getAttributes().get(AttributeKey.stringKey("cy.sidecar"))).isEqualTo(stack.sim().target());
        assertThat(server.getAttributes().get(AttributeKey.longKey("cy.completion_tokens"))).isEqualTo(3L);
        assertThat(server.getAttributes().get(AttributeKey.longKey("cy.prompt_tokens"))).isNotNull();
        assertThat(server.getAttributes().get(AttributeKey.doubleKey("cy.ttft_ms"))).isPositive();
        assertThat(server.getAttributes().get(AttributeKey.stringKey("rpc.grpc.status_code"))).isEqualTo("OK");
        assertThat(server.getEvents()).extracting(EventData::getName).contains("first chunk");
        assertThat(attempt.getEvents()).extracting(EventData::getName).contains("first chunk");
        assertThat(attempt.getAttributes().get(AttributeKey.stringKey("cy.sidecar"))).isEqualTo(stack.sim().target());
    }

    @Test
    void linesLoggedAsTheCallEndsCarryItsTraceIdAndSpanId() throws Exception {
        final TestStack.Result result = TestStack.call(stack.coordinatorChannel(), TestStack.request(2));

        assertThat(result.status().getCode()).isEqualTo(Status.Code.OK);
        final Map<String, String> mdc = stack.mdcAtCallEnd.poll(20, java.util.concurrent.TimeUnit.SECONDS);
        final SpanData server = awaitSpan(SpanKind.SERVER);
        assertThat(mdc).containsEntry("trace_id", result.traceIdHeader())
                .containsEntry("span_id", server.getSpanId());
    }

    @Test
    void aCallWithoutTraceContextStartsATraceAndAFailureMarksTheSpans() throws Exception {
        final TestStack.Result result = TestStack.call(stack.coordinatorChannel(),
                TestStack.request(3).toBuilder().setModelId("not-served").build());

        assertThat(result.status().getCode()).isEqualTo(Status.Code.NOT_FOUND);
        final SpanData server = awaitSpan(SpanKind.SERVER);
        assertThat(server.getParentSpanContext().isValid()).isFalse();
        assertThat(server.getStatus().getStatusCode()).isEqualTo(io.opentelemetry.api.trace.StatusCode.ERROR);
        assertThat(server.getAttributes().get(AttributeKey.stringKey("rpc.grpc.status_code"))).isEqualTo("NOT_FOUND");
        assertThat(awaitSpan(SpanKind.CLIENT).getStatus().getStatusCode())
                .isEqualTo(io.opentelemetry.api.trace.StatusCode.ERROR);
    }

    @Test
    void anHttpRequestsTraceparentHeaderIsTheParent() throws Exception {
        final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        final HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(
                        "http://127.0.0.1:" + stack.coordinator.httpEndpoint().port() + "/v1/chat/completions"))
                .header("Content-Type", "application/json")
                .header("traceparent", TRACEPARENT)
                .POST(HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"sim\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":2}"))
                .build(), HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        final SpanData server = awaitSpan(SpanKind.SERVER);
        assertThat(server.getTraceId()).isEqualTo(CLIENT_TRACE_ID);
        assertThat(server.getParentSpanId()).isEqualTo(CLIENT_SPAN_ID);
    }

    private static SpanData awaitSpan(SpanKind kind) throws InterruptedException {
        Eventually.await("a " + kind + " span", Duration.ofSeconds(20),
                () -> spans.getFinishedSpanItems().stream().anyMatch(s -> s.getKind() == kind));
        return spans.getFinishedSpanItems().stream().filter(s -> s.getKind() == kind).findFirst().orElseThrow();
    }
}
