package io.cy.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.ControlMessage;
import io.cy.llm.proto.GenerationParameters;
import io.cy.llm.proto.StreamMetadata;
import io.cy.llm.proto.StreamPredictRequest;
import io.cy.llm.proto.StreamPredictResponse;
import io.cy.llm.proto.WorkerHealthRequest;
import io.cy.llm.proto.WorkerHealthResponse;
import io.cy.coordinator.transport.netty.Endpoint;
import io.cy.coordinator.transport.netty.NettyTransport;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The simulated sidecar against a real gRPC Netty client over real sockets; run once over a
 * Unix socket and once over TCP by the subclasses.
 */
abstract class SidecarContractTest {

    static final Duration TIMEOUT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    private NettyTransport clientTransport;
    private final List<ManagedChannel> channels = new ArrayList<>();
    private final List<SimulatedSidecar> sidecars = new ArrayList<>();

    /** The address to start sidecars on. */
    abstract String listen(Path dir);

    @BeforeEach
    void createClientTransport() {
        clientTransport = NettyTransport.create(1, "test-client");
    }

    @AfterEach
    void closeEverything() throws InterruptedException {
        for (ManagedChannel channel : channels) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        for (SimulatedSidecar sidecar : sidecars) {
            sidecar.close();
        }
        clientTransport.close();
    }

    SimulatedSidecar start(SimConfig.Builder config) throws IOException {
        final SimulatedSidecar sidecar = SimulatedSidecar.start(config.listen(listen(dir)).build());
        sidecars.add(sidecar);
        return sidecar;
    }

    ManagedChannel channel(SimulatedSidecar sidecar) {
        return channel(sidecar, 0);
    }

    /** @param flowControlWindow 0 for gRPC's default (auto-tuned) window */
    ManagedChannel channel(SimulatedSidecar sidecar, int flowControlWindow) {
        final var builder = clientTransport.channelBuilder(Endpoint.parse(sidecar.target()));
        if (flowControlWindow > 0) {
            builder.flowControlWindow(flowControlWindow);
        }
        final ManagedChannel channel = builder.build();
        channels.add(channel);
        return channel;
    }

    static StreamPredictRequest request(String prompt, int maxNewTokens, Map<String, String> extra) {
        return StreamPredictRequest.newBuilder()
                .setModelId("m1")
                .setPrompt(prompt)
                .setGeneration(GenerationParameters.newBuilder().setMaxNewTokens(maxNewTokens).setTemperature(0.7))
                .setMetadata(StreamMetadata.newBuilder().setTraceId("trace-1").putAllExtra(extra))
                .build();
    }

    /** Sends one request, half-closes, and returns the collector of the responses. */
    static ResponseCollector call(ManagedChannel channel, StreamPredictRequest request) {
        final ResponseCollector responses = new ResponseCollector();
        final StreamObserver<StreamPredictRequest> requests = AiInferenceGrpc.newStub(channel).streamPredict(responses);
        requests.onNext(request);
        requests.onCompleted();
        return responses;
    }

    @Test
    void streamsChunksThenFinalMessage() throws Exception {
        final SimulatedSidecar sim = start(SimConfig.builder());
        final StreamPredictRequest request = request("User: Hello\nAssistant:", 5, Map.of());

        final ResponseCollector responses = call(channel(sim), request);

        assertThat(responses.awaitStatus(TIMEOUT).getCode()).isEqualTo(Status.Code.OK);
        final List<StreamPredictResponse> all = responses.responses();
        assertThat(all).hasSize(6);
        for (int i = 0; i < 5; i++) {
            final StreamPredictResponse chunk = all.get(i);
            assertThat(chunk.getIndex()).isEqualTo(i);
            assertThat(chunk.getEndOfStream()).isFalse();
            assertThat(chunk.getChunk()).isNotEmpty();
            assertThat(chunk.getTraceId()).isEqualTo("trace-1");
        }
        final StreamPredictResponse last = all.get(5);
        assertThat(last.getChunk()).isEmpty();
        assertThat(last.getEndOfStream()).isTrue();
        assertThat(last.getIndex()).isEqualTo(5);
        assertThat(last.getTraceId()).isEqualTo("trace-1");
        assertThat(last.getTtftMs()).isGreaterThanOrEqualTo(0f);
        assertThat(last.getTokensPerSec()).isPositive();

        final SimStats stats = sim.stats();
        assertThat(stats.callsStarted()).isEqualTo(1);
        assertThat(stats.callsSucceeded()).isEqualTo(1);
        assertThat(stats.callsFailed()).isZero();
        assertThat(stats.chunksSent()).isEqualTo(5);
        assertThat(stats.inflight()).isZero();
        assertThat(stats.maxInflight()).isEqualTo(1);
        assertThat(stats.lastRequest()).isEqualTo(request);
    }

    @Test
    void equalRequestsYieldEqualChunks() throws Exception {
        final SimulatedSidecar sim = start(SimConfig.builder());
        final ManagedChannel channel = channel(sim);

        final ResponseCollector first = call(channel, request("tell me a story", 20, Map.of()));
        final ResponseCollector second = call(channel, request("tell me a story", 20, Map.of()));
        final ResponseCollector other = call(channel, request("something else entirely", 20, Map.of()));

        assertThat(first.awaitStatus(TIMEOUT).isOk()).isTrue();
        assertThat(second.awaitStatus(TIMEOUT).isOk()).isTrue();
        assertThat(other.awaitStatus(TIMEOUT).isOk()).isTrue();
        assertThat(first.chunks()).hasSize(20).allMatch(c -> c.length() > 0);
        assertThat(second.chunks()).isEqualTo(first.chunks());
        assertThat(other.chunks()).isNotEqualTo(first.chunks());
    }

    @Test
    void zeroMaxNewTokensMeansTheDefault() throws Exception {
        final SimulatedSidecar sim = start(SimConfig.builder().defaultMaxNewTokens(3));

        final ResponseCollector responses = call(channel(sim), request("hi", 0, Map.of()));

        assertThat(responses.awaitStatus(TIMEOUT).isOk()).isTrue();
        assertThat(responses.chunks()).hasSize(3);
    }

    @Test
    void paddedChunksHaveTheRequestedSize() throws Exception {
        final SimulatedSidecar sim = start(SimConfig.builder().chunkBytes(100));
        final ManagedChannel channel = channel(sim);

        final ResponseCollector configured = call(channel, request("hi", 4, Map.of()));
        final ResponseCollector overridden = call(channel, request("hi", 4, Map.of("sim.chunk_bytes", "7")));

        assertThat(configured.awaitStatus(TIMEOUT).isOk()).isTrue();
        assertThat(configured.chunks()).hasSize(4).allMatch(c -> c.length() == 100);
        assertThat(overridden.awaitStatus(TIMEOUT).isOk()).isTrue();
        assertThat(overridden.chunks()).hasSize(4).allMatch(c -> c.length() == 7);
    }

    @Test
    void laterRequestMessagesAreIgnored() throws Exception {
        final SimulatedSidecar sim = start(SimConfig.builder());
        final ResponseCollector responses = new ResponseCollector();
        final StreamObserver<StreamPredictRequest> requests =
                AiInferenceGrpc.newStub(channel(sim)).streamPredict(responses);

        requests.onNext(request("first", 2, Map.of()));
        requests.onNext(request("second", 50, Map.of()));
        requests.onCompleted();

        assertThat(responses.awaitStatus(TIMEOUT).isOk()).isTrue();
        assertThat(responses.chunks()).hasSize(2);
        assertThat(sim.stats().lastRequest().getPrompt()).isEqualTo("first");
    }

    @Test
    void emptyRequestStreamIsInvalid() throws Exception {
        final SimulatedSidecar sim = start(SimConfig.builder());
        final ResponseCollector responses = new ResponseCollector();

        AiInferenceGrpc.newStub(channel(sim)).streamPredict(responses).onCompleted();

        final Status status = responses.awaitStatus(TIMEOUT);
        assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(status.getDescription()).isEqualTo("Empty request stream");
        assertThat(sim.stats().callsFailed()).isEqualTo(1);
        assertThat(sim.stats().inflight()).isZero();
    }

    @Test
    void unknownModelIsNotFound() throws Exception {
        final SimulatedSidecar sim = start(SimConfig.builder().models(List.of("m1", "m2")));
        final ManagedChannel channel = channel(sim);

        final ResponseCollector unknown = call(channel, request("hi", 2, Map.of()).toBuilder().setModelId("m9").build());
        final ResponseCollector known = call(channel, request("hi", 2, Map.of()).toBuilder().setModelId("m2").build());

        final Status status = unknown.awaitStatus(TIMEOUT);
        assertThat(status.getCode()).isEqualTo(Status.Code.NOT_FOUND);
        assertThat(status.getDescription()).isEqualTo("model not found: m9");
        assertThat(known.awaitStatus(TIMEOUT).isOk()).isTrue();
    }

    @Test
    void tooLongPromptIsInvalid() throws Exception {
        final SimulatedSidecar sim = start(SimConfig.builder().maxPromptBytes(10));

        // Bytes, not characters: "é" is two bytes in UTF-8.
        final ResponseCollector responses = call(channel(sim), request("héllo wörld", 2, Map.of()));

        final Status status = responses.awaitStatus(TIMEOUT);
        assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(status.getDescription()).isEqualTo("prompt too long: 13 bytes (max 10)");
    }

    @Test
    void internalTokenIsEnforcedOnEveryMethod() throws Exception {
        final SimulatedSidecar sim = start(SimConfig.builder().internalToken("s3cret"));
        final ManagedChannel channel = channel(sim);
        final AiInferenceGrpc.AiInferenceBlockingStub anonymous = AiInferenceGrpc.newBlockingStub(channel);
        final AiInferenceGrpc.AiInferenceBlockingStub wrong = anonymous.withInterceptors(bearer("guess"));
        final AiInferenceGrpc.AiInferenceBlockingStub right = anonymous.withInterceptors(bearer("s3cret"));

        assertUnauthenticated(() -> anonymous.health(WorkerHealthRequest.getDefaultInstance()));
        assertUnauthenticated(() -> wrong.health(WorkerHealthRequest.getDefaultInstance()));
        assertUnauthenticated(() -> anonymous.control(ControlMessage.newBuilder().setCommand("ping").build()));
        assertThat(right.health(WorkerHealthRequest.getDefaultInstance()).getHealthy()).isTrue();
        assertThat(right.control(ControlMessage.newBuilder().setCommand("ping").build()).getCommand())
                .isEqualTo("ping_response");

        final ResponseCollector rejected = call(channel, request("hi", 2, Map.of()));
        assertThat(rejected.awaitStatus(TIMEOUT).getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
        assertThat(rejected.responses()).isEmpty();
        final ResponseCollector accepted = new ResponseCollector();
        final StreamObserver<StreamPredictRequest> requests =
                AiInferenceGrpc.newStub(channel).withInterceptors(bearer("s3cret")).streamPredict(accepted);
        requests.onNext(request("hi", 2, Map.of()));
        requests.onCompleted();
        assertThat(accepted.awaitStatus(TIMEOUT).isOk()).isTrue();
        assertThat(sim.stats().lastHeaders().get(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER)))
                .isEqualTo("Bearer s3cret");
        // A health call afterwards (the coordinator's probes) replaces the headers of "any call"
        // but not those of the last StreamPredict.
        assertUnauthenticated(() -> anonymous.withInterceptors(bearer("probe-guess"))
                .health(WorkerHealthRequest.getDefaultInstance()));
        final Metadata.Key<String> authorization = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
        assertThat(sim.stats().lastHeaders().get(authorization)).isEqualTo("Bearer probe-guess");
        assertThat(sim.stats().lastHeaders("StreamPredict").get(authorization)).isEqualTo("Bearer s3cret");
        assertThat(sim.stats().lastHeaders("Health").get(authorization)).isEqualTo("Bearer probe-guess");
        assertThat(sim.stats().callsFailed()).isEqualTo(1);
        assertThat(sim.stats().callsSucceeded()).isEqualTo(1);
    }

    @Test
    void failsBeforeTheFirstChunk() throws Exception {
        // A long time to first token: a failure at 0 must not wait for it.
        final SimulatedSidecar sim = start(SimConfig.builder().timeToFirstToken(Duration.ofMinutes(1)));

        final ResponseCollector responses = call(channel(sim),
                request("hi", 5, Map.of("sim.fail", "RESOURCE_EXHAUSTED", "sim.fail_after", "0")));

        final Status status = responses.awaitStatus(TIMEOUT);
        assertThat(status.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(status.getDescription()).isEqualTo("simulated RESOURCE_EXHAUSTED after 0 chunks");
        assertThat(responses.responses()).isEmpty();
        assertThat(sim.stats().callsFailed()).isEqualTo(1);
        assertThat(sim.stats().inflight()).isZero();
    }

    @Test
    void failsAfterConfiguredChunks() throws Exception {
        final SimulatedSidecar sim = start(SimConfig.builder().failStatus(Status.Code.INTERNAL).failAfter(3));

        final ResponseCollector responses = call(channel(sim), request("hi", 10, Map.of()));

        final Status status = responses.awaitStatus(TIMEOUT);
        assertThat(status.getCode()).isEqualTo(Status.Code.INTERNAL);
        assertThat(status.getDescription()).isEqualTo("simulated INTERNAL after 3 chunks");
        assertThat(responses.responses()).extracting(StreamPredictResponse::getIndex).containsExactly(0, 1, 2);
        assertThat(sim.stats().chunksSent()).isEqualTo(3);
    }

    @Test
    void badOverridesAreInvalidAndNameTheKey() throws Exception {
        final SimulatedSidecar sim = start(SimConfig.builder());
        final ManagedChannel channel = channel(sim);

        final Map<Map<String, String>, String> cases = Map.of(
                Map.of("sim.fail", "NOPE"), "sim.fail: NOPE (expected: a gRPC status code name other than OK, e.g. NOT_FOUND)",
                Map.of("sim.fail", "OK"), "sim.fail: OK (expected: a gRPC status code name other than OK, e.g. NOT_FOUND)",
                Map.of("sim.fail", "INTERNAL", "sim.fail_after", "-2"), "sim.fail_after: -2 (expected: an integer >= 0)",
                Map.of("sim.ttft_ms", "soon"), "sim.ttft_ms: soon (expected: milliseconds, an integer >= 0)",
                Map.of("sim.fail_after", "1"), "sim.fail_after: 1 (expected: together with sim.fail)",
                Map.of("sim.stall_afterr", "1"), "sim.stall_afterr: unknown key (expected one of: sim.fail,"
                        + " sim.fail_after, sim.stall_after, sim.ttft_ms, sim.gap_ms, sim.chunk_bytes)");
        for (Map.Entry<Map<String, String>, String> c : cases.entrySet()) {
            final Status status = call(channel, request("hi", 2, c.getKey())).awaitStatus(TIMEOUT);
            assertThat(status.getCode()).as("%s", c.getKey()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(status.getDescription()).isEqualTo(c.getValue());
        }
    }

    @Test
    void otherExtrasAreIgnored() throws Exception {
        final SimulatedSidecar sim = start(SimConfig.builder());

        final ResponseCollector responses = call(channel(sim), request("hi", 2, Map.of("tenant.tier", "gold")));

        assertThat(responses.awaitStatus(TIMEOUT).isOk()).isTrue();
    }

    @Test
    void delaysAreMeasuredInTheFinalMessage() throws Exception {
        final SimulatedSidecar sim = start(SimConfig.builder().timeToFirstToken(Duration.ofMillis(40)));
        final long startNanos = System.nanoTime();

        final ResponseCollector responses = call(channel(sim), request("hi", 5, Map.of("sim.gap_ms", "5")));

        assertThat(responses.awaitStatus(TIMEOUT).isOk()).isTrue();
        final long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
        assertThat(elapsedMs).isGreaterThanOrEqualTo(40 + 4 * 5);
        final StreamPredictResponse last = responses.responses().get(5);
        assertThat(last.getTtftMs()).isBetween(40f, (float) elapsedMs);
        assertThat(last.getTokensPerSec()).isBetween(1f, 5 / 0.060f);
    }

    @Test
    void stalledCallIsCancelledByTheClient() throws Exception {
        final SimulatedSidecar sim = start(SimConfig.builder());
        final ResponseCollector responses = new ResponseCollector();
        final ClientCallStreamObserver<StreamPredictRequest> requests = (ClientCallStreamObserver<StreamPredictRequest>)
                AiInferenceGrpc.newStub(channel(sim)).streamPredict(responses);
        requests.onNext(request("hi", 10, Map.of("sim.stall_after", "2")));
        requests.onCompleted();

        responses.awaitResponses(2, TIMEOUT);
        assertThat(sim.stats().inflight()).isEqualTo(1);
        requests.cancel("client gave up", null);

        assertThat(sim.stats().awaitCancelled(1, TIMEOUT)).isTrue();
        assertThat(sim.stats().inflight()).isZero();
        assertThat(sim.stats().callsSucceeded()).isZero();
        assertThat(sim.stats().callsFailed()).isZero();
        assertThat(sim.stats().chunksSent()).isEqualTo(2);
        assertThat(responses.awaitStatus(TIMEOUT).getCode()).isEqualTo(Status.Code.CANCELLED);
    }

    @Test
    void inflightCountsConcurrentCallsExactly() throws Exception {
        final SimulatedSidecar sim = start(SimConfig.builder().stallAfter(1));
        final ManagedChannel channel = channel(sim);
        final List<ClientCallStreamObserver<StreamPredictRequest>> calls = new ArrayList<>();
        final List<ResponseCollector> collectors = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            final ResponseCollector responses = new ResponseCollector();
            final var requests = (ClientCallStreamObserver<StreamPredictRequest>)
                    AiInferenceGrpc.newStub(channel).streamPredict(responses);
            requests.onNext(request("hi " + i, 5, Map.of()));
            calls.add(requests);
            collectors.add(responses);
        }
        for (ResponseCollector responses : collectors) {
            responses.awaitResponses(1, TIMEOUT);
        }
        assertThat(sim.stats().inflight()).isEqualTo(3);
        assertThat(sim.stats().callsStarted()).isEqualTo(3);

        calls.forEach(c -> c.cancel("done", null));

        assertThat(sim.stats().awaitCancelled(3, TIMEOUT)).isTrue();
        assertThat(sim.stats().inflight()).isZero();
        assertThat(sim.stats().maxInflight()).isEqualTo(3);
        assertThat(health(channel).getMetricsMap()).containsEntry("requests_inflight", "0");
    }

    @Test
    void closingTheSidecarEndsOpenCalls() throws Exception {
        final SimulatedSidecar sim = start(SimConfig.builder().stallAfter(1).tokenGap(Duration.ofMillis(1)));
        final ResponseCollector responses = call(channel(sim), request("hi", 5, Map.of()));
        responses.awaitResponses(1, TIMEOUT);

        sim.close();
        sim.close(); // idempotent

        assertThat(responses.awaitStatus(TIMEOUT).getCode()).isIn(Status.Code.UNAVAILABLE, Status.Code.CANCELLED);
        assertThat(sim.stats().inflight()).isZero();
        assertThat(sim.stats().callsCancelled()).isEqualTo(1);
    }

    /**
     * A client that takes one message and then nothing: the sim must stop at the HTTP/2 windows
     * (a pushback), not produce the whole stream into a buffer; and resume when the client reads.
     */
    @Test
    void producerStopsWhenTheClientDoesNotRead() throws Exception {
        final int n = 100_000;
        final SimulatedSidecar sim = start(SimConfig.builder().chunkBytes(1024));
        // A fixed 64 KiB window (auto-tuning off) makes the bound independent of timing.
        final ManagedChannel channel = channel(sim, 64 * 1024);
        final AtomicInteger received = new AtomicInteger();
        final CountDownLatch receivedFirst = new CountDownLatch(1);
        final CountDownLatch receivedMore = new CountDownLatch(501);
        final AtomicReference<Status> closed = new AtomicReference<>();
        final CountDownLatch closedLatch = new CountDownLatch(1);
        final ClientCall<StreamPredictRequest, StreamPredictResponse> call =
                channel.newCall(AiInferenceGrpc.getStreamPredictMethod(), CallOptions.DEFAULT);
        call.start(new ClientCall.Listener<>() {
            @Override
            public void onMessage(StreamPredictResponse message) {
                received.incrementAndGet();
                receivedFirst.countDown();
                receivedMore.countDown();
            }

            @Override
            public void onClose(Status status, Metadata trailers) {
                closed.set(status);
                closedLatch.countDown();
            }
        }, new Metadata());
        call.request(1);
        call.sendMessage(request("hi", n, Map.of()));
        call.halfClose();

        assertThat(sim.stats().awaitPushback(TIMEOUT)).isTrue();
        // A round trip on the same connection: by its answer the sim has had every chance to go on.
        assertThat(health(channel).getHealthy()).isTrue();
        final long sentWhileBlocked = sim.stats().chunksSent();
        assertThat(sentWhileBlocked).isLessThan(n / 100);
        // Delivered on the channel's executor, which may run after the health answer came back.
        assertThat(receivedFirst.await(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
        assertThat(received.get()).as("only the one message requested").isEqualTo(1);

        call.request(500);
        assertThat(receivedMore.await(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
        assertThat(sim.stats().chunksSent()).isGreaterThan(sentWhileBlocked);

        call.cancel("enough", null);
        assertThat(sim.stats().awaitCancelled(1, TIMEOUT)).isTrue();
        assertThat(closedLatch.await(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
        assertThat(closed.get().getCode()).isEqualTo(Status.Code.CANCELLED);
        assertThat(sim.stats().inflight()).isZero();
        assertThat(sim.stats().chunksSent()).isLessThan(n);
    }

    @Test
    void longStreamArrivesCompleteAndInOrder() throws Exception {
        final int n = 5_000;
        final SimulatedSidecar sim = start(SimConfig.builder());

        final ResponseCollector responses = call(channel(sim), request("hi", n, Map.of()));

        assertThat(responses.awaitStatus(TIMEOUT).isOk()).isTrue();
        final List<StreamPredictResponse> all = responses.responses();
        assertThat(all).hasSize(n + 1);
        for (int i = 0; i <= n; i++) {
            assertThat(all.get(i).getIndex()).isEqualTo(i);
        }
        assertThat(all.get(n).getEndOfStream()).isTrue();
        assertThat(sim.stats().chunksSent()).isEqualTo(n);
    }

    @Test
    void healthReportsStateAndCounters() throws Exception {
        final SimulatedSidecar sim = start(SimConfig.builder());
        final ManagedChannel channel = channel(sim);
        assertThat(call(channel, request("hi", 1, Map.of())).awaitStatus(TIMEOUT).isOk()).isTrue();
        assertThat(call(channel, request("hi", 1, Map.of("sim.fail", "INTERNAL"))).awaitStatus(TIMEOUT).getCode())
                .isEqualTo(Status.Code.INTERNAL);

        final WorkerHealthResponse health = health(channel);

        assertThat(health.getHealthy()).isTrue();
        assertThat(health.getMetricsMap())
                .containsEntry("backend", "sim")
                .containsEntry("requests_inflight", "0")
                .containsEntry("requests_success", "1")
                .containsEntry("requests_failed", "1")
                .containsKey("version");
        sim.setHealthy(false);
        assertThat(health(channel).getHealthy()).isFalse();
    }

    @Test
    void controlAnswersLikeTheWorker() throws Exception {
        final SimulatedSidecar sim = start(SimConfig.builder().models(List.of("m1", "m2")));
        final AiInferenceGrpc.AiInferenceBlockingStub stub = AiInferenceGrpc.newBlockingStub(channel(sim));

        final ControlMessage pong = stub.control(command("ping", Map.of()));
        assertThat(pong.getCommand()).isEqualTo("ping_response");
        assertThat(pong.getTraceId()).isEqualTo("trace-c");
        assertThat(pong.getPayloadMap()).containsEntry("status", "ok").containsEntry("message", "pong");

        final ControlMessage models = stub.control(command("list_models", Map.of()));
        assertThat(models.getCommand()).isEqualTo("list_models_response");
        assertThat(models.getPayloadMap()).containsEntry("status", "ok").containsEntry("models", "m1,m2");

        final ControlMessage unloaded = stub.control(command("unload_model", Map.of("model_id", "m2")));
        assertThat(unloaded.getCommand()).isEqualTo("unload_model_response");
        assertThat(unloaded.getPayloadMap()).containsEntry("status", "ok");

        final ControlMessage unknownModel = stub.control(command("unload_model", Map.of("model_id", "m9")));
        assertThat(unknownModel.getPayloadMap())
                .containsEntry("status", "error")
                .containsEntry("message", "model not found: m9");

        final ControlMessage other = stub.control(command("reload_config", Map.of()));
        assertThat(other.getCommand()).isEqualTo("ACK: reload_config");
        assertThat(other.getTraceId()).isEqualTo("trace-c");
    }

    @Test
    void listModelsNamesTheLoadedAdaptersWhenGiven() throws Exception {
        final SimulatedSidecar sim = start(SimConfig.builder().models(List.of("m1")).adapters(List.of("a", "b")));

        final ControlMessage models =
                AiInferenceGrpc.newBlockingStub(channel(sim)).control(command("list_models", Map.of()));

        assertThat(models.getPayloadMap()).containsEntry("models", "m1").containsEntry("adapters", "a,b");
    }

    @Test
    void listModelsWithoutConfiguredModelsAnswersSim() throws Exception {
        final SimulatedSidecar sim = start(SimConfig.builder());

        final ControlMessage models =
                AiInferenceGrpc.newBlockingStub(channel(sim)).control(command("list_models", Map.of()));

        assertThat(models.getPayloadMap()).containsEntry("models", "sim");
    }

    @Test
    void unqualifiedServiceNameIsNotServed() throws Exception {
        final SimulatedSidecar sim = start(SimConfig.builder());
        final ManagedChannel channel = channel(sim);

        assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel,
                io.cy.llm.proto.unqualified.AiInferenceGrpc.getHealthMethod(), CallOptions.DEFAULT,
                WorkerHealthRequest.getDefaultInstance()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNIMPLEMENTED));
    }

    @Test
    void refusedConnectionsLookUnavailable() throws Exception {
        final SimulatedSidecar sim = start(SimConfig.builder().refuseConnections(true));
        final AiInferenceGrpc.AiInferenceBlockingStub stub = AiInferenceGrpc.newBlockingStub(channel(sim))
                .withDeadlineAfter(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);

        assertThatThrownBy(() -> stub.health(WorkerHealthRequest.getDefaultInstance()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
    }

    private static WorkerHealthResponse health(ManagedChannel channel) {
        return AiInferenceGrpc.newBlockingStub(channel).health(WorkerHealthRequest.getDefaultInstance());
    }

    private static ControlMessage command(String command, Map<String, String> payload) {
        return ControlMessage.newBuilder().setTraceId("trace-c").setCommand(command).putAllPayload(payload).build();
    }

    private static io.grpc.ClientInterceptor bearer(String token) {
        final Metadata headers = new Metadata();
        headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
        return MetadataUtils.newAttachHeadersInterceptor(headers);
    }

    private static void assertUnauthenticated(Runnable call) {
        assertThatThrownBy(call::run)
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
    }
}
