package io.cy.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.cy.bridge.BridgeConfig;
import io.cy.bridge.HttpBridge;
import io.cy.coordinator.transport.netty.Endpoint;
import io.cy.sim.SimConfig;
import io.cy.sim.SimulatedSidecar;
import io.cy.coordinator.transport.netty.NettyTransport;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.netty.channel.epoll.Epoll;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The whole command line, over real sockets. */
class BenchMainTest {

    private final Captured out = new Captured();
    private final Captured err = new Captured();
    private final NettyTransport serverTransport = NettyTransport.create(1, "test-server");
    private Server server;

    @AfterEach
    void stop() throws InterruptedException {
        if (server != null) {
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        serverTransport.close();
    }

    private Endpoint serve(Endpoint listen) throws IOException {
        server = serverTransport.serverBuilder(listen).addService(new FakeAiInference().definition()).build().start();
        return listen.isUnix() ? listen
                : listen.withPort(((InetSocketAddress) server.getListenSockets().get(0)).getPort());
    }

    private int run(String... args) {
        return BenchMain.run(args, out.stream, err.stream);
    }

    @Test
    void callStreamsOverTcp() throws IOException {
        final Endpoint target = serve(Endpoint.tcp("127.0.0.1", 0));

        final int exit = run("call", "--target", target.toString(), "--max-new-tokens", "3");

        assertThat(exit).isZero();
        assertThat(out.text()).isEqualTo("tok0 tok1 tok2 \n");
        assertThat(err.text()).startsWith("-- 3 chunks,").endsWith("status OK\n");
    }

    @Test
    void callHealthOverAUnixSocket(@TempDir Path dir) throws IOException {
        assumeTrue(Epoll.isAvailable(), "Unix sockets need native epoll");
        final Endpoint target = serve(Endpoint.unix(dir.resolve("s.sock")));

        final int exit = run("call", "--target", target.toString(), "--method", "health");

        assertThat(exit).isZero();
        assertThat(out.text()).startsWith("healthy=true\n");
    }

    @Test
    void unreachableTargetIsAGrpcError() throws IOException {
        final int port;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = socket.getLocalPort();
        }

        final int exit = run("call", "--target", "127.0.0.1:" + port, "--method", "health");

        assertThat(exit).isEqualTo(1);
        assertThat(err.text()).startsWith("error: UNAVAILABLE");
    }

    @Test
    void badFlagExitsTwoNamingTheFlag() {
        final int exit = run("call", "--max-new-tokens", "abc");

        assertThat(exit).isEqualTo(2);
        assertThat(err.text()).startsWith("call: --max-new-tokens: abc (expected: a whole number)\n");
        assertThat(out.text()).isEmpty();
    }

    @Test
    void callHelpPrintsTheOptions() {
        final int exit = run("call", "--help");

        assertThat(exit).isZero();
        assertThat(out.text()).startsWith("usage: cy-bench call").contains("--max-new-tokens N");
    }

    @Test
    void noCommandOrAnUnknownOneExitsTwo() {
        assertThat(run()).isEqualTo(2);
        assertThat(run("bogus")).isEqualTo(2);
        assertThat(err.text()).contains("unknown command: bogus").contains("usage: cy-bench <command>");
    }

    @Test
    void loadAndCompareHaveHelp() {
        assertThat(run("load", "--help")).isZero();
        assertThat(run("compare", "--help")).isZero();
        assertThat(out.text()).contains("usage: cy-bench load").contains("--rate R").contains("--http URL")
                .contains("usage: cy-bench compare").contains("--quick");
    }

    @Test
    void badLoadArgumentsExitTwo() {
        assertThat(run("load", "--concurrency", "0")).isEqualTo(2);
        assertThat(err.text()).startsWith("load: --concurrency: 0 (expected: >= 1)\n");
    }

    @Test
    void loadReportsTheRun() throws IOException {
        try (SimulatedSidecar sim = SimulatedSidecar.start(SimConfig.builder().build())) {

            final int json = run("load", "--target", sim.target(), "--concurrency", "2", "--calls", "10",
                    "--max-new-tokens", "3", "--json");
            final String jsonText = out.text();
            final int text = run("load", "--target", sim.target(), "--calls", "5", "--extra", "sim.fail=NOT_FOUND");

            assertThat(json).isZero();
            assertThat(jsonText).startsWith(
                    "{\"started\":10,\"succeeded\":10,\"error_count\":0,\"errors\":{},\"chunks\":30,");
            assertThat(text).isEqualTo(1);
            assertThat(out.text().substring(jsonText.length()))
                    .startsWith("target    " + sim.target() + ": closed loop, 64 concurrent, 16 tokens, 1 channel\n")
                    .contains("calls     0 ok of 5 started")
                    .contains("errors    NOT_FOUND=5\nfirst     NOT_FOUND: simulated NOT_FOUND after 0 chunks\n");
        }
    }

    @Test
    void loadOverHttpThroughTheBridge() throws IOException {
        try (SimulatedSidecar sim = SimulatedSidecar.start(SimConfig.builder().build())) {
            final ManagedChannel upstream = serverTransport.channelBuilder(sim.endpoint()).build();
            try (HttpBridge bridge = HttpBridge.start(BridgeConfig.defaults().withListen(Endpoint.tcp("127.0.0.1", 0)),
                    upstream, serverTransport)) {
                final String url = "http://127.0.0.1:" + bridge.port();

                final int exit = run("load", "--http", url, "--concurrency", "2", "--calls", "10",
                        "--max-new-tokens", "3");

                assertThat(exit).isZero();
                assertThat(out.text())
                        .startsWith("target    " + url + ": closed loop, 2 concurrent, 3 tokens, HTTP/1.1 with SSE,"
                                + " up to 2 connections\n")
                        .contains("calls     10 ok of 10 started")
                        .contains("errors    none\n");
                assertThat(sim.stats().callsSucceeded()).isEqualTo(10);
            } finally {
                upstream.shutdownNow();
            }
        }
    }

    @Test
    void helpListsTheCommands() {
        assertThat(run("--help")).isZero();
        assertThat(out.text()).contains("call ").contains("load ").contains("compare ");
    }
}
