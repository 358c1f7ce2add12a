package io.cy.sim;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.transport.netty.Endpoint;
import io.cy.coordinator.transport.netty.NettyTransport;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyServerBuilder;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running simulated inference sidecar: serves {@code cy.llm.AiInference} on a Unix socket or a
 * TCP port the way the real worker does (see {@link SimConfig} for what can be shaped).
 *
 * <pre>{@code
 * try (SimulatedSidecar sim = SimulatedSidecar.start(SimConfig.builder().build())) {
 *     ManagedChannel channel = transport.channelBuilder(sim.endpoint()).build();
 *     ...
 * }
 * }</pre>
 */
public final class SimulatedSidecar implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(SimulatedSidecar.class);

    private final Endpoint endpoint;
    private final SimStats stats;
    private final SimService service;
    private final Server server;
    private final ConnectionRefuser refuser;
    private final NettyTransport transport;
    private final ScheduledThreadPoolExecutor timer;
    private final AtomicBoolean closed = new AtomicBoolean();

    private SimulatedSidecar(Endpoint endpoint, SimStats stats, SimService service, Server server,
            ConnectionRefuser refuser, NettyTransport transport, ScheduledThreadPoolExecutor timer) {
        this.endpoint = endpoint;
        this.stats = stats;
        this.service = service;
        this.server = server;
        this.refuser = refuser;
        this.transport = transport;
        this.timer = timer;
    }

    /** Binds and starts serving; a TCP port 0 binds an ephemeral port (see {@link #target()}). */
    public static SimulatedSidecar start(SimConfig config) throws IOException {
        requireNonNull(config, "config");
        final Endpoint listen = config.listen();
        if (listen.isUnix()) {
            removeStaleSocket(listen.socketPath());
        }
        final SimStats stats = new SimStats();
        if (config.refuseConnections()) {
            final ConnectionRefuser refuser = ConnectionRefuser.open(listen);
            return new SimulatedSidecar(refuser.endpoint(), stats, null, null, refuser, null, null);
        }

        // Delays only: the timer never runs more than a few microseconds per task.
        final ScheduledThreadPoolExecutor timer =
                new ScheduledThreadPoolExecutor(config.threads(), new DefaultThreadFactory("cy-sim-timer", true));
        timer.setRemoveOnCancelPolicy(true); // cancelled calls must not leave their timers queued
        final NettyTransport transport = NettyTransport.create(config.threads(), "cy-sim");
        final SimService service = new SimService(config, stats, timer);
        final Server server;
        try {
            final NettyServerBuilder builder = transport.serverBuilder(listen);
            if (config.tlsCert() != null) {
                builder.sslContext(GrpcSslContexts.forServer(config.tlsCert().toFile(), config.tlsKey().toFile()).build());
            }
            server = builder
                    // Handlers never block (delays go to the timer), so they run on the event loops:
                    // no extra pool, no hand-off per message.
                    .directExecutor()
                    .addService(ServerInterceptors.intercept(service, new CallerCheck(stats, config.internalToken())))
                    .maxInboundMessageSize(Math.max(4 << 20, config.maxPromptBytes() + (64 << 10)))
                    // Tolerate clients' keepalive pings, even between calls: gRPC's default (one per 5 min)
                    // would answer a coordinator's keepalive with GOAWAY too_many_pings.
                    .permitKeepAliveTime(1, TimeUnit.SECONDS)
                    .permitKeepAliveWithoutCalls(true)
                    .build()
                    .start();
        } catch (IOException | RuntimeException e) {
            transport.close();
            timer.shutdownNow();
            throw new IOException("cannot listen on " + listen + ": " + e.getMessage(), e);
        }
        final Endpoint bound = listen.isUnix() ? listen : listen.withPort(server.getPort());
        return new SimulatedSidecar(bound, stats, service, server, null, transport, timer);
    }

    /** The gRPC target clients use: {@code unix:///path} or {@code host:port} with the actual port. */
    public String target() {
        return endpoint.toString();
    }

    public Endpoint endpoint() {
        return endpoint;
    }

    public SimStats stats() {
        return stats;
    }

    /** What Health reports as {@code healthy}; true at start. */
    public void setHealthy(boolean healthy) {
        if (service != null) {
            service.setHealthy(healthy);
        }
    }

    /** Stops at once (open calls end with UNAVAILABLE/CANCELLED on the client) and removes the socket file. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        if (server != null) {
            server.shutdownNow();
            try {
                if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
                    log.warn("simulated sidecar on {} did not terminate within 5 s", endpoint);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            timer.shutdownNow();
            transport.close();
        }
        if (refuser != null) {
            refuser.close();
        }
        if (endpoint.isUnix()) {
            try {
                Files.deleteIfExists(endpoint.socketPath());
            } catch (IOException e) {
                log.warn("cannot remove socket file {}", endpoint.socketPath(), e);
            }
        }
    }

    @Override
    public String toString() {
        return "SimulatedSidecar{" + endpoint + '}';
    }

    /**
     * A socket file left by a killed process would make the bind fail; the sim is a test tool, so
     * it takes the path over. Anything but a socket (a typo pointing at a real file) is refused.
     */
    private static void removeStaleSocket(Path path) throws IOException {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS) || Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)
                || Files.isSymbolicLink(path)) {
            throw new IOException("cannot listen on unix://" + path + ": the path exists and is not a socket");
        }
        Files.delete(path);
    }
}
