package io.cy.coordinator.redis;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One multiplexed connection to Redis (standalone, Sentinel or Cluster) with commands that fail
 * at once while it is down instead of queueing: a caller that waits on Redis waits for an answer,
 * never for a reconnection. Connects lazily and again after a failed attempt; never blocks a
 * caller for the connection.
 */
public final class RedisConnection implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RedisConnection.class);

    private final List<RedisURI> uris;
    private final ClientResources resources;
    private final RedisClient client;
    private final RedisClusterClient cluster;
    private final AtomicBoolean connecting = new AtomicBoolean();
    private volatile StatefulConnection<String, String> connection;
    private volatile RedisClusterAsyncCommands<String, String> commands;
    private volatile boolean closed;

    /**
     * @param commandTimeout after this a command still unanswered fails, so none piles up while
     *     Redis hangs
     */
    public RedisConnection(String url, Duration commandTimeout) {
        this.uris = RedisUrls.parse(url);
        // Lettuce's own event loops, two threads: admissions and heartbeats are small commands.
        this.resources = DefaultClientResources.builder().ioThreadPoolSize(2).computationThreadPoolSize(2).build();
        final SocketOptions socket = SocketOptions.builder().connectTimeout(Duration.ofSeconds(2)).build();
        final TimeoutOptions timeouts = TimeoutOptions.enabled(commandTimeout);
        if (uris.size() > 1) {
            this.client = null;
            this.cluster = RedisClusterClient.create(resources, uris);
            cluster.setOptions(ClusterClientOptions.builder().socketOptions(socket).timeoutOptions(timeouts)
                    .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS).build());
        } else {
            this.cluster = null;
            this.client = RedisClient.create(resources, uris.get(0));
            client.setOptions(ClientOptions.builder().socketOptions(socket).timeoutOptions(timeouts)
                    .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS).build());
        }
    }

    /**
     * Connects, waiting at most {@code wait}: at startup, so that the first calls find the
     * connection made. False when Redis did not answer in time (attempts go on in the background).
     */
    public boolean connect(Duration wait) {
        connectInBackground();
        final long deadline = System.nanoTime() + wait.toNanos();
        synchronized (this) {
            while (commands == null && !closed) {
                final long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(this, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
        return commands != null;
    }

    /** Where it connects, without credentials. */
    public String target() {
        return RedisUrls.describe(uris);
    }

    /**
     * The commands, or null while there is no connection (one is then being made in the
     * background).
     */
    public RedisClusterAsyncCommands<String, String> commands() {
        final RedisClusterAsyncCommands<String, String> current = commands;
        if (current == null) {
            connectInBackground();
        }
        return current;
    }

    private void connectInBackground() {
        if (closed || !connecting.compareAndSet(false, true)) {
            return;
        }
        final var future = client != null
                ? client.connectAsync(io.lettuce.core.codec.StringCodec.UTF8, uris.get(0)).toCompletableFuture()
                        .thenApply(c -> (StatefulConnection<String, String>) c)
                : cluster.connectAsync(io.lettuce.core.codec.StringCodec.UTF8).toCompletableFuture()
                        .thenApply(c -> (StatefulConnection<String, String>) c);
        future.whenComplete((c, failure) -> {
            try {
                if (failure != null) {
                    log.debug("Redis at {}: not connected: {}", target(), failure.toString());
                    return;
                }
                if (closed) {
                    c.closeAsync();
                    return;
                }
                connection = c;
                commands = c instanceof io.lettuce.core.api.StatefulRedisConnection<String, String> s ? s.async()
                        : ((io.lettuce.core.cluster.api.StatefulRedisClusterConnection<String, String>) c).async();
                log.info("Redis at {}: connected", target());
            } finally {
                connecting.set(false);
                synchronized (this) {
                    notifyAll();
                }
            }
        });
    }

    @Override
    public void close() {
        closed = true;
        final StatefulConnection<String, String> c = connection;
        if (c != null) {
            c.close();
        }
        if (client != null) {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        } else {
            cluster.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        }
        resources.shutdown(0, 2, TimeUnit.SECONDS);
    }
}
