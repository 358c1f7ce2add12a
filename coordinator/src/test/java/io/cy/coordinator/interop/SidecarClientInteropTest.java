package io.cy.coordinator.interop;

import io.cy.coordinator.transport.client.SidecarStreams;
import io.cy.coordinator.transport.netty.Endpoint;
import io.cy.coordinator.transport.netty.NettyTransport;
import io.grpc.ForwardingServerBuilder;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.testing.integration.AbstractInteropTest;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * grpc-java's interop suite the other way round: the coordinator's HTTP/2 client, the one it
 * calls its sidecars with ({@link SidecarStreams}), calls a grpc-java Netty server serving the
 * suite's {@code TestServiceImpl}. The suite starts that server itself, so it checks the server's
 * side of every call (its stream tracers) as well as what the client got.
 *
 * <p>The cases a client takes part in run, except custom_metadata: a sidecar call hands over the
 * response's trailers but not its headers (the coordinator has no use for them), and the case
 * checks both. The unimplemented and compressed cases are the server's to pass, and this client
 * never compresses.
 */
@Timeout(60)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SidecarClientInteropTest {

    private NettyTransport transport;
    private ScheduledExecutorService timers;

    @BeforeAll
    void start() {
        transport = NettyTransport.create(2, "interop-sidecar");
        timers = Executors.newSingleThreadScheduledExecutor();
    }

    @AfterAll
    void stop() {
        if (timers != null) {
            timers.shutdownNow();
        }
        if (transport != null) {
            transport.close();
        }
    }

    static Stream<InteropCase> calls() {
        return InteropCase.CALLS.stream().filter(c -> !c.name().equals("custom_metadata"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("calls")
    void passes(InteropCase interopCase) throws Exception {
        final Suite suite = new Suite();
        suite.setUp();
        try {
            interopCase.body().run(suite);
        } finally {
            suite.tearDown();
        }
    }

    /** The suite with its own grpc-java server and, for a channel, the coordinator's sidecar client. */
    private final class Suite extends AbstractInteropTest {

        private final KeptServerBuilder server = new KeptServerBuilder(
                transport.serverBuilder(Endpoint.tcp("127.0.0.1", 0)).maxInboundMessageSize(MAX_MESSAGE_SIZE));

        @Override
        protected ServerBuilder<?> getServerBuilder() {
            return server;
        }

        @Override
        protected ManagedChannel createChannel() {
            final int port = ((InetSocketAddress) server.built.getListenSockets().get(0)).getPort();
            final Endpoint endpoint = Endpoint.tcp("127.0.0.1", port);
            final SidecarStreams streams = new SidecarStreams(endpoint, transport.eventLoops(),
                    transport.channelType(endpoint), new SidecarStreams.Settings(1 << 20, MAX_MESSAGE_SIZE, 16 * 1024,
                            Duration.ofMinutes(2), Duration.ofSeconds(20)));
            return new SidecarChannel(streams, endpoint.toString(), timers);
        }

        @Override
        protected ManagedChannelBuilder<?> createChannelBuilder() {
            throw new UnsupportedOperationException("the channel is made by createChannel");
        }

        @Override
        protected boolean metricsExpected() {
            // The census figures need grpc-java's own channel and server builders.
            return false;
        }
    }

    /** A server builder that keeps the server it builds, for its port. */
    private static final class KeptServerBuilder extends ForwardingServerBuilder<KeptServerBuilder> {

        private final ServerBuilder<?> delegate;
        private Server built;

        KeptServerBuilder(ServerBuilder<?> delegate) {
            this.delegate = delegate;
        }

        @Override
        protected ServerBuilder<?> delegate() {
            return delegate;
        }

        @Override
        public Server build() {
            built = super.build();
            return built;
        }
    }
}
