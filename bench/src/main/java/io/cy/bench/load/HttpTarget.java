package io.cy.bench.load;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.transport.netty.Endpoint;
import java.net.URI;
import java.net.URISyntaxException;

/**
 * Where an OpenAI-compatible HTTP API listens, from a URL such as {@code http://127.0.0.1:8080}:
 * the address to connect to, the {@code Host} header, and the path the API's paths go under
 * (empty for the root). Plain HTTP only: the bench measures the bridge, not TLS.
 */
public record HttpTarget(Endpoint endpoint, String hostHeader, String basePath) {

    public HttpTarget {
        requireNonNull(endpoint, "endpoint");
        requireNonNull(hostHeader, "hostHeader");
        requireNonNull(basePath, "basePath");
    }

    /** Parses {@code http://host[:port][/base]}; the message of the exception says what was expected. */
    public static HttpTarget parse(String url) {
        requireNonNull(url, "url");
        final URI uri;
        try {
            uri = new URI(url.trim());
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(url + " (expected: http://host:port)");
        }
        if (!"http".equalsIgnoreCase(uri.getScheme())) {
            throw new IllegalArgumentException(url + " (expected: http://host:port; "
                    + (uri.getScheme() == null ? "no scheme" : uri.getScheme() + " is not supported") + ")");
        }
        if (uri.getRawUserInfo() != null) {
            // Not echoed: it may hold a password.
            throw new IllegalArgumentException("a URL with user info (expected: http://host:port[/path];"
                    + " the bearer token goes in --token)");
        }
        if (uri.getHost() == null) {
            throw new IllegalArgumentException(url + " (expected: http://host:port)");
        }
        if (uri.getRawQuery() != null || uri.getRawFragment() != null) {
            throw new IllegalArgumentException(url + " (expected: http://host:port[/path], nothing more)");
        }
        final int port = uri.getPort() < 0 ? 80 : uri.getPort();
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException(url + " (expected: http://host:port, port 1-65535)");
        }
        // getHost() keeps an IPv6 literal's brackets, which the socket address must not have.
        final String host = uri.getHost().startsWith("[") ? uri.getHost().substring(1, uri.getHost().length() - 1)
                : uri.getHost();
        String base = uri.getRawPath() == null ? "" : uri.getRawPath();
        while (base.endsWith("/")) {
            base = base.substring(0, base.length() - 1);
        }
        return new HttpTarget(Endpoint.tcp(host, port), uri.getHost() + (uri.getPort() < 0 ? "" : ":" + port), base);
    }

    /** The request target of an API path, e.g. {@code /v1/chat/completions}. */
    public String path(String apiPath) {
        return basePath + apiPath;
    }

    @Override
    public String toString() {
        return "http://" + hostHeader + basePath;
    }
}
