package io.cy.bridge;

import io.cy.coordinator.transport.netty.Endpoint;
import io.cy.coordinator.transport.netty.NettyTransport;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.function.UnaryOperator;

/**
 * A bridge on 127.0.0.1 (ephemeral port) in front of a given upstream channel, on its own event
 * loops, with an HTTP client for it. Closes the bridge and the event loops; the upstream belongs
 * to the test.
 */
final class BridgeFixture implements AutoCloseable {

    static final Duration TIMEOUT = Duration.ofSeconds(20);

    final NettyTransport transport = NettyTransport.create(2, "test-bridge");
    final HttpBridge bridge;
    final HttpClient client = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(TIMEOUT)
            .build();

    BridgeFixture(io.grpc.Channel upstream) throws IOException {
        this(upstream, c -> c);
    }

    BridgeFixture(io.grpc.Channel upstream, UnaryOperator<BridgeConfig> config) throws IOException {
        try {
            bridge = HttpBridge.start(config.apply(BridgeConfig.defaults().withListen(Endpoint.tcp("127.0.0.1", 0))),
                    upstream, transport);
        } catch (IOException | RuntimeException e) {
            transport.close();
            throw e;
        }
    }

    int port() {
        return bridge.port();
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + bridge.port() + path);
    }

    HttpResponse<String> post(String path, String json, String... headers) throws IOException, InterruptedException {
        final HttpRequest.Builder b = HttpRequest.newBuilder(uri(path))
                .timeout(TIMEOUT)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json));
        if (headers.length > 0) {
            b.headers(headers);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(String path, String... headers) throws IOException, InterruptedException {
        final HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(TIMEOUT).GET();
        if (headers.length > 0) {
            b.headers(headers);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    RawHttp raw() throws IOException {
        return new RawHttp(port());
    }

    @Override
    public void close() {
        bridge.close();
        transport.close();
    }
}
