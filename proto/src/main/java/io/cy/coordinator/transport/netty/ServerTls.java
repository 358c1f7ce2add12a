package io.cy.coordinator.transport.netty;

import static java.util.Objects.requireNonNull;

import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;
import java.nio.file.Path;
import java.util.Locale;

/**
 * TLS for one listener, as configured ({@code server.tls} or {@code http.tls}).
 *
 * @param name the settings' prefix, e.g. {@code server.tls}, for messages
 * @param clientCaFile the CA bundle client certificates are verified against; null: none asked for
 */
public record ServerTls(String name, Path certFile, Path keyFile, Path clientCaFile, ClientAuth clientAuth,
                        Provider provider) {

    /** Whether a client certificate is asked for, and whether a handshake without one fails. */
    public enum ClientAuth {
        NONE, OPTIONAL, REQUIRE;

        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Which TLS implementation: BoringSSL (netty-tcnative) when it loads, or the JDK's. */
    public enum Provider {
        AUTO, OPENSSL, JDK;

        /** The provider to use here; OPENSSL fails when BoringSSL did not load. */
        public SslProvider resolve() {
            return switch (this) {
                case AUTO -> OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
                case JDK -> SslProvider.JDK;
                case OPENSSL -> {
                    if (!OpenSsl.isAvailable()) {
                        throw new IllegalArgumentException("openssl, but BoringSSL (netty-tcnative) did not load here: "
                                + OpenSsl.unavailabilityCause() + " (expected: auto or jdk)");
                    }
                    yield SslProvider.OPENSSL;
                }
            };
        }

        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public ServerTls {
        requireNonNull(name, "name");
        requireNonNull(certFile, "certFile");
        requireNonNull(keyFile, "keyFile");
        requireNonNull(clientAuth, "clientAuth");
        requireNonNull(provider, "provider");
        if ((clientCaFile == null) != (clientAuth == ClientAuth.NONE)) {
            throw new TlsFileException(name + ".client_auth", clientAuth
                    + (clientCaFile == null ? " without " + name + ".client_ca_file (expected: none, or a CA bundle"
                    + " to verify client certificates against)" : " with " + name + ".client_ca_file set"
                    + " (expected: optional or require)"));
        }
    }
}
