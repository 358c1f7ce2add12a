package io.cy.coordinator.transport.netty;

import static java.util.Objects.requireNonNull;

import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLException;

/**
 * TLS towards TCP sidecars ({@code sidecars.tls}): their certificates verified against a CA
 * bundle and the host name (or {@code serverName}), optionally a client certificate of ours.
 * Unix-socket sidecars are always reached in plaintext.
 *
 * @param certFile our client certificate; null for none (then {@code keyFile} is null too)
 * @param serverName the name the sidecars' certificates must carry, instead of the address's
 *     host; null for the host
 */
public record SidecarTls(Path caFile, Path certFile, Path keyFile, String serverName) {

    public SidecarTls {
        requireNonNull(caFile, "caFile");
        if ((certFile == null) != (keyFile == null)) {
            throw new IllegalArgumentException("certFile and keyFile: both or neither");
        }
    }

    /**
     * The client context for both the StreamPredict connections and grpc-java's channels: TLS
     * 1.2+, ALPN h2, the server's certificate checked against the CA bundle.
     *
     * @throws TlsFileException naming the {@code sidecars.tls} setting whose file cannot serve
     */
    public SslContext clientContext() {
        final X509Certificate[] cas = certificates("sidecars.tls.ca_file", caFile);
        final SslContextBuilder builder = GrpcSslContexts.forClient().trustManager(cas)
                .protocols("TLSv1.3", "TLSv1.2")
                .endpointIdentificationAlgorithm("HTTPS");
        if (certFile != null) {
            final X509Certificate[] chain = certificates("sidecars.tls.cert_file", certFile);
            final PrivateKey key;
            try {
                key = PemFiles.privateKey(keyFile, PemFiles.read(keyFile));
                PemFiles.checkPair(key, chain[0], keyFile, certFile);
            } catch (IllegalArgumentException e) {
                throw new TlsFileException("sidecars.tls.key_file", e.getMessage());
            }
            builder.keyManager(key, chain);
        }
        try {
            return builder.build();
        } catch (SSLException | RuntimeException e) {
            throw new TlsFileException("sidecars.tls.ca_file", caFile + ": rejected by the TLS provider ("
                    + e.getMessage() + ")");
        }
    }

    private static X509Certificate[] certificates(String setting, Path file) {
        try {
            return PemFiles.certificates(file, PemFiles.read(file));
        } catch (IllegalArgumentException e) {
            throw new TlsFileException(setting, e.getMessage());
        }
    }
}
