package io.cy.bench.load;

import io.cy.coordinator.transport.netty.NettyTransport;

/**
 * A connection pool on its own event loops in front of a {@link ScriptedHttpServer}: the fixture
 * of the tests that drive the HTTP client against scripted answers. Closed after each test.
 */
final class ScriptedPool implements AutoCloseable {

    private final NettyTransport transport;
    private ScriptedHttpServer server;
    private HttpConnections connections;

    ScriptedPool(int threads, String name) {
        this.transport = NettyTransport.create(threads, name);
    }

    /** Starts the server with {@code script} and a pool of at most {@code max} connections to it. */
    HttpConnections open(ScriptedHttpServer.Script script, int max) throws Exception {
        server = ScriptedHttpServer.start(script);
        connections = HttpConnections.open(transport, HttpTarget.parse(server.url()), max);
        return connections;
    }

    ScriptedHttpServer server() {
        return server;
    }

    HttpConnections connections() {
        return connections;
    }

    @Override
    public void close() throws Exception {
        if (connections != null) {
            connections.close();
        }
        if (server != null) {
            server.close();
        }
        transport.close();
    }
}
