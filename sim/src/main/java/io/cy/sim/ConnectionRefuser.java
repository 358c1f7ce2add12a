package io.cy.sim;

import io.cy.coordinator.transport.netty.Endpoint;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A listener that accepts every connection and closes it at once: the socket exists, yet no
 * HTTP/2 connection ever comes up, so clients see UNAVAILABLE (a crashed worker behind a live
 * sidecar, or a proxy with nothing behind it).
 */
final class ConnectionRefuser implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ConnectionRefuser.class);

    private final ServerSocketChannel server;
    private final Endpoint endpoint;
    private final Thread acceptor;

    private ConnectionRefuser(ServerSocketChannel server, Endpoint endpoint) {
        this.server = server;
        this.endpoint = endpoint;
        this.acceptor = new Thread(this::acceptLoop, "cy-sim-refuser");
        acceptor.setDaemon(true);
    }

    static ConnectionRefuser open(Endpoint listen) throws IOException {
        final ServerSocketChannel server;
        final Endpoint bound;
        if (listen.isUnix()) {
            server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            server.bind(UnixDomainSocketAddress.of(listen.socketPath()));
            bound = listen;
        } else {
            server = ServerSocketChannel.open();
            server.bind(new InetSocketAddress(listen.host(), listen.port()));
            bound = listen.withPort(((InetSocketAddress) server.getLocalAddress()).getPort());
        }
        final ConnectionRefuser refuser = new ConnectionRefuser(server, bound);
        refuser.acceptor.start();
        return refuser;
    }

    /** Where it listens, with the actual port. */
    Endpoint endpoint() {
        return endpoint;
    }

    private void acceptLoop() {
        while (true) {
            try {
                final SocketChannel connection = server.accept();
                // Closed unread: the client's HTTP/2 preface is cut off.
                connection.close();
            } catch (ClosedChannelException e) {
                return; // closed by close()
            } catch (IOException e) {
                if (!server.isOpen()) {
                    return;
                }
                log.debug("accept failed on {}", endpoint, e);
            }
        }
    }

    @Override
    public void close() {
        try {
            server.close(); // wakes accept() with AsynchronousCloseException
        } catch (IOException e) {
            log.warn("closing {} failed", endpoint, e);
        }
        try {
            acceptor.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
