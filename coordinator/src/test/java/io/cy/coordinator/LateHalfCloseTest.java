package io.cy.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.transport.netty.NettyTransport;
import io.cy.coordinator.transport.server.GrpcFrontServer;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.Status;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A server that answers before the client has half-closed (a unary answer computed from the first
 * message, whose END_STREAM comes in a frame of its own) must not reset the stream: the client's
 * END_STREAM would then land on a closed stream, each such call would cost a STREAM_CLOSED reset,
 * and the flood limit on resets sent (200 per 30 s) would end a busy client's connection with
 * ENHANCE_YOUR_CALM. grpc-java's server leaves such a stream half-closed, and so does ours; and
 * a client's reset of a stream whose answer it already has is not counted as a rapid reset.
 */
class LateHalfCloseTest {

    private static final int CALLS = 300;

    private NettyTransport transport;
    private GrpcFrontServer server;
    private RawFrameSocket client;

    @BeforeEach
    void start() throws Exception {
        transport = NettyTransport.create(1, "late-half-close");
        final ServerCallHandler<byte[], byte[]> answerFirstMessage = (call, headers) -> {
            call.request(1);
            return new ServerCall.Listener<>() {
                @Override
                public void onMessage(byte[] message) {
                    call.sendHeaders(new Metadata());
                    call.sendMessage(message);
                    call.close(Status.OK, new Metadata());
                }
            };
        };
        server = ByteService.start(transport, answerFirstMessage, ByteService.settings(null, null, null));
        // Frames written as bytes: nothing on the client's side drops a DATA frame for a stream it saw reset.
        client = new RawFrameSocket(ByteService.address(server), 1 << 16);
    }

    @AfterEach
    void stop() {
        if (client != null) {
            try {
                client.close();
            } catch (java.io.IOException ignored) {
                // Closing anyway.
            }
        }
        if (server != null) {
            server.shutdownNow();
        }
        if (transport != null) {
            transport.close();
        }
    }

    @Test
    void manyCallsAnsweredBeforeTheClientHalfClosesKeepTheConnection() throws Exception {
        // The client's END_STREAM, after the server's: legal, and no error.
        assertNoGoAwayAfterCallsEndedBy(stream -> client.frame(RawFrameSocket.DATA, RawFrameSocket.END_STREAM, stream,
                new byte[0]));
    }

    @Test
    void manyCallsTheClientCancelsOnceAnsweredKeepTheConnection() throws Exception {
        // What a grpc-java client does when the answer comes before its END_STREAM went out: it
        // resets the stream (CANCEL) rather than half-close it. Those calls were served: no flood.
        assertNoGoAwayAfterCallsEndedBy(stream -> client.rstStream(stream, RawFrameSocket.CANCEL));
    }

    /** How the client ends a stream the server has already answered in full. */
    @FunctionalInterface
    private interface ClientEnd {
        void end(int streamId) throws java.io.IOException;
    }

    /**
     * {@link #CALLS} calls, each answered on its first message and then ended by the client with
     * {@code clientEnd}; then one more call, so that every ending above was read before it is
     * answered. The server must have sent no GOAWAY.
     */
    private void assertNoGoAwayAfterCallsEndedBy(ClientEnd clientEnd) throws Exception {
        final java.util.concurrent.CompletableFuture<RawFrameSocket.GoAway> goAway = client.readUntilGoAway();
        for (int i = 0; i < CALLS; i++) {
            final int stream = 2 * i + 1;
            call(stream, (byte) i, false, i + 1, goAway);
            clientEnd.end(stream);
            client.flush();
        }
        call(2 * CALLS + 1, (byte) 7, true, CALLS + 1, goAway);
        assertThat(goAway).as("GOAWAY after %d calls answered before the client ended them", CALLS).isNotDone();
    }

    /** Sends a one-byte message on a new stream and waits for the {@code nth} answer (or a GOAWAY). */
    private void call(int stream, byte message, boolean endStream, int nth,
                      java.util.concurrent.CompletableFuture<RawFrameSocket.GoAway> goAway) throws Exception {
        client.frame(RawFrameSocket.HEADERS, RawFrameSocket.END_HEADERS, stream, RawFrameSocket.grpcRequest(ByteService.PATH));
        client.frame(RawFrameSocket.DATA, endStream ? RawFrameSocket.END_STREAM : 0, stream,
                new byte[] {0, 0, 0, 0, 1, message});
        client.flush();
        // Each answer is one DATA frame of a 5-byte prefix and a 1-byte message.
        final long expected = 6L * nth;
        Eventually.await("answer " + nth, java.time.Duration.ofSeconds(10),
                () -> client.dataBytesRead() >= expected || goAway.isDone());
        assertThat(goAway).as("GOAWAY at answer %d", nth).isNotDone();
    }
}
