package io.cy.coordinator.config;

import io.cy.coordinator.transport.netty.ServerTls;
import io.cy.coordinator.transport.netty.ServerTlsContext;
import io.cy.coordinator.transport.netty.SidecarTls;
import io.cy.coordinator.transport.netty.TlsFileException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * {@code server.tls}, {@code http.tls} and {@code sidecars.tls}: read, and their files loaded
 * once, so that a missing file, bad PEM or a key that is not the certificate's stops startup
 * naming the setting rather than failing the first handshake.
 */
final class TlsSections {

    private TlsSections() {}

    /** A listener's TLS, or null for plaintext (no {@code cert_file}). */
    static ServerTls listener(ConfigTree tls, List<String> alpn) {
        final String cert = tls.string("cert_file");
        final String key = tls.string("key_file");
        final String ca = tls.string("client_ca_file");
        final String clientAuth = tls.string("client_auth").toLowerCase(Locale.ROOT);
        if (cert.isEmpty()) {
            for (String other : List.of("key_file", "client_ca_file")) {
                if (!tls.string(other).isEmpty()) {
                    throw new ConfigException(tls.pathOf(other), "set without " + tls.pathOf("cert_file")
                            + " (expected: both cert_file and key_file for TLS, or neither for plaintext)");
                }
            }
            if (!clientAuth.isEmpty() && !clientAuth.equals("none")) {
                throw new ConfigException(tls.pathOf("client_auth"), clientAuth + " without " + tls.pathOf("cert_file")
                        + " (expected: none, or TLS configured)");
            }
            return null;
        }
        if (key.isEmpty()) {
            throw new ConfigException(tls.pathOf("key_file"), "empty while " + tls.pathOf("cert_file")
                    + " is set (expected: the certificate's private key, PEM)");
        }
        final ServerTls.ClientAuth auth = switch (clientAuth) {
            case "" -> ca.isEmpty() ? ServerTls.ClientAuth.NONE : ServerTls.ClientAuth.REQUIRE;
            case "none" -> ServerTls.ClientAuth.NONE;
            case "optional" -> ServerTls.ClientAuth.OPTIONAL;
            case "require" -> ServerTls.ClientAuth.REQUIRE;
            default -> throw new ConfigException(tls.pathOf("client_auth"), "'" + clientAuth
                    + "' (expected: none, optional or require)");
        };
        final ServerTls settings;
        try {
            settings = new ServerTls(tls.path(), path(tls, "cert_file"),
                    path(tls, "key_file"), ca.isEmpty() ? null : path(tls, "client_ca_file"), auth,
                    provider(tls));
            ServerTlsContext.check(settings, alpn);
        } catch (TlsFileException e) {
            throw new ConfigException(e.setting(), e.problem());
        }
        return settings;
    }

    /** TLS towards TCP sidecars, or null for plaintext (no {@code ca_file}). */
    static SidecarTls sidecars(ConfigTree tls) {
        final boolean ca = !tls.string("ca_file").isEmpty();
        final boolean cert = !tls.string("cert_file").isEmpty();
        final boolean key = !tls.string("key_file").isEmpty();
        if (!ca) {
            for (String other : List.of("cert_file", "key_file", "server_name")) {
                if (!tls.string(other).isEmpty()) {
                    throw new ConfigException(tls.pathOf(other), "set without " + tls.pathOf("ca_file")
                            + " (expected: ca_file, the CA bundle sidecar certificates are checked against)");
                }
            }
            return null;
        }
        if (cert != key) {
            throw new ConfigException(tls.pathOf(cert ? "key_file" : "cert_file"), "empty while "
                    + tls.pathOf(cert ? "cert_file" : "key_file") + " is set (expected: both, for a client"
                    + " certificate, or neither)");
        }
        final String serverName = tls.string("server_name");
        final SidecarTls settings = new SidecarTls(path(tls, "ca_file"), cert ? path(tls, "cert_file") : null,
                key ? path(tls, "key_file") : null, serverName.isEmpty() ? null : serverName);
        try {
            settings.clientContext();
        } catch (TlsFileException e) {
            throw new ConfigException(e.setting(), e.problem());
        }
        return settings;
    }

    static ServerTls.Provider provider(ConfigTree tls) {
        final String text = tls.string("provider").toLowerCase(Locale.ROOT);
        for (ServerTls.Provider provider : ServerTls.Provider.values()) {
            if (provider.toString().equals(text)) {
                return provider;
            }
        }
        throw new ConfigException(tls.pathOf("provider"), "'" + text + "' (expected: auto, openssl or jdk)");
    }

    static Path path(ConfigTree section, String key) {
        final String text = section.string(key);
        try {
            return Path.of(text);
        } catch (InvalidPathException e) {
            throw new ConfigException(section.pathOf(key), "'" + text + "' is not a path (" + e.getReason() + ")");
        }
    }
}
