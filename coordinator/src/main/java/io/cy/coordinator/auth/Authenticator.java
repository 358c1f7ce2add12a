package io.cy.coordinator.auth;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.config.CoordinatorConfig;
import io.cy.coordinator.transport.server.UnixPeer;
import java.net.http.HttpClient;
import java.security.cert.X509Certificate;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.LongSupplier;

/**
 * Turns a bearer token into an {@link Authentication}: a JWT (two dots) through
 * {@link JwtVerifier}, remembered once verified; anything else as an API key. A caller on the
 * Unix socket without a token is known by its peer credentials instead, one with a verified TLS
 * client certificate by that certificate.
 */
public final class Authenticator implements AutoCloseable {

    private final CoordinatorConfig.Auth config;
    private final ApiKeys apiKeys;
    private final UnixPeers unixPeers;
    private final ClientCerts clientCerts;
    private final JwtVerifier jwt;
    private final VerifiedTokens verified;
    private final JwksSource jwks;
    private final ScheduledExecutorService scheduler;
    private final LongSupplier clock;

    private Authenticator(CoordinatorConfig.Auth config, JwksSource jwks, ScheduledExecutorService scheduler,
                          VerifiedTokens verified, LongSupplier clock) {
        this.config = config;
        this.apiKeys = new ApiKeys(config);
        this.unixPeers = new UnixPeers(config);
        this.clientCerts = new ClientCerts(config);
        this.jwks = jwks;
        this.scheduler = scheduler;
        this.verified = verified;
        this.clock = clock;
        this.jwt = new JwtVerifier(config, jwks, clock);
    }

    /** Creates the authenticator and, with an issuer configured, starts fetching its keys. */
    public static Authenticator start(CoordinatorConfig.Auth config) {
        requireNonNull(config, "config");
        final VerifiedTokens verified = new VerifiedTokens(config.cacheMaxEntries());
        if (config.oidc().issuer().isEmpty()) {
            return new Authenticator(config, null, null, verified, System::currentTimeMillis);
        }
        // One daemon thread runs key fetches (HTTP callbacks) and their schedule; nothing here
        // is on a call's path.
        final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            final Thread t = new Thread(r, "cy-jwks");
            t.setDaemon(true);
            return t;
        });
        final HttpClient http = HttpClient.newBuilder()
                .connectTimeout(config.oidc().timeout())
                .executor(scheduler)
                .followRedirects(HttpClient.Redirect.NORMAL)
                .build();
        final JwksSource jwks = new JwksSource(config.oidc(), http, scheduler, verified::clear);
        final Authenticator authenticator = new Authenticator(config, jwks, scheduler, verified, System::currentTimeMillis);
        jwks.start();
        return authenticator;
    }

    /** Authenticates a bearer token; completes at once except while the issuer's keys are fetched. */
    public CompletableFuture<Authentication> authenticate(String token) {
        if (token.length() > config.maxTokenBytes()) {
            return CompletableFuture.completedFuture(Authentication.rejected(
                    "token too large: " + token.length() + " bytes (expected: <= " + config.maxTokenBytes() + ")"));
        }
        final byte[] hash = TokenHashes.sha256(token);
        if (!looksLikeJwt(token)) {
            return CompletableFuture.completedFuture(apiKeys.authenticate(hash));
        }
        final Identity known = verified.get(hash, clock.getAsLong());
        if (known != null) {
            return CompletableFuture.completedFuture(Authentication.of(known));
        }
        final long generation = verified.generation();
        return jwt.verify(token).thenApply(result -> {
            if (result.authentication().isAuthenticated()) {
                verified.put(hash, result.authentication().identity(), result.expiresAtMillis(), clock.getAsLong(),
                        generation);
            }
            return result.authentication();
        });
    }

    /** Authenticates a Unix-socket caller that sent no bearer token by its peer credentials (auth.unix_peers). */
    public Authentication authenticate(UnixPeer peer) {
        return unixPeers.authenticate(peer);
    }

    /** Whether {@code auth.client_certs} lists anyone: without entries a certificate is not a credential. */
    public boolean knowsClientCerts() {
        return !clientCerts.isEmpty();
    }

    /** Authenticates a caller that sent no bearer token by its verified client certificate (auth.client_certs). */
    public Authentication authenticate(X509Certificate certificate) {
        return clientCerts.authenticate(certificate);
    }

    private static boolean looksLikeJwt(String token) {
        final int first = token.indexOf('.');
        return first > 0 && token.indexOf('.', first + 1) > first;
    }

    @Override
    public void close() {
        if (jwks != null) {
            jwks.close();
            scheduler.shutdownNow();
        }
    }
}
