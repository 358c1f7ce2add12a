package io.cy.coordinator.transport.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.transport.netty.Endpoint;
import io.cy.coordinator.transport.netty.NettyTransport;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The listener's own limits, apart from any service: connections that never speak HTTP/2. */
class GrpcFrontServerTest {

    private final NettyTransport transport = NettyTransport.create(1, "front-server-test");
    private GrpcFrontServer server;

    @AfterEach
    void close() throws InterruptedException {
        if (server != null) {
            server.shutdownNow();
            server.awaitTermination(5, TimeUnit.SECONDS);
        }
        transport.close();
    }

    @Test
    void aConnectionThatNeverSendsThePrefaceIsClosedAfterTheHandshakeTimeout() throws Exception {
        final int port = start(Duration.ofSeconds(60), Duration.ofSeconds(20), Duration.ofMillis(200));
        try (Socket socket = new Socket("127.0.0.1", port)) {
            assertClosedByTheServer(socket);
        }
    }

    @Test
    void aClientThatStopsAnsweringPingsIsDisconnected() throws Exception {
        final int port = start(Duration.ofMillis(100), Duration.ofMillis(100), Duration.ofSeconds(20));
        try (Socket socket = new Socket("127.0.0.1", port)) {
            // The client preface and an empty SETTINGS frame: HTTP/2 started, then silence.
            final OutputStream out = socket.getOutputStream();
            out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.write(new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0});
            out.flush();
            assertClosedByTheServer(socket);
        }
    }

    @Test
    void shutdownOfAServerWithNoConnectionsTerminatesAtOnce() throws Exception {
        start(Duration.ofSeconds(60), Duration.ofSeconds(20), Duration.ofSeconds(20));
        server.shutdown();
        assertThat(server.awaitTermination(5, TimeUnit.SECONDS)).isTrue();
        assertThat(server.isShutdown()).isTrue();
    }

    /** Starts a server with no services and these timings; returns its port. */
    private int start(Duration keepaliveTime, Duration keepaliveTimeout, Duration handshakeTimeout) throws Exception {
        server = new GrpcFrontServer(Endpoint.tcp("127.0.0.1", 0), transport, List.of(),
                new GrpcFrontServer.Settings(100, 8192, 4096, keepaliveTime, keepaliveTimeout, Duration.ZERO,
                        handshakeTimeout)).start();
        return ((InetSocketAddress) server.getListenSockets().get(0)).getPort();
    }

    /** Reads what the server sends (its SETTINGS, a PING) until it closes; fails if it does not within 10 s. */
    private static void assertClosedByTheServer(Socket socket) throws Exception {
        socket.setSoTimeout(10_000);
        final InputStream in = socket.getInputStream();
        int read;
        do {
            read = in.read();
        } while (read >= 0);
        assertThat(read).as("end of stream: the server closed the connection").isEqualTo(-1);
    }
}
