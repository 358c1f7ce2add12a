package io.cy.coordinator.auth;

import io.cy.coordinator.transport.server.GrpcFrontServer;
import io.grpc.Attributes;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.inprocess.InProcessSocketAddress;
import java.io.ByteArrayInputStream;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Where a call came from, for the audit log and authentication: the API ({@code grpc} or
 * {@code http}), the client's address and its verified TLS client certificate.
 *
 * <p>The HTTP bridge calls the services from inside the process (a {@code LocalChannel}, whose
 * peer is an {@link InProcessSocketAddress}), so the transport's peer is not the client; the
 * bridge names the API and the HTTP client's address in headers, which are believed only on
 * such calls. A caller over a socket cannot set them.
 */
public final class CallOrigin {

    /** Set by the HTTP bridge: {@code http}. */
    public static final Metadata.Key<String> API = Metadata.Key.of("cy-api", Metadata.ASCII_STRING_MARSHALLER);
    /** Set by the HTTP bridge: the address of the HTTP client. */
    public static final Metadata.Key<String> CLIENT_ADDRESS =
            Metadata.Key.of("cy-client-address", Metadata.ASCII_STRING_MARSHALLER);
    /** Set by the HTTP bridge: the DER of the client certificate its TLS handshake verified. */
    public static final Metadata.Key<byte[]> CLIENT_CERTIFICATE =
            Metadata.Key.of("cy-client-cert-bin", Metadata.BINARY_BYTE_MARSHALLER);
    /** Set by the HTTP bridge: {@code false} when the HTTP request did not ask for {@code stream: true}. */
    public static final Metadata.Key<String> STREAM = Metadata.Key.of("cy-stream", Metadata.ASCII_STRING_MARSHALLER);
    private static final int MAX_ADDRESS_CHARS = 128;

    private CallOrigin() {}

    /** {@code http} for calls of the HTTP bridge, {@code grpc} for every other call. */
    public static String api(ServerCall<?, ?> call, Metadata headers) {
        return fromBridge(call) && "http".equals(headers.get(API)) ? "http" : "grpc";
    }

    /** Whether the client reads the answer as a stream: every gRPC call; an HTTP call only with {@code stream: true}. */
    public static boolean streamed(ServerCall<?, ?> call, Metadata headers) {
        return !(fromBridge(call) && "false".equals(headers.get(STREAM)));
    }

    /** The client's address: the HTTP client's for calls of the bridge, else the transport's peer. */
    public static String clientAddress(ServerCall<?, ?> call, Metadata headers) {
        if (fromBridge(call)) {
            final String address = headers.get(CLIENT_ADDRESS);
            if (address != null && !address.isEmpty() && address.length() <= MAX_ADDRESS_CHARS) {
                return address;
            }
        }
        final Attributes attributes = call.getAttributes();
        final String text = attributes.get(GrpcFrontServer.TRANSPORT_ATTR_REMOTE_ADDR_TEXT);
        return text != null ? text : String.valueOf(attributes.get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
    }

    /**
     * The client certificate the caller's TLS handshake verified: the HTTP client's for calls of
     * the bridge, else the one in the transport's TLS session; null when there is none.
     */
    public static X509Certificate clientCertificate(ServerCall<?, ?> call, Metadata headers) {
        if (fromBridge(call)) {
            final byte[] der = headers.get(CLIENT_CERTIFICATE);
            if (der == null) {
                return null;
            }
            try {
                return (X509Certificate) CertificateFactory.getInstance("X.509")
                        .generateCertificate(new ByteArrayInputStream(der));
            } catch (CertificateException e) {
                return null;
            }
        }
        final SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
        if (session == null) {
            return null;
        }
        try {
            final Certificate[] chain = session.getPeerCertificates();
            return chain.length > 0 && chain[0] instanceof X509Certificate leaf ? leaf : null;
        } catch (SSLPeerUnverifiedException e) {
            return null; // client_auth optional, and the client sent none
        }
    }

    private static boolean fromBridge(ServerCall<?, ?> call) {
        return call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR) instanceof InProcessSocketAddress;
    }
}
