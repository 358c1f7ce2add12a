package io.cy.bench.load;

import static org.assertj.core.api.Assertions.assertThat;

import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.StreamMetadata;
import io.cy.llm.proto.StreamPredictRequest;
import io.cy.llm.proto.StreamPredictResponse;
import io.cy.llm.proto.WorkerHealthRequest;
import io.cy.llm.proto.WorkerHealthResponse;
import io.cy.coordinator.transport.netty.NettyTransport;
import io.cy.sim.SimConfig;
import io.cy.sim.SimulatedSidecar;
import io.cy.coordinator.transport.netty.Endpoint;
import io.grpc.Attributes;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerTransportFilter;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The generator's accounting against a real simulated sidecar (and one deliberately broken server). */
class LoadGeneratorTest {

    private static final Duration LONG = Duration.ofSeconds(30);
    /** Required by the sim only in the test that configures it; sent by every readiness check. */
    private static final String TOKEN = "s3cret";

    private final NettyTransport transport = NettyTransport.create(2, "test-load");
    private SimulatedSidecar sim;
    private ClientChannels channels;
    private Server inProcessServer;
    private ManagedChannel inProcessChannel;

    @AfterEach
    void stop() throws InterruptedException {
        if (channels != null) {
            channels.close();
        }
        if (sim != null) {
            sim.close();
        }
        if (inProcessChannel != null) {
            inProcessChannel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (inProcessServer != null) {
            inProcessServer.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        transport.close();
    }

    private LoadGenerator againstSim(SimConfig.Builder config, int channelCount) throws IOException {
        sim = SimulatedSidecar.start(config.listen("127.0.0.1:0").build());
        channels = ClientChannels.open(transport, sim.endpoint(), channelCount);
        final LoadGenerator generator = new LoadGenerator(channels.channels());
        assertThat(generator.awaitReady(Duration.ofSeconds(10), TOKEN)).isNull();
        return generator;
    }

    /** A generator whose one channel reaches {@code service} in-process. */
    private LoadGenerator againstInProcess(AiInferenceGrpc.AiInferenceImplBase service) throws IOException {
        final String name = InProcessServerBuilder.generateName();
        inProcessServer = InProcessServerBuilder.forName(name).directExecutor().addService(service).build().start();
        inProcessChannel = InProcessChannelBuilder.forName(name).directExecutor().build();
        return new LoadGenerator(List.of(inProcessChannel));
    }

    private static LoadPlan closed(int concurrency, long calls, int tokens, Map<String, String> extra) {
        return new LoadPlan(concurrency, calls, LONG, 0, LoadPlan.request("sim", 32, tokens, extra), tokens, null, LONG);
    }

    private static LoadPlan open(double rate, int outstanding, long calls, Duration duration, Map<String, String> extra) {
        return new LoadPlan(outstanding, calls, duration, rate, LoadPlan.request("sim", 32, 3, extra), 3, null, LONG);
    }

    @Test
    void closedLoopCountsEveryCallAndChunk() throws Exception {
        final LoadGenerator generator = againstSim(SimConfig.builder(), 2);

        final LoadResult result = generator.run(closed(8, 200, 5, Map.of()));

        assertThat(result.started()).isEqualTo(200);
        assertThat(result.succeeded()).isEqualTo(200);
        assertThat(result.errors()).isEmpty();
        assertThat(result.chunks()).isEqualTo(1000);
        assertThat(result.ttfc().getTotalCount()).isEqualTo(200);
        assertThat(result.gaps().getTotalCount()).isEqualTo(800);
        assertThat(result.callTimes().getTotalCount()).isEqualTo(200);
        assertThat(result.elapsedNanos()).isPositive();
        assertThat(result.callsPerSecond()).isEqualTo(200 / result.elapsedSeconds());
        assertThat(sim.stats().callsSucceeded()).isEqualTo(200);
        assertThat(sim.stats().maxInflight()).isLessThanOrEqualTo(8);
    }

    @Test
    void failuresAreCountedByStatus() throws Exception {
        final LoadGenerator generator = againstSim(SimConfig.builder(), 1);

        final LoadResult result = generator.run(closed(4, 40, 5,
                Map.of("sim.fail", "RESOURCE_EXHAUSTED", "sim.fail_after", "2")));

        assertThat(result.started()).isEqualTo(40);
        assertThat(result.succeeded()).isZero();
        assertThat(result.errors()).containsExactly(Map.entry("RESOURCE_EXHAUSTED", 40L));
        assertThat(result.errorCount()).isEqualTo(40);
        assertThat(result.chunks()).isEqualTo(80);
        assertThat(result.callTimes().getTotalCount()).isZero();
        assertThat(result.firstError()).isEqualTo("RESOURCE_EXHAUSTED: simulated RESOURCE_EXHAUSTED after 2 chunks");
    }

    @Test
    void sendsTheBearerToken() throws Exception {
        final LoadGenerator generator = againstSim(SimConfig.builder().internalToken(TOKEN), 1);
        final StreamPredictRequest request = LoadPlan.request("sim", 32, 2, Map.of());

        final LoadResult good = generator.run(new LoadPlan(2, 10, LONG, 0, request, 2, TOKEN, LONG));
        final LoadResult bad = generator.run(new LoadPlan(2, 10, LONG, 0, request, 2, "wrong", LONG));

        assertThat(good.succeeded()).isEqualTo(10);
        assertThat(bad.errors()).containsExactly(Map.entry("UNAUTHENTICATED", 10L));
    }

    @Test
    void openLoopStartsEveryScheduledCall() throws Exception {
        final LoadGenerator generator = againstSim(SimConfig.builder(), 1);

        final LoadResult result = generator.run(open(1000, 100, 100, LONG, Map.of()));

        assertThat(result.started()).isEqualTo(100);
        assertThat(result.succeeded()).isEqualTo(100);
        // Call 99 is due 99 ms after the start.
        assertThat(result.elapsedNanos()).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(99));
        assertThat(sim.stats().callsStarted()).isEqualTo(100);
    }

    @Test
    void openLoopStopsAtTheDuration() throws Exception {
        final LoadGenerator generator = againstSim(SimConfig.builder(), 1);

        // Due at 0, 5, 10, ... 245 ms: 50 calls fall inside 250 ms.
        final LoadResult result = generator.run(open(200, 1000, Long.MAX_VALUE, Duration.ofMillis(250), Map.of()));

        assertThat(result.started()).isEqualTo(50);
        assertThat(result.succeeded()).isEqualTo(50);
    }

    @Test
    void openLoopChargesWaitingForAnOutstandingSlot() throws Exception {
        final LoadGenerator generator = againstSim(SimConfig.builder(), 1);

        // 10 calls due within 9 ms, but only 2 may be outstanding and each takes at least 200 ms:
        // the last pair starts at least 800 ms late, and its latency counts from its due time.
        final LoadResult result = generator.run(open(1000, 2, 10, LONG, Map.of("sim.ttft_ms", "200")));

        assertThat(result.succeeded()).isEqualTo(10);
        assertThat(result.lateStarts()).isGreaterThanOrEqualTo(8);
        assertThat(sim.stats().maxInflight()).isLessThanOrEqualTo(2);
        assertThat(result.ttfc().getMaxValue()).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(790));
    }

    @Test
    void callsStillOpenAfterTheDrainTimeoutAreUnfinished() throws Exception {
        final LoadGenerator generator = againstSim(SimConfig.builder(), 1);

        final LoadResult result = generator.run(new LoadPlan(3, 3, Duration.ofMillis(500), 0,
                LoadPlan.request("sim", 32, 5, Map.of("sim.stall_after", "1")), 5, null, Duration.ZERO));

        assertThat(result.errors()).containsExactly(Map.entry(LoadRun.UNFINISHED, 3L));
        assertThat(result.chunks()).isEqualTo(3);
        assertThat(sim.stats().awaitCancelled(3, Duration.ofSeconds(5))).isTrue();
    }

    @Test
    void malformedStreamsAreErrorsEvenWhenTheyEndOk() throws Exception {
        final LoadGenerator generator = againstInProcess(skippingIndexOne());

        final LoadResult result = generator.run(closed(2, 6, 2, Map.of()));

        assertThat(result.succeeded()).isZero();
        assertThat(result.errors()).containsExactly(Map.entry(LoadRun.BAD_STREAM, 6L));
        assertThat(result.firstError()).isEqualTo("bad_stream: chunk index 2 (expected: 1)");
    }

    @Test
    void everyCallCarriesATraceIdOfItsOwn() throws Exception {
        final Answers recorder = oneToken();
        final LoadGenerator generator = againstInProcess(recorder);

        final LoadResult result = generator.run(closed(4, 50, 1, Map.of()));

        assertThat(result.succeeded()).isEqualTo(50);
        assertThat(recorder.traceIds).hasSize(50).doesNotHaveDuplicates()
                .allSatisfy(id -> assertThat(id).hasSize(36));
    }

    @Test
    void aTraceIdInThePlansRequestIsKept() throws Exception {
        final Answers recorder = oneToken();
        final LoadGenerator generator = againstInProcess(recorder);
        final StreamPredictRequest request = LoadPlan.request("sim", 32, 1, Map.of()).toBuilder()
                .setMetadata(StreamMetadata.newBuilder().setTraceId("mine"))
                .build();

        generator.run(new LoadPlan(2, 5, LONG, 0, request, 1, null, LONG));

        assertThat(recorder.traceIds).containsOnly("mine").hasSize(5);
    }

    @Test
    void aTraceIdIsSetBesideTheRequestsOtherMetadata() {
        final StreamPredictRequest request = LoadPlan.request("sim", 32, 1, Map.of("sim.ttft_ms", "5"));

        final StreamPredictRequest traced = LoadPlan.withTraceId(request, "t-1");

        assertThat(traced.getMetadata().getTraceId()).isEqualTo("t-1");
        assertThat(traced.getMetadata().getExtraMap()).containsExactly(Map.entry("sim.ttft_ms", "5"));
        assertThat(traced.getPrompt()).isEqualTo(request.getPrompt());
    }

    @Test
    void runsOverTheSameChannelsKeepTheirConnections() throws Exception {
        // The bench's load scenarios run a target's warm-up and pairs over the same channels:
        // a run must neither close them nor connect again.
        final AtomicInteger connected = new AtomicInteger();
        inProcessServer = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .directExecutor()
                .addService(oneToken())
                .addTransportFilter(new ServerTransportFilter() {
                    @Override
                    public Attributes transportReady(Attributes attributes) {
                        connected.incrementAndGet();
                        return attributes;
                    }
                })
                .build()
                .start();
        channels = ClientChannels.open(transport, Endpoint.tcp("127.0.0.1", inProcessServer.getPort()), 2);
        final LoadGenerator generator = new LoadGenerator(channels.channels());
        assertThat(generator.awaitReady(Duration.ofSeconds(10), null)).isNull();

        final LoadResult first = generator.run(closed(4, 40, 1, Map.of()));
        assertThat(generator.awaitReady(Duration.ofSeconds(10), null)).isNull();
        final LoadResult second = generator.run(closed(4, 40, 1, Map.of()));

        assertThat(first.succeeded()).isEqualTo(40);
        assertThat(second.succeeded()).isEqualTo(40);
        assertThat(connected).hasValue(2);
    }

    /** Chunk 0 and the final message with index 1: a well-formed stream of one token. */
    private static Answers oneToken() {
        return new Answers(List.of(StreamPredictResponse.newBuilder().setChunk("a").setIndex(0).build(),
                StreamPredictResponse.newBuilder().setEndOfStream(true).setIndex(1).build()));
    }

    /** Chunks 0 and 2, then a final message with index 2: index 1 is missing. */
    private static Answers skippingIndexOne() {
        return new Answers(List.of(StreamPredictResponse.newBuilder().setChunk("a").setIndex(0).build(),
                StreamPredictResponse.newBuilder().setChunk("b").setIndex(2).build(),
                StreamPredictResponse.newBuilder().setEndOfStream(true).setIndex(2).build()));
    }

    /** Answers each call's request with the same messages and ends it OK; keeps the trace ids it was sent. */
    private static final class Answers extends AiInferenceGrpc.AiInferenceImplBase {
        final Queue<String> traceIds = new ConcurrentLinkedQueue<>();
        private final List<StreamPredictResponse> messages;

        Answers(List<StreamPredictResponse> messages) {
            this.messages = messages;
        }

        @Override
        public void health(WorkerHealthRequest request, StreamObserver<WorkerHealthResponse> response) {
            response.onNext(WorkerHealthResponse.getDefaultInstance());
            response.onCompleted();
        }

        @Override
        public StreamObserver<StreamPredictRequest> streamPredict(StreamObserver<StreamPredictResponse> responses) {
            return new StreamObserver<>() {
                @Override
                public void onNext(StreamPredictRequest request) {
                    traceIds.add(request.getMetadata().getTraceId());
                    messages.forEach(responses::onNext);
                    responses.onCompleted();
                }

                @Override
                public void onError(Throwable t) {
                }

                @Override
                public void onCompleted() {
                }
            };
        }
    }
}
