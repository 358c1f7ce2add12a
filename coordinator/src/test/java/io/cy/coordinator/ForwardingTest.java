package io.cy.coordinator;

import static io.cy.coordinator.TestStack.call;
import static io.cy.coordinator.TestStack.request;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.TestStack.Result;
import io.cy.llm.proto.StreamMetadata;
import io.cy.llm.proto.StreamPredictRequest;
import io.cy.llm.proto.StreamPredictResponse;
import io.grpc.Metadata;
import io.grpc.Status;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Through the coordinator, a StreamPredict call delivers exactly what the sidecar sends. */
class ForwardingTest {

    private static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    private static final Metadata.Key<String> TRACE_ID = Metadata.Key.of("trace-id", Metadata.ASCII_STRING_MARSHALLER);

    @TempDir
    Path dir;

    private TestStack stack;

    @BeforeEach
    void start() throws Exception {
        stack = TestStack.start(dir, 1, sim -> sim.internalToken("internal-secret"), "",
                Map.of("CY_LLM_INTERNAL_TOKEN", "internal-secret"));
    }

    @AfterEach
    void stop() {
        stack.close();
    }

    @Test
    void deliversExactlyTheMessagesOfADirectCall() throws Exception {
        final StreamPredictRequest request = request(32).toBuilder()
                .setMetadata(StreamMetadata.newBuilder().setTraceId("trace-forwarding-1"))
                .build();
        final Metadata internal = new Metadata();
        internal.put(AUTHORIZATION, "Bearer internal-secret");

        final Result direct = call(stack.directChannel(), request, internal, null);
        final Result through = call(stack.coordinatorChannel(), request);

        assertThat(direct.status().isOk()).as("direct: %s", direct.status()).isTrue();
        assertThat(through.status().isOk()).as("through: %s", through.status()).isTrue();
        assertThat(withoutTimings(through.responses())).isEqualTo(withoutTimings(direct.responses()));
        assertThat(through.chunks()).hasSize(32);
        for (int i = 0; i < 32; i++) {
            assertThat(through.responses().get(i).getIndex()).isEqualTo(i);
            assertThat(through.responses().get(i).getChunk()).isNotEmpty();
        }
        final StreamPredictResponse last = through.responses().get(32);
        assertThat(last.getEndOfStream()).isTrue();
        assertThat(last.getIndex()).isEqualTo(32);
        assertThat(last.getChunk()).isEmpty();
        assertThat(last.getTtftMs()).isGreaterThan(0f);
        assertThat(last.getTokensPerSec()).isGreaterThan(0f);
    }

    @Test
    void sendsTheInternalTokenAndNeverTheClientsCredentials() throws Exception {
        final Metadata clientHeaders = new Metadata();
        clientHeaders.put(AUTHORIZATION, "Bearer client-credential");
        clientHeaders.put(Metadata.Key.of("cookie", Metadata.ASCII_STRING_MARSHALLER), "session=abc");

        final Result result = call(stack.coordinatorChannel(), request(4), clientHeaders, null);

        assertThat(result.status().isOk()).as("%s", result.status()).isTrue();
        final Metadata seen = stack.sim().stats().lastHeaders("StreamPredict");
        assertThat(seen.getAll(AUTHORIZATION)).containsExactly("Bearer internal-secret");
        assertThat(seen.keys()).doesNotContain("cookie");
    }

    @Test
    void traceIdFromTheMessageReachesSidecarAndClient() throws Exception {
        final StreamPredictRequest request = request(2).toBuilder()
                .setMetadata(StreamMetadata.newBuilder().setTraceId("from-message")).build();
        final Metadata headers = new Metadata();
        headers.put(TRACE_ID, "from-header");

        final Result result = call(stack.coordinatorChannel(), request, headers, null);

        assertThat(result.traceIdHeader()).isEqualTo("from-message");
        assertThat(stack.sim().stats().lastRequest().getMetadata().getTraceId()).isEqualTo("from-message");
        assertThat(stack.sim().stats().lastHeaders("StreamPredict").get(TRACE_ID)).isEqualTo("from-message");
        assertThat(result.responses()).allSatisfy(r -> assertThat(r.getTraceId()).isEqualTo("from-message"));
    }

    @Test
    void traceIdFromTraceIdOrRequestIdHeader() throws Exception {
        final Metadata traceHeader = new Metadata();
        traceHeader.put(TRACE_ID, "header-trace");
        assertThat(call(stack.coordinatorChannel(), request(1), traceHeader, null).traceIdHeader())
                .isEqualTo("header-trace");
        assertThat(stack.sim().stats().lastRequest().getMetadata().getTraceId()).isEqualTo("header-trace");

        final Metadata requestIdHeader = new Metadata();
        requestIdHeader.put(Metadata.Key.of("x-request-id", Metadata.ASCII_STRING_MARSHALLER), "req-42");
        assertThat(call(stack.coordinatorChannel(), request(1), requestIdHeader, null).traceIdHeader())
                .isEqualTo("req-42");
        assertThat(stack.sim().stats().lastHeaders("StreamPredict").get(TRACE_ID)).isEqualTo("req-42");
    }

    @Test
    void generatesATraceIdWhenNoneIsGiven() throws Exception {
        final Result first = call(stack.coordinatorChannel(), request(1));
        final Result second = call(stack.coordinatorChannel(), request(1));

        assertThat(first.traceIdHeader()).matches("[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
        assertThat(second.traceIdHeader()).isNotEqualTo(first.traceIdHeader());
        assertThat(stack.sim().stats().lastRequest().getMetadata().getTraceId()).isEqualTo(second.traceIdHeader());
    }

    @Test
    void traceIdIsReturnedOnErrorsToo() throws Exception {
        final Metadata headers = new Metadata();
        headers.put(TRACE_ID, "failing-call");

        final Result result = call(stack.coordinatorChannel(),
                request(4, Map.of("sim.fail", "NOT_FOUND", "sim.fail_after", "0")), headers, null);

        assertThat(result.status().getCode()).isEqualTo(Status.Code.NOT_FOUND);
        assertThat(result.traceIdHeader()).isEqualTo("failing-call");
    }

    @Test
    void reportsEachCallOnce() throws Exception {
        call(stack.coordinatorChannel(), request(5));

        final var summary = stack.summaries.poll(TestStack.TIMEOUT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
        assertThat(summary).isNotNull();
        assertThat(summary.method()).isEqualTo("StreamPredict");
        assertThat(summary.status().isOk()).isTrue();
        assertThat(summary.chunks()).isEqualTo(5);
        assertThat(summary.model()).isEqualTo("sim");
        assertThat(summary.sidecar()).isEqualTo(stack.sim().target());
        assertThat(summary.timeToFirstChunkNanos()).isPositive();
        assertThat(summary.durationNanos()).isGreaterThanOrEqualTo(summary.timeToFirstChunkNanos());
        assertThat(summary.cancelledByClient()).isFalse();
        assertThat(stack.summaries).isEmpty();
        assertThat(stack.coordinator.activeCalls()).isZero();
    }

    @Test
    void theClientHasItsTrailersBeforeTheCallEndIsRecorded() throws Exception {
        final CompletableFuture<Result> result = new CompletableFuture<>();
        final CompletableFuture<Boolean> endedBeforeRecorded = new CompletableFuture<>();
        // On the event loop. Were the call recorded before the turn's flush, its trailers would
        // wait behind this listener, and the client could not end its call while it waits.
        stack.atCallEnd = summary -> endedBeforeRecorded.complete(endsWithin(result, Duration.ofSeconds(5)));
        final Thread client = new Thread(() -> {
            try {
                result.complete(call(stack.coordinatorChannel(), request(5)));
            } catch (Exception e) {
                result.completeExceptionally(e);
            }
        });
        client.start();

        assertThat(endedBeforeRecorded.get(TestStack.TIMEOUT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(result.get(TestStack.TIMEOUT.toSeconds(), TimeUnit.SECONDS).chunks()).hasSize(5);
        client.join();
    }

    private static boolean endsWithin(CompletableFuture<Result> result, Duration wait) {
        try {
            result.get(wait.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (ExecutionException e) {
            return false;
        }
    }

    private static List<StreamPredictResponse> withoutTimings(List<StreamPredictResponse> responses) {
        return responses.stream()
                .map(r -> r.toBuilder().clearTtftMs().clearTokensPerSec().build())
                .collect(Collectors.toList());
    }
}
