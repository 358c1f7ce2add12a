package io.cy.coordinator;

import io.cy.coordinator.transport.wire.FloodLimits;
import io.cy.coordinator.transport.server.GrpcFrontServer;
import io.cy.coordinator.transport.netty.Endpoint;
import io.cy.coordinator.transport.netty.NettyTransport;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCallHandler;
import io.grpc.ServerServiceDefinition;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;

/** A one-method service of raw bytes on a {@link GrpcFrontServer} of its own, for tests of the transport. */
final class ByteService {

    static final String PATH = "/test.Bytes/Call";

    static final MethodDescriptor.Marshaller<byte[]> BYTES = BytesMarshaller.INSTANCE;

    static final MethodDescriptor<byte[], byte[]> METHOD = MethodDescriptor.<byte[], byte[]>newBuilder()
            .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
            .setFullMethodName(PATH.substring(1))
            .setRequestMarshaller(BYTES)
            .setResponseMarshaller(BYTES)
            .build();

    private ByteService() {}

    /** Default limits and timings; the connection lifetimes given (null: none). */
    static GrpcFrontServer.Settings settings(Duration maxConnectionAge, Duration maxConnectionAgeGrace,
                                             Duration maxConnectionIdle) {
        return new GrpcFrontServer.Settings(100, 8192, 64 * 1024, Duration.ofMinutes(1), Duration.ofSeconds(20),
                Duration.ZERO, Duration.ofSeconds(20), maxConnectionAge, maxConnectionAgeGrace, maxConnectionIdle,
                FloodLimits.DEFAULTS);
    }

    /** Starts a server on a free port serving {@code handler} as {@link #METHOD}. */
    static GrpcFrontServer start(NettyTransport transport, ServerCallHandler<byte[], byte[]> handler,
                                 GrpcFrontServer.Settings settings) throws IOException {
        return new GrpcFrontServer(Endpoint.tcp("127.0.0.1", 0), transport,
                List.of(ServerServiceDefinition.builder("test.Bytes").addMethod(METHOD, handler).build()),
                settings).start();
    }

    static InetSocketAddress address(GrpcFrontServer server) {
        return (InetSocketAddress) server.getListenSockets().get(0);
    }
}
