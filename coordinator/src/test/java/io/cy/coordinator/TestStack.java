package io.cy.coordinator;

import io.cy.coordinator.config.ConfigLoader;
import io.cy.coordinator.service.CallSummary;
import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.GenerationParameters;
import io.cy.llm.proto.StreamMetadata;
import io.cy.llm.proto.StreamPredictRequest;
import io.cy.llm.proto.StreamPredictResponse;
import io.cy.coordinator.transport.netty.Endpoint;
import io.cy.coordinator.transport.netty.NettyTransport;
import io.cy.sim.SimConfig;
import io.cy.sim.SimulatedSidecar;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * A coordinator in front of simulated sidecars on real Unix sockets, and clients for both, as
 * the tests use them. Everything it starts is closed by {@link #close()}.
 */
final class TestStack implements AutoCloseable {

    static final Duration TIMEOUT = Duration.ofSeconds(20);

    final List<SimulatedSidecar> sims = new ArrayList<>();
    final Coordinator coordinator;
    final BlockingQueue<CallSummary> summaries = new ArrayBlockingQueue<>(10_000);
    /** The logging MDC as each call-end listener saw it, in the order of {@link #summaries}. */
    final BlockingQueue<Map<String, String>> mdcAtCallEnd = new ArrayBlockingQueue<>(10_000);
    /** Runs in the call-end listener, on its thread, before the summary is queued. */
    volatile Consumer<CallSummary> atCallEnd = summary -> { };
    private final NettyTransport clientTransport = NettyTransport.create(1, "test-client");
    private final List<ManagedChannel> channels = new ArrayList<>();

    private TestStack(List<SimulatedSidecar> sims, String yaml, Map<String, String> env,
                      io.opentelemetry.api.OpenTelemetry tracing) throws IOException {
        this.sims.addAll(sims);
        final Map<String, String> environment = new HashMap<>(env);
        environment.putIfAbsent("SIDECAR_GRPC_ADDR",
                sims.stream().map(SimulatedSidecar::target).collect(Collectors.joining(",")));
        environment.putIfAbsent("COORDINATOR_GRPC_ADDR", "127.0.0.1:0");
        environment.putIfAbsent("COORDINATOR_HTTP_ADDR", "127.0.0.1:0");
        environment.putIfAbsent("CY_ADMIN_ADDR", "127.0.0.1:0");
        // Authentication has tests of its own; the forwarding tests call without credentials.
        environment.putIfAbsent("CY_AUTH_MODE", "none");
        // Likewise the audit log (a spool directory belongs to one coordinator at a time).
        environment.putIfAbsent("CY_AUDIT_ENABLED", "false");
        try {
            final var config = ConfigLoader.fromYaml(yaml, environment).config();
            coordinator = Coordinator.start(config, summary -> {
                atCallEnd.accept(summary);
                final Map<String, String> mdc = org.slf4j.MDC.getCopyOfContextMap();
                mdcAtCallEnd.offer(mdc == null ? Map.of() : mdc);
                summaries.offer(summary);
            }, () -> config, tracing);
        } catch (IOException | RuntimeException e) {
            clientTransport.close();
            throw e;
        }
    }

    /** One simulated sidecar on a Unix socket in {@code dir}, configured by {@code sim}. */
    static TestStack start(Path dir, Consumer<SimConfig.Builder> sim) throws IOException {
        return start(dir, 1, sim, "", Map.of());
    }

    static TestStack start(Path dir, int sidecars, Consumer<SimConfig.Builder> sim, String yaml,
                           Map<String, String> env) throws IOException {
        return start(dir, sidecars, sim, yaml, env, null);
    }

    /** As above, tracing with {@code tracing}; null: as the environment says (off in tests). */
    static TestStack start(Path dir, int sidecars, Consumer<SimConfig.Builder> sim, String yaml,
                           Map<String, String> env, io.opentelemetry.api.OpenTelemetry tracing) throws IOException {
        final List<SimulatedSidecar> started = new ArrayList<>();
        try {
            for (int i = 0; i < sidecars; i++) {
                final SimConfig.Builder builder = SimConfig.builder()
                        .listen("unix://" + dir.resolve("sidecar-" + i + ".sock"));
                sim.accept(builder);
                started.add(SimulatedSidecar.start(builder.build()));
            }
            return new TestStack(started, yaml, env, tracing);
        } catch (IOException | RuntimeException e) {
            started.forEach(SimulatedSidecar::close);
            throw e;
        }
    }

    SimulatedSidecar sim() {
        return sims.get(0);
    }

    /** A channel to the coordinator's TCP listener. */
    ManagedChannel coordinatorChannel() {
        return channel(coordinator.grpcEndpoint());
    }

    /** A channel straight to the first sidecar, for comparing with a call through the coordinator. */
    ManagedChannel directChannel() {
        return channel(sim().endpoint());
    }

    ManagedChannel channel(Endpoint endpoint) {
        final var builder = clientTransport.channelBuilder(endpoint);
        if (endpoint.isUnix()) {
            builder.overrideAuthority("localhost");
        }
        final ManagedChannel channel = builder.build();
        channels.add(channel);
        return channel;
    }

    static StreamPredictRequest request(int maxNewTokens) {
        return request(maxNewTokens, Map.of());
    }

    /** A request with the given {@code sim.*} behaviour keys in {@code metadata.extra}. */
    static StreamPredictRequest request(int maxNewTokens, Map<String, String> extra) {
        return StreamPredictRequest.newBuilder()
                .setModelId("sim")
                .setPrompt("User: Hello\nAssistant:")
                .setGeneration(GenerationParameters.newBuilder()
                        .setMaxNewTokens(maxNewTokens).setTemperature(0.7).setTopP(0.9).setRepetitionPenalty(1.0))
                .setMetadata(StreamMetadata.newBuilder().putAllExtra(extra))
                .build();
    }

    /** What a StreamPredict call delivered, in order, and how it ended. */
    record Result(List<StreamPredictResponse> responses, Status status, Metadata headers, Metadata trailers) {

        List<StreamPredictResponse> chunks() {
            return responses.stream().filter(r -> !r.getEndOfStream()).collect(Collectors.toList());
        }

        String traceIdHeader() {
            final Metadata.Key<String> key = Metadata.Key.of("trace-id", Metadata.ASCII_STRING_MARSHALLER);
            if (headers != null && headers.get(key) != null) {
                return headers.get(key);
            }
            return trailers == null ? null : trailers.get(key);
        }
    }

    /** Sends {@code request}, half-closes and collects everything until the call ends. */
    /** A coordinator on ephemeral TCP ports with authentication, the audit log and the admin listener off. */
    static final Map<String, String> PLAIN_ENV = Map.of("COORDINATOR_GRPC_ADDR", "127.0.0.1:0",
            "COORDINATOR_HTTP_ADDR", "", "CY_AUTH_MODE", "none", "CY_AUDIT_ENABLED", "false", "CY_ADMIN_ADDR", "");

    /** A coordinator configured by {@code file} and {@code env}, which reload_config and SIGHUP read again. */
    static Coordinator startFromFile(Path file, Map<String, String> env) throws IOException {
        return Coordinator.start(ConfigLoader.load(file, env).config(), summary -> { },
                () -> ConfigLoader.load(file, env).config());
    }

    static Result call(ManagedChannel channel, StreamPredictRequest request) throws Exception {
        return call(channel, request, new Metadata(), null);
    }

    static Result call(ManagedChannel channel, StreamPredictRequest request, Metadata headers, Duration deadline)
            throws Exception {
        final CompletableFuture<Result> result = new CompletableFuture<>();
        final List<StreamPredictResponse> responses = new ArrayList<>();
        final AtomicReference<Metadata> responseHeaders = new AtomicReference<>();
        final AtomicReference<Metadata> responseTrailers = new AtomicReference<>();
        var stub = AiInferenceGrpc.newStub(channel).withInterceptors(
                MetadataUtils.newAttachHeadersInterceptor(headers),
                MetadataUtils.newCaptureMetadataInterceptor(responseHeaders, responseTrailers));
        if (deadline != null) {
            stub = stub.withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS);
        }
        final StreamObserver<StreamPredictRequest> requests = stub.streamPredict(new StreamObserver<>() {
            @Override
            public void onNext(StreamPredictResponse value) {
                responses.add(value);
            }

            @Override
            public void onError(Throwable t) {
                result.complete(new Result(responses, Status.fromThrowable(t), responseHeaders.get(), responseTrailers.get()));
            }

            @Override
            public void onCompleted() {
                result.complete(new Result(responses, Status.OK, responseHeaders.get(), responseTrailers.get()));
            }
        });
        requests.onNext(request);
        requests.onCompleted();
        return result.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        channels.forEach(ManagedChannel::shutdownNow);
        coordinator.close();
        sims.forEach(SimulatedSidecar::close);
        clientTransport.close();
    }
}
