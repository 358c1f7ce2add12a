package io.cy.coordinator.transport.netty;

import static java.util.Objects.requireNonNull;

import io.netty.channel.unix.DomainSocketAddress;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Where a gRPC peer listens: a Unix domain socket or a TCP host and port.
 *
 * <p>Accepts the forms operators already use: {@code unix:///abs/path}, {@code unix:/abs/path},
 * a plain {@code /abs/path} (as the open-source coordinator's WORKER_UDS_PATH is written),
 * {@code host:port}, {@code [::1]:port} and {@code dns:///host:port}. Unix socket paths must be
 * absolute, since a relative path silently depends on the working directory of each process.
 */
public final class Endpoint {

    private final Path socketPath;
    private final String host;
    private final int port;
    // dns:///host:port: a name whose every address is a peer, looked up again from time to time.
    private final boolean dns;
    /** The canonical form, made once: it names the sidecar in every call's record and keys the maps of endpoints. */
    private final String text;

    private Endpoint(Path socketPath, String host, int port, boolean dns) {
        this.socketPath = socketPath;
        this.host = host;
        this.port = port;
        this.dns = dns;
        this.text = socketPath != null ? "unix://" + socketPath : dns ? "dns:///" + hostPort() : hostPort();
    }

    public static Endpoint unix(Path socketPath) {
        requireNonNull(socketPath, "socketPath");
        if (!socketPath.isAbsolute()) {
            throw new IllegalArgumentException(
                    "unix:" + socketPath + " (expected: an absolute path, e.g. unix:///tmp/cy_sidecar.sock)");
        }
        return new Endpoint(socketPath.normalize(), null, -1, false);
    }

    public static Endpoint tcp(String host, int port) {
        requireNonNull(host, "host");
        if (host.isEmpty()) {
            throw new IllegalArgumentException(":" + port + " (expected: host:port)");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException(host + ":" + port + " (expected: port in [0, 65535])");
        }
        return new Endpoint(null, host, port, false);
    }

    /**
     * {@code dns:///host:port}: every address {@code host} resolves to is a peer on {@code port}
     * (a Kubernetes headless Service, say); see {@link #resolved}.
     */
    public static Endpoint dns(String host, int port) {
        final Endpoint tcp = tcp(host, port);
        return new Endpoint(null, tcp.host, tcp.port, true);
    }

    /** Parses one address; the message of the exception names the offending text and the expected form. */
    public static Endpoint parse(String text) {
        requireNonNull(text, "text");
        final String s = text.trim();
        if (s.isEmpty()) {
            throw new IllegalArgumentException("empty address (expected: unix:///path or host:port)");
        }
        if (s.startsWith("unix://")) {
            return unix(Path.of(s.substring("unix://".length())));
        }
        if (s.startsWith("unix:")) {
            return unix(Path.of(s.substring("unix:".length())));
        }
        if (s.startsWith("/")) {
            return unix(Path.of(s));
        }
        if (s.indexOf(':') < 0 && s.indexOf('/') >= 0) {
            // Neither a host nor an absolute path: a socket path relative to somewhere.
            throw new IllegalArgumentException(s + " (expected: an absolute socket path such as /tmp/cy_sidecar.sock,"
                    + " or host:port)");
        }
        String hostPort = s;
        final boolean dns = s.startsWith("dns:///");
        if (dns) {
            hostPort = s.substring("dns:///".length());
        } else if (s.contains("://")) {
            throw new IllegalArgumentException(s + " (expected: unix:///path, host:port or dns:///host:port)");
        }
        final int colon = hostPort.lastIndexOf(':');
        if (colon <= 0 || colon == hostPort.length() - 1) {
            throw new IllegalArgumentException(s + " (expected: host:port)");
        }
        String host = hostPort.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        final int port;
        try {
            port = Integer.parseInt(hostPort.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(s + " (expected: host:port with a numeric port)");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException(s + " (expected: port in [0, 65535])");
        }
        return dns ? dns(host, port) : tcp(host, port);
    }

    /** Parses a comma-separated list, skipping empty entries; at least one address is required. */
    public static List<Endpoint> parseList(String text) {
        requireNonNull(text, "text");
        final List<Endpoint> endpoints = new ArrayList<>();
        for (String part : text.split(",")) {
            if (!part.isBlank()) {
                endpoints.add(parse(part));
            }
        }
        if (endpoints.isEmpty()) {
            throw new IllegalArgumentException("'" + text + "' (expected: one or more addresses, comma-separated)");
        }
        return List.copyOf(endpoints);
    }

    public boolean isUnix() {
        return socketPath != null;
    }

    /** Whether this is a {@code dns:///} name that stands for every address it resolves to. */
    public boolean isDns() {
        return dns;
    }

    /** The peer at {@code address} on this endpoint's port: one of the addresses a {@code dns:///} name resolved to. */
    public Endpoint resolved(InetAddress address) {
        return tcp(address.getHostAddress(), port);
    }

    /** The socket file; only for Unix endpoints. */
    public Path socketPath() {
        if (socketPath == null) {
            throw new IllegalStateException(this + " is not a Unix socket");
        }
        return socketPath;
    }

    public String host() {
        return host;
    }

    public int port() {
        return port;
    }

    public SocketAddress socketAddress() {
        if (socketPath != null) {
            return new DomainSocketAddress(socketPath.toString());
        }
        return new InetSocketAddress(host, port);
    }

    /** This endpoint with another port; for a listener bound to port 0. */
    public Endpoint withPort(int newPort) {
        return dns ? dns(host, newPort) : tcp(host, newPort);
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof Endpoint)) {
            return false;
        }
        return text.equals(((Endpoint) o).text);
    }

    @Override
    public int hashCode() {
        return text.hashCode();
    }

    /** {@code host:port}, with an IPv6 host in brackets; only for TCP endpoints. */
    public String hostPort() {
        if (socketPath != null) {
            throw new IllegalStateException(this + " is not a TCP endpoint");
        }
        return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
    }

    /** The canonical form, usable as a gRPC target: {@code unix:///path}, {@code host:port} or {@code dns:///host:port}. */
    @Override
    public String toString() {
        return text;
    }
}
