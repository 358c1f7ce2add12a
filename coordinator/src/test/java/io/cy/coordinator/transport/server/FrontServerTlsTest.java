package io.cy.coordinator.transport.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cy.coordinator.transport.netty.DevCerts;
import io.cy.coordinator.transport.netty.Endpoint;
import io.cy.coordinator.transport.netty.NettyTransport;
import io.cy.coordinator.transport.netty.ServerTls;
import io.cy.coordinator.transport.netty.ServerTlsContext;
import io.grpc.Attributes;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import java.io.InputStream;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The gRPC listener over TLS, with real TLS clients: grpc-java's Netty channel, the JDK's
 * SSLSocket and a Netty client pinned to TLS 1.1.
 */
class FrontServerTlsTest {

    @TempDir
    Path dir;

    private final NettyTransport transport = NettyTransport.create(1, "front-tls-test");
    private final List<ManagedChannel> channels = new ArrayList<>();
    private final AtomicReference<Attributes> lastAttributes = new AtomicReference<>();
    private GrpcFrontServer server;
    private ServerTlsContext tls;

    @AfterEach
    void close() throws InterruptedException {
        for (ManagedChannel channel : channels) {
            channel.shutdownNow();
        }
        if (server != null) {
            server.shutdownNow();
            server.awaitTermination(5, TimeUnit.SECONDS);
        }
        if (tls != null) {
            tls.close();
        }
        transport.close();
    }

    @ParameterizedTest
    @EnumSource(value = ServerTls.Provider.class, names = {"JDK", "OPENSSL"})
    void aTlsClientIsServedAndItsCallsCarryTheSession(ServerTls.Provider provider) throws Exception {
        final DevCerts certs = DevCerts.make(dir);
        final int port = start(certs.server(ServerTls.ClientAuth.NONE, provider));
        assertThat(tls.provider()).isEqualTo(provider == ServerTls.Provider.JDK ? "jdk" : "openssl");

        assertThat(check(channel(port, certs, false))).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);

        final SSLSession session = lastAttributes.get().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
        assertThat(session).isNotNull();
        assertThat(session.getProtocol()).isIn("TLSv1.3", "TLSv1.2");
    }

    @Test
    void aPlaintextClientGetsNoCall() throws Exception {
        final DevCerts certs = DevCerts.make(dir);
        final int port = start(certs.server(ServerTls.ClientAuth.NONE, ServerTls.Provider.AUTO));
        final ManagedChannel plaintext = NettyChannelBuilder.forAddress("localhost", port).usePlaintext().build();
        channels.add(plaintext);

        assertThatThrownBy(() -> check(plaintext)).isInstanceOfSatisfying(StatusRuntimeException.class,
                e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
        assertThat(server.handshakeFailures()).isPositive();
        assertThat(lastAttributes.get()).as("no call reached a service").isNull();
    }

    @Test
    void tls11IsRefused() throws Exception {
        final DevCerts certs = DevCerts.make(dir);
        final int port = start(certs.server(ServerTls.ClientAuth.NONE, ServerTls.Provider.AUTO));
        // BoringSSL still speaks TLS 1.1 as a client, so the server is what refuses it.
        final SslContext old = SslContextBuilder.forClient().sslProvider(SslProvider.OPENSSL)
                .protocols("TLSv1.1").trustManager(certs.ca().toFile()).build();
        final AtomicReference<SslHandler> handler = new AtomicReference<>();
        final Channel channel = new Bootstrap().group(transport.workerGroup())
                .channel(transport.channelType(Endpoint.tcp("127.0.0.1", port)))
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        handler.set(old.newHandler(ch.alloc(), "localhost", port));
                        ch.pipeline().addLast(handler.get());
                    }
                })
                .connect("127.0.0.1", port).sync().channel();
        final var handshake = handler.get().handshakeFuture().await();
        channel.close();

        assertThat(handshake.isSuccess()).isFalse();
        assertThat(handshake.cause().getMessage()).containsIgnoringCase("PROTOCOL_VERSION");
    }

    @Test
    void aClientThatNegotiatesNoH2IsDisconnectedAfterTheHandshake() throws Exception {
        final DevCerts certs = DevCerts.make(dir);
        final int port = start(certs.server(ServerTls.ClientAuth.NONE, ServerTls.Provider.AUTO));

        try (SSLSocket withoutAlpn = socket(certs, port, null)) {
            withoutAlpn.startHandshake();
            assertThat(withoutAlpn.getApplicationProtocol()).isEmpty();
            assertThat(withoutAlpn.getInputStream().read()).as("closed by the server").isEqualTo(-1);
        }
        try (SSLSocket withH2 = socket(certs, port, "h2")) {
            withH2.startHandshake();
            assertThat(withH2.getApplicationProtocol()).isEqualTo("h2");
            // The server's SETTINGS frame: a 9-byte header whose type (4th byte) is 4.
            final byte[] header = withH2.getInputStream().readNBytes(9);
            assertThat(header).hasSize(9);
            assertThat(header[3]).isEqualTo((byte) 4);
        }
    }

    @Test
    void withClientAuthRequireAClientWithoutCertificateIsRefusedAndOneWithItsCertificateServed() throws Exception {
        final DevCerts certs = DevCerts.make(dir);
        final int port = start(certs.server(ServerTls.ClientAuth.REQUIRE, ServerTls.Provider.AUTO));

        assertThatThrownBy(() -> check(channel(port, certs, false))).isInstanceOfSatisfying(
                StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
        assertThat(lastAttributes.get()).isNull();

        assertThat(check(channel(port, certs, true))).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
        final X509Certificate peer = (X509Certificate) lastAttributes.get().get(Grpc.TRANSPORT_ATTR_SSL_SESSION)
                .getPeerCertificates()[0];
        assertThat(peer.getSubjectAlternativeNames()).anySatisfy(san -> assertThat(san.get(1))
                .isEqualTo(DevCerts.CLIENT_SPIFFE_ID));
    }

    @Test
    void withClientAuthOptionalBothClientsAreServedAndOnlyOneHasAPeerCertificate() throws Exception {
        final DevCerts certs = DevCerts.make(dir);
        final int port = start(certs.server(ServerTls.ClientAuth.OPTIONAL, ServerTls.Provider.AUTO));

        assertThat(check(channel(port, certs, false))).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
        assertThatThrownBy(() -> lastAttributes.get().get(Grpc.TRANSPORT_ATTR_SSL_SESSION).getPeerCertificates())
                .isInstanceOf(javax.net.ssl.SSLPeerUnverifiedException.class);

        assertThat(check(channel(port, certs, true))).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
        assertThat(lastAttributes.get().get(Grpc.TRANSPORT_ATTR_SSL_SESSION).getPeerCertificates()).hasSize(1);
    }

    @Test
    void aReplacedPairServesNewConnectionsWhileOpenOnesGoOn() throws Exception {
        final DevCerts certs = DevCerts.make(dir);
        final ServerTls settings = certs.server(ServerTls.ClientAuth.NONE, ServerTls.Provider.AUTO);
        tls = ServerTlsContext.start(settings, ServerTlsContext.GRPC, Duration.ofMillis(50));
        final int port = start(tls);
        final BigInteger before = servedSerial(certs, port);
        final ManagedChannel open = channel(port, certs, false);
        assertThat(check(open)).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);

        DevCerts.make(dir); // new server and client pairs under the same CA: the checker thread finds them
        final BigInteger expected = serial(certs.serverCert());
        assertThat(expected).isNotEqualTo(before);
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!servedSerial(certs, port).equals(expected)) {
            assertThat(System.nanoTime() - deadline).as("new certificate served within 10 s").isNegative();
            Thread.sleep(20); // poll interval only: each round is a new real handshake
        }
        assertThat(check(open)).as("the connection opened before the reload").isEqualTo(
                HealthCheckResponse.ServingStatus.SERVING);
    }

    @Test
    void aChangedKeyThatIsNotTheCertificatesIsRejectedAndTheOldPairKept() throws Exception {
        final DevCerts certs = DevCerts.make(dir);
        tls = ServerTlsContext.start(certs.server(ServerTls.ClientAuth.NONE, ServerTls.Provider.AUTO),
                ServerTlsContext.GRPC, null);
        final int port = start(tls);
        final BigInteger before = servedSerial(certs, port);

        // Another pair under the same CA, as a renewal brings.
        final Path otherDir = Files.createDirectory(dir.resolve("other"));
        Files.copy(certs.ca(), otherDir.resolve("ca.pem"));
        Files.copy(dir.resolve("ca.key"), otherDir.resolve("ca.key"));
        final DevCerts other = DevCerts.make(otherDir);
        Files.copy(other.serverKey(), certs.serverKey(), StandardCopyOption.REPLACE_EXISTING);

        assertThat(tls.reloadIfChanged()).isFalse();
        assertThat(servedSerial(certs, port)).isEqualTo(before);
        assertThat(check(channel(port, certs, false))).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);

        // The matching certificate arrives after the key: now the pair loads.
        Files.copy(other.serverCert(), certs.serverCert(), StandardCopyOption.REPLACE_EXISTING);
        assertThat(tls.reloadIfChanged()).isTrue();
        assertThat(servedSerial(certs, port)).isEqualTo(serial(other.serverCert()));
    }

    // ---- helpers ----

    private int start(ServerTls settings) throws Exception {
        tls = ServerTlsContext.start(settings, ServerTlsContext.GRPC, null);
        return start(tls);
    }

    private int start(ServerTlsContext context) throws Exception {
        final HealthStatusManager health = new HealthStatusManager();
        final ServerInterceptor capture = new ServerInterceptor() {
            @Override
            public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata headers,
                                                                         ServerCallHandler<ReqT, RespT> next) {
                lastAttributes.set(call.getAttributes());
                return next.startCall(call, headers);
            }
        };
        server = new GrpcFrontServer(Endpoint.tcp("127.0.0.1", 0), transport,
                List.of(ServerInterceptors.intercept(health.getHealthService(), capture)),
                new GrpcFrontServer.Settings(100, 8192, 4096, Duration.ofSeconds(60), Duration.ofSeconds(20),
                        Duration.ZERO, Duration.ofSeconds(5)), context).start();
        return ((InetSocketAddress) server.getListenSockets().get(0)).getPort();
    }

    private ManagedChannel channel(int port, DevCerts certs, boolean withClientCert) throws Exception {
        final SslContextBuilder ssl = GrpcSslContexts.forClient().trustManager(certs.ca().toFile());
        if (withClientCert) {
            ssl.keyManager(certs.clientCert().toFile(), certs.clientKey().toFile());
        }
        final ManagedChannel channel = NettyChannelBuilder.forAddress("localhost", port).sslContext(ssl.build()).build();
        channels.add(channel);
        return channel;
    }

    private static HealthCheckResponse.ServingStatus check(ManagedChannel channel) {
        return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                .check(HealthCheckRequest.getDefaultInstance()).getStatus();
    }

    /** The serial of the certificate a new connection is served, from a real handshake. */
    private static BigInteger servedSerial(DevCerts certs, int port) throws Exception {
        try (SSLSocket socket = socket(certs, port, "h2")) {
            socket.startHandshake();
            return ((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSerialNumber();
        }
    }

    private static BigInteger serial(Path pem) throws Exception {
        try (InputStream in = Files.newInputStream(pem)) {
            return ((X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in)).getSerialNumber();
        }
    }

    private static SSLSocket socket(DevCerts certs, int port, String alpn) throws Exception {
        final KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(certs.ca())) {
            trust.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        final TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        final SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, tmf.getTrustManagers(), null);
        final SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", port);
        socket.setSoTimeout(10_000);
        if (alpn != null) {
            final SSLParameters parameters = socket.getSSLParameters();
            parameters.setApplicationProtocols(new String[] {alpn});
            socket.setSSLParameters(parameters);
        }
        return socket;
    }
}
