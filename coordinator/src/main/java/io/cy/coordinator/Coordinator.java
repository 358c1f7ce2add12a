package io.cy.coordinator;

import static java.util.Objects.requireNonNull;

import io.cy.audit.AuditConfig;
import io.cy.audit.AuditLog;
import io.cy.audit.EmbeddedAuditDatabase;
import io.cy.audit.NoopAuditLog;
import io.cy.audit.PostgresAuditLog;
import io.cy.bridge.BridgeConfig;
import io.cy.bridge.HttpBridge;
import io.cy.coordinator.admin.AdminServer;
import io.cy.coordinator.admin.ConsoleApi;
import io.cy.coordinator.admin.ConsoleFeeds;
import io.cy.coordinator.audit.AuditQuery;
import io.cy.coordinator.audit.AuditRecorder;
import io.cy.coordinator.auth.AuthInterceptor;
import io.cy.coordinator.auth.Authenticator;
import io.cy.coordinator.config.ConfigException;
import io.cy.coordinator.config.CoordinatorConfig;
import io.cy.coordinator.logs.JsonAccessLog;
import io.cy.coordinator.metrics.CallMetrics;
import io.cy.coordinator.metrics.ModelLabels;
import io.cy.coordinator.metrics.ObservedMetrics;
import io.cy.coordinator.metrics.TenantLabels;
import io.cy.coordinator.quota.LocalQuotaStore;
import io.cy.coordinator.quota.QuotaStore;
import io.cy.coordinator.quota.RedisQuotaStore;
import io.cy.coordinator.redis.RedisRouteStore;
import io.cy.coordinator.quota.Quotas;
import io.cy.coordinator.routing.Catalog;
import io.cy.coordinator.routing.ModelDiscovery;
import io.cy.coordinator.routing.RouteTable;
import io.cy.coordinator.routing.Routing;
import io.cy.coordinator.service.AccessLog;
import io.cy.coordinator.service.AccessLogAppender;
import io.cy.coordinator.service.AiInferenceServices;
import io.cy.coordinator.service.CallAdmission;
import io.cy.coordinator.service.CallEndListener;
import io.cy.coordinator.service.CallSummary;
import io.cy.coordinator.service.ControlHandler;
import io.cy.coordinator.service.HealthHandler;
import io.cy.coordinator.service.RequestValidator;
import io.cy.coordinator.service.RouteCommands;
import io.cy.coordinator.service.StreamPredictForwarder;
import io.cy.coordinator.sidecar.HealthProber;
import io.cy.coordinator.sidecar.LeastInFlightRouter;
import io.cy.coordinator.sidecar.SidecarAddresses;
import io.cy.coordinator.sidecar.SidecarPool;
import io.cy.coordinator.tracing.Tracing;
import io.cy.coordinator.tracing.TracingInterceptor;
import io.cy.coordinator.transport.local.LocalChannel;
import io.cy.coordinator.transport.netty.Endpoint;
import io.cy.coordinator.transport.netty.NettyTransport;
import io.cy.coordinator.transport.netty.ServerTls;
import io.cy.coordinator.transport.netty.ServerTlsContext;
import io.cy.coordinator.transport.server.GrpcFrontServer;
import io.cy.coordinator.transport.wire.FloodLimits;
import io.cy.coordinator.webhook.UsageWebhook;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running coordinator: its listeners, the sidecar pool and the health prober, wired
 * together. {@link #start} brings everything up; {@link #shutdown} takes it down gracefully.
 */
public final class Coordinator implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(Coordinator.class);
    /** grpc-java's default limit on a call's header list. */
    private static final int DEFAULT_MAX_METADATA_BYTES = 8192;
    /** The peer the services see for calls of the HTTP bridge: a call from inside the process. */
    private static final String BRIDGE_PEER = "cy-coordinator-bridge";
    /** How long a pinged client may take to answer, as grpc-java's server waits. */
    private static final Duration KEEPALIVE_TIMEOUT = Duration.ofSeconds(20);
    /** How long a client connection may take to start HTTP/2, as grpc-java's server allows. */
    private static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(120);
    /** How often TLS certificate, key and CA files are read to find out whether they changed. */
    static final Duration TLS_RELOAD_CHECK = Duration.ofSeconds(5);
    private static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    private final CoordinatorConfig config;
    private final NettyTransport transport;
    private final SidecarPool sidecars;
    private final HealthProber prober;
    private final HealthStatusManager health;
    private final StreamPredictForwarder forwarder;
    private final Authenticator authenticator;
    private final Supplier<CompletionStage<String>> reloader;
    private final List<Server> servers;
    private final LocalChannel bridgeChannel;
    private final HttpBridge http;
    private final AuditLog audit;
    private final Endpoint grpcEndpoint;
    private final List<ServerTlsContext> tls;
    private final Observers observers;
    private final QuotaStore quotaStore;
    /** The longest a route change waits for Redis; the Control command is answered then, the event loop never waits. */
    static final Duration ROUTES_REDIS_TIMEOUT = Duration.ofSeconds(1);
    private final RedisRouteStore routeStore;

    /** Towards the sidecars: the event loops, the pool (with its queues and outlier state), the prober. */
    private record Upstream(NettyTransport transport, SidecarPool sidecars, HealthProber prober) {}

    /** What the listeners serve, and what answers beside them. */
    private record Services(HealthStatusManager health, StreamPredictForwarder forwarder, Authenticator authenticator,
                            Supplier<CompletionStage<String>> reloader, QuotaStore quotaStore,
                            RedisRouteStore routeStore) {}

    /**
     * Where callers come in: the gRPC servers (TCP, Unix socket), the HTTP bridge and the channel
     * it calls the services through, their TLS.
     */
    private record Listeners(List<Server> servers, LocalChannel bridgeChannel, HttpBridge http, Endpoint grpcEndpoint,
                             List<ServerTlsContext> tls) {}

    private Coordinator(CoordinatorConfig config, Upstream upstream, Services services, Listeners listeners,
                        AuditLog audit, Observers observers) {
        this.config = config;
        this.transport = upstream.transport();
        this.sidecars = upstream.sidecars();
        this.prober = upstream.prober();
        this.health = services.health();
        this.forwarder = services.forwarder();
        this.authenticator = services.authenticator();
        this.reloader = services.reloader();
        this.servers = listeners.servers();
        this.bridgeChannel = listeners.bridgeChannel();
        this.http = listeners.http();
        this.grpcEndpoint = listeners.grpcEndpoint();
        this.tls = listeners.tls();
        this.audit = audit;
        this.observers = observers;
        this.quotaStore = services.quotaStore();
        this.routeStore = services.routeStore();
    }

    /**
     * Metrics (kept only when the admin listener serves them), the admin listener, the usage
     * webhook and the tracing interceptor, each null when off; and the OpenTelemetry SDK the
     * coordinator built from the environment, null when it built none.
     */
    private record Observers(ObservedMetrics metrics, CallEndListener callMetrics, UsageWebhook webhook,
                             AdminServer admin, TracingInterceptor tracing, Tracing traces,
                             OpenTelemetrySdk ownedSdk, ConsoleFeeds console) {

        /**
         * @param given the tracing to use; null for the one the environment configures
         * @param keepRecentCalls whether the console keeps the last calls in memory (no audit database to read)
         */
        static Observers start(CoordinatorConfig config, OpenTelemetry given, Routing routing,
                               boolean keepRecentCalls) {
            final Tracing traces = given != null ? new Tracing(given, () -> 0) : Tracing.fromEnvironment(System.getenv());
            final OpenTelemetry openTelemetry = traces.openTelemetry();
            final OpenTelemetrySdk ownedSdk = given == null && openTelemetry instanceof OpenTelemetrySdk sdk ? sdk : null;
            // No interceptor at all without tracing: calls pay nothing for it.
            final TracingInterceptor tracing = openTelemetry == OpenTelemetry.noop() ? null
                    : new TracingInterceptor(openTelemetry);
            final CoordinatorConfig.Observability settings = config.observability();
            final ObservedMetrics metrics = settings.adminAddr() == null ? null : ObservedMetrics.create();
            final java.util.Set<String> named = java.util.Set.copyOf(knownModels(config));
            final ModelLabels models = model -> model != null && (named.contains(model) || routing.knows(model))
                    ? model : ModelLabels.UNKNOWN;
            final CallEndListener callMetrics = metrics == null ? null : new CallMetrics(metrics, models,
                    new TenantLabels(settings.maxTenants()));
            final UsageWebhook webhook = settings.webhook() == null ? null : UsageWebhook.start(settings.webhook(),
                    metrics == null ? NO_COUNTERS : metrics.webhookCounters());
            // The console lives on the admin listener, as the metrics do.
            final ConsoleFeeds console = metrics == null ? null : new ConsoleFeeds(keepRecentCalls);
            return new Observers(metrics, callMetrics, webhook, null, tracing, traces, ownedSdk, console);
        }

        /** Every call's end goes to {@code next}, then to the metrics and the webhook that are on. */
        CallEndListener around(CallEndListener next) {
            CallEndListener chain = next;
            for (CallEndListener added : new CallEndListener[] {callMetrics, webhook, console}) {
                if (added != null) {
                    final CallEndListener before = chain;
                    chain = summary -> {
                        before.onCallEnd(summary);
                        added.onCallEnd(summary);
                    };
                }
            }
            return chain;
        }

        Observers listening(Endpoint addr, SidecarPool sidecars, AuditLog audit, Routing routing,
                            ConsoleApi.Sources consoleSources) throws IOException {
            if (metrics == null) {
                return this;
            }
            metrics.watch(sidecars, audit, () -> routing.active().version(), traces::droppedSpans);
            final ConsoleApi api = ConsoleApi.create(consoleSources, console, metrics.registry(), java.time.Clock.systemUTC());
            final AdminServer admin;
            try {
                admin = AdminServer.start(addr, metrics.registry(),
                        () -> sidecars.availableCount() > 0 ? null : "no sidecar available", api);
            } catch (IOException | RuntimeException e) {
                api.close();
                throw e;
            }
            return new Observers(metrics, callMetrics, webhook, admin, tracing, traces, ownedSdk, console);
        }

        void close() {
            if (webhook != null) {
                webhook.close();
            }
            if (admin != null) {
                admin.close();
            }
            if (ownedSdk != null) {
                // Exports the spans still queued, within a bound.
                ownedSdk.shutdown().join(5, TimeUnit.SECONDS);
            }
        }

        /** Models named by quota policies and by http.models: the ones a {@code model} label may name. */
        private static java.util.Set<String> knownModels(CoordinatorConfig config) {
            final java.util.Set<String> models = new java.util.HashSet<>(config.http().models());
            models.addAll(config.quota().defaultPolicy().models());
            config.quota().tenants().values().forEach(policy -> models.addAll(policy.models()));
            return models;
        }

        private static final io.cy.coordinator.webhook.DeliveryCounters NO_COUNTERS =
                new io.cy.coordinator.webhook.DeliveryCounters() {
                    @Override
                    public void delivered() {
                    }

                    @Override
                    public void failed(String reason, long count) {
                    }
                };
    }

    /** Starts the coordinator with the standard per-call access log; its configuration cannot be reloaded. */
    public static Coordinator start(CoordinatorConfig config) throws IOException {
        return start(config, accessLog(config), () -> config);
    }

    /** The access log {@code log.access} and {@code logging.format} ask for. */
    public static CallEndListener accessLog(CoordinatorConfig config) {
        if (!config.log().access()) {
            return summary -> { };
        }
        return config.observability().jsonLogs() ? new JsonAccessLog() : new AccessLog();
    }

    public static Coordinator start(CoordinatorConfig config, CallEndListener callEndListener) throws IOException {
        return start(config, callEndListener, () -> config);
    }

    /**
     * Starts the audit log (and the embedded database, if asked for), listening and probing. On
     * failure everything already started is stopped again and the exception says what could not
     * start: a listener, or the embedded database.
     *
     * @param reloadSource reads the configuration again, for {@code reload_config} and SIGHUP;
     *     throws {@link io.cy.coordinator.config.ConfigException} when it is invalid
     */
    public static Coordinator start(CoordinatorConfig config, CallEndListener callEndListener,
                                    Supplier<CoordinatorConfig> reloadSource) throws IOException {
        return start(config, callEndListener, reloadSource, null);
    }

    /**
     * As above, tracing with {@code tracing} (which the caller closes); null: the SDK as the
     * {@code OTEL_*} variables configure it, or no tracing when they do not ask for it.
     */
    public static Coordinator start(CoordinatorConfig config, CallEndListener callEndListener,
                                    Supplier<CoordinatorConfig> reloadSource, OpenTelemetry tracing)
            throws IOException {
        requireNonNull(config, "config");
        requireNonNull(reloadSource, "reloadSource");
        requireNonNull(callEndListener, "callEndListener");
        final StartedAudit started = startAudit(config.audit());
        final AuditLog audit = started.log();
        try {
            return start(config, callEndListener, reloadSource, started, tracing);
        } catch (IOException | RuntimeException | Error e) {
            // Also stops an embedded database, which would otherwise outlive this process.
            audit.close(Duration.ofSeconds(5));
            throw e;
        }
    }

    private static Coordinator start(CoordinatorConfig config, CallEndListener callEndListener,
                                     Supplier<CoordinatorConfig> reloadSource, StartedAudit started,
                                     OpenTelemetry tracing) throws IOException {
        final AuditLog audit = started.log();
        final String version = version();
        final AuditRecorder auditRecorder = new AuditRecorder(audit);
        // With the audit log off, no event is built for every call only to be dropped.
        final CallEndListener audited = audit instanceof NoopAuditLog ? callEndListener : summary -> {
            callEndListener.onCallEnd(summary);
            auditRecorder.onCallEnd(summary);
        };
        final Authenticator authenticator;
        if (config.auth().required()) {
            authenticator = Authenticator.start(config.auth());
        } else {
            authenticator = null;
            logger.warn("AUTHENTICATION IS OFF (auth.mode: none): every caller is trusted and tenants are taken"
                    + " from requests. Use this for local development only.");
        }
        final NettyTransport transport;
        final SidecarPool sidecars;
        final SidecarAddresses addresses = SidecarAddresses.system();
        try {
            transport = NettyTransport.create(config.server().eventLoopThreads(), "cy-coordinator");
            try {
                // A dns:/// address is every address its name has: looked up before the first call.
                addresses.refresh(Routing.addressesOf(config.backends()));
                sidecars = SidecarPool.connect(addresses.expand(Routing.addressesOf(config.backends())),
                        config.sidecars(), transport, new LeastInFlightRouter());
            } catch (RuntimeException | Error e) {
                transport.close();
                throw e;
            }
        } catch (RuntimeException | Error e) {
            if (authenticator != null) {
                authenticator.close();
            }
            throw e;
        }
        final HealthStatusManager health = new HealthStatusManager();
        final String internalToken = config.sidecars().internalToken();
        final Metadata probeHeaders = new Metadata();
        if (!internalToken.isEmpty()) {
            probeHeaders.put(AUTHORIZATION, "Bearer " + internalToken);
        }
        final Routing routing = new Routing(sidecars, new Catalog(), config.backends(), config.routes(), addresses);
        Observers observers = Observers.start(config, tracing, routing, started.database() == null);
        final CallEndListener callEnds = observers.around(audited);
        final ModelDiscovery discovery = new ModelDiscovery(sidecars, routing, probeHeaders,
                config.sidecars().health().timeout());
        final HealthProber prober = new HealthProber(sidecars, config.sidecars().health(), probeHeaders,
                () -> updateServingStatus(health, sidecars), discovery::discoverAll);
        prober.every(config.sidecars().dnsRefresh(), routing::refreshAddresses);
        final QuotaStore quotaStore = quotaStore(config.quota());
        final RedisRouteStore routeStore = routeStore(config.routesStore(), routing);
        final Quotas quotas = new Quotas(config.quota(), quotaStore, config.limits().maxNewTokens());
        final Supplier<CompletionStage<String>> reloader =
                new ConfigReloads(() -> reload(reloadSource, quotas, routing, routeStore));
        final AccessLogAppender accessLogAppender = AccessLogAppender.configured();
        final StreamPredictForwarder forwarder = new StreamPredictForwarder(sidecars, routing,
                new CallAdmission(new RequestValidator(config.limits()), quotas, audit::isAccepting),
                AiInferenceServices.SIDECAR_STREAM_PREDICT, internalToken, callEnds);
        // Read by the Health answers (any thread) while the listeners start.
        final List<Server> servers = new CopyOnWriteArrayList<>();
        final String adminRole = config.auth().required() ? config.auth().controlRole() : "";
        final ControlHandler control = new ControlHandler(sidecars, quotas, new RouteCommands(routing, routeStore),
                reloader, internalToken, adminRole, config.sidecars().controlTimeout(), version, auditRecorder::control);
        final List<ServerServiceDefinition> services = AiInferenceServices.bind(forwarder, control,
                new HealthHandler(sidecars, forwarder::activeCalls, () -> {
                    final java.util.Map<String, String> metrics = new java.util.LinkedHashMap<>(quotas.metrics());
                    metrics.putAll(audit.metrics());
                    if (accessLogAppender != null) {
                        metrics.put("access_log_dropped", String.valueOf(accessLogAppender.dropped()));
                    }
                    metrics.put("connection_io_errors", String.valueOf(servers.stream()
                            .filter(GrpcFrontServer.class::isInstance)
                            .mapToLong(server -> ((GrpcFrontServer) server).connectionErrors()).sum()));
                    if (config.server().tls() != null) {
                        metrics.put("tls_handshake_failures", String.valueOf(servers.stream()
                                .filter(GrpcFrontServer.class::isInstance)
                                .mapToLong(server -> ((GrpcFrontServer) server).handshakeFailures()).sum()));
                    }
                    return metrics;
                }, version));

        final AuthInterceptor auth = authenticator == null ? null
                : new AuthInterceptor(authenticator, config.auth(),
                (method, status, peer, traceId, api) ->
                        callEnds.onCallEnd(CallSummary.refusedAtStart(method, api, traceId, peer, status)));

        Endpoint grpcEndpoint = config.server().grpcAddr();
        LocalChannel bridgeChannel = null;
        HttpBridge http = null;
        String where = grpcEndpoint.toString();
        final List<ServerTlsContext> tls = new ArrayList<>();
        try {
            final List<ServerServiceDefinition> served = served(services, health, auth, observers.tracing());
            final ServerTlsContext grpcTls = tls(config.server().tls(), ServerTlsContext.GRPC, tls);
            final Server tcp = front(grpcEndpoint, transport, config, served, grpcTls).start();
            servers.add(tcp);
            grpcEndpoint = grpcEndpoint.withPort(((InetSocketAddress) tcp.getListenSockets().get(0)).getPort());
            final Endpoint uds = config.server().udsPath();
            if (uds != null) {
                where = uds.toString();
                UnixSocketFiles.prepareForBind(uds.socketPath());
                // Plaintext always: the kernel's peer credentials are what authenticates its callers.
                servers.add(front(uds, transport, config, served, null).start());
            }
            if (config.http().addr() != null) {
                where = config.http().addr().toString();
                // The bridge calls the same services, interceptors and all, without a socket.
                bridgeChannel = new LocalChannel(tcp, served, transport.workerGroup(), BRIDGE_PEER);
                http = HttpBridge.start(bridgeConfig(config.http()), bridgeChannel, transport,
                        tls(config.http().tls(), ServerTlsContext.HTTP_1_1, tls));
            }
            if (config.observability().adminAddr() != null) {
                where = config.observability().adminAddr().toString();
                observers = observers.listening(config.observability().adminAddr(), sidecars, audit, routing,
                        new ConsoleApi.Sources(authenticator, adminRole, config.auth().oidc().timeout().plusSeconds(1),
                                control, config.sidecars().controlTimeout().plus(ROUTES_REDIS_TIMEOUT).plusSeconds(1),
                                version, sidecars, routing, quotas, forwarder::activeCalls, started.database()));
            }
        } catch (IOException | RuntimeException | Error e) {
            if (bridgeChannel != null) {
                bridgeChannel.shutdownNow();
            }
            for (Server server : servers) {
                server.shutdownNow();
            }
            tls.forEach(ServerTlsContext::close);
            sidecars.close(Duration.ZERO);
            transport.close();
            if (authenticator != null) {
                authenticator.close();
            }
            observers.close();
            closeQuietly(quotaStore);
            if (routeStore != null) {
                routeStore.close();
            }
            throw new IOException(listenFailure(where, e), e);
        }
        health.setStatus("", ServingStatus.SERVING);
        updateServingStatus(health, sidecars);
        // Before the first call: a backend that discovers its models would otherwise know none.
        discovery.discoverAllAndWait();
        prober.start();
        logger.info("cy-coordinator {} listening on {}{}{}{}; {}; native transport: {}",
                version, grpcEndpoint, config.server().tls() == null ? "" : " (TLS, " + tls.get(0).provider() + ")",
                config.server().udsPath() == null ? "" : " and " + config.server().udsPath(),
                http == null ? "" : "; HTTP on " + http.endpoint(),
                describeBackends(config), transport.isNative());
        return new Coordinator(config, new Upstream(transport, sidecars, prober),
                new Services(health, forwarder, authenticator, reloader, quotaStore, routeStore),
                new Listeners(List.copyOf(servers), bridgeChannel, http, grpcEndpoint, List.copyOf(tls)), audit, observers);
    }

    /**
     * The route table shared through Redis ({@code routes.store: redis}), installed here before the
     * first call when Redis answers in time; null for routes of this process alone.
     */
    private static RedisRouteStore routeStore(CoordinatorConfig.RoutesStore store, Routing routing) {
        if (!store.redis()) {
            return null;
        }
        final RedisRouteStore shared = new RedisRouteStore(store.redisUrl(), store.keyPrefix(), ROUTES_REDIS_TIMEOUT,
                routing);
        shared.start(Duration.ofSeconds(2));
        return shared;
    }

    /** Usage in this process, or in the Redis that replicas share ({@code quota.store: redis}). */
    private static QuotaStore quotaStore(CoordinatorConfig.Quota quota) {
        if (!quota.store().redis()) {
            return new LocalQuotaStore(quota.maxTrackedTenants());
        }
        return new RedisQuotaStore(quota.store(), "cy:quota:", quota.maxTrackedTenants());
    }

    private static void closeQuietly(QuotaStore store) {
        if (store instanceof AutoCloseable closeable) {
            try {
                closeable.close();
            } catch (Exception e) {
                logger.warn("quota store did not close: {}", e.toString());
            }
        }
    }

    /** The listener's TLS context, added to {@code started} so that it is closed; null for plaintext. */
    private static ServerTlsContext tls(ServerTls settings, List<String> alpn, List<ServerTlsContext> started) {
        if (settings == null) {
            return null;
        }
        final ServerTlsContext context = ServerTlsContext.start(settings, alpn, TLS_RELOAD_CHECK);
        started.add(context);
        return context;
    }

    /** {@code sidecars [...]} for the single pool; otherwise each backend with its sidecars, and the aliases. */
    private static String describeBackends(CoordinatorConfig config) {
        if (config.backends().size() == 1 && config.backends().get(0).servesAny()) {
            return "sidecars " + config.sidecars().addresses();
        }
        final List<String> backends = new ArrayList<>();
        config.backends().forEach(backend -> backends.add(backend.id() + " " + backend.addresses()));
        return "backends " + String.join(", ", backends) + "; aliases " + config.routes().aliases().keySet();
    }

    /** "cannot listen on {@code where}: why", once: the HTTP bridge's own failure already says it. */
    private static String listenFailure(String where, Throwable failure) {
        final String prefix = "cannot listen on " + where + ": ";
        final String message = String.valueOf(failure.getMessage());
        return message.startsWith(prefix) ? message : prefix + message;
    }

    /**
     * Applies what may change at runtime from a fresh read of the configuration. With
     * {@code routes.store: redis} the file's routes are written to the shared table (on top of the
     * version this replica last saw) and the result comes when Redis answered; nothing applies when
     * it refused. An invalid configuration throws {@link ConfigException}.
     */
    private static CompletionStage<String> reload(Supplier<CoordinatorConfig> source, Quotas quotas, Routing routing,
                                                  RedisRouteStore routeStore) {
        final CoordinatorConfig fresh = source.get();
        final RouteTable current = routing.active();
        if (current.backends().equals(fresh.backends()) && current.routes().equals(fresh.routes())) {
            quotas.update(fresh.quota());
            logger.info("configuration reloaded: quota limits applied to new calls; backends and routes unchanged");
            return CompletableFuture.completedFuture("quota limits reloaded; other settings take effect on restart");
        }
        if (routeStore != null) {
            return routeStore.reload(fresh.backends(), fresh.routes()).thenApply(table -> {
                quotas.update(fresh.quota());
                return reloaded(current, table, ", written to the shared routes");
            });
        }
        final RouteTable table;
        try {
            table = routing.reload(fresh.backends(), fresh.routes());
        } catch (IllegalArgumentException e) {
            final String message = String.valueOf(e.getMessage());
            final int colon = message.indexOf(": ");
            throw new ConfigException(message.substring(0, Math.max(0, colon)), message.substring(colon + 2));
        }
        quotas.update(fresh.quota());
        return CompletableFuture.completedFuture(reloaded(current, table, ""));
    }

    private static String reloaded(RouteTable before, RouteTable after, String where) {
        logger.info("configuration reloaded: quota limits, backends and routes (version {} -> {}{}) applied to new calls",
                before.version(), after.version(), where);
        return "quota limits, backends and routes reloaded (routes version " + before.version() + " -> "
                + after.version() + where + "); other settings take effect on restart";
    }

    /** A listener on {@code listen}: the coordinator's own HTTP/2 server, serving what grpc-java's would. */
    private static GrpcFrontServer front(Endpoint listen, NettyTransport transport, CoordinatorConfig config,
                                         List<ServerServiceDefinition> served, ServerTlsContext tls) {
        final CoordinatorConfig.Server server = config.server();
        final CoordinatorConfig.HttpFloodLimits flood = server.floodLimits();
        return new GrpcFrontServer(listen, transport, served, new GrpcFrontServer.Settings(
                server.maxConcurrentStreamsPerConnection(), maxMetadataBytes(config), config.limits().maxRequestBytes(),
                server.keepaliveTime(), KEEPALIVE_TIMEOUT, server.permitKeepaliveTime(), HANDSHAKE_TIMEOUT,
                server.maxConnectionAge(), server.maxConnectionAgeGrace(), server.maxConnectionIdle(),
                new FloodLimits(flood.maxQueuedControlFrames(), flood.maxRstFramesPerWindow(), flood.rstFramesWindow(),
                        flood.maxConsecutiveEmptyDataFrames())), tls);
    }

    /** Every service a listener serves, as {@link #build} registers them: health, reflection, ours; each behind {@code auth}. */
    private static List<ServerServiceDefinition> served(List<ServerServiceDefinition> services,
                                                        HealthStatusManager health, AuthInterceptor auth,
                                                        TracingInterceptor tracing) {
        final List<ServerServiceDefinition> all = new ArrayList<>();
        all.add(health.getHealthService().bindService());
        all.add(ProtoReflectionServiceV1.newInstance().bindService());
        all.add(legacyReflection());
        all.addAll(services);
        final List<ServerServiceDefinition> intercepted = new ArrayList<>();
        for (ServerServiceDefinition service : all) {
            ServerServiceDefinition wrapped = auth == null ? service : ServerInterceptors.intercept(service, auth);
            // Outside authentication: refused calls get their span too.
            wrapped = tracing == null ? wrapped : ServerInterceptors.intercept(wrapped, tracing);
            intercepted.add(wrapped);
        }
        return intercepted;
    }

    @SuppressWarnings("deprecation")
    private static ServerServiceDefinition legacyReflection() {
        return io.grpc.protobuf.services.ProtoReflectionService.newInstance().bindService();
    }

    /** Room for a bearer token of auth.max_token_bytes besides the other headers, so that the interceptor, not the HTTP/2 layer, decides about its size. */
    private static int maxMetadataBytes(CoordinatorConfig config) {
        return Math.max(DEFAULT_MAX_METADATA_BYTES, config.auth().maxTokenBytes() + DEFAULT_MAX_METADATA_BYTES);
    }

    /** The audit log, and the database it writes to (null when none: disabled, or the spool alone). */
    private record StartedAudit(AuditLog log, io.cy.audit.DbUrl database) {}

    private static StartedAudit startAudit(CoordinatorConfig.Audit config) throws IOException {
        final AuditConfig settings = config.settings();
        if (settings == null) {
            logger.info("audit log disabled (audit.enabled: false)");
            return new StartedAudit(new NoopAuditLog(), null);
        }
        final Path embeddedDir = config.embeddedDatabaseDir();
        if (settings.dbUrl() != null && embeddedDir != null) {
            // The database named explicitly is the one meant (say, a deployment's DB_URL over a shared
            // development file); auditing to a local database by mistake would be the worse error.
            logger.warn("audit: DB_URL (audit.db_url) is set, so audit.embedded_database_dir ({}) is ignored",
                    embeddedDir);
        }
        if (settings.dbUrl() != null) {
            return new StartedAudit(PostgresAuditLog.start(settings), settings.dbUrl());
        }
        if (embeddedDir == null) {
            logger.warn("no DB_URL (audit.db_url): audit events go to the spool in {} only, until a database is"
                    + " configured", settings.spoolDir().toAbsolutePath());
            return new StartedAudit(PostgresAuditLog.start(settings), null);
        }
        final EmbeddedAuditDatabase database = EmbeddedAuditDatabase.start(embeddedDir);
        logger.info("audit: the latest rows: psql \"{}\" -c \"{}\"; or, without psql: cy-coordinator {} --db-url {}",
                database.url(), AuditQuery.LATEST, AuditQuery.FLAG, database.url());
        return new StartedAudit(database.startLog(settings), io.cy.audit.DbUrl.parse(database.url()));
    }

    private static BridgeConfig bridgeConfig(CoordinatorConfig.Http http) {
        return new BridgeConfig(http.addr(), http.maxBodyBytes(), http.templates(), http.defaultTemplate(),
                http.models(), http.upstreamDeadline(), true, http.idleTimeout());
    }

    private static void updateServingStatus(HealthStatusManager health, SidecarPool sidecars) {
        final ServingStatus status = sidecars.availableCount() > 0 ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
        for (String name : AiInferenceServices.SERVICE_NAMES) {
            health.setStatus(name, status);
        }
    }

    static String version() {
        final String v = Coordinator.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    /** The HTTP bridge's address with the real port, or null when it is off. */
    public Endpoint httpEndpoint() {
        return http == null ? null : http.endpoint();
    }

    /** The admin listener's address with the real port, or null when it is off. */
    public Endpoint adminEndpoint() {
        final AdminServer admin = observers.admin();
        return admin == null ? null
                : Endpoint.tcp(config.observability().adminAddr().host(), admin.port());
    }

    /** The TCP address the coordinator listens on, with the real port when 0 was configured. */
    public Endpoint grpcEndpoint() {
        return grpcEndpoint;
    }

    public SidecarPool sidecars() {
        return sidecars;
    }

    /** StreamPredict calls open right now. */
    public int activeCalls() {
        return forwarder.activeCalls();
    }

    /**
     * Reads the configuration again and applies what may change at runtime (quota limits,
     * backends, routes); returns what it did. An invalid configuration changes nothing and throws
     * {@link io.cy.coordinator.config.ConfigException}; shared routes that Redis did not take
     * change nothing and throw {@link io.cy.coordinator.redis.SharedRoutesException}. Waits for
     * the reload's own thread and for Redis (at most {@link #ROUTES_REDIS_TIMEOUT}): not for an
     * event loop.
     */
    public String reloadConfiguration() {
        try {
            return reloader.get().toCompletableFuture().join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException cause ? cause : e;
        }
    }

    /** Shuts down with the configured grace period. */
    public void shutdown() {
        shutdown(config.shutdown().grace());
    }

    /**
     * Health turns NOT_SERVING and listeners stop accepting; open streams get {@code grace} to
     * finish and are then cancelled. Idempotent.
     */
    public synchronized void shutdown(Duration grace) {
        if (servers.get(0).isTerminated()) {
            return;
        }
        logger.info("shutting down: {} open streams, grace {}s", forwarder.activeCalls(), grace.toSeconds());
        health.enterTerminalState();
        if (observers.admin() != null) {
            observers.admin().beginShutdown();
        }
        forwarder.beginShutdown();
        prober.close();
        final long deadline = System.nanoTime() + grace.toNanos();
        if (http != null) {
            // First: its requests are calls of the services the listeners below serve.
            http.shutdown(grace);
        }
        for (Server server : servers) {
            server.shutdown();
        }
        try {
            for (Server server : servers) {
                if (!server.awaitTermination(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                    logger.warn("grace period over: cancelling {} open streams", forwarder.activeCalls());
                    server.shutdownNow();
                }
            }
            for (Server server : servers) {
                server.awaitTermination(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            servers.forEach(Server::shutdownNow);
            Thread.currentThread().interrupt();
        }
        if (bridgeChannel != null) {
            bridgeChannel.shutdownNow();
        }
        tls.forEach(ServerTlsContext::close);
        if (observers.webhook() != null) {
            // Every call has ended: their usage is queued; it may take what is left of the grace.
            observers.webhook().close(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
        }
        sidecars.close(Duration.ofSeconds(5));
        transport.close();
        if (authenticator != null) {
            authenticator.close();
        }
        // Every call has ended and settled.
        closeQuietly(quotaStore);
        if (routeStore != null) {
            routeStore.close();
        }
        // Last: every call has ended and been recorded; what the database cannot take in time is spooled.
        audit.close(Duration.ofSeconds(5));
        if (config.server().udsPath() != null) {
            UnixSocketFiles.deleteQuietly(config.server().udsPath().socketPath());
        }
        observers.close();
        logger.info("stopped");
    }

    /** Blocks until the listeners have terminated. */
    public void awaitTermination() throws InterruptedException {
        for (Server server : servers) {
            server.awaitTermination();
        }
    }

    @Override
    public void close() {
        shutdown(Duration.ZERO);
    }
}
