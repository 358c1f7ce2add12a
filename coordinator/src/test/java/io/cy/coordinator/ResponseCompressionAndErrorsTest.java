package io.cy.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cy.coordinator.RawHttp2Client.Response;
import io.cy.coordinator.transport.server.GrpcFrontServer;
import io.cy.coordinator.transport.netty.NettyTransport;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What a service asks of its call reaches the wire as grpc-java's server puts it there: gzip
 * responses when the service calls {@code setCompression("gzip")} and the client accepts gzip,
 * {@code grpc-accept-encoding} on every response, and UNKNOWN for a handler or listener that throws.
 */
class ResponseCompressionAndErrorsTest {

    private static final byte[] MESSAGE = "token ".repeat(200).getBytes(StandardCharsets.US_ASCII);
    private static final String APPLICATION_ERROR = "Application error processing RPC";

    private final NettyTransport transport = NettyTransport.create(1, "compression-test");
    private GrpcFrontServer server;
    private ManagedChannel channel;
    private RawHttp2Client raw;

    @AfterEach
    void close() throws InterruptedException {
        if (raw != null) {
            raw.close();
        }
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (server != null) {
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        transport.close();
    }

    @Test
    void aServiceAskingForGzipSendsCompressedMessagesToAClientThatAcceptsGzip() throws Exception {
        startCompressing();
        raw = new RawHttp2Client(ByteService.address(server));

        final int stream = raw.open(RawHttp2Client.grpcRequest(ByteService.PATH).set("grpc-accept-encoding",
                "deflate, gzip"), false);
        raw.data(stream, RawHttp2Client.framed(new byte[0]), true);
        final Response response = raw.response(stream);

        assertThat(response.grpcStatus()).as("%s", response).isZero();
        final RawHttp2Client.Headers headers = response.headerFrames().get(0);
        assertThat(headers.headers().get("grpc-encoding")).hasToString("gzip");
        assertThat(headers.headers().get("grpc-accept-encoding")).hasToString("gzip");
        final ByteBuffer data = ByteBuffer.wrap(response.data());
        assertThat(data.get()).as("the compressed flag").isEqualTo((byte) 1);
        final byte[] compressed = new byte[data.getInt()];
        data.get(compressed);
        assertThat(data.hasRemaining()).as("one message").isFalse();
        assertThat(compressed.length).isLessThan(MESSAGE.length);
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(compressed))) {
            assertThat(in.readAllBytes()).isEqualTo(MESSAGE);
        }
    }

    @Test
    void aClientThatDoesNotAcceptGzipGetsTheMessagesUncompressed() throws Exception {
        startCompressing();
        raw = new RawHttp2Client(ByteService.address(server));

        final int stream = raw.open(RawHttp2Client.grpcRequest(ByteService.PATH), false);
        raw.data(stream, RawHttp2Client.framed(new byte[0]), true);
        final Response response = raw.response(stream);

        assertThat(response.grpcStatus()).as("%s", response).isZero();
        assertThat(response.headerFrames().get(0).headers().get("grpc-encoding")).isNull();
        assertThat(response.data()).isEqualTo(RawHttp2Client.framed(MESSAGE));
    }

    @Test
    void aGrpcJavaClientReadsTheCompressedResponses() throws Exception {
        startCompressing();
        final CompletableFuture<String> encoding = new CompletableFuture<>();
        channel = NettyChannelBuilder.forAddress(ByteService.address(server)).usePlaintext()
                .intercept(responseEncoding(encoding)).build();

        final byte[] response = ClientCalls.blockingUnaryCall(channel, unary(),
                CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), new byte[0]);

        assertThat(response).isEqualTo(MESSAGE);
        assertThat(encoding.get(10, TimeUnit.SECONDS)).isEqualTo("gzip");
    }

    @Test
    void aListenerThatThrowsEndsTheCallWithUnknown() throws Exception {
        server = ByteService.start(transport, (call, headers) -> {
            call.request(1);
            return new ServerCall.Listener<>() {
                @Override
                public void onMessage(byte[] message) {
                    throw new IllegalStateException("a bug with a secret in its message");
                }
            };
        }, ByteService.settings(null, null, null));

        assertUnknownWithoutDetail();
    }

    @Test
    void aHandlerThatThrowsAtStartEndsTheCallWithUnknown() throws Exception {
        server = ByteService.start(transport, (call, headers) -> {
            throw new IllegalStateException("a bug with a secret in its message");
        }, ByteService.settings(null, null, null));

        assertUnknownWithoutDetail();
    }

    private void assertUnknownWithoutDetail() {
        channel = NettyChannelBuilder.forAddress(ByteService.address(server)).usePlaintext().build();

        assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, unary(),
                CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), new byte[0]))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNKNOWN);
                    assertThat(e.getStatus().getDescription()).isEqualTo(APPLICATION_ERROR);
                });
    }

    /** A service that asks for gzip and answers every request with {@link #MESSAGE}. */
    private void startCompressing() throws Exception {
        final ServerCallHandler<byte[], byte[]> handler = (call, headers) -> {
            call.request(1);
            return new ServerCall.Listener<>() {
                @Override
                public void onMessage(byte[] message) {
                    call.setCompression("gzip");
                    call.sendHeaders(new Metadata());
                    call.sendMessage(Arrays.copyOf(MESSAGE, MESSAGE.length));
                    call.close(Status.OK, new Metadata());
                }
            };
        };
        server = ByteService.start(transport, handler, ByteService.settings(null, null, null));
    }

    private static MethodDescriptor<byte[], byte[]> unary() {
        return ByteService.METHOD.toBuilder().setType(MethodDescriptor.MethodType.UNARY).build();
    }

    /** Completes {@code encoding} with the response headers' {@code grpc-encoding}. */
    private static ClientInterceptor responseEncoding(CompletableFuture<String> encoding) {
        final Metadata.Key<String> key = Metadata.Key.of("grpc-encoding", Metadata.ASCII_STRING_MARSHALLER);
        return new ClientInterceptor() {
            @Override
            public <ReqT, RespT> ClientCall<ReqT, RespT> interceptCall(MethodDescriptor<ReqT, RespT> method,
                                                                       CallOptions options, Channel next) {
                return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
                    @Override
                    public void start(Listener<RespT> listener, Metadata headers) {
                        super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
                            @Override
                            public void onHeaders(Metadata responseHeaders) {
                                encoding.complete(responseHeaders.get(key));
                                super.onHeaders(responseHeaders);
                            }
                        }, headers);
                    }
                };
            }
        };
    }
}
