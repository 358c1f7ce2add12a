package io.cy.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.transport.netty.NettyTransport;
import io.cy.coordinator.transport.server.GrpcFrontServer;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.Status;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Calls on one connection whose header blocks repeat, as nghttp2's clients send them (the bearer
 * token a literal never indexed, the rest indexed after the first call): each call sees the
 * token it was sent with, also when the token changes between calls and changes back.
 */
class RepeatedHeaderBlocksOverTheWireTest {

    private static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    private NettyTransport transport;
    private GrpcFrontServer server;
    private RawHttp2Client client;

    @BeforeEach
    void start() throws Exception {
        transport = NettyTransport.create(1, "repeated-header-blocks");
        // Answers each call with the authorization header it was given.
        final ServerCallHandler<byte[], byte[]> echoAuthorization = (call, headers) -> {
            call.request(1);
            final String token = headers.get(AUTHORIZATION);
            return new ServerCall.Listener<>() {
                @Override
                public void onHalfClose() {
                    call.sendHeaders(new Metadata());
                    call.sendMessage(String.valueOf(token).getBytes(StandardCharsets.US_ASCII));
                    call.close(Status.OK, new Metadata());
                }
            };
        };
        server = ByteService.start(transport, echoAuthorization, ByteService.settings(null, null, null));
        client = new RawHttp2Client(ByteService.address(server),
                (name, value) -> AsciiString.contentEqualsIgnoreCase(name, "authorization"));
    }

    @AfterEach
    void stop() throws Exception {
        if (client != null) {
            client.close();
        }
        if (server != null) {
            server.shutdownNow();
        }
        if (transport != null) {
            transport.close();
        }
    }

    @Test
    void eachCallSeesTheTokenItWasSentWith() throws Exception {
        for (String token : List.of("Bearer a", "Bearer a", "Bearer a", "Bearer a", "Bearer b", "Bearer a",
                "Bearer a", "Bearer a", "Bearer b", "Bearer b", "Bearer b")) {
            final int stream = client.open(RawHttp2Client.grpcRequest(ByteService.PATH).set("authorization", token),
                    false);
            client.data(stream, RawHttp2Client.framed(new byte[0]), true);
            final RawHttp2Client.Response response = client.response(stream);

            assertThat(response.grpcStatus()).as("%s", response).isZero();
            assertThat(new String(response.data(), 5, response.data().length - 5, StandardCharsets.US_ASCII))
                    .as("stream %d", stream).isEqualTo(token);
        }
    }
}
