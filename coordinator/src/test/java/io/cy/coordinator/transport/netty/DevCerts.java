package io.cy.coordinator.transport.netty;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Certificates made by {@code scripts/make-dev-certs}, as a user makes them from the README: a
 * CA, a server pair for localhost and 127.0.0.1, a client pair with a SPIFFE SAN.
 */
public record DevCerts(Path dir) {

    public static final String CLIENT_SPIFFE_ID = "spiffe://cy.local/gateway";

    /** Runs the script into {@code dir}; run again on the same dir, new pairs under the same CA. */
    public static DevCerts make(Path dir) throws IOException, InterruptedException {
        final Path script = Path.of("../scripts/make-dev-certs").toAbsolutePath().normalize();
        final Process process = new ProcessBuilder("bash", script.toString(), dir.toString())
                .redirectErrorStream(true).start();
        final String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
            throw new IOException(script + " failed: " + output);
        }
        return new DevCerts(dir);
    }

    public Path ca() {
        return dir.resolve("ca.pem");
    }

    public Path serverCert() {
        return dir.resolve("server.pem");
    }

    public Path serverKey() {
        return dir.resolve("server.key");
    }

    public Path clientCert() {
        return dir.resolve("client.pem");
    }

    public Path clientKey() {
        return dir.resolve("client.key");
    }

    /** Server TLS with these files; with {@code clientAuth} not NONE, client certificates checked against the CA. */
    public ServerTls server(ServerTls.ClientAuth clientAuth, ServerTls.Provider provider) {
        return new ServerTls("server.tls", serverCert(), serverKey(),
                clientAuth == ServerTls.ClientAuth.NONE ? null : ca(), clientAuth, provider);
    }
}
