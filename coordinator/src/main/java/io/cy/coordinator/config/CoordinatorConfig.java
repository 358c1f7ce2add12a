package io.cy.coordinator.config;

import io.cy.coordinator.routing.BackendSpec;
import io.cy.coordinator.routing.RoutesSpec;
import io.cy.coordinator.transport.netty.Endpoint;
import io.cy.coordinator.transport.netty.ServerTls;
import io.cy.coordinator.transport.netty.SidecarTls;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import javax.security.auth.x500.X500Principal;

/**
 * The coordinator's settings, validated. Built by {@link ConfigLoader}; the documented defaults
 * live in {@code cy-coordinator-defaults.yaml}.
 */
public record CoordinatorConfig(
        Server server, Http http, Sidecars sidecars, Limits limits, Auth auth, Quota quota, Audit audit,
        Shutdown shutdown, Log log, List<BackendSpec> backends, RoutesSpec routes, RoutesStore routesStore,
        Observability observability) {

    public CoordinatorConfig {
        backends = List.copyOf(backends);
    }

    /**
     * Where and how the coordinator listens. {@code udsPath} is null when there is no Unix
     * listener; {@code tls} null when the TCP listener is plaintext (the Unix socket always is); {@code maxConnectionAge}, {@code maxConnectionAgeGrace} and
     * {@code maxConnectionIdle} are null for none.
     */
    public record Server(
            Endpoint grpcAddr,
            Endpoint udsPath,
            int eventLoopThreads,
            int maxConcurrentStreamsPerConnection,
            Duration keepaliveTime,
            Duration permitKeepaliveTime,
            Duration maxConnectionAge,
            Duration maxConnectionAgeGrace,
            Duration maxConnectionIdle,
            HttpFloodLimits floodLimits,
            ServerTls tls) {}

    /** What a client may make the gRPC listener do before it is disconnected (GOAWAY ENHANCE_YOUR_CALM). */
    public record HttpFloodLimits(int maxQueuedControlFrames, int maxRstFramesPerWindow, Duration rstFramesWindow,
                                  int maxConsecutiveEmptyDataFrames) {}

    /**
     * The HTTP bridge; {@code addr} is null when it is off, {@code upstreamDeadline} null for none,
     * {@code tls} null for plaintext.
     */
    public record Http(Endpoint addr, int maxBodyBytes, Map<String, String> templates, String defaultTemplate,
                       List<String> models, Duration upstreamDeadline, Duration idleTimeout, ServerTls tls) {}

    /**
     * The sidecars calls are forwarded to. {@code internalToken} is empty when none is sent;
     * {@code tls} null when TCP sidecars are reached in plaintext.
     */
    public record Sidecars(
            List<Endpoint> addresses,
            String internalToken,
            Duration keepaliveTime,
            Duration keepaliveTimeout,
            Duration controlTimeout,
            HealthProbe health,
            SidecarTls tls,
            Duration dnsRefresh) {

        @Override
        public String toString() {
            // Never print the token.
            return "Sidecars[addresses=" + addresses + ", internalToken="
                    + (internalToken.isEmpty() ? "<unset>" : "<redacted>") + "]";
        }
    }

    public record HealthProbe(
            Duration interval, Duration timeout, int unhealthyThreshold, int healthyThreshold) {}

    public record Limits(int maxPromptBytes, int maxNewTokens, int maxModelIdChars, int maxRequestBytes) {}

    /** Authentication; see {@code auth} in the defaults file. Secrets are never printed. */
    public record Auth(
            boolean required,
            String controlRole,
            boolean openHealth,
            boolean openReflection,
            String tenantClaim,
            String defaultTenant,
            Duration clockSkew,
            int maxTokenBytes,
            int cacheMaxEntries,
            String hmacSecret,
            String gatewayApiToken,
            List<ApiKey> apiKeys,
            List<UnixPeerEntry> unixPeers,
            List<ClientCertEntry> clientCerts,
            Oidc oidc) {

        /**
         * Whether any credential source is configured. Unix peers alone count: a deployment where
         * only local processes call, over the Unix socket, needs nothing else.
         */
        public boolean hasCredentialSource() {
            return !oidc.issuer().isEmpty() || !hmacSecret.isEmpty() || !gatewayApiToken.isEmpty()
                    || !apiKeys.isEmpty() || !unixPeers.isEmpty() || !clientCerts.isEmpty();
        }

        @Override
        public String toString() {
            return "Auth[required=" + required + ", issuer=" + oidc.issuer() + ", apiKeys=" + apiKeys.size()
                    + ", unixPeers=" + unixPeers + ", clientCerts=" + clientCerts
                    + ", hmacSecret=" + (hmacSecret.isEmpty() ? "<unset>" : "<redacted>")
                    + ", gatewayApiToken=" + (gatewayApiToken.isEmpty() ? "<unset>" : "<redacted>") + "]";
        }
    }

    /** An API key, known only by the SHA-256 of its value. */
    public record ApiKey(String name, byte[] sha256, String tenant, List<String> roles) {}

    /**
     * A caller on the Unix socket known by the uid or the gid the kernel reports for it; see
     * {@code auth.unix_peers}.
     *
     * @param id the uid or gid, as {@code match} says
     */
    public record UnixPeerEntry(Match match, long id, String tenant, List<String> roles) {

        public enum Match { UID, GID }

        public UnixPeerEntry {
            roles = List.copyOf(roles);
        }

        public boolean matches(long uid, long gid) {
            return id == (match == Match.UID ? uid : gid);
        }

        /** {@code uid=1000} or {@code gid=2000}, as the entry is written. */
        @Override
        public String toString() {
            return match.name().toLowerCase(java.util.Locale.ROOT) + "=" + id;
        }
    }

    /**
     * A caller known by its verified client certificate, matched on a subject alternative name
     * ({@code san}, e.g. a SPIFFE ID) or on its subject; exactly one of the two is set. See
     * {@code auth.client_certs}.
     */
    public record ClientCertEntry(String san, X500Principal subject, String tenant, List<String> roles) {

        public ClientCertEntry {
            if ((san == null) == (subject == null)) {
                throw new IllegalArgumentException("exactly one of san and subject");
            }
            roles = List.copyOf(roles);
        }

        /** {@code san=spiffe://…} or {@code subject=CN=…}, as the entry is written. */
        @Override
        public String toString() {
            return san != null ? "san=" + san : "subject=" + subject.getName();
        }
    }

    public record Oidc(String issuer, String audience, Duration refreshInterval, Duration minRefreshInterval,
                       Duration timeout) {}

    /** Per-tenant limits: {@code tenants} hold each listed tenant's complete policy. */
    public record Quota(QuotaPolicy defaultPolicy, Map<String, QuotaPolicy> tenants, int maxTrackedTenants,
                        QuotaStoreSettings store) {

        public Quota(QuotaPolicy defaultPolicy, Map<String, QuotaPolicy> tenants, int maxTrackedTenants) {
            this(defaultPolicy, tenants, maxTrackedTenants, QuotaStoreSettings.LOCAL);
        }

        public QuotaPolicy policyFor(String tenant) {
            return tenants.getOrDefault(tenant, defaultPolicy);
        }
    }

    /**
     * Where the route table lives: this process ({@code routes.store: local}) or a Redis that
     * replicas share, at {@code redisUrl} ({@code routes.redis.url}, else {@code quota.redis.url}),
     * under {@code keyPrefix} ({@code routes.redis.key_prefix}).
     */
    public record RoutesStore(boolean redis, String redisUrl, String keyPrefix) {

        public static final RoutesStore LOCAL = new RoutesStore(false, "", "");

        @Override
        public String toString() {
            return "RoutesStore[redis=" + redis + ", redisUrl=" + ConfigLoader.redactUrl(redisUrl)
                    + ", keyPrefix=" + keyPrefix + "]";
        }
    }

    /**
     * Where usage lives: this process ({@code local}) or a Redis that replicas share.
     *
     * @param redisUrl a Lettuce URI ({@code redis://}, {@code rediss://}, {@code redis-sentinel://});
     *     several {@code redis://} hosts separated by commas: a Redis Cluster
     * @param lease how long a replica's concurrency slots outlive its last heartbeat
     * @param rejectWhenUnavailable {@code on_unavailable: reject}; otherwise each replica falls back
     *     to its share of the limits
     * @param replicasHint how many replicas share the limits, for that fallback
     * @param timeout the longest a call waits on Redis
     */
    public record QuotaStoreSettings(boolean redis, String redisUrl, Duration lease, boolean rejectWhenUnavailable,
                                     int replicasHint, Duration timeout) {

        public static final QuotaStoreSettings LOCAL =
                new QuotaStoreSettings(false, "", Duration.ofSeconds(10), false, 1, Duration.ofMillis(50));

        @Override
        public String toString() {
            return "QuotaStoreSettings[redis=" + redis + ", redisUrl=" + ConfigLoader.redactUrl(redisUrl) + ", lease="
                    + lease + ", rejectWhenUnavailable=" + rejectWhenUnavailable + ", replicasHint=" + replicasHint
                    + ", timeout=" + timeout + "]";
        }
    }

    /**
     * One tenant's limits; {@link #UNLIMITED} where there is none. {@code models} empty: all.
     */
    public record QuotaPolicy(long requestsPerMinute, long burst, long concurrent, long tokensPerMinute,
                              long tokensPerDay, long maxNewTokens, long maxPriority, List<String> models) {

        /** No limit. Not -1, which is a valid max_priority (priorities go down to -100). */
        public static final long UNLIMITED = Long.MAX_VALUE;

        public static final QuotaPolicy NONE = new QuotaPolicy(UNLIMITED, UNLIMITED, UNLIMITED, UNLIMITED,
                UNLIMITED, UNLIMITED, UNLIMITED, List.of());

        public QuotaPolicy {
            models = List.copyOf(models);
        }

        /** The bucket size for requests: {@code burst}, or the per-minute rate when not set. */
        public long requestBurst() {
            return burst == UNLIMITED ? requestsPerMinute : burst;
        }

        public boolean limitsAnything() {
            return !equals(NONE);
        }
    }

    /**
     * The audit log; {@code settings} is null when it is disabled. {@code embeddedDatabaseDir}, when
     * not null, asks for a PostgreSQL run by the coordinator on that data directory, used when
     * {@code settings} names no database.
     */
    public record Audit(io.cy.audit.AuditConfig settings, java.nio.file.Path embeddedDatabaseDir) {}

    public record Shutdown(Duration grace) {}

    public record Log(boolean access) {}

    // --- Observability: admin listener, metrics, usage webhook, log format.

    /**
     * @param adminAddr the admin listener (/metrics, /healthz, /readyz); null when off
     * @param maxTenants tenants that get a {@code tenant} label of their own; the rest are {@code other}
     * @param webhook the usage webhook; null when off
     * @param jsonLogs {@code logging.format: json}
     */
    public record Observability(Endpoint adminAddr, int maxTenants, UsageWebhook webhook, boolean jsonLogs) {}

    /** {@code usage_webhook}: where and how usage is POSTed. The secret is never printed. */
    public record UsageWebhook(java.net.URI url, Duration timeout, int maxRetries, int queueCapacity, int batchSize,
                               Duration batchInterval, String secret) {

        @Override
        public String toString() {
            return "UsageWebhook[url=" + url.getScheme() + "://" + url.getAuthority() + url.getPath()
                    + ", timeout=" + timeout + ", maxRetries=" + maxRetries + ", queueCapacity=" + queueCapacity
                    + ", batchSize=" + batchSize + ", batchInterval=" + batchInterval
                    + ", secret=" + (secret.isEmpty() ? "<unset>" : "<redacted>") + "]";
        }
    }
}
