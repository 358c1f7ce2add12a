package io.cy.coordinator.config;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.cy.coordinator.redis.RedisUrls;
import io.cy.coordinator.routing.BackendSpec;
import io.cy.coordinator.routing.RoutesSpec;
import io.cy.coordinator.transport.netty.Endpoint;
import io.cy.coordinator.transport.netty.ServerTlsContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Builds the {@link CoordinatorConfig} from the embedded defaults, one optional YAML file and the
 * environment. The defaults file declares every setting, so a key in the user's file that it
 * does not declare is a typo and stops startup.
 */
public final class ConfigLoader {

    static final String DEFAULTS_RESOURCE = "/cy-coordinator-defaults.yaml";
    /** Longest routes.redis.key_prefix: a key name, not a place for data. */
    private static final int MAX_KEY_PREFIX_CHARS = 128;

    /** Variables named in the contract, in the order applied; a later one wins. */
    private static final List<Map.Entry<String, String>> CONTRACT_VARIABLES = List.of(
            Map.entry("WORKER_UDS_PATH", "sidecars.addresses"),
            Map.entry("WORKER_UDS_PATHS", "sidecars.addresses"),
            Map.entry("SIDECAR_GRPC_ADDR", "sidecars.addresses"),
            Map.entry("COORDINATOR_GRPC_ADDR", "server.grpc_addr"),
            Map.entry("COORDINATOR_UDS_PATH", "server.uds_path"),
            Map.entry("COORDINATOR_HTTP_ADDR", "http.addr"),
            Map.entry("CY_LLM_INTERNAL_TOKEN", "sidecars.internal_token"),
            Map.entry("OAUTH2_ISSUER", "auth.oidc.issuer"),
            Map.entry("OAUTH2_AUDIENCE", "auth.oidc.audience"),
            Map.entry("GATEWAY_API_TOKEN", "auth.gateway_api_token"),
            Map.entry("DB_URL", "audit.db_url"));

    /**
     * {@code CY_} variables of the contract that are not {@code CY_<PATH>} settings: read by the
     * mapping above, or by the logging configuration.
     */
    private static final List<String> CONTRACT_CY_VARIABLES = List.of("CY_LLM_INTERNAL_TOKEN", "CY_LOG_LEVEL");

    /** Contract variables for which set-but-empty means "none", as documented; others ignore an empty value. */
    private static final Set<String> EMPTY_MEANS_NONE = Set.of("COORDINATOR_HTTP_ADDR");

    /** Mappings whose keys are the user's (tenant names), not settings the defaults declare. */
    private static final List<String> FREE_FORM = List.of("quota.tenants", "http.templates", "routes.aliases");

    private static final List<String> POLICY_KEYS = List.of("requests_per_minute", "burst", "concurrent",
            "tokens_per_minute", "tokens_per_day", "max_new_tokens", "max_priority", "models");

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ObjectNode effective;
    private final List<String> warnings;

    private ConfigLoader(ObjectNode effective, List<String> warnings) {
        this.effective = effective;
        this.warnings = List.copyOf(warnings);
    }

    /** Loads defaults, then {@code file} (if not null), then the environment. */
    public static ConfigLoader load(Path file, Map<String, String> env) {
        requireNonNull(env, "env");
        final ObjectNode tree = defaults();
        if (file != null) {
            final String yaml;
            try {
                yaml = Files.readString(file);
            } catch (NoSuchFileException e) {
                throw new ConfigException("config file", file + ": no such file");
            } catch (IOException e) {
                throw new ConfigException("config file", file + ": " + e.getMessage());
            }
            merge(tree, parse(yaml, file.toString()), "");
        }
        return withEnvironment(tree, env);
    }

    /** Loads defaults, then the given YAML text, then the environment. */
    public static ConfigLoader fromYaml(String yaml, Map<String, String> env) {
        requireNonNull(yaml, "yaml");
        requireNonNull(env, "env");
        final ObjectNode tree = defaults();
        merge(tree, parse(yaml, "config"), "");
        return withEnvironment(tree, env);
    }

    /**
     * What was found wrong but did not stop startup: {@code CY_} variables that name no setting.
     * With {@code config.strict} each of them stops it instead.
     */
    public List<String> warnings() {
        return warnings;
    }

    private static ConfigLoader withEnvironment(ObjectNode tree, Map<String, String> env) {
        applyEnvironment(tree, env);
        final List<UnknownVariables.Unknown> unknown =
                UnknownVariables.find(env.keySet(), leafPaths(tree, ""), CONTRACT_CY_VARIABLES);
        if (!unknown.isEmpty() && new ConfigTree(tree, "").section("config").bool("strict")) {
            // A typo such as CY_SERVER_TLS_CERTFILE would otherwise leave a setting at its default.
            final UnknownVariables.Unknown first = unknown.get(0);
            throw new ConfigException(first.name(), first.problem() + "; config.strict is true");
        }
        final List<String> warnings = new ArrayList<>();
        for (UnknownVariables.Unknown u : unknown) {
            warnings.add(u.name() + ": " + u.problem() + "; it is ignored (config.strict: true stops startup instead)");
        }
        return new ConfigLoader(tree, warnings);
    }

    /** The validated settings. */
    public CoordinatorConfig config() {
        final ConfigTree root = new ConfigTree(effective, "");

        final ConfigTree server = root.section("server");
        final ConfigTree sidecars = root.section("sidecars");
        final ConfigTree health = sidecars.section("health");
        final ConfigTree limits = root.section("limits");

        final Duration probeInterval = health.duration("interval", Duration.ofMillis(10));
        final Duration probeTimeout = health.duration("timeout", Duration.ofMillis(1));
        if (probeTimeout.compareTo(probeInterval) > 0) {
            throw new ConfigException("sidecars.health.timeout", probeTimeout.toMillis()
                    + "ms (expected: <= sidecars.health.interval, " + probeInterval.toMillis() + "ms)");
        }
        final Duration keepaliveTime = sidecars.duration("keepalive_time", Duration.ofSeconds(1));

        final List<Endpoint> sidecarAddresses = sidecars.endpoints("addresses");
        final List<BackendSpec> backends = RoutingSection.backends(root, sidecarAddresses);
        final RoutesSpec routes = RoutingSection.routesOf(root, backends);

        final var udsPath = server.unixSocket("uds_path");
        final var grpcAddr = server.tcpEndpoint("grpc_addr", false,
                "host:port; use server.uds_path for a Unix socket");

        final CoordinatorConfig config = new CoordinatorConfig(
                new CoordinatorConfig.Server(
                        grpcAddr,
                        udsPath,
                        server.intIn("event_loop_threads", 0, 256),
                        server.intIn("max_concurrent_streams_per_connection", 1, Integer.MAX_VALUE),
                        server.duration("keepalive_time", Duration.ofSeconds(1)),
                        server.duration("permit_keepalive_time", Duration.ZERO),
                        optionalDuration(server, "max_connection_age"),
                        optionalDuration(server, "max_connection_age_grace"),
                        optionalDuration(server, "max_connection_idle"),
                        floodLimits(server),
                        TlsSections.listener(server.section("tls"), ServerTlsContext.GRPC)),
                http(root.section("http")),
                new CoordinatorConfig.Sidecars(
                        sidecarAddresses,
                        sidecars.string("internal_token"),
                        keepaliveTime,
                        sidecars.duration("keepalive_timeout", Duration.ofMillis(100)),
                        sidecars.duration("control_timeout", Duration.ofMillis(1)),
                        new CoordinatorConfig.HealthProbe(
                                probeInterval,
                                probeTimeout,
                                health.intIn("unhealthy_threshold", 1, 100),
                                health.intIn("healthy_threshold", 1, 100)),
                        TlsSections.sidecars(sidecars.section("tls")),
                        sidecars.duration("dns_refresh", Duration.ofSeconds(1))),
                new CoordinatorConfig.Limits(
                        limits.intIn("max_prompt_bytes", 1, Integer.MAX_VALUE),
                        limits.intIn("max_new_tokens", 1, Integer.MAX_VALUE),
                        limits.intIn("max_model_id_chars", 1, 65536),
                        limits.intIn("max_request_bytes", 1024, Integer.MAX_VALUE)),
                auth(root.section("auth")),
                quota(root.section("quota")),
                audit(root.section("audit")),
                new CoordinatorConfig.Shutdown(root.section("shutdown").duration("grace", Duration.ZERO)),
                new CoordinatorConfig.Log(root.section("log").bool("access")),
                backends,
                routes,
                routesStore(root),
                observability(root));
        if (!config.auth().clientCerts().isEmpty() && !asksForClientCerts(config.server().tls())
                && !asksForClientCerts(config.http().tls())) {
            // Entries no caller could ever match: certainly a setting missing elsewhere.
            throw new ConfigException(ClientCertEntries.PATH, config.auth().clientCerts().size()
                    + " entries, but no listener asks for client certificates (expected: server.tls.client_ca_file"
                    + " or http.tls.client_ca_file set)");
        }
        return config;
    }

    private static boolean asksForClientCerts(io.cy.coordinator.transport.netty.ServerTls tls) {
        return tls != null && tls.clientCaFile() != null;
    }

    // --- Observability: admin.addr, metrics.*, usage_webhook.*, logging.format.

    private static CoordinatorConfig.Observability observability(ConfigTree root) {
        final var adminAddr = root.section("admin").tcpEndpoint("addr", true, "host:port, or empty for no admin listener");
        final int maxTenants = root.section("metrics").intIn("max_tenants", 0, 100_000);
        final String format = root.section("logging").string("format");
        if (!format.equals("text") && !format.equals("json")) {
            throw new ConfigException("logging.format", "'" + format + "' (expected: text or json)");
        }
        return new CoordinatorConfig.Observability(adminAddr, maxTenants, usageWebhook(root.section("usage_webhook")),
                format.equals("json"));
    }

    private static CoordinatorConfig.UsageWebhook usageWebhook(ConfigTree webhook) {
        final String url = webhook.string("url");
        if (url.isEmpty()) {
            return null;
        }
        final java.net.URI uri;
        try {
            uri = new java.net.URI(url);
        } catch (java.net.URISyntaxException e) {
            throw new ConfigException("usage_webhook.url", redactUrl(url) + ": " + e.getReason()
                    + " (expected: an http:// or https:// URL)");
        }
        if (uri.getScheme() == null || !(uri.getScheme().equals("http") || uri.getScheme().equals("https"))
                || uri.getHost() == null) {
            throw new ConfigException("usage_webhook.url", redactUrl(url) + " (expected: an http:// or https:// URL)");
        }
        return new CoordinatorConfig.UsageWebhook(uri,
                webhook.duration("timeout", Duration.ofMillis(1)),
                webhook.intIn("max_retries", 0, 100),
                webhook.intIn("queue_capacity", 1, 1_000_000),
                webhook.intIn("batch_size", 1, 10_000),
                webhook.duration("batch_interval", Duration.ofMillis(1)),
                webhook.string("secret"));
    }

    private static CoordinatorConfig.Audit audit(ConfigTree audit) {
        if (!audit.bool("enabled")) {
            return new CoordinatorConfig.Audit(null, null);
        }
        final String url = audit.string("db_url");
        io.cy.audit.DbUrl dbUrl = null;
        if (!url.isEmpty()) {
            try {
                dbUrl = io.cy.audit.DbUrl.parse(url);
            } catch (IllegalArgumentException e) {
                // DbUrl's messages never contain the password.
                throw new ConfigException("audit.db_url", e.getMessage());
            }
        }
        final String spoolDir = audit.string("spool_dir");
        if (spoolDir.isEmpty()) {
            throw new ConfigException("audit.spool_dir", "empty (expected: a directory for events the database cannot take)");
        }
        final Path embeddedDatabaseDir = embeddedDatabaseDir(audit, spoolDir);
        try {
            final io.cy.audit.AuditConfig.Builder builder = io.cy.audit.AuditConfig.builder(Path.of(spoolDir));
            if (!audit.string("db_batch_size").isEmpty()) {
                builder.dbBatchSize(audit.intIn("db_batch_size", 1, io.cy.audit.AuditConfig.MAX_DB_BATCH_SIZE));
            }
            return new CoordinatorConfig.Audit(builder
                    .dbUrl(dbUrl)
                    .storePrompts(choice(audit, "store_prompts", io.cy.audit.AuditConfig.StorePrompts.class))
                    .retentionDays(audit.intIn("retention_days", 1, 36500))
                    .partitionsAhead(audit.intIn("partitions_ahead", 1, 24))
                    .queueCapacity(audit.intIn("queue_capacity", 16, 16_777_216))
                    .batchSize(audit.intIn("batch_size", 1, 100_000))
                    .batchInterval(audit.duration("batch_interval", Duration.ofMillis(1)))
                    .dbBatchInterval(audit.duration("db_batch_interval", Duration.ZERO))
                    .maxUnwritten(audit.duration("max_unwritten", Duration.ofMillis(10)))
                    .spoolMaxBytes(audit.intIn("spool_max_bytes", 65536, Integer.MAX_VALUE))
                    .spoolFsync(audit.bool("spool_fsync"))
                    .onUnavailable(choice(audit, "on_unavailable", io.cy.audit.AuditConfig.OnUnavailable.class))
                    .poolSize(audit.intIn("pool_size", 2, 64))
                    .connectTimeout(audit.duration("connect_timeout", Duration.ofMillis(100)))
                    .writeTimeout(audit.duration("write_timeout", Duration.ofMillis(100)))
                    .build(), embeddedDatabaseDir);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("audit", e.getMessage());
        }
    }

    /**
     * The embedded database's data directory, or null when none is asked for. Absolute only: a
     * relative one would be another, empty database whenever the coordinator starts elsewhere.
     */
    private static Path embeddedDatabaseDir(ConfigTree audit, String spoolDir) {
        final String key = "embedded_database_dir";
        final String text = audit.string(key);
        if (text.isEmpty()) {
            return null;
        }
        final Path dir;
        try {
            dir = Path.of(text);
        } catch (java.nio.file.InvalidPathException e) {
            throw new ConfigException(audit.pathOf(key), "'" + text + "' is not a path (" + e.getReason() + ")");
        }
        if (!dir.isAbsolute()) {
            throw new ConfigException(audit.pathOf(key), "'" + text
                    + "' (expected: an absolute path, e.g. /var/tmp/cy-audit-postgres)");
        }
        final Path normalized = dir.normalize();
        final Path spool = Path.of(spoolDir).toAbsolutePath().normalize();
        if (normalized.startsWith(spool) || spool.startsWith(normalized)) {
            // PostgreSQL wants its data directory to itself, and the spool's files are not its.
            throw new ConfigException(audit.pathOf(key), "'" + text + "' overlaps audit.spool_dir " + spool
                    + " (expected: separate directories)");
        }
        return normalized;
    }

    private static <E extends Enum<E>> E choice(ConfigTree section, String key, Class<E> type) {
        final String text = section.string(key);
        final List<String> names = new ArrayList<>();
        for (E value : type.getEnumConstants()) {
            final String name = value.name().toLowerCase(Locale.ROOT);
            names.add(name);
            if (name.equals(text.toLowerCase(Locale.ROOT))) {
                return value;
            }
        }
        throw new ConfigException(section.pathOf(key), "'" + text + "' (expected: " + String.join(", ", names) + ")");
    }

    private static CoordinatorConfig.HttpFloodLimits floodLimits(ConfigTree server) {
        final Duration rstWindow = server.duration("rst_frames_window", Duration.ofSeconds(1));
        if (rstWindow.toMillis() % 1000 != 0) {
            throw new ConfigException("server.rst_frames_window", rstWindow.toMillis() + "ms (expected: whole seconds)");
        }
        return new CoordinatorConfig.HttpFloodLimits(
                server.intIn("max_queued_control_frames", 1, Integer.MAX_VALUE),
                server.intIn("max_rst_frames_per_window", 1, Integer.MAX_VALUE),
                rstWindow,
                server.intIn("max_consecutive_empty_data_frames", 1, Integer.MAX_VALUE));
    }

    private static CoordinatorConfig.Http http(ConfigTree http) {
        final var addr = http.tcpEndpoint("addr", true, "host:port, or empty for no HTTP listener");
        final List<String> known = List.of("plain", "chatml", "llama3");
        final Map<String, String> templates = new LinkedHashMap<>();
        final ConfigTree listed = http.section("templates");
        for (String model : listed.keys()) {
            final String template = listed.string(model);
            if (!known.contains(template)) {
                throw new ConfigException(listed.pathOf(model), "'" + template + "' (expected: plain, chatml or llama3)");
            }
            templates.put(model, template);
        }
        final String defaultTemplate = http.string("default_template");
        if (!known.contains(defaultTemplate)) {
            throw new ConfigException("http.default_template", "'" + defaultTemplate
                    + "' (expected: plain, chatml or llama3)");
        }
        return new CoordinatorConfig.Http(
                addr,
                http.intIn("max_body_bytes", 1024, 64 << 20),
                Map.copyOf(templates),
                defaultTemplate,
                List.copyOf(http.strings("models")),
                http.string("upstream_deadline").isEmpty() ? null : http.duration("upstream_deadline", Duration.ofMillis(1)),
                http.duration("idle_timeout", Duration.ofSeconds(1)),
                TlsSections.listener(http.section("tls"), ServerTlsContext.HTTP_1_1));
    }

    /** A duration of at least 1ms, or null when the setting is empty (none). */
    private static Duration optionalDuration(ConfigTree tree, String key) {
        return tree.string(key).isEmpty() ? null : tree.duration(key, Duration.ofMillis(1));
    }

    private static CoordinatorConfig.Quota quota(ConfigTree quota) {
        final ConfigTree defaults = quota.section("default");
        defaults.rejectUnknown(POLICY_KEYS);
        final CoordinatorConfig.QuotaPolicy base = policy(defaults, CoordinatorConfig.QuotaPolicy.NONE);
        final Map<String, CoordinatorConfig.QuotaPolicy> tenants = new LinkedHashMap<>();
        final ConfigTree listed = quota.section("tenants");
        for (String tenant : listed.keys()) {
            final ConfigTree entry = listed.section(tenant);
            entry.rejectUnknown(POLICY_KEYS);
            tenants.put(tenant, policy(entry, base));
        }
        return new CoordinatorConfig.Quota(base, Map.copyOf(tenants),
                quota.intIn("max_tracked_tenants", 1, 10_000_000), quotaStore(quota));
    }

    private static CoordinatorConfig.RoutesStore routesStore(ConfigTree root) {
        final ConfigTree routes = root.section("routes");
        final String store = routes.string("store");
        if (!store.equals("local") && !store.equals("redis")) {
            throw new ConfigException(routes.pathOf("store"), "'" + store + "' (expected: local or redis)");
        }
        if (store.equals("local")) {
            return CoordinatorConfig.RoutesStore.LOCAL;
        }
        final ConfigTree redis = routes.section("redis");
        final String own = redis.string("url");
        final String url = own.isBlank() ? root.section("quota").section("redis").string("url") : own;
        if (url.isBlank()) {
            throw new ConfigException(redis.pathOf("url"), "missing (expected: a Redis URL with routes.store: redis,"
                    + " here or in quota.redis.url)");
        }
        RedisUrls.check(url, own.isBlank() ? "quota.redis.url" : redis.pathOf("url"));
        final String prefix = redis.string("key_prefix");
        if (prefix.isEmpty() || prefix.length() > MAX_KEY_PREFIX_CHARS || !prefix.chars().allMatch(c -> c > ' ' && c < 127)) {
            throw new ConfigException(redis.pathOf("key_prefix"), "'" + prefix + "' (expected: 1 to "
                    + MAX_KEY_PREFIX_CHARS + " printable ASCII characters without spaces)");
        }
        return new CoordinatorConfig.RoutesStore(true, url, prefix);
    }

    private static CoordinatorConfig.QuotaStoreSettings quotaStore(ConfigTree quota) {
        final String store = quota.string("store");
        if (!store.equals("local") && !store.equals("redis")) {
            throw new ConfigException(quota.pathOf("store"), "'" + store + "' (expected: local or redis)");
        }
        final ConfigTree redis = quota.section("redis");
        final String onUnavailable = redis.string("on_unavailable");
        if (!onUnavailable.equals("local") && !onUnavailable.equals("reject")) {
            throw new ConfigException(redis.pathOf("on_unavailable"), "'" + onUnavailable + "' (expected: local or reject)");
        }
        final String url = redis.string("url");
        final boolean shared = store.equals("redis");
        if (shared) {
            RedisUrls.check(url, redis.pathOf("url"));
        }
        return new CoordinatorConfig.QuotaStoreSettings(shared, url,
                redis.duration("lease", Duration.ofSeconds(1)),
                onUnavailable.equals("reject"),
                redis.intIn("replicas_hint", 1, 10_000),
                redis.duration("timeout", Duration.ofMillis(1)));
    }

    /**
     * A tenant's policy from {@code settings} (keys as in the YAML, e.g. from a Control
     * {@code quota_set}), the rest from {@code inherited}; errors are named {@code where.key}.
     */
    public static CoordinatorConfig.QuotaPolicy policy(Map<String, String> settings,
                                                       CoordinatorConfig.QuotaPolicy inherited, String where) {
        final ObjectNode node = JSON.createObjectNode();
        settings.forEach((key, value) -> {
            if (key.equals("models")) {
                final var list = node.putArray(key);
                for (String model : value.split(",")) {
                    if (!model.isBlank()) {
                        list.add(model.trim());
                    }
                }
            } else {
                node.put(key, value);
            }
        });
        final ConfigTree section = new ConfigTree(node, where);
        section.rejectUnknown(POLICY_KEYS);
        return policy(section, inherited);
    }

    /** A policy from the keys {@code section} sets, the rest from {@code inherited}. */
    private static CoordinatorConfig.QuotaPolicy policy(ConfigTree section, CoordinatorConfig.QuotaPolicy inherited) {
        final CoordinatorConfig.QuotaPolicy policy = new CoordinatorConfig.QuotaPolicy(
                section.has("requests_per_minute") ? section.limit("requests_per_minute", 0) : inherited.requestsPerMinute(),
                section.has("burst") ? section.limit("burst", 1) : inherited.burst(),
                section.has("concurrent") ? section.limit("concurrent", 0) : inherited.concurrent(),
                section.has("tokens_per_minute") ? section.limit("tokens_per_minute", 0) : inherited.tokensPerMinute(),
                section.has("tokens_per_day") ? section.limit("tokens_per_day", 0) : inherited.tokensPerDay(),
                section.has("max_new_tokens") ? section.limit("max_new_tokens", 1) : inherited.maxNewTokens(),
                section.has("max_priority") ? section.limit("max_priority", -100) : inherited.maxPriority(),
                section.has("models") ? section.strings("models") : inherited.models());
        // Token buckets refill at most one token a nanosecond.
        checkRate(section, "requests_per_minute", policy.requestsPerMinute(), 60_000_000_000L);
        checkRate(section, "tokens_per_minute", policy.tokensPerMinute(), 60_000_000_000L);
        checkRate(section, "tokens_per_day", policy.tokensPerDay(), 86_400_000_000_000L);
        if (policy.burst() != CoordinatorConfig.QuotaPolicy.UNLIMITED
                && policy.requestsPerMinute() == CoordinatorConfig.QuotaPolicy.UNLIMITED) {
            throw new ConfigException(section.pathOf("burst"), policy.burst()
                    + " (expected: together with requests_per_minute)");
        }
        return policy;
    }

    private static void checkRate(ConfigTree section, String key, long value, long max) {
        if (value != CoordinatorConfig.QuotaPolicy.UNLIMITED && value > max) {
            throw new ConfigException(section.pathOf(key), value + " (expected: <= " + max
                    + ", or empty for no limit)");
        }
    }

    private static CoordinatorConfig.Auth auth(ConfigTree auth) {
        final String mode = auth.string("mode");
        if (!mode.equals("required") && !mode.equals("none")) {
            throw new ConfigException("auth.mode", "'" + mode + "' (expected: required or none)");
        }
        final String hmacSecret = auth.string("hmac_secret");
        final int hmacBytes = hmacSecret.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (!hmacSecret.isEmpty() && hmacBytes < 32) {
            // The length only: the value is a secret.
            throw new ConfigException("auth.hmac_secret", hmacBytes + " bytes (expected: >= 32 bytes, 256 bits)");
        }
        final List<CoordinatorConfig.ApiKey> apiKeys = new ArrayList<>();
        for (ConfigTree key : auth.sections("api_keys")) {
            key.rejectUnknown(List.of("name", "sha256", "tenant", "roles"));
            final String hex = key.string("sha256").toLowerCase(Locale.ROOT);
            if (!hex.matches("[0-9a-f]{64}")) {
                throw new ConfigException(key.pathOf("sha256"), "'" + hex
                        + "' (expected: 64 hex digits, the SHA-256 of the key: echo -n \"$KEY\" | sha256sum)");
            }
            final String tenant = key.string("tenant");
            if (tenant.isEmpty()) {
                throw new ConfigException(key.pathOf("tenant"), "empty (expected: the tenant this key acts for)");
            }
            apiKeys.add(new CoordinatorConfig.ApiKey(key.string("name"), java.util.HexFormat.of().parseHex(hex),
                    tenant, List.copyOf(key.strings("roles"))));
        }
        final ConfigTree oidc = auth.section("oidc");
        final String issuer = oidc.string("issuer");
        if (!issuer.isEmpty() && !issuer.startsWith("https://") && !isLoopbackHttp(issuer)) {
            // Keys fetched over plain HTTP could be swapped on the way; only a local issuer may do that.
            throw new ConfigException("auth.oidc.issuer", "'" + issuer
                    + "' (expected: an https:// URL; http:// only for localhost or 127.0.0.1)");
        }
        final CoordinatorConfig.Auth config = new CoordinatorConfig.Auth(
                mode.equals("required"),
                auth.string("control_role"),
                auth.bool("open_health"),
                auth.bool("open_reflection"),
                auth.string("tenant_claim"),
                auth.string("default_tenant"),
                auth.duration("clock_skew", Duration.ZERO),
                auth.intIn("max_token_bytes", 256, 1 << 20),
                auth.intIn("cache_max_entries", 0, 10_000_000),
                hmacSecret,
                auth.string("gateway_api_token"),
                List.copyOf(apiKeys),
                UnixPeerEntries.read(auth),
                ClientCertEntries.read(auth),
                new CoordinatorConfig.Oidc(
                        issuer,
                        oidc.string("audience"),
                        oidc.duration("refresh_interval", Duration.ofSeconds(1)),
                        oidc.duration("min_refresh_interval", Duration.ZERO),
                        oidc.duration("timeout", Duration.ofMillis(10))));
        if (config.required() && !config.hasCredentialSource()) {
            throw new ConfigException("auth", "mode is required but no credential source is configured (expected:"
                    + " OAUTH2_ISSUER, auth.hmac_secret, auth.api_keys, GATEWAY_API_TOKEN"
                    + " or auth.unix_peers (CY_AUTH_UNIX_PEERS) for callers on server.uds_path;"
                    + " or auth.client_certs with server.tls.client_ca_file;"
                    + " or auth.mode: none for local development)");
        }
        if (config.tenantClaim().isEmpty()) {
            throw new ConfigException("auth.tenant_claim", "empty (expected: a claim name such as tenant)");
        }
        return config;
    }

    private static boolean isLoopbackHttp(String url) {
        if (!url.startsWith("http://")) {
            return false;
        }
        final String host;
        try {
            host = java.net.URI.create(url).getHost();
        } catch (IllegalArgumentException e) {
            return false;
        }
        return "localhost".equals(host) || "127.0.0.1".equals(host) || "[::1]".equals(host) || "::1".equals(host);
    }

    /**
     * {@code audit.db_url} alone, as the file and environment set it (empty when unset): for
     * commands that need only the audit database, without validating the rest.
     */
    public String auditDbUrl() {
        return new ConfigTree(effective, "").section("audit").string("db_url");
    }

    /** The effective settings as one line of JSON, with every secret replaced; for the startup log. */
    public String describe() {
        final ObjectNode copy = effective.deepCopy();
        redact(copy);
        try {
            return JSON.writeValueAsString(copy);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Whether a setting holds a secret; such values never leave the process. */
    static boolean isSecret(String key) {
        final String k = key.toLowerCase(Locale.ROOT);
        return k.endsWith("token") || k.endsWith("secret") || k.endsWith("password") || k.endsWith("_key");
    }

    private static void redact(ObjectNode node) {
        final Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
        final Map<String, JsonNode> replaced = new LinkedHashMap<>();
        while (fields.hasNext()) {
            final Map.Entry<String, JsonNode> field = fields.next();
            if (field.getValue().isObject()) {
                redact((ObjectNode) field.getValue());
            } else if ((field.getKey().endsWith("_url") || field.getKey().equals("url"))
                    && !field.getValue().asText().isEmpty()) {
                replaced.put(field.getKey(), TextNode.valueOf(redactUrl(field.getValue().asText())));
            } else if (isSecret(field.getKey())) {
                final boolean set = !field.getValue().isNull() && !field.getValue().asText().isEmpty();
                replaced.put(field.getKey(), TextNode.valueOf(set ? "<redacted>" : ""));
            }
        }
        replaced.forEach(node::set);
    }

    /**
     * A URL without the password in its user info, nor the value of a query parameter whose name
     * says it holds a credential ({@code password}, {@code token}, {@code api_key}, {@code sig}…):
     * webhook receivers are often authenticated so.
     */
    static String redactUrl(String url) {
        return url.replaceAll("(://[^:/@]*):[^@/]*@", "$1:<redacted>@")
                .replaceAll("(?i)([?&;][^=&#;]*(?:password|passwd|pwd|token|key|secret|sig|auth|credential)[^=&#;]*=)"
                        + "[^&#;]*", "$1<redacted>");
    }

    private static ObjectNode defaults() {
        try (InputStream in = ConfigLoader.class.getResourceAsStream(DEFAULTS_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(DEFAULTS_RESOURCE + " is missing from the classpath");
            }
            return (ObjectNode) YAML.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static ObjectNode parse(String yaml, String source) {
        final JsonNode node;
        try {
            node = YAML.readTree(yaml);
        } catch (JsonProcessingException e) {
            throw new ConfigException(source, "not valid YAML: " + e.getOriginalMessage()
                    + (e.getLocation() != null ? " at line " + e.getLocation().getLineNr() : ""));
        }
        if (node == null || node.isMissingNode() || node.isNull()) {
            return JSON.createObjectNode();
        }
        if (!node.isObject()) {
            throw new ConfigException(source, "a " + node.getNodeType().name().toLowerCase(Locale.ROOT)
                    + " at the top level (expected: a mapping of settings)");
        }
        return (ObjectNode) node;
    }

    /** Merges {@code overlay} into {@code base}; only keys the defaults declare are accepted. */
    private static void merge(ObjectNode base, ObjectNode overlay, String path) {
        final Iterator<Map.Entry<String, JsonNode>> fields = overlay.fields();
        while (fields.hasNext()) {
            final Map.Entry<String, JsonNode> field = fields.next();
            final String key = field.getKey();
            final String fieldPath = path.isEmpty() ? key : path + "." + key;
            final JsonNode known = base.get(key);
            if (known == null) {
                final List<String> names = new ArrayList<>();
                base.fieldNames().forEachRemaining(names::add);
                throw new ConfigException(fieldPath, "unknown setting (expected one of: " + String.join(", ", names) + ")");
            }
            if (known.isObject() && FREE_FORM.contains(fieldPath)) {
                if (!field.getValue().isObject() && !field.getValue().isNull()) {
                    throw new ConfigException(fieldPath, "a single value (expected: a mapping)");
                }
                base.set(key, field.getValue().isNull() ? JSON.createObjectNode() : field.getValue());
            } else if (known.isObject()) {
                if (field.getValue().isNull()) {
                    continue; // a section whose settings are all commented out
                }
                if (!field.getValue().isObject()) {
                    throw new ConfigException(fieldPath, "a single value (expected: a mapping)");
                }
                merge((ObjectNode) known, (ObjectNode) field.getValue(), fieldPath);
            } else {
                base.set(key, field.getValue());
            }
        }
    }

    private static void applyEnvironment(ObjectNode tree, Map<String, String> env) {
        for (Map.Entry<String, String> variable : CONTRACT_VARIABLES) {
            final String value = env.get(variable.getKey());
            if (value != null && (!value.isBlank() || EMPTY_MEANS_NONE.contains(variable.getKey()))) {
                set(tree, variable.getValue(), TextNode.valueOf(value));
            }
        }
        for (String path : leafPaths(tree, "")) {
            final String name = UnknownVariables.variableOf(path);
            final String value = env.get(name);
            if (value != null) {
                // Text, which ConfigTree parses as numbers, durations or comma-separated lists; but
                // auth.unix_peers and auth.client_certs are lists of mappings, each with a form of its own.
                set(tree, path, path.equals(UnixPeerEntries.PATH) ? UnixPeerEntries.fromVariable(value)
                        : path.equals(ClientCertEntries.PATH) ? ClientCertEntries.fromVariable(value)
                        : TextNode.valueOf(value));
            }
        }
    }

    private static List<String> leafPaths(ObjectNode node, String prefix) {
        final List<String> paths = new ArrayList<>();
        node.fields().forEachRemaining(field -> {
            final String path = prefix.isEmpty() ? field.getKey() : prefix + "." + field.getKey();
            if (field.getValue().isObject()) {
                paths.addAll(leafPaths((ObjectNode) field.getValue(), path));
            } else {
                paths.add(path);
            }
        });
        return paths;
    }

    private static void set(ObjectNode tree, String path, JsonNode value) {
        final String[] keys = path.split("\\.");
        ObjectNode node = tree;
        for (int i = 0; i < keys.length - 1; i++) {
            node = (ObjectNode) node.get(keys[i]);
        }
        node.set(keys[keys.length - 1], value);
    }
}
