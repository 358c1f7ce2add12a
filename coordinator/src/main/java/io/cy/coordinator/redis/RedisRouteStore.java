package io.cy.coordinator.redis;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.config.ConfigException;
import io.cy.coordinator.config.RoutingSection;
import io.cy.coordinator.routing.RouteTable;
import io.cy.coordinator.routing.Routing;
import io.cy.coordinator.routing.RoutesSpec;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The route table shared by every replica on one Redis ({@code routes.store: redis}): one hash
 * holds the {@code routes} section as JSON, its version number and a change counter; a change
 * made here is written there first (only on top of the change this replica last saw), then
 * installed here, then announced on a channel. Every replica installs what the hash holds when
 * the counter moved: on the announcement, and by a check every second in case one was missed.
 * Backends stay this replica's own.
 *
 * <p>A change waits for Redis at most {@code timeout}; Control commands that call it may run on
 * an event loop, which this bounds.
 */
public final class RedisRouteStore implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RedisRouteStore.class);
    static final Duration CHECK_PERIOD = Duration.ofSeconds(1);

    // Writes the new table only when the counter is the one the writer saw: no change is lost.
    private static final String WRITE = """
            local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
            if seq ~= tonumber(ARGV[1]) then
              return {0, seq}
            end
            redis.call('HSET', KEYS[1], 'seq', seq + 1, 'version', ARGV[2], 'routes', ARGV[3])
            redis.call('PUBLISH', ARGV[4], tostring(seq + 1))
            return {1, seq + 1}
            """;

    private final Routing routing;
    private final String key;
    private final String channel;
    private final Duration timeout;
    private final RedisConnection redis;
    private final RedisClient pubSubClient;
    private final RedisURI pubSubUri;
    private final ScheduledExecutorService checker;
    private volatile StatefulRedisPubSubConnection<String, String> pubSub;
    // The change counter of the table installed here; guarded by this.
    private long seen;

    /**
     * @param prefix put before the key and the channel, so that deployments (or tests) can share one Redis
     */
    public RedisRouteStore(String url, String prefix, Duration timeout, Routing routing) {
        this.routing = requireNonNull(routing, "routing");
        this.key = prefix + "table";
        this.channel = prefix + "changed";
        this.timeout = requireNonNull(timeout, "timeout");
        this.redis = new RedisConnection(url, timeout);
        final List<RedisURI> uris = RedisUrls.parse(url);
        // A Redis Cluster has no single node to subscribe on here: its replicas rely on the check.
        this.pubSubUri = uris.get(0);
        this.pubSubClient = uris.size() == 1 ? RedisClient.create() : null;
        this.checker = Executors.newSingleThreadScheduledExecutor(r -> {
            final Thread t = new Thread(r, "routes-redis-check");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Installs the shared table when there is one (waiting for Redis at most {@code wait}), then
     * follows its changes.
     */
    public void start(Duration wait) {
        if (!redis.connect(wait)) {
            log.warn("routes store: Redis at {} not reachable at startup; routes from the configuration until it is",
                    redis.target());
        } else {
            final long before = routing.active().version();
            if (check()) {
                log.info("routes store: installed the shared routes version {} from Redis at {} instead of the"
                        + " configured routes (version {})", routing.active().version(), redis.target(), before);
            }
        }
        if (pubSubClient != null) {
            pubSubClient.connectPubSubAsync(StringCodec.UTF8, pubSubUri).whenComplete((c, failure) -> {
                if (failure != null) {
                    log.warn("routes store: no subscription at Redis at {} ({}); changes arrive by the check every {} ms",
                            redis.target(), failure.toString(), CHECK_PERIOD.toMillis());
                    return;
                }
                // Runs on Lettuce's thread: hand the read to the checker, never wait here.
                c.addListener(new RedisPubSubAdapter<>() {
                    @Override
                    public void message(String from, String message) {
                        checker.execute(RedisRouteStore.this::checkQuietly);
                    }
                });
                c.async().subscribe(channel);
                pubSub = c;
            });
        }
        checker.scheduleWithFixedDelay(this::checkQuietly, CHECK_PERIOD.toMillis(), CHECK_PERIOD.toMillis(),
                TimeUnit.MILLISECONDS);
    }

    /** {@code routes_set} and {@code degrade_set}: {@code routes} as a new version, here and everywhere. */
    public synchronized RouteTable setRoutes(RoutesSpec routes) {
        return write(routing.nextVersion(), routes);
    }

    /** {@code routes_rollback}: as {@link Routing#rollback}, here and everywhere. */
    public synchronized RouteTable rollback(long version) {
        final RouteTable target = routing.rollbackTarget(version);
        return write(target.version(), target.routes());
    }

    private RouteTable write(long version, RoutesSpec routes) {
        final RedisClusterAsyncCommands<String, String> commands = redis.commands();
        if (commands == null) {
            throw new SharedRoutesException("Redis at " + redis.target() + " not connected (expected: reachable with"
                    + " routes.store: redis); routes not changed");
        }
        final List<?> reply;
        try {
            reply = (List<?>) commands.<Object>eval(WRITE, ScriptOutputType.MULTI, new String[] {key},
                    String.valueOf(seen), String.valueOf(version), RoutingSection.toJson(routes), channel)
                    .toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SharedRoutesException("interrupted while writing to Redis at " + redis.target()
                    + "; routes not changed");
        } catch (Exception e) {
            throw new SharedRoutesException("Redis at " + redis.target() + " did not take the change within "
                    + timeout.toMillis() + " ms (" + e.getClass().getSimpleName() + "); routes not changed");
        }
        if (((Long) reply.get(0)) == 0L) {
            checker.execute(this::checkQuietly);
            throw new SharedRoutesException("another replica changed the shared routes meanwhile (expected: retry on"
                    + " top of its version); routes not changed");
        }
        seen = (Long) reply.get(1);
        return routing.installShared(version, routes);
    }

    /** Installs the shared table when it changed since the one installed here; true when it did. */
    synchronized boolean check() {
        final RedisClusterAsyncCommands<String, String> commands = redis.commands();
        if (commands == null) {
            return false;
        }
        final java.util.Map<String, String> hash;
        try {
            hash = commands.hgetall(key).toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (Exception e) {
            log.debug("routes store: Redis at {} did not answer: {}", redis.target(), e.toString());
            return false;
        }
        if (hash == null || !hash.containsKey("seq")) {
            // Nothing shared yet, or Redis lost it: the next change starts again.
            seen = 0;
            return false;
        }
        final long seq = Long.parseLong(hash.get("seq"));
        if (seq == seen) {
            return false;
        }
        seen = seq;
        final long version = Long.parseLong(hash.get("version"));
        final RoutesSpec routes;
        try {
            routes = RoutingSection.parseRoutes(hash.get("routes"), routing.active().backends());
        } catch (ConfigException e) {
            log.error("routes store: shared routes version {} refused, version {} stays active: {}", version,
                    routing.active().version(), e.getMessage());
            return false;
        }
        final RouteTable before = routing.active();
        final RouteTable after = routing.installShared(version, routes);
        if (after != before) {
            log.info("routes store: shared routes installed: version {} -> {}", before.version(), after.version());
        }
        return true;
    }

    private void checkQuietly() {
        try {
            check();
        } catch (RuntimeException e) {
            log.warn("routes store: check failed: {}", e.toString());
        }
    }

    @Override
    public void close() {
        checker.shutdownNow();
        final StatefulRedisPubSubConnection<String, String> c = pubSub;
        if (c != null) {
            c.close();
        }
        if (pubSubClient != null) {
            pubSubClient.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        }
        redis.close();
    }
}
