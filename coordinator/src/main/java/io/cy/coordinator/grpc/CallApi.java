package io.cy.coordinator.grpc;

import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.inprocess.InProcessSocketAddress;

/** Which API a call came through, for the audit log. */
final class CallApi {

    private static final Metadata.Key<String> API = Metadata.Key.of("cy-api", Metadata.ASCII_STRING_MARSHALLER);

    private CallApi() {}

    /**
     * {@code http} for calls of the HTTP bridge: it says so in a header, believed only on the
     * in-process transport it uses; {@code grpc} for every other call.
     */
    static String of(ServerCall<?, ?> call, Metadata headers) {
        if (call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR) instanceof InProcessSocketAddress
                && "http".equals(headers.get(API))) {
            return "http";
        }
        return "grpc";
    }
}
