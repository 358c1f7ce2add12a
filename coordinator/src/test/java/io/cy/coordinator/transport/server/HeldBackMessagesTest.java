package io.cy.coordinator.transport.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.transport.netty.Endpoint;
import io.cy.coordinator.transport.netty.NettyTransport;
import io.cy.coordinator.BytesMarshaller;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Messages sent in one turn of the event loop wait for its end and go out as one write: they
 * must still arrive whole, in order and before the trailers, and a call that sends while it is
 * ready must still be stopped by a client that reads nothing.
 */
class HeldBackMessagesTest {

    private static final int CLIENT_WINDOW_BYTES = 64 * 1024;

    private final NettyTransport transport = NettyTransport.create(1, "held-back-test");
    private GrpcFrontServer server;
    private ManagedChannel channel;

    @AfterEach
    void close() throws InterruptedException {
        if (channel != null) {
            channel.shutdownNow();
            channel.awaitTermination(5, TimeUnit.SECONDS);
        }
        if (server != null) {
            server.shutdownNow();
            server.awaitTermination(5, TimeUnit.SECONDS);
        }
        transport.close();
    }

    @Test
    void aBurstLargerThanOneHeldBackFrameArrivesWholeAndInOrderBeforeTheTrailers() throws Exception {
        // 300 messages of 300 bytes: several times the bytes held back at most, within the client's window.
        start((call, request) -> {
            for (int i = 0; i < 300; i++) {
                call.sendMessage(message(i, 300));
            }
            call.close(Status.OK, new Metadata());
        });

        final Iterator<byte[]> responses = ClientCalls.blockingServerStreamingCall(channel, BURST,
                CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), new byte[0]);
        final List<Integer> indexes = new ArrayList<>();
        while (responses.hasNext()) {
            final byte[] response = responses.next();
            assertThat(response).hasSize(300);
            indexes.add(ByteBuffer.wrap(response).getInt());
        }

        assertThat(indexes).hasSize(300);
        for (int i = 0; i < indexes.size(); i++) {
            assertThat(indexes.get(i)).as("message %d", i).isEqualTo(i);
        }
    }

    @Test
    void aCallSendingWhileReadyIsStoppedWithinTheWindowOfAClientThatReadsNothing() throws Exception {
        final CompletableFuture<Integer> sentBytes = new CompletableFuture<>();
        start((call, request) -> {
            // As the forwarder does: send while the client can take more, here all in one turn.
            int sent = 0;
            while (call.isReady() && sent < 4 * 1024 * 1024) {
                call.sendMessage(message(sent, 1024));
                sent += 1024 + 5;
            }
            sentBytes.complete(sent);
        });

        final ClientCall<byte[], byte[]> call = channel.newCall(BURST, CallOptions.DEFAULT);
        call.start(new ClientCall.Listener<>() { }, new Metadata());
        // Never call.request(): the client's windows stay closed once full.
        call.sendMessage(new byte[0]);
        call.halfClose();

        final int sent = sentBytes.get(10, TimeUnit.SECONDS);
        assertThat(sent).isGreaterThan(CLIENT_WINDOW_BYTES / 2)
                .isLessThanOrEqualTo(CLIENT_WINDOW_BYTES + FrontCall.UNSENT_LIMIT + 1024 + 5);
        call.cancel("done", null);
    }

    private void start(BiConsumer<ServerCall<byte[], byte[]>, byte[]> onRequest) throws IOException {
        final ServerCallHandler<byte[], byte[]> handler = (call, headers) -> {
            call.request(1);
            return new ServerCall.Listener<>() {
                @Override
                public void onMessage(byte[] request) {
                    call.sendHeaders(new Metadata());
                    onRequest.accept(call, request);
                }
            };
        };
        server = new GrpcFrontServer(Endpoint.tcp("127.0.0.1", 0), transport,
                List.of(ServerServiceDefinition.builder("test.Burst").addMethod(BURST, handler).build()),
                new GrpcFrontServer.Settings(100, 8192, 4096, Duration.ofMinutes(1), Duration.ofSeconds(20),
                        Duration.ZERO, Duration.ofSeconds(20))).start();
        final int port = ((InetSocketAddress) server.getListenSockets().get(0)).getPort();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext()
                .flowControlWindow(CLIENT_WINDOW_BYTES).build();
    }

    /** {@code size} bytes starting with {@code index}. */
    private static byte[] message(int index, int size) {
        return ByteBuffer.allocate(size).putInt(index).array();
    }

    private static final MethodDescriptor.Marshaller<byte[]> BYTES = BytesMarshaller.INSTANCE;

    private static final MethodDescriptor<byte[], byte[]> BURST = MethodDescriptor.<byte[], byte[]>newBuilder()
            .setType(MethodDescriptor.MethodType.SERVER_STREAMING)
            .setFullMethodName("test.Burst/Send")
            .setRequestMarshaller(BYTES)
            .setResponseMarshaller(BYTES)
            .build();
}
