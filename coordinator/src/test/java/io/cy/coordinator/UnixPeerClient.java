package io.cy.coordinator;

import io.cy.llm.proto.StreamMetadata;
import io.cy.coordinator.transport.netty.Endpoint;
import io.cy.coordinator.transport.netty.NettyTransport;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import java.nio.file.Path;

/**
 * A client in a process of its own, for tests that need the kernel to report other credentials
 * than the test's: one StreamPredict call over a Unix socket, its outcome on stdout as
 * {@code status=<code> chunks=<n> description=<text>}.
 *
 * <p>Arguments: the socket path, a trace id, and optionally a bearer token.
 */
public final class UnixPeerClient {

    private UnixPeerClient() {}

    public static void main(String[] args) throws Exception {
        final Metadata headers = args.length > 2 ? AuthCalls.bearer(args[2]) : AuthCalls.noCredential();
        // In the headers too, so that a call refused before its first message is found by it.
        headers.put(AuditCallsTest.TRACE_ID, args[1]);
        try (NettyTransport transport = NettyTransport.create(1, "peer-client")) {
            final ManagedChannel channel = transport.channelBuilder(Endpoint.unix(Path.of(args[0])))
                    .overrideAuthority("localhost").build();
            try {
                final TestStack.Result result = TestStack.call(channel, TestStack.request(2).toBuilder()
                        .setMetadata(StreamMetadata.newBuilder().setTraceId(args[1])).build(), headers, null);
                System.out.println("status=" + result.status().getCode() + " chunks=" + result.chunks().size()
                        + " description=" + result.status().getDescription());
            } finally {
                channel.shutdownNow();
            }
        }
    }
}
