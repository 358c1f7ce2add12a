package io.cy.coordinator.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cy.coordinator.transport.netty.DevCerts;
import io.cy.coordinator.transport.netty.ServerTls;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code server.tls}, {@code http.tls} and {@code auth.client_certs}: off by default; every
 * mistake stops startup naming the setting, files included (missing, not PEM, a key that is not
 * the certificate's).
 */
class TlsSettingsTest {

    @TempDir
    static Path dir;

    private static DevCerts certs;

    @BeforeAll
    static void makeCerts() throws Exception {
        certs = DevCerts.make(dir.resolve("certs"));
    }

    private static CoordinatorConfig config(String yaml, Map<String, String> env) {
        return ConfigLoaderTest.yaml(yaml, env).config();
    }

    private static Map<String, String> serverTls(String... more) {
        final Map<String, String> env = new HashMap<>(Map.of(
                "CY_SERVER_TLS_CERT_FILE", certs.serverCert().toString(),
                "CY_SERVER_TLS_KEY_FILE", certs.serverKey().toString()));
        for (int i = 0; i < more.length; i += 2) {
            env.put(more[i], more[i + 1]);
        }
        return env;
    }

    private static void assertRefused(String yaml, Map<String, String> env, String message) {
        assertThatThrownBy(() -> config(yaml, env)).isInstanceOf(ConfigException.class).hasMessageStartingWith(message);
    }

    @Test
    void plaintextUnlessACertificateIsSet() {
        final CoordinatorConfig config = config("", Map.of());
        assertThat(config.server().tls()).isNull();
        assertThat(config.http().tls()).isNull();
        assertThat(config.auth().clientCerts()).isEmpty();
    }

    @Test
    void fromTheVariablesWithClientAuthFollowingTheCaBundle() {
        final ServerTls tls = config("", serverTls()).server().tls();
        assertThat(tls.certFile()).isEqualTo(certs.serverCert());
        assertThat(tls.keyFile()).isEqualTo(certs.serverKey());
        assertThat(tls.clientCaFile()).isNull();
        assertThat(tls.clientAuth()).isEqualTo(ServerTls.ClientAuth.NONE);
        assertThat(tls.provider()).isEqualTo(ServerTls.Provider.AUTO);

        final ServerTls mtls = config("", serverTls("CY_SERVER_TLS_CLIENT_CA_FILE", certs.ca().toString()))
                .server().tls();
        assertThat(mtls.clientCaFile()).isEqualTo(certs.ca());
        assertThat(mtls.clientAuth()).as("a CA bundle alone means require").isEqualTo(ServerTls.ClientAuth.REQUIRE);

        final ServerTls optional = config("", serverTls("CY_SERVER_TLS_CLIENT_CA_FILE", certs.ca().toString(),
                "CY_SERVER_TLS_CLIENT_AUTH", "optional", "CY_SERVER_TLS_PROVIDER", "jdk")).server().tls();
        assertThat(optional.clientAuth()).isEqualTo(ServerTls.ClientAuth.OPTIONAL);
        assertThat(optional.provider()).isEqualTo(ServerTls.Provider.JDK);
    }

    @Test
    void httpTlsHasTheSameShape() {
        final String yaml = "http: {tls: {cert_file: %s, key_file: %s}}".formatted(certs.serverCert(), certs.serverKey());
        assertThat(config(yaml, Map.of()).http().tls().name()).isEqualTo("http.tls");
        assertRefused("http: {tls: {key_file: %s}}".formatted(certs.serverKey()), Map.of(),
                "http.tls.key_file: set without http.tls.cert_file");
    }

    @Test
    void halfAPairIsRefused() {
        assertRefused("", Map.of("CY_SERVER_TLS_KEY_FILE", certs.serverKey().toString()),
                "server.tls.key_file: set without server.tls.cert_file (expected: both cert_file and key_file");
        assertRefused("", Map.of("CY_SERVER_TLS_CERT_FILE", certs.serverCert().toString()),
                "server.tls.key_file: empty while server.tls.cert_file is set");
        assertRefused("", Map.of("CY_SERVER_TLS_CLIENT_CA_FILE", certs.ca().toString()),
                "server.tls.client_ca_file: set without server.tls.cert_file");
    }

    @Test
    void filesThatCannotServeAreRefusedByName() throws Exception {
        final Path missing = dir.resolve("missing.pem");
        assertRefused("", serverTls("CY_SERVER_TLS_CERT_FILE", missing.toString()),
                "server.tls.cert_file: " + missing + ": no such file");

        final Path notPem = Files.writeString(dir.resolve("not.pem"), "hello\n");
        assertRefused("", serverTls("CY_SERVER_TLS_CERT_FILE", notPem.toString()), "server.tls.cert_file: " + notPem);
        assertRefused("", serverTls("CY_SERVER_TLS_KEY_FILE", notPem.toString()),
                "server.tls.key_file: " + notPem + ": no private key in it (expected: -----BEGIN PRIVATE KEY-----)");
        assertRefused("", serverTls("CY_SERVER_TLS_CLIENT_CA_FILE", notPem.toString()),
                "server.tls.client_ca_file: " + notPem);

        // The client's key with the server's certificate.
        assertRefused("", serverTls("CY_SERVER_TLS_KEY_FILE", certs.clientKey().toString()),
                "server.tls.key_file: " + certs.clientKey() + ": not the key of the certificate in " + certs.serverCert());

        final Path pkcs1 = Files.writeString(dir.resolve("pkcs1.key"),
                "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n");
        assertRefused("", serverTls("CY_SERVER_TLS_KEY_FILE", pkcs1.toString()),
                "server.tls.key_file: " + pkcs1 + ": a 'RSA PRIVATE KEY' (expected: an unencrypted PKCS#8 'PRIVATE KEY';"
                        + " convert with: openssl pkcs8 -topk8 -nocrypt");
    }

    @Test
    void clientAuthAndProviderAreChecked() {
        assertRefused("", serverTls("CY_SERVER_TLS_CLIENT_AUTH", "require"),
                "server.tls.client_auth: require without server.tls.client_ca_file");
        assertRefused("", serverTls("CY_SERVER_TLS_CLIENT_AUTH", "maybe"),
                "server.tls.client_auth: 'maybe' (expected: none, optional or require)");
        assertRefused("", serverTls("CY_SERVER_TLS_CLIENT_CA_FILE", certs.ca().toString(), "CY_SERVER_TLS_CLIENT_AUTH", "none"),
                "server.tls.client_auth: none with server.tls.client_ca_file set (expected: optional or require)");
        assertRefused("", serverTls("CY_SERVER_TLS_PROVIDER", "gnutls"),
                "server.tls.provider: 'gnutls' (expected: auto, openssl or jdk)");
    }

    @Test
    void clientCertEntriesAreValidatedByIndex() {
        final Map<String, String> mtls = serverTls("CY_SERVER_TLS_CLIENT_CA_FILE", certs.ca().toString());
        final List<CoordinatorConfig.ClientCertEntry> entries = config("""
                auth:
                  client_certs:
                    - {san: "spiffe://cy.local/gateway", tenant: gw, roles: [user]}
                    - {subject: "CN=batch, O=acme", tenant: acme}
                """, mtls).auth().clientCerts();
        assertThat(entries).extracting(Object::toString)
                .containsExactly("san=spiffe://cy.local/gateway", "subject=CN=batch,O=acme");
        assertThat(entries.get(0).roles()).containsExactly("user");

        assertRefused("auth: {client_certs: [{san: a}, {san: b, subject: \"CN=b\", tenant: t}]}", mtls,
                "auth.client_certs[0].tenant: empty");
        assertRefused("auth: {client_certs: [{san: b, subject: \"CN=b\", tenant: t}]}", mtls,
                "auth.client_certs[0].subject: set together with san (expected: exactly one of san and subject)");
        assertRefused("auth: {client_certs: [{tenant: t}]}", mtls,
                "auth.client_certs[0].san: missing (expected: exactly one of san and subject)");
        assertRefused("auth: {client_certs: [{subject: \"not a name\", tenant: t}]}", mtls,
                "auth.client_certs[0].subject: 'not a name' is not a distinguished name");
        assertRefused("auth: {client_certs: [{uri: x, tenant: t}]}", mtls, "auth.client_certs[0].uri");
    }

    @Test
    void clientCertEntriesFromTheirVariable() {
        final Map<String, String> env = serverTls("CY_SERVER_TLS_CLIENT_CA_FILE", certs.ca().toString(),
                "CY_AUTH_CLIENT_CERTS", "[{san: \"spiffe://cy.local/gateway\", tenant: gw, roles: [user, admin]}]");
        final CoordinatorConfig.ClientCertEntry entry = config("", env).auth().clientCerts().get(0);
        assertThat(entry.san()).isEqualTo("spiffe://cy.local/gateway");
        assertThat(entry.roles()).containsExactly("user", "admin");

        env.put("CY_AUTH_CLIENT_CERTS", "san=spiffe://x");
        assertRefused("", env, "CY_AUTH_CLIENT_CERTS: not a list");
    }

    @Test
    void entriesNoListenerCouldMatchAreRefused() {
        assertRefused("auth: {client_certs: [{san: x, tenant: t}]}", serverTls(),
                "auth.client_certs: 1 entries, but no listener asks for client certificates");
    }

    @Test
    void sidecarTlsNeedsItsCaAndAWholePair() {
        assertThat(config("", Map.of()).sidecars().tls()).isNull();
        final var tls = config("", Map.of("CY_SIDECARS_TLS_CA_FILE", certs.ca().toString(),
                "CY_SIDECARS_TLS_SERVER_NAME", "sidecar.internal")).sidecars().tls();
        assertThat(tls.caFile()).isEqualTo(certs.ca());
        assertThat(tls.certFile()).isNull();
        assertThat(tls.serverName()).isEqualTo("sidecar.internal");

        assertRefused("", Map.of("CY_SIDECARS_TLS_CERT_FILE", certs.clientCert().toString()),
                "sidecars.tls.cert_file: set without sidecars.tls.ca_file");
        assertRefused("", Map.of("CY_SIDECARS_TLS_CA_FILE", certs.ca().toString(),
                "CY_SIDECARS_TLS_CERT_FILE", certs.clientCert().toString()),
                "sidecars.tls.key_file: empty while sidecars.tls.cert_file is set");
        assertRefused("", Map.of("CY_SIDECARS_TLS_CA_FILE", dir.resolve("none.pem").toString()),
                "sidecars.tls.ca_file: " + dir.resolve("none.pem") + ": no such file");
        assertRefused("", Map.of("CY_SIDECARS_TLS_CA_FILE", certs.ca().toString(),
                "CY_SIDECARS_TLS_CERT_FILE", certs.clientCert().toString(),
                "CY_SIDECARS_TLS_KEY_FILE", certs.serverKey().toString()),
                "sidecars.tls.key_file: " + certs.serverKey() + ": not the key of the certificate");
    }

    @Test
    void aMistypedVariableIsReportedWithTheOneItMeant() {
        final ConfigLoader loader = ConfigLoaderTest.yaml("", Map.of("CY_SERVER_TLS_CERTFILE", "/x.pem"));
        assertThat(loader.warnings()).singleElement().asString()
                .startsWith("CY_SERVER_TLS_CERTFILE: names no setting (closest: CY_SERVER_TLS_CERT_FILE)");
    }
}
