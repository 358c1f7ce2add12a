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

/** The configured sidecars, each with one long-lived channel shared by all calls. */
public final class SidecarPool implements AutoCloseable {

    /** Each StreamPredict stream's window: what a sidecar may send ahead of a client that stops reading. */
    private static final int STREAM_WINDOW_BYTES = 64 * 1024;
    /** The largest response message taken from a sidecar: grpc-java's default limit. */
    private static final int MAX_RESPONSE_MESSAGE_BYTES = 4 * 1024 * 1024;
    private static final int MAX_RESPONSE_HEADER_BYTES = 16 * 1024;

    /** The backend of a pool made without backends. */
    public static final String DEFAULT_BACKEND = "default";

    private final List<Sidecar> sidecars;
    private final SidecarRouter router;
    private final Map<String, List<Sidecar>> byBackend;
    private final Map<Sidecar, String> backendOf = new IdentityHashMap<>();
    private final Map<String, BackendQueue> queues = new LinkedHashMap<>();
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
        this.router = requireNonNull(router, "router");
        final Map<String, List<Sidecar>> copy = new LinkedHashMap<>();
        final List<Sidecar> all = new ArrayList<>();
        backends.forEach((backend, members) -> {
            copy.put(backend, List.copyOf(members));
            all.addAll(members);
            members.forEach(sidecar -> backendOf.put(sidecar, backend));
        });
        this.byBackend = Collections.unmodifiableMap(copy);
        this.sidecars = List.copyOf(all);
        if (this.sidecars.isEmpty()) {
            throw new IllegalArgumentException("sidecars: empty (expected: at least one)");
        }
        this.queueTimer = new ScheduledThreadPoolExecutor(1, runnable -> {
            final Thread thread = new Thread(runnable, "cy-queue-timer");
            thread.setDaemon(true);
            return thread;
        });
        queueTimer.setRemoveOnCancelPolicy(true);
        copy.forEach((backend, members) -> {
            final BackendQueue queue = new BackendQueue(backend, queueTimer);
            queues.put(backend, queue);
            members.forEach(sidecar -> sidecar.capacity(CapacitySettings.UNLIMITED, queue));
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
        return sidecars.get(0).currentLoop();
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
        final List<EventLoop> loops = transport.eventLoops();
        final SidecarStreams.Settings streamSettings = new SidecarStreams.Settings(STREAM_WINDOW_BYTES,
                MAX_RESPONSE_MESSAGE_BYTES, MAX_RESPONSE_HEADER_BYTES, config.keepaliveTime(), config.keepaliveTimeout());
        // One context for every TCP sidecar and both kinds of connection; Unix sockets stay plaintext.
        final SslContext tls = config.tls() == null ? null : config.tls().clientContext();
        final String serverName = config.tls() == null ? null : config.tls().serverName();
        final Map<String, List<Sidecar>> members = new LinkedHashMap<>();
        for (Map.Entry<String, List<Endpoint>> backend : backends.entrySet()) {
            final List<Sidecar> sidecars = new ArrayList<>();
            members.put(backend.getKey(), sidecars);
            for (Endpoint endpoint : backend.getValue()) {
                final SslContext endpointTls = endpoint.isUnix() ? null : tls;
                final List<ManagedChannel> channels = new ArrayList<>();
                for (EventLoop loop : loops) {
                    channels.add(channel(config, transport, endpoint, loop, endpointTls, serverName));
                }
                final SidecarStreams streams = new SidecarStreams(endpoint, loops, transport.channelType(endpoint),
                        streamSettings, endpointTls, serverName);
                sidecars.add(new Sidecar(endpoint, channels, loops, streams,
                        config.health().unhealthyThreshold(), config.health().healthyThreshold()));
            }
        }
        return new SidecarPool(members, router);
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
        return sidecars;
    }

    /** The backends' ids, in configuration order. */
    public java.util.Set<String> backendIds() {
        return byBackend.keySet();
    }

    /** The sidecars of backend {@code id}; empty for an unknown one. */
    public List<Sidecar> backend(String id) {
        return byBackend.getOrDefault(id, List.of());
    }

    /** The id of the backend {@code sidecar} belongs to. */
    public String backendOf(Sidecar sidecar) {
        return backendOf.getOrDefault(sidecar, "");
    }

    /** The sidecar at {@code address} (any accepted spelling), or null. */
    public Sidecar find(String address) {
        final Endpoint endpoint;
        try {
            endpoint = Endpoint.parse(address);
        } catch (IllegalArgumentException e) {
            return null;
        }
        for (Sidecar sidecar : sidecars) {
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
        return acquire(router, sidecars, tried, key);
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
        for (Sidecar sidecar : sidecars) {
            if (sidecar.isHealthy() && !sidecar.isDraining()) {
                n++;
            }
        }
        return n;
    }

    public int healthyCount() {
        int n = 0;
        for (Sidecar sidecar : sidecars) {
            if (sidecar.isHealthy()) {
                n++;
            }
        }
        return n;
    }

    /** Closes every channel, waiting up to {@code timeout} for calls still on them. */
    public void close(Duration timeout) {
        queueTimer.shutdownNow();
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
