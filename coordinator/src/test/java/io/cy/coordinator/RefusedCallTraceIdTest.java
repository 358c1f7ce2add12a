package io.cy.coordinator;

import static io.cy.coordinator.AuthCalls.bearer;
import static io.cy.coordinator.AuthCalls.noCredential;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.audit.TestDatabase;
import io.cy.coordinator.AuditTable.Row;
import io.cy.coordinator.TestStack.Result;
import io.cy.coordinator.service.CallSummary;
import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.StreamPredictRequest;
import io.cy.llm.proto.StreamPredictResponse;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A call refused before it reaches a sidecar keeps the trace id its client sent (in the message,
 * else in {@code trace-id} or {@code x-request-id}), else gets a new one: the same id in the
 * answer's {@code trace-id}, the call-end summary the access log prints, and the audit row.
 */
class RefusedCallTraceIdTest {

    private static final Metadata.Key<String> TRACE_ID = Metadata.Key.of("trace-id", Metadata.ASCII_STRING_MARSHALLER);
    private static final Metadata.Key<String> REQUEST_ID =
            Metadata.Key.of("x-request-id", Metadata.ASCII_STRING_MARSHALLER);

    @TempDir
    static Path dir;

    static TestDatabase.Db db;
    static TestStack stack;
    static ManagedChannel channel;

    @BeforeAll
    static void start() throws Exception {
        db = TestDatabase.newDatabase();
        stack = TestStack.start(dir, 1, sim -> { }, """
                quota:
                  tenants:
                    limited: {requests_per_minute: 1}
                sidecars: {health: {interval: 1h, timeout: 1s}}
                """, AuditSetup.env(db.dbUrl(), dir.resolve("spool"), Map.of(
                "CY_AUTH_MODE", "required",
                "CY_AUTH_HMAC_SECRET", AuditCallsTest.SECRET)));
        channel = stack.coordinatorChannel();
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    private static Metadata caller(String tenant) {
        return bearer(AuditCallsTest.token("svc", tenant, List.of("user")));
    }

    @Test
    void anInvalidRequestKeepsTheTraceIdOfItsMessage() throws Exception {
        final Result result = TestStack.call(channel, AuditCallsTest.request("refused-invalid", 100_000, Map.of()),
                caller("acme"), null);

        assertRefusedUnder(result, Status.Code.INVALID_ARGUMENT, "refused-invalid");
    }

    @Test
    void aMessageWhoseOwnTraceIdIsInvalidIsRefusedUnderTheHeadersId() throws Exception {
        final Metadata headers = caller("acme");
        headers.put(REQUEST_ID, "refused-bad-trace-id");

        final Result result = TestStack.call(channel, AuditCallsTest.request("x".repeat(200), 4, Map.of()), headers,
                null);

        assertRefusedUnder(result, Status.Code.INVALID_ARGUMENT, "refused-bad-trace-id");
        assertThat(result.status().getDescription()).startsWith("metadata.trace_id: 200 characters");
    }

    @Test
    void aTenantMismatchKeepsTheTraceIdHeader() throws Exception {
        final Metadata headers = caller("acme");
        headers.put(TRACE_ID, "refused-tenant");
        final StreamPredictRequest request = TestStack.request(4);

        final Result result = TestStack.call(channel, request.toBuilder()
                .setMetadata(request.getMetadata().toBuilder().setTenant("globex")).build(), headers, null);

        assertRefusedUnder(result, Status.Code.PERMISSION_DENIED, "refused-tenant");
    }

    @Test
    void aQuotaRefusalKeepsTheTraceId() throws Exception {
        assertThat(TestStack.call(channel, AuditCallsTest.request("quota-first", 2, Map.of()), caller("limited"), null)
                .status().getCode()).isEqualTo(Status.Code.OK);

        final Result result = TestStack.call(channel, AuditCallsTest.request("refused-quota", 2, Map.of()),
                caller("limited"), null);

        assertRefusedUnder(result, Status.Code.RESOURCE_EXHAUSTED, "refused-quota");
    }

    @Test
    void anEmptyRequestStreamTakesTheTraceIdFromTheHeaders() throws Exception {
        final Metadata headers = caller("acme");
        headers.put(REQUEST_ID, "refused-empty");

        final Result result = callWithoutMessages(headers);

        assertRefusedUnder(result, Status.Code.INVALID_ARGUMENT, "refused-empty");
    }

    @Test
    void aCallRefusedForItsCredentialKeepsTheTraceIdHeader() throws Exception {
        final Metadata headers = noCredential();
        headers.put(REQUEST_ID, "refused-auth");

        final Result result = TestStack.call(channel, TestStack.request(4), headers, null);

        assertRefusedUnder(result, Status.Code.UNAUTHENTICATED, "refused-auth");
    }

    @Test
    void aRefusalWithoutAnyTraceIdGetsANewOne() throws Exception {
        final Result result = TestStack.call(channel, TestStack.request(4), noCredential(), null);

        assertThat(result.status().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
        final String traceId = result.trailers().get(TRACE_ID);
        assertThat(UUID.fromString(traceId)).as("a new UUID").isNotNull();
        assertRefusedUnder(result, Status.Code.UNAUTHENTICATED, traceId);
    }

    private static void assertRefusedUnder(Result result, Status.Code code, String traceId) throws Exception {
        assertThat(result.status().getCode()).as(result.status().toString()).isEqualTo(code);
        assertThat(result.trailers().get(TRACE_ID)).as("the answer's trace-id").isEqualTo(traceId);
        final CallSummary summary = awaitSummary(traceId);
        assertThat(summary.status().getCode()).isEqualTo(code);
        final Row row = AuditTable.awaitRow(db, traceId, r -> traceId.equals(r.traceId()));
        assertThat(row.kind()).isEqualTo("rejected");
        assertThat(row.statusCode()).isEqualTo(code.name());
        assertThat(row.method()).isEqualTo("StreamPredict");
    }

    /** The summary the access log prints a line for. */
    private static CallSummary awaitSummary(String traceId) throws InterruptedException {
        final AtomicReference<CallSummary> found = new AtomicReference<>();
        Eventually.await("a call-end summary for " + traceId, TestStack.TIMEOUT, () -> {
            stack.summaries.stream().filter(s -> traceId.equals(s.traceId())).findFirst().ifPresent(found::set);
            return found.get() != null;
        });
        return found.get();
    }

    private static Result callWithoutMessages(Metadata headers) throws Exception {
        final CompletableFuture<Status> status = new CompletableFuture<>();
        final AtomicReference<Metadata> responseHeaders = new AtomicReference<>();
        final AtomicReference<Metadata> trailers = new AtomicReference<>();
        AiInferenceGrpc.newStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers),
                        MetadataUtils.newCaptureMetadataInterceptor(responseHeaders, trailers))
                .streamPredict(new StreamObserver<StreamPredictResponse>() {
                    @Override
                    public void onNext(StreamPredictResponse value) { }

                    @Override
                    public void onError(Throwable t) {
                        status.complete(Status.fromThrowable(t));
                    }

                    @Override
                    public void onCompleted() {
                        status.complete(Status.OK);
                    }
                }).onCompleted();
        final Status ended = status.get(TestStack.TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        return new Result(List.of(), ended, responseHeaders.get(), trailers.get());
    }
}
