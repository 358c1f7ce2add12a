package io.cy.coordinator;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.jsonwebtoken.JwtBuilder;
import io.jsonwebtoken.Jwts;
import io.jsonwebtoken.security.Jwks;
import io.jsonwebtoken.security.PublicJwk;
import io.jsonwebtoken.security.SignatureAlgorithm;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;

/**
 * An OpenID Connect provider as far as the coordinator sees one: the discovery document at
 * {@code /.well-known/openid-configuration} pointing at a JWK Set at {@code /jwks}, built from
 * the keys currently published. It counts JWKS requests, keys can be published and withdrawn at
 * any time, and it can go down and come back on the same port. It also mints the tokens.
 */
final class OidcTestServer implements AutoCloseable {

    /** The audience the tests configure ({@code OAUTH2_AUDIENCE}) and put into good tokens. */
    static final String AUDIENCE = "cy-coordinator";

    private final int port;
    private final Map<String, String> published = new LinkedHashMap<>();
    private final AtomicInteger jwksRequests = new AtomicInteger();
    private final AtomicInteger discoveryRequests = new AtomicInteger();
    private final AtomicLong lastJwksRequestNanos = new AtomicLong(System.nanoTime());
    private HttpServer server;
    private ExecutorService executor;

    private OidcTestServer(int port) {
        this.port = port;
    }

    /** A provider listening on a free port of 127.0.0.1. */
    static OidcTestServer start() throws IOException {
        final HttpServer first = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        final OidcTestServer provider = new OidcTestServer(first.getAddress().getPort());
        provider.serve(first);
        return provider;
    }

    /** A provider that is down: its port (and so its issuer URL) is chosen, but nothing listens until {@link #up()}. */
    static OidcTestServer down() throws IOException {
        final OidcTestServer provider = start();
        provider.stop();
        return provider;
    }

    /** The issuer URL, without a trailing slash: what {@code OAUTH2_ISSUER} is set to and what good tokens carry. */
    String issuer() {
        return "http://127.0.0.1:" + port;
    }

    /** The environment that points the coordinator at this provider, with auth required. */
    Map<String, String> environment() {
        final Map<String, String> env = new LinkedHashMap<>();
        env.put("CY_AUTH_MODE", "required");
        env.put("OAUTH2_ISSUER", issuer());
        env.put("OAUTH2_AUDIENCE", AUDIENCE);
        return env;
    }

    /** Publishes {@code key} in the JWK Set with its own algorithm as the JWK {@code alg}. */
    SigningKey publish(SigningKey key) {
        return publish(key, key.algorithm().getId());
    }

    /** Publishes {@code key} in the JWK Set, declaring {@code jwkAlg} as the JWK's {@code alg}. */
    SigningKey publish(SigningKey key, String jwkAlg) {
        final PublicJwk<?> jwk = Jwks.builder().key(key.keyPair().getPublic()).id(key.kid()).algorithm(jwkAlg).build();
        synchronized (published) {
            published.put(key.kid(), Jwks.json(jwk));
        }
        return key;
    }

    /** Removes the key with {@code kid} from the JWK Set. */
    void withdraw(String kid) {
        synchronized (published) {
            published.remove(kid);
        }
    }

    /** How many times the JWK Set was fetched. */
    int jwksRequests() {
        return jwksRequests.get();
    }

    int discoveryRequests() {
        return discoveryRequests.get();
    }

    /** Returns once no JWK Set fetch has happened for {@code quiet}, e.g. to start outside a refresh rate limit. */
    void awaitNoFetchFor(Duration quiet) throws InterruptedException {
        while (true) {
            final long left = lastJwksRequestNanos.get() + quiet.toNanos() - System.nanoTime();
            if (left <= 0) {
                return;
            }
            Thread.sleep(Math.max(1, left / 1_000_000));
        }
    }

    /** Stops listening; connection attempts are refused until {@link #up()}. */
    synchronized void stop() {
        if (server != null) {
            server.stop(0);
            executor.shutdownNow();
            server = null;
        }
    }

    /** Listens again on the same port. */
    synchronized void up() throws IOException {
        if (server == null) {
            serve(HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0));
        }
    }

    @Override
    public void close() {
        stop();
    }

    /**
     * A token with the claims of a good one from this provider (its issuer, the configured
     * audience, a subject, issued now, expiring in ten minutes), {@code kid} in the header and
     * signed with {@code key}. Add or override claims, then {@code compact()}.
     */
    JwtBuilder token(SigningKey key) {
        final Instant now = Instant.now();
        return key.sign(Jwts.builder()
                .issuer(issuer())
                .audience().add(AUDIENCE).and()
                .subject("alice")
                .issuedAt(Date.from(now))
                .expiration(Date.from(now.plus(Duration.ofMinutes(10)))));
    }

    private synchronized void serve(HttpServer http) {
        executor = Executors.newCachedThreadPool(runnable -> {
            final Thread thread = new Thread(runnable, "oidc-test-server");
            thread.setDaemon(true);
            return thread;
        });
        http.setExecutor(executor);
        http.createContext("/.well-known/openid-configuration", exchange -> {
            discoveryRequests.incrementAndGet();
            respond(exchange, "{\"issuer\":\"" + issuer() + "\",\"jwks_uri\":\"" + issuer() + "/jwks\"}");
        });
        http.createContext("/jwks", exchange -> {
            jwksRequests.incrementAndGet();
            lastJwksRequestNanos.set(System.nanoTime());
            final String keys;
            synchronized (published) {
                keys = published.values().stream().collect(Collectors.joining(","));
            }
            respond(exchange, "{\"keys\":[" + keys + "]}");
        });
        http.start();
        server = http;
    }

    private static void respond(HttpExchange exchange, String json) throws IOException {
        try (exchange) {
            exchange.getRequestBody().readAllBytes();
            final byte[] body = json.getBytes(UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }
    }

    /** A key pair, its key id, and the algorithm tokens signed with it name in their header. */
    record SigningKey(String kid, SignatureAlgorithm algorithm, KeyPair keyPair) {

        /** A fresh key pair for {@code algorithm}: 2048-bit RSA for every RSA algorithm, Ed25519 for EdDSA. */
        static SigningKey generate(String kid, SignatureAlgorithm algorithm) {
            final KeyPair pair;
            if (algorithm == Jwts.SIG.EdDSA) {
                pair = generate("Ed25519");
            } else if (algorithm.getId().startsWith("RS") || algorithm.getId().startsWith("PS")) {
                pair = Jwts.SIG.RS256.keyPair().build();
            } else {
                pair = algorithm.keyPair().build();
            }
            return new SigningKey(kid, algorithm, pair);
        }

        /** Puts this key's id in the header and signs with its private key when the token is compacted. */
        JwtBuilder sign(JwtBuilder builder) {
            return builder.header().keyId(kid).and().signWith(keyPair.getPrivate(), algorithm);
        }

        private static KeyPair generate(String jcaName) {
            try {
                return KeyPairGenerator.getInstance(jcaName).generateKeyPair();
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("cannot generate an " + jcaName + " key pair", e);
            }
        }
    }
}
