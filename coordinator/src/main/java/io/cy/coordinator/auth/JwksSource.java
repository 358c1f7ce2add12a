package io.cy.coordinator.auth;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cy.coordinator.config.CoordinatorConfig;
import io.jsonwebtoken.security.Jwk;
import io.jsonwebtoken.security.JwkSet;
import io.jsonwebtoken.security.Jwks;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.PublicKey;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The issuer's signing keys: found through OIDC discovery, fetched from its {@code jwks_uri},
 * refreshed on a schedule and when a token names a key id not seen yet. Fetches are
 * single-flight and rate-limited, never one per call; a failed fetch is retried in the
 * background with backoff, so an issuer that was down at startup is picked up without a restart.
 */
final class JwksSource implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(JwksSource.class);
    private static final int MAX_DOCUMENT_BYTES = 1 << 20;
    private static final Duration MAX_RETRY_DELAY = Duration.ofSeconds(30);

    /** A verification key and the algorithm its JWK is restricted to (null when unrestricted). */
    record SigningKey(PublicKey key, String algorithm) {}

    private final URI discoveryUri;
    private final String issuer;
    private final CoordinatorConfig.Oidc config;
    private final HttpClient http;
    private final ScheduledExecutorService scheduler;
    private final Runnable onKeysChanged;
    private final ObjectMapper json = new ObjectMapper();

    private volatile Map<String, SigningKey> keys = Map.of();
    private volatile boolean loaded;
    private volatile String lastError = "not fetched yet";
    // Guarded by this.
    private CompletableFuture<Void> inflight;
    private long lastAttemptNanos;
    private int consecutiveFailures;
    private boolean closed;
    // The one pending scheduled refresh: every fetch, whatever started it, replaces it.
    private ScheduledFuture<?> scheduled;

    JwksSource(CoordinatorConfig.Oidc config, HttpClient http, ScheduledExecutorService scheduler,
               Runnable onKeysChanged) {
        this.config = requireNonNull(config, "config");
        this.http = requireNonNull(http, "http");
        this.scheduler = requireNonNull(scheduler, "scheduler");
        this.onKeysChanged = requireNonNull(onKeysChanged, "onKeysChanged");
        this.issuer = stripSlash(config.issuer());
        this.discoveryUri = URI.create(issuer + "/.well-known/openid-configuration");
    }

    static String stripSlash(String s) {
        return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    }

    /** The issuer as configured, without a trailing slash. */
    String issuer() {
        return issuer;
    }

    void start() {
        refresh();
    }

    SigningKey key(String kid) {
        return keys.get(kid == null ? "" : kid);
    }

    /** Whether keys were fetched successfully at least once. */
    boolean isLoaded() {
        return loaded;
    }

    /** Why the last fetch failed, for rejections while no keys are loaded. */
    String lastError() {
        return lastError;
    }

    /**
     * Fetches the keys again because a token named an unknown key id, unless a fetch ran less
     * than {@code min_refresh_interval} ago; joins a fetch already under way.
     */
    synchronized CompletableFuture<Void> refreshForUnknownKey() {
        if (inflight != null) {
            return inflight;
        }
        if (System.nanoTime() - lastAttemptNanos < config.minRefreshInterval().toNanos() && lastAttemptNanos != 0) {
            return CompletableFuture.completedFuture(null);
        }
        return refresh();
    }

    private synchronized CompletableFuture<Void> refresh() {
        if (inflight != null) {
            return inflight;
        }
        lastAttemptNanos = System.nanoTime();
        final CompletableFuture<Void> fetch = get(discoveryUri)
                .thenCompose(discovery -> get(jwksUri(discovery)))
                .thenAccept(this::install);
        final CompletableFuture<Void> done = new CompletableFuture<>();
        // Set before the callback can run: a fetch that fails at once completes right here.
        inflight = done;
        fetch.whenComplete((ok, error) -> {
            fetched(error);
            done.complete(null);
        });
        return done;
    }

    private synchronized void fetched(Throwable error) {
        inflight = null;
        if (closed) {
            return;
        }
        final Duration next;
        if (error == null) {
            consecutiveFailures = 0;
            next = config.refreshInterval();
        } else {
            final Throwable cause = error instanceof CompletionException && error.getCause() != null
                    ? error.getCause() : error;
            lastError = cause.getMessage() != null ? cause.getMessage() : cause.getClass().getSimpleName();
            consecutiveFailures++;
            logger.warn("fetching signing keys of {} failed ({} in a row): {}", issuer, consecutiveFailures, lastError);
            final long backoff = Math.min(MAX_RETRY_DELAY.toMillis(), 500L << Math.min(consecutiveFailures, 10));
            next = Duration.ofMillis(Math.min(backoff, config.refreshInterval().toMillis()));
        }
        if (scheduled != null) {
            scheduled.cancel(false);
        }
        scheduled = scheduler.schedule(this::refresh, next.toMillis(), TimeUnit.MILLISECONDS);
    }

    private URI jwksUri(String discoveryDocument) {
        final JsonNode document = parseJson(discoveryDocument, discoveryUri);
        final String announced = stripSlash(document.path("issuer").asText(""));
        if (!announced.equals(issuer)) {
            throw new IllegalStateException(discoveryUri + ": issuer is '" + announced + "' (expected: " + issuer + ")");
        }
        final String jwksUri = document.path("jwks_uri").asText("");
        if (jwksUri.isEmpty()) {
            throw new IllegalStateException(discoveryUri + ": no jwks_uri");
        }
        return URI.create(jwksUri);
    }

    private void install(String jwksDocument) {
        final JwkSet set = Jwks.setParser().ignoreUnsupported(true).build().parse(jwksDocument);
        final Map<String, SigningKey> fresh = new HashMap<>();
        for (Jwk<?> jwk : set.getKeys()) {
            final Object use = jwk.get("use");
            if (use != null && !"sig".equals(use)) {
                continue;
            }
            if (jwk.toKey() instanceof PublicKey) {
                fresh.put(jwk.getId() == null ? "" : jwk.getId(), new SigningKey((PublicKey) jwk.toKey(), jwk.getAlgorithm()));
            }
        }
        final boolean changed = !fresh.keySet().equals(keys.keySet()) || !sameKeys(fresh, keys);
        keys = Map.copyOf(fresh);
        loaded = true;
        lastError = "";
        if (changed) {
            logger.info("signing keys of {}: {}", issuer, fresh.keySet());
            onKeysChanged.run();
        }
    }

    private static boolean sameKeys(Map<String, SigningKey> a, Map<String, SigningKey> b) {
        for (Map.Entry<String, SigningKey> e : a.entrySet()) {
            final SigningKey other = b.get(e.getKey());
            if (other == null || !other.key().equals(e.getValue().key())) {
                return false;
            }
        }
        return true;
    }

    private CompletableFuture<String> get(URI uri) {
        final HttpRequest request = HttpRequest.newBuilder(uri)
                .timeout(config.timeout())
                .header("Accept", "application/json")
                .GET()
                .build();
        return http.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray()).thenApply(response -> {
            if (response.statusCode() != 200) {
                throw new IllegalStateException(uri + ": HTTP " + response.statusCode());
            }
            if (response.body().length > MAX_DOCUMENT_BYTES) {
                throw new IllegalStateException(uri + ": " + response.body().length
                        + " bytes (expected: <= " + MAX_DOCUMENT_BYTES + ")");
            }
            return new String(response.body(), StandardCharsets.UTF_8);
        }).exceptionally(error -> {
            final Throwable cause = error instanceof CompletionException && error.getCause() != null
                    ? error.getCause() : error;
            if (cause instanceof IOException) {
                throw new CompletionException(new IOException(uri + ": " + describe(cause), cause));
            }
            throw error instanceof CompletionException ? (CompletionException) error : new CompletionException(error);
        });
    }

    private JsonNode parseJson(String text, URI uri) {
        try {
            return json.readTree(text);
        } catch (IOException e) {
            throw new IllegalStateException(uri + ": not JSON");
        }
    }

    private static String describe(Throwable t) {
        return t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (scheduled != null) {
            scheduled.cancel(false);
        }
    }
}
