package io.cy.coordinator.interop;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cy.coordinator.auth.AuthInterceptor;
import io.cy.coordinator.auth.Authenticator;
import io.cy.coordinator.config.ConfigLoader;
import io.cy.coordinator.config.CoordinatorConfig;
import io.cy.coordinator.transport.server.GrpcFrontServer;
import io.cy.coordinator.transport.netty.Endpoint;
import io.cy.coordinator.transport.netty.NettyTransport;
import io.grpc.ClientInterceptor;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.grpc.testing.integration.AbstractInteropTest;
import io.grpc.testing.integration.EmptyProtos;
import io.grpc.testing.integration.Messages.BoolValue;
import io.grpc.testing.integration.Messages.SimpleRequest;
import io.grpc.testing.integration.Messages.SimpleResponse;
import io.grpc.testing.integration.TestServiceGrpc;
import io.grpc.testing.integration.TestServiceImpl;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * grpc-java's interop suite, its Netty client against the coordinator's own HTTP/2 server
 * ({@link GrpcFrontServer}) serving the suite's {@code TestServiceImpl} behind the coordinator's
 * {@link AuthInterceptor}, with an API key the client sends as its bearer token. Each case gets a
 * server and a channel of its own, as the suite's JUnit 4 set-up gives them.
 */
@Timeout(60)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FrontServerInteropTest {

    private static final String API_KEY = "interop-test-key";
    private static final Metadata.Key<String> GRPC_ENCODING =
            Metadata.Key.of("grpc-encoding", Metadata.ASCII_STRING_MARSHALLER);
    private static final Metadata.Key<String> GRPC_ACCEPT_ENCODING =
            Metadata.Key.of("grpc-accept-encoding", Metadata.ASCII_STRING_MARSHALLER);

    private final ConcurrentLinkedQueue<String> refusals = new ConcurrentLinkedQueue<>();
    private NettyTransport transport;
    private Authenticator authenticator;
    private AuthInterceptor auth;

    @BeforeAll
    void start() throws Exception {
        transport = NettyTransport.create(2, "interop-front");
        final CoordinatorConfig.Auth config = ConfigLoader.fromYaml("""
                auth:
                  api_keys:
                    - {name: interop, sha256: "%s", tenant: interop, roles: [user]}
                """.formatted(sha256Hex(API_KEY)), Map.of("CY_AUTH_MODE", "required")).config().auth();
        authenticator = Authenticator.start(config);
        auth = new AuthInterceptor(authenticator, config,
                (method, status, peer, traceId, api) -> refusals.add(method + " " + status));
    }

    @AfterAll
    void stop() {
        if (authenticator != null) {
            authenticator.close();
        }
        if (transport != null) {
            transport.close();
        }
    }

    static Stream<InteropCase> calls() {
        return Stream.of(InteropCase.CALLS, InteropCase.UNIMPLEMENTED, InteropCase.COMPRESSED).flatMap(List::stream);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("calls")
    void passes(InteropCase interopCase) throws Exception {
        run(interopCase);
    }

    @Test
    void theSuitesCallsGoThroughTheCoordinatorsAuthentication() {
        final Suite suite = new Suite();
        suite.setUp();
        try {
            assertThatThrownBy(() -> TestServiceGrpc.newBlockingStub(suite.channel()).emptyCall(EmptyProtos.Empty.getDefaultInstance()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e ->
                            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
        } finally {
            suite.tearDown();
        }
        assertThat(refusals).singleElement().asString().contains("grpc.testing.TestService/EmptyCall");
        refusals.clear();
    }

    /**
     * The suite's server_compressed cases pass whether or not the response was compressed (without
     * grpc-java's census module it cannot see); this is what they would see with it. grpc-java's
     * own server passes it.
     */
    @Test
    void aResponseTheServiceAsksToCompressComesGzippedWithTheEncodingsAdvertised() {
        final Suite suite = new Suite();
        suite.setUp();
        try {
            final AtomicReference<Metadata> headers = new AtomicReference<>();
            final AtomicReference<Metadata> trailers = new AtomicReference<>();
            final SimpleResponse response = TestServiceGrpc.newBlockingStub(suite.channel())
                    .withInterceptors(suite.withKey(), MetadataUtils.newCaptureMetadataInterceptor(headers, trailers))
                    .unaryCall(SimpleRequest.newBuilder()
                            .setResponseCompressed(BoolValue.newBuilder().setValue(true))
                            .setResponseSize(1024)
                            .build());
            assertThat(response.getPayload().getBody().size()).isEqualTo(1024);
            assertThat(headers.get().get(GRPC_ENCODING)).isEqualTo("gzip");
            assertThat(headers.get().get(GRPC_ACCEPT_ENCODING)).contains("gzip");
        } finally {
            suite.tearDown();
        }
    }

    private void run(InteropCase interopCase) throws Exception {
        final Suite suite = new Suite();
        suite.setUp();
        try {
            interopCase.body().run(suite);
        } finally {
            suite.tearDown();
        }
        // Every call of the suite carried the key: a refusal would be a bug of this test, not a pass.
        assertThat(refusals).isEmpty();
    }

    /**
     * The suite as its client runs it against a server of someone else's: it starts no server of
     * its own (so it checks what a client sees, not grpc-java's server-side stream tracers), and
     * calls the front server started here for the case.
     */
    private final class Suite extends AbstractInteropTest {

        private ScheduledExecutorService serviceExecutor;
        private GrpcFrontServer server;

        @Override
        public void setUp() {
            serviceExecutor = Executors.newScheduledThreadPool(2);
            // The suite's service with the interceptors it comes with (they echo custom metadata),
            // behind the coordinator's authentication, as the coordinator serves its own.
            final ServerServiceDefinition service = ServerInterceptors.intercept(
                    ServerInterceptors.intercept(new TestServiceImpl(serviceExecutor), TestServiceImpl.interceptors()),
                    auth);
            server = new GrpcFrontServer(Endpoint.tcp("127.0.0.1", 0), transport, List.of(service),
                    new GrpcFrontServer.Settings(100, 16 * 1024, MAX_MESSAGE_SIZE, Duration.ofMinutes(2),
                            Duration.ofSeconds(20), Duration.ofMinutes(5), Duration.ofSeconds(20)));
            try {
                server.start();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            super.setUp();
        }

        @Override
        public void tearDown() {
            super.tearDown();
            server.shutdownNow();
            try {
                server.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            serviceExecutor.shutdownNow();
        }

        /** The channel without the key the suite's stubs send. */
        ManagedChannel channel() {
            return channel;
        }

        @Override
        protected ManagedChannelBuilder<?> createChannelBuilder() {
            final int port = ((InetSocketAddress) server.getListenSockets().get(0)).getPort();
            return transport.channelBuilder(Endpoint.tcp("127.0.0.1", port))
                    .maxInboundMessageSize(MAX_MESSAGE_SIZE);
        }

        @Override
        protected ClientInterceptor[] getAdditionalInterceptors() {
            return new ClientInterceptor[] {withKey()};
        }

        /** Sends the API key as the bearer token. */
        ClientInterceptor withKey() {
            final Metadata headers = new Metadata();
            headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + API_KEY);
            return MetadataUtils.newAttachHeadersInterceptor(headers);
        }

        @Override
        protected boolean metricsExpected() {
            // The census figures need grpc-java's own server builder.
            return false;
        }
    }

    private static String sha256Hex(String key) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key.getBytes(UTF_8)));
    }
}
