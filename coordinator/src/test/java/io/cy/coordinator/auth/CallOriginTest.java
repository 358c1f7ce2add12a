package io.cy.coordinator.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.transport.server.GrpcFrontServer;
import io.grpc.Attributes;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.Status;
import io.grpc.inprocess.InProcessSocketAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import org.junit.jupiter.api.Test;

class CallOriginTest {

    private static final SocketAddress TCP_PEER = new InetSocketAddress("10.1.2.3", 40000);
    private static final SocketAddress BRIDGE_PEER = new InProcessSocketAddress("cy-coordinator-bridge");

    @Test
    void theBridgesHeadersNameApiAndClientOnTheInProcessTransport() {
        final Metadata headers = bridgeHeaders("/192.0.2.7:51234");

        assertThat(CallOrigin.api(call(BRIDGE_PEER), headers)).isEqualTo("http");
        assertThat(CallOrigin.clientAddress(call(BRIDGE_PEER), headers)).isEqualTo("/192.0.2.7:51234");
    }

    @Test
    void aCallerOverASocketCannotClaimThem() {
        final Metadata headers = bridgeHeaders("/192.0.2.7:51234");

        assertThat(CallOrigin.api(call(TCP_PEER), headers)).isEqualTo("grpc");
        assertThat(CallOrigin.clientAddress(call(TCP_PEER), headers)).isEqualTo(TCP_PEER.toString());
    }

    @Test
    void withoutTheHeadersTheTransportsPeerIsUsed() {
        assertThat(CallOrigin.api(call(BRIDGE_PEER), new Metadata())).isEqualTo("grpc");
        assertThat(CallOrigin.clientAddress(call(BRIDGE_PEER), new Metadata())).isEqualTo(BRIDGE_PEER.toString());
    }

    @Test
    void theTransportsTextOfThePeerIsTakenAsItIs() {
        final Attributes attributes = Attributes.newBuilder()
                .set(Grpc.TRANSPORT_ATTR_REMOTE_ADDR, TCP_PEER)
                .set(GrpcFrontServer.TRANSPORT_ATTR_REMOTE_ADDR_TEXT, "made once per connection")
                .build();

        assertThat(CallOrigin.clientAddress(call(attributes), new Metadata())).isEqualTo("made once per connection");
    }

    @Test
    void anOverlongAddressIsNotBelieved() {
        final Metadata headers = bridgeHeaders("x".repeat(129));

        assertThat(CallOrigin.clientAddress(call(BRIDGE_PEER), headers)).isEqualTo(BRIDGE_PEER.toString());
    }

    private static Metadata bridgeHeaders(String clientAddress) {
        final Metadata headers = new Metadata();
        headers.put(CallOrigin.API, "http");
        headers.put(CallOrigin.CLIENT_ADDRESS, clientAddress);
        return headers;
    }

    /** A server call that only has a peer address; nothing else of it is used. */
    private static ServerCall<Object, Object> call(SocketAddress peer) {
        return call(Attributes.newBuilder().set(Grpc.TRANSPORT_ATTR_REMOTE_ADDR, peer).build());
    }

    private static ServerCall<Object, Object> call(Attributes attributes) {
        return new ServerCall<>() {
            @Override
            public void request(int numMessages) {}

            @Override
            public void sendHeaders(Metadata headers) {}

            @Override
            public void sendMessage(Object message) {}

            @Override
            public void close(Status status, Metadata trailers) {}

            @Override
            public boolean isCancelled() {
                return false;
            }

            @Override
            public Attributes getAttributes() {
                return attributes;
            }

            @Override
            public MethodDescriptor<Object, Object> getMethodDescriptor() {
                throw new UnsupportedOperationException();
            }
        };
    }
}
