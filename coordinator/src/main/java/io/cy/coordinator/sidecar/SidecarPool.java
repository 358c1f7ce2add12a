package io.cy.coordinator.sidecar;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.config.CoordinatorConfig;
import io.cy.coordinator.transport.client.SidecarStreams;
import io.cy.coordinator.transport.netty.Endpoint;
import io.cy.coordinator.transport.netty.NettyTransport;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The configured sidecars grouped by backend, each with its long-lived channels and StreamPredict
 * connections. The membership can change at runtime ({@link #reconcile}, on a reload of the
 * backends or a route-table rollback): it is one immutable snapshot read without a lock by every
 * call, replaced as a whole; a sidecar that leaves drains and is closed once its calls are over.
 */
public final class SidecarPool implements AutoCloseable {

    /** Each StreamPredict stream's window: what a sidecar may send ahead of a client that stops reading. */
    private static final int STREAM_WINDOW_BYTES = 64 * 1024;
    /** The largest response message taken from a sidecar: grpc-java's default limit. */
    private static final int MAX_RESPONSE_MESSAGE_BYTES = 4 * 1024 * 1024;
    private static final int MAX_RESPONSE_HEADER_BYTES = 16 * 1024;
    /** How long a sidecar that left may keep its calls before they are cut. */
    private static final Duration RETIRE_GRACE = Duration.ofMinutes(10);

    /** The backend of a pool made without backends. */
    public static final String DEFAULT_BACKEND = "default";

    /** One membership: all sidecars, each backend's, and each sidecar's backend. */
    private record Members(List<Sidecar> all, Map<String, List<Sidecar>> byBackend, Map<Sidecar, String> backendOf) {

        static Members of(Map<String, List<Sidecar>> backends) {
            final Map<String, List<Sidecar>> copy = new LinkedHashMap<>();
            final List<Sidecar> all = new ArrayList<>();
            final Map<Sidecar, String> backendOf = new IdentityHashMap<>();
            backends.forEach((backend, members) -> {
                copy.put(backend, List.copyOf(members));
                all.addAll(members);
                members.forEach(sidecar -> backendOf.put(sidecar, backend));
            });
            if (all.isEmpty()) {
                throw new IllegalArgumentException("sidecars: empty (expected: at least one)");
            }
            return new Members(List.copyOf(all), Collections.unmodifiableMap(copy),
                    Collections.unmodifiableMap(backendOf));
        }
    }

    /** A sidecar that left the pool, with the time its remaining calls are cut. */
    private record Retiring(Sidecar sidecar, long deadlineNanos) {}

    private final SidecarRouter router;
    // Opens sidecars that join at runtime; null for a pool made of given sidecars (tests).
    private final Connector connector;
    private volatile Members members;
    // Guarded by this.
    private final List<Retiring> retiring = new ArrayList<>();
    // Each backend's queue, made when the backend first appears; kept while it may have waiting calls.
    private final Map<String, BackendQueue> queues = new java.util.concurrent.ConcurrentHashMap<>();
    // Times the queues' max_wait; one daemon thread for all backends, idle while nothing waits.
    private final ScheduledThreadPoolExecutor queueTimer;

    /** One backend, {@value #DEFAULT_BACKEND}, of all {@code sidecars}. */
    public SidecarPool(List<Sidecar> sidecars, SidecarRouter router) {
        this(Map.of(DEFAULT_BACKEND, List.copyOf(requireNonNull(sidecars, "sidecars"))), router);
    }

    /**
     * @param backends each backend's sidecars, in configuration order
     * @param router chooses among all sidecars, for calls that name no backend (forwarded Control)
     */
    public SidecarPool(Map<String, List<Sidecar>> backends, SidecarRouter router) {
        this(backends, router, null);
    }

    private SidecarPool(Map<String, List<Sidecar>> backends, SidecarRouter router, Connector connector) {
        this.router = requireNonNull(router, "router");
        this.connector = connector;
        this.queueTimer = new ScheduledThreadPoolExecutor(1, runnable -> {
            final Thread thread = new Thread(runnable, "cy-queue-timer");
            thread.setDaemon(true);
            return thread;
        });
        queueTimer.setRemoveOnCancelPolicy(true);
        this.members = Members.of(backends);
        joinQueues(members);
    }

    /** Gives every sidecar its backend's queue and limit: at start, and for those that join or move. */
    private void joinQueues(Members current) {
        current.byBackend().forEach((backend, sidecars) -> {
            final BackendQueue queue = queues.computeIfAbsent(backend, id -> new BackendQueue(id, queueTimer));
            sidecars.forEach(sidecar -> sidecar.capacity(queue.settings().maxInflight(), queue));
        });
    }

    /** Applies a backend's {@code max_inflight} and queue bounds; at startup and when the settings change. */
    public void applyCapacity(String backend, CapacitySettings settings) {
        final BackendQueue queue = queues.get(backend);
        if (queue == null) {
            return;
        }
        queue.settings(settings);
        for (Sidecar sidecar : backend(backend)) {
            sidecar.capacity(settings.maxInflight(), queue);
        }
        // A raised limit frees slots for calls already waiting.
        queue.slotFreed();
    }

    /** The event loop the calling thread runs (every sidecar has a connection on each), or null. */
    public java.util.concurrent.Executor currentLoop() {
        return members.all().get(0).currentLoop();
    }

    /** The queue of backend {@code id}, or null for an unknown one. */
    public BackendQueue queue(String id) {
        return queues.get(id);
    }

    /** Calls waiting in every backend's queue. */
    public int queued() {
        int n = 0;
        for (BackendQueue queue : queues.values()) {
            n += queue.depth();
        }
        return n;
    }

    /** Opens the sidecars of one backend, {@value #DEFAULT_BACKEND}, on {@code config.addresses()}. */
    public static SidecarPool connect(CoordinatorConfig.Sidecars config, NettyTransport transport,
                                      SidecarRouter router) {
        return connect(Map.of(DEFAULT_BACKEND, config.addresses()), config, transport, router);
    }

    /**
     * Opens one channel per configured sidecar and event loop; connections are made lazily and
     * kept alive.
     *
     * @param backends each backend's addresses, in configuration order
     */
    public static SidecarPool connect(Map<String, List<Endpoint>> backends, CoordinatorConfig.Sidecars config,
                                      NettyTransport transport, SidecarRouter router) {
        final Connector connector = new Connector(config, transport);
        final Map<String, List<Sidecar>> members = new LinkedHashMap<>();
        for (Map.Entry<String, List<Endpoint>> backend : backends.entrySet()) {
            final List<Sidecar> sidecars = new ArrayList<>();
            members.put(backend.getKey(), sidecars);
            for (Endpoint endpoint : backend.getValue()) {
                sidecars.add(connector.open(endpoint));
            }
        }
        return new SidecarPool(members, router, connector);
    }

    /** What {@link #reconcile} changed: the addresses that joined and those that left. */
    public record Change(List<Endpoint> joined, List<Endpoint> left) {

        public boolean isEmpty() {
            return joined.isEmpty() && left.isEmpty();
        }
    }

    /**
     * Makes the membership {@code backends}: a sidecar already in the pool stays, with its
     * connections, health and calls, even if it moves to another backend; a new address is opened
     * (lazily, so this never waits on the network); a sidecar no longer named is taken out of
     * rotation at once, and closed when its calls are over ({@link #closeRetired}) or after
     * ten minutes.
     *
     * @throws IllegalStateException for a pool made of given sidecars, which cannot open new ones
     */
    public synchronized Change reconcile(Map<String, List<Endpoint>> backends) {
        final Members current = members;
        final Map<Endpoint, Sidecar> existing = new LinkedHashMap<>();
        current.all().forEach(sidecar -> existing.put(sidecar.endpoint(), sidecar));
        final Map<String, List<Sidecar>> next = new LinkedHashMap<>();
        final List<Endpoint> joined = new ArrayList<>();
        for (Map.Entry<String, List<Endpoint>> backend : backends.entrySet()) {
            final List<Sidecar> sidecars = new ArrayList<>();
            for (Endpoint endpoint : backend.getValue()) {
                Sidecar sidecar = existing.remove(endpoint);
                if (sidecar == null) {
                    sidecar = retrieveRetiring(endpoint);
                }
                if (sidecar == null) {
                    if (connector == null) {
                        throw new IllegalStateException("sidecar " + endpoint
                                + ": this pool was made of given sidecars and cannot open new ones");
                    }
                    sidecar = connector.open(endpoint);
                    joined.add(endpoint);
                }
                sidecars.add(sidecar);
            }
            next.put(backend.getKey(), sidecars);
        }
        final Members updated = Members.of(next);
        joinQueues(updated);
        members = updated;
        final List<Endpoint> left = new ArrayList<>();
        final long deadline = System.nanoTime() + RETIRE_GRACE.toNanos();
        for (Sidecar gone : existing.values()) {
            gone.setDraining(true);
            retiring.add(new Retiring(gone, deadline));
            left.add(gone.endpoint());
        }
        return new Change(List.copyOf(joined), List.copyOf(left));
    }

    /** A sidecar that left and comes back before it was closed keeps its connections. */
    private Sidecar retrieveRetiring(Endpoint endpoint) {
        for (int i = 0; i < retiring.size(); i++) {
            final Sidecar sidecar = retiring.get(i).sidecar();
            if (sidecar.endpoint().equals(endpoint)) {
                retiring.remove(i);
                sidecar.setDraining(false);
                return sidecar;
            }
        }
        return null;
    }

    /**
     * Closes the sidecars that left the pool and have no call left, or whose grace is over; called
     * by the health prober's thread after each round (it waits for nothing: channels shut down in
     * the background).
     */
    public void closeRetired() {
        final List<Sidecar> closing = new ArrayList<>();
        synchronized (this) {
            final long now = System.nanoTime();
            retiring.removeIf(entry -> {
                if (entry.sidecar().inflight() == 0 || now - entry.deadlineNanos() >= 0) {
                    closing.add(entry.sidecar());
                    return true;
                }
                return false;
            });
        }
        for (Sidecar sidecar : closing) {
            if (sidecar.hasStreams()) {
                sidecar.streams().close(Duration.ZERO);
            }
            sidecar.channels().forEach(ManagedChannel::shutdownNow);
        }
    }

    /** The sidecars that left the pool and are not closed yet. */
    public synchronized int retiringCount() {
        return retiring.size();
    }

    /** How a sidecar is opened: its channels and connections on every event loop. */
    private static final class Connector {

        private final CoordinatorConfig.Sidecars config;
        private final NettyTransport transport;
        private final List<EventLoop> loops;
        private final SidecarStreams.Settings streamSettings;
        // One context for every TCP sidecar and both kinds of connection; Unix sockets stay plaintext.
        private final SslContext tls;
        private final String serverName;

        Connector(CoordinatorConfig.Sidecars config, NettyTransport transport) {
            this.config = config;
            this.transport = transport;
            this.loops = transport.eventLoops();
            this.streamSettings = new SidecarStreams.Settings(STREAM_WINDOW_BYTES, MAX_RESPONSE_MESSAGE_BYTES,
                    MAX_RESPONSE_HEADER_BYTES, config.keepaliveTime(), config.keepaliveTimeout());
            this.tls = config.tls() == null ? null : config.tls().clientContext();
            this.serverName = config.tls() == null ? null : config.tls().serverName();
        }

        Sidecar open(Endpoint endpoint) {
            final SslContext endpointTls = endpoint.isUnix() ? null : tls;
            final List<ManagedChannel> channels = new ArrayList<>();
            for (EventLoop loop : loops) {
                channels.add(channel(config, transport, endpoint, loop, endpointTls, serverName));
            }
            final SidecarStreams streams = new SidecarStreams(endpoint, loops, transport.channelType(endpoint),
                    streamSettings, endpointTls, serverName);
            return new Sidecar(endpoint, channels, loops, streams,
                    config.health().unhealthyThreshold(), config.health().healthyThreshold());
        }
    }

    private static ManagedChannel channel(CoordinatorConfig.Sidecars config, NettyTransport transport,
                                          Endpoint endpoint, EventLoop loop, SslContext tls, String serverName) {
        final NettyChannelBuilder builder = transport.channelBuilder(endpoint)
                .eventLoopGroup(loop)
                // Callbacks only hand messages on; running them on the event loop saves a
                // thread hop per message.
                .directExecutor()
                // The forwarder retries by itself, before the first response only; grpc's
                // retry would buffer every forwarded message.
                .disableRetry()
                .keepAliveTime(config.keepaliveTime().toNanos(), TimeUnit.NANOSECONDS)
                .keepAliveTimeout(config.keepaliveTimeout().toNanos(), TimeUnit.NANOSECONDS)
                .keepAliveWithoutCalls(true);
        if (endpoint.isUnix()) {
            builder.overrideAuthority("localhost");
        }
        if (tls != null) {
            builder.useTransportSecurity().sslContext(tls);
            if (serverName != null) {
                builder.overrideAuthority(serverName + ":" + endpoint.port());
            }
        }
        return builder.build();
    }

    public List<Sidecar> all() {
        return members.all();
    }

    /** The backends' ids, in configuration order. */
    public java.util.Set<String> backendIds() {
        return members.byBackend().keySet();
    }

    /** The sidecars of backend {@code id}; empty for an unknown one. */
    public List<Sidecar> backend(String id) {
        return members.byBackend().getOrDefault(id, List.of());
    }

    /** The id of the backend {@code sidecar} belongs to. */
    public String backendOf(Sidecar sidecar) {
        return members.backendOf().getOrDefault(sidecar, "");
    }

    /** The sidecar at {@code address} (any accepted spelling), or null. */
    public Sidecar find(String address) {
        final Endpoint endpoint;
        try {
            endpoint = Endpoint.parse(address);
        } catch (IllegalArgumentException e) {
            return null;
        }
        for (Sidecar sidecar : members.all()) {
            if (sidecar.endpoint().equals(endpoint)) {
                return sidecar;
            }
        }
        return null;
    }

    /**
     * Chooses a sidecar for a new call and counts the call against it, or returns null when none
     * may take it. The caller releases it exactly once.
     */
    public Sidecar acquire(List<Sidecar> tried, RoutingKey key) {
        return acquire(router, members.all(), tried, key);
    }

    /**
     * Chooses with {@code router} among {@code candidates} (a backend's sidecars, or some of them)
     * and counts the call against the one chosen, or returns null; the caller releases it once.
     */
    public Sidecar acquire(SidecarRouter router, List<Sidecar> candidates, List<Sidecar> tried, RoutingKey key) {
        // Another call may take the last slot of the sidecar picked: pick again, a bounded number of times.
        for (int attempt = 0; attempt <= candidates.size(); attempt++) {
            final Sidecar sidecar = router.pick(candidates, tried, key);
            if (sidecar == null || sidecar.tryAcquire()) {
                return sidecar;
            }
        }
        return null;
    }

    public int availableCount() {
        int n = 0;
        for (Sidecar sidecar : members.all()) {
            if (sidecar.isHealthy() && !sidecar.isDraining()) {
                n++;
            }
        }
        return n;
    }

    /** How many sidecars are ejected as outliers now. */
    public int ejectedCount() {
        int n = 0;
        for (Sidecar sidecar : members.all()) {
            if (sidecar.isEjected()) {
                n++;
            }
        }
        return n;
    }

    public int healthyCount() {
        int n = 0;
        for (Sidecar sidecar : members.all()) {
            if (sidecar.isHealthy()) {
                n++;
            }
        }
        return n;
    }

    /** Closes every channel, waiting up to {@code timeout} for calls still on them. */
    public void close(Duration timeout) {
        queueTimer.shutdownNow();
        final List<Sidecar> sidecars = new ArrayList<>(members.all());
        synchronized (this) {
            retiring.forEach(entry -> sidecars.add(entry.sidecar()));
            retiring.clear();
        }
        final List<ManagedChannel> channels = new ArrayList<>();
        for (Sidecar sidecar : sidecars) {
            channels.addAll(sidecar.channels());
        }
        // Calls are over or cancelled by now (the servers stopped first): nothing to wait for.
        for (Sidecar sidecar : sidecars) {
            if (sidecar.hasStreams()) {
                sidecar.streams().close(timeout);
            }
        }
        for (ManagedChannel channel : channels) {
            channel.shutdown();
        }
        final long deadline = System.nanoTime() + timeout.toNanos();
        for (ManagedChannel channel : channels) {
            try {
                final long left = Math.max(0, deadline - System.nanoTime());
                if (!channel.awaitTermination(left, TimeUnit.NANOSECONDS)) {
                    channel.shutdownNow();
                }
            } catch (InterruptedException e) {
                channel.shutdownNow();
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(5));
    }
}
