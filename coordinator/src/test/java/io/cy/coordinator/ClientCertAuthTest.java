package io.cy.coordinator;

import static io.cy.coordinator.AuthCalls.bearer;
import static io.cy.coordinator.AuthCalls.noCredential;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cy.coordinator.TestStack.Result;
import io.cy.coordinator.auth.Identity;
import io.cy.coordinator.service.CallSummary;
import io.cy.coordinator.transport.netty.DevCerts;
import io.cy.coordinator.transport.netty.PemFiles;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The coordinator with TLS on both listeners (client certificates optional, verified against the
 * dev CA), and callers known by their certificate's SPIFFE ID ({@code auth.client_certs}), over
 * gRPC and through the HTTP bridge; certificates made by {@code scripts/make-dev-certs}.
 */
class ClientCertAuthTest {

    private static final String API_KEY = "client-cert-test-api-key-8c1e4b";

    @TempDir
    Path dir;

    private final List<ManagedChannel> channels = new ArrayList<>();

    @AfterEach
    void closeChannels() {
        channels.forEach(ManagedChannel::shutdownNow);
    }

    private TestStack start(DevCerts certs, String clientCerts) throws IOException {
        return TestStack.start(dir, 1, sim -> { }, """
                auth:
                  api_keys:
                    - {name: ci-key, sha256: "%s", tenant: keyed, roles: [user]}
                  client_certs: %s
                sidecars: {health: {interval: 1h, timeout: 1s}}
                """.formatted(UnixPeerAuthTest.sha256Hex(API_KEY), clientCerts),
                Map.of("CY_AUTH_MODE", "required",
                        "CY_SERVER_TLS_CERT_FILE", certs.serverCert().toString(),
                        "CY_SERVER_TLS_KEY_FILE", certs.serverKey().toString(),
                        "CY_SERVER_TLS_CLIENT_CA_FILE", certs.ca().toString(),
                        "CY_SERVER_TLS_CLIENT_AUTH", "optional",
                        "CY_HTTP_TLS_CERT_FILE", certs.serverCert().toString(),
                        "CY_HTTP_TLS_KEY_FILE", certs.serverKey().toString(),
                        "CY_HTTP_TLS_CLIENT_CA_FILE", certs.ca().toString(),
                        "CY_HTTP_TLS_CLIENT_AUTH", "optional"));
    }

    private ManagedChannel tlsChannel(TestStack stack, DevCerts certs, boolean withClientCert) throws IOException {
        final SslContextBuilder ssl = GrpcSslContexts.forClient().trustManager(certs.ca().toFile());
        if (withClientCert) {
            ssl.keyManager(certs.clientCert().toFile(), certs.clientKey().toFile());
        }
        final ManagedChannel channel = NettyChannelBuilder.forAddress("localhost", stack.coordinator.grpcEndpoint().port())
                .sslContext(ssl.build()).build();
        channels.add(channel);
        return channel;
    }

    @Test
    void aListedCertificateCallsWithoutATokenAsItsEntrysTenant() throws Exception {
        final DevCerts certs = DevCerts.make(dir.resolve("certs"));
        try (TestStack stack = start(certs, "[{subject: \"CN=other\", tenant: other},"
                + " {san: \"" + DevCerts.CLIENT_SPIFFE_ID + "\", tenant: gateway, roles: [user]}]")) {

            final Result result = AuthCalls.predict(tlsChannel(stack, certs, true), noCredential(), "");

            assertThat(result.status().getCode()).isEqualTo(Status.Code.OK);
            assertThat(AuthCalls.forwardedTenant(stack)).isEqualTo("gateway");
            final Identity caller = UnixPeerAuthTest.streamPredictSummary(stack).identity();
            assertThat(caller.subject()).isEqualTo(DevCerts.CLIENT_SPIFFE_ID);
            assertThat(caller.kind()).isEqualTo(Identity.CredentialKind.CLIENT_CERT);
            assertThat(caller.keyId()).isEqualTo("san=" + DevCerts.CLIENT_SPIFFE_ID);
        }
    }

    @Test
    void anEntryMayMatchTheSubject() throws Exception {
        final DevCerts certs = DevCerts.make(dir.resolve("certs"));
        try (TestStack stack = start(certs, "[{subject: \"CN=gateway\", tenant: bysubject, roles: [user]}]")) {
            final Result result = AuthCalls.predict(tlsChannel(stack, certs, true), noCredential(), "");

            assertThat(result.status().getCode()).isEqualTo(Status.Code.OK);
            assertThat(AuthCalls.forwardedTenant(stack)).isEqualTo("bysubject");
            assertThat(UnixPeerAuthTest.streamPredictSummary(stack).identity().subject()).isEqualTo("CN=gateway");
        }
    }

    @Test
    void aBearerTokenWinsAndWithoutEitherTheCallIsRefused() throws Exception {
        final DevCerts certs = DevCerts.make(dir.resolve("certs"));
        try (TestStack stack = start(certs, "[{san: \"" + DevCerts.CLIENT_SPIFFE_ID + "\", tenant: gateway}]")) {
            final Result keyed = AuthCalls.predict(tlsChannel(stack, certs, true), bearer(API_KEY), "");
            assertThat(keyed.status().getCode()).isEqualTo(Status.Code.OK);
            assertThat(AuthCalls.forwardedTenant(stack)).isEqualTo("keyed");

            // client_auth optional: no certificate is a TLS connection like any other.
            final Result none = AuthCalls.predict(tlsChannel(stack, certs, false), noCredential(), "");
            assertThat(none.status().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
            assertThat(none.status().getDescription()).isEqualTo("missing authorization header (expected: Bearer <token>)");
        }
    }

    @Test
    void aVerifiedCertificateThatMatchesNoEntryIsRefusedNamingItsSubject() throws Exception {
        final DevCerts certs = DevCerts.make(dir.resolve("certs"));
        try (TestStack stack = start(certs, "[{san: \"spiffe://cy.local/someone-else\", tenant: other}]")) {
            final Result result = AuthCalls.predict(tlsChannel(stack, certs, true), noCredential(), "");

            assertThat(result.status().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
            assertThat(result.status().getDescription()).contains("client certificate 'CN=gateway'",
                    DevCerts.CLIENT_SPIFFE_ID, "matches no auth.client_certs entry");
            assertThat(stack.sim().stats().lastRequest()).as("nothing reached the sidecar").isNull();
        }
    }

    @Test
    void aPlaintextClientIsRefusedAndCountedInHealth() throws Exception {
        final DevCerts certs = DevCerts.make(dir.resolve("certs"));
        try (TestStack stack = start(certs, "[{san: \"" + DevCerts.CLIENT_SPIFFE_ID + "\", tenant: gateway}]")) {
            final Result plaintext = AuthCalls.predict(stack, bearer(API_KEY));
            assertThat(plaintext.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
            assertThat(stack.sim().stats().lastRequest()).as("nothing reached the sidecar").isNull();

            final Map<String, String> metrics = AuthCalls.health(tlsChannel(stack, certs, false), noCredential())
                    .getMetricsMap();
            assertThat(Long.parseLong(metrics.get("tls_handshake_failures"))).isPositive();
        }
    }

    @Test
    void theHttpBridgeOverTlsPassesTheCertificatesIdentityThrough() throws Exception {
        final DevCerts certs = DevCerts.make(dir.resolve("certs"));
        try (TestStack stack = start(certs, "[{san: \"" + DevCerts.CLIENT_SPIFFE_ID + "\", tenant: gateway, roles: [user]}]")) {
            final URI uri = URI.create("https://localhost:" + stack.coordinator.httpEndpoint().port()
                    + "/v1/chat/completions");

            final HttpResponse<String> withCert = post(client(certs, true), uri, null);
            assertThat(withCert.statusCode()).as(withCert.body()).isEqualTo(200);
            assertThat(AuthCalls.forwardedTenant(stack)).isEqualTo("gateway");
            final CallSummary summary = UnixPeerAuthTest.streamPredictSummary(stack);
            assertThat(summary.api()).isEqualTo("http");
            assertThat(summary.identity().kind()).isEqualTo(Identity.CredentialKind.CLIENT_CERT);
            assertThat(summary.identity().subject()).isEqualTo(DevCerts.CLIENT_SPIFFE_ID);

            final HttpResponse<String> keyed = post(client(certs, false), uri, "Bearer " + API_KEY);
            assertThat(keyed.statusCode()).isEqualTo(200);
            assertThat(AuthCalls.forwardedTenant(stack)).isEqualTo("keyed");

            final HttpResponse<String> neither = post(client(certs, false), uri, null);
            assertThat(neither.statusCode()).isEqualTo(401);

            // With http.tls set the listener speaks TLS only.
            assertThatThrownBy(() -> post(HttpClient.newHttpClient(), URI.create("http://localhost:"
                    + stack.coordinator.httpEndpoint().port() + "/v1/chat/completions"), null))
                    .as("plaintext HTTP to the TLS listener").isInstanceOf(IOException.class);
        }
    }

    private static HttpResponse<String> post(HttpClient client, URI uri, String authorization) throws Exception {
        final HttpRequest.Builder request = HttpRequest.newBuilder(uri)
                .timeout(Duration.ofSeconds(20))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"sim\",\"max_tokens\":2,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"));
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The JDK's HTTP client trusting the dev CA, presenting the client certificate if asked. */
    static HttpClient client(DevCerts certs, boolean withClientCert) throws Exception {
        final KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", PemFiles.certificates(certs.ca(), PemFiles.read(certs.ca()))[0]);
        final TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        KeyManagerFactory kmf = null;
        if (withClientCert) {
            final KeyStore keys = KeyStore.getInstance("PKCS12");
            keys.load(null, null);
            final X509Certificate[] chain = PemFiles.certificates(certs.clientCert(), PemFiles.read(certs.clientCert()));
            keys.setKeyEntry("client", PemFiles.privateKey(certs.clientKey(), PemFiles.read(certs.clientKey())),
                    new char[0], chain);
            kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keys, new char[0]);
        }
        final SSLContext context = SSLContext.getInstance("TLS");
        context.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return HttpClient.newBuilder().sslContext(context).connectTimeout(Duration.ofSeconds(10)).build();
    }
}
