package io.cy.coordinator.redis;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.config.ConfigException;
import io.cy.coordinator.config.RoutingSection;
import io.cy.coordinator.routing.BackendSpec;
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
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The route table shared by every replica on one Redis ({@code routes.store: redis}): one hash
 * holds the {@code routes} section as JSON, its version number and a change counter; a change
 * made here is written there first (only on top of the change this replica last saw), then
 * installed here, then announced on a channel. Every replica installs what the hash holds when
 * the counter moved: on the announcement, and by a check every second in case one was missed.
 * A replica that finds no table there writes its own as the first one. Backends stay this
 * replica's own.
 *
 * <p>Nothing here waits for Redis: a change returns at once and completes when Redis answered,
 * or fails after {@code timeout}, so Control commands on an event loop never block on it. What
 * this replica saw of the hash (the counter, a write or check in flight) is kept on one thread,
 * {@code routes-redis}, where every answer of Redis is handled.
 */
public final class RedisRouteStore implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RedisRouteStore.class);
    /** How often a replica reads the hash in case it missed an announcement. */
    public static final Duration CHECK_PERIOD = Duration.ofSeconds(1);
    /** After a failed subscription, the first wait before the next attempt; it doubles up to {@link #RESUBSCRIBE_MAX}. */
    private static final Duration RESUBSCRIBE_FIRST = Duration.ofMillis(500);
    private static final Duration RESUBSCRIBE_MAX = Duration.ofSeconds(30);

    // Writes the new table only when the counter is the one the writer saw: no change is lost.
    // A refusal returns the counter and the version the hash holds.
    private static final String WRITE = """
            local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
            if seq ~= tonumber(ARGV[1]) then
              return {0, seq, redis.call('HGET', KEYS[1], 'version') or '0'}
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
    private final Duration checkPeriod;
    private final ScheduledExecutorService thread;
    // Answers of Redis continue on the thread; once it is shut down, where they arrive.
    private final Executor onThread;
    private volatile StatefulRedisPubSubConnection<String, String> pubSub;

    // The thread's alone. The change counter of the table installed here.
    private long seen;
    // A write (a change or the first table) waits for Redis: another change is refused meanwhile,
    // so that waiting changes cannot pile up while Redis hangs.
    private boolean writing;
    // A read of the hash waits for Redis; a check asked for meanwhile runs once it is answered.
    private boolean checking;
    private boolean checkAgain;

    /** What a change writes: the routes as {@code version}, installed here with {@code backends}. */
    private record Change(long version, List<BackendSpec> backends, RoutesSpec routes) {}

    /**
     * @param prefix put before the key and the channel, so that deployments (or tests) can share one Redis
     * @param timeout the longest a change or a check waits for Redis
     */
    public RedisRouteStore(String url, String prefix, Duration timeout, Routing routing) {
        this(url, prefix, timeout, CHECK_PERIOD, routing);
    }

    /** @param checkPeriod how often the hash is read besides on announcements ({@link #CHECK_PERIOD}) */
    public RedisRouteStore(String url, String prefix, Duration timeout, Duration checkPeriod, Routing routing) {
        this.routing = requireNonNull(routing, "routing");
        this.checkPeriod = requireNonNull(checkPeriod, "checkPeriod");
        this.key = prefix + "table";
        this.channel = prefix + "changed";
        this.timeout = requireNonNull(timeout, "timeout");
        this.redis = new RedisConnection(url, timeout);
        final List<RedisURI> uris = RedisUrls.parse(url);
        // A Redis Cluster has no single node to subscribe on here: its replicas rely on the check.
        this.pubSubUri = uris.get(0);
        this.pubSubClient = uris.size() == 1 ? RedisClient.create() : null;
        this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
            final Thread t = new Thread(r, "routes-redis");
            t.setDaemon(true);
            return t;
        });
        this.onThread = task -> {
            try {
                thread.execute(task);
            } catch (RejectedExecutionException e) {
                task.run(); // closed: the waiting change still gets its answer
            }
        };
    }

    /**
     * Installs the shared table when there is one, or writes this replica's as the first one
     * (waiting for Redis at most {@code wait}), then follows its changes.
     */
    public void start(Duration wait) {
        final long deadline = System.nanoTime() + wait.toNanos();
        if (!redis.connect(wait)) {
            log.warn("routes store: Redis at {} not reachable at startup; routes from the configuration until it is",
                    redis.target());
        } else {
            final RouteTable before = routing.active();
            final CompletableFuture<Boolean> first = new CompletableFuture<>();
            thread.execute(() -> check(first));
            try {
                first.get(left(deadline), TimeUnit.NANOSECONDS);
                if (routing.active() != before) {
                    log.info("routes store: installed the shared routes version {} from Redis at {} instead of the"
                            + " configured routes (version {})", routing.active().version(), redis.target(),
                            before.version());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException | TimeoutException e) {
                log.warn("routes store: Redis at {} did not answer at startup; routes from the configuration until"
                        + " it does", redis.target());
            }
        }
        if (pubSubClient != null) {
            subscribe(deadline);
        }
        thread.scheduleWithFixedDelay(() -> check(null), checkPeriod.toMillis(), checkPeriod.toMillis(),
                TimeUnit.MILLISECONDS);
    }

    /**
     * Listens to the announcements of changes, waiting until {@code deadline} for the subscription
     * so that a change made right after startup is heard at once. Without a subscription (Redis
     * not there yet), tries again in the background, {@link #RESUBSCRIBE_FIRST} after the
     * failure and then twice as long each time up to {@link #RESUBSCRIBE_MAX}; meanwhile changes
     * arrive by the check. Once subscribed, Lettuce reconnects and subscribes again by itself.
     */
    private void subscribe(long deadline) {
        final CompletableFuture<Void> subscribed = connectAndSubscribe();
        subscribed.whenComplete((v, failure) -> {
            if (failure != null) {
                subscribeLater(RESUBSCRIBE_FIRST);
            }
        });
        try {
            subscribed.get(left(deadline), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            log.warn("routes store: no subscription at Redis at {} yet ({}); changes arrive by the check every {} ms"
                    + " until there is", redis.target(), e.getCause() == null ? e.toString() : e.getCause().toString(),
                    checkPeriod.toMillis());
        }
    }

    private CompletableFuture<Void> connectAndSubscribe() {
        return pubSubClient.connectPubSubAsync(StringCodec.UTF8, pubSubUri)
                .toCompletableFuture().thenCompose(c -> {
                    // Runs on Lettuce's thread: hand the read to this store's thread, never wait here.
                    c.addListener(new RedisPubSubAdapter<>() {
                        @Override
                        public void message(String from, String message) {
                            onThread.execute(() -> check(null));
                        }
                    });
                    pubSub = c;
                    return c.async().subscribe(channel).toCompletableFuture().whenComplete((v, failure) -> {
                        if (failure != null) {
                            // Connected but not subscribed: the next attempt starts over.
                            pubSub = null;
                            c.closeAsync();
                        }
                    });
                });
    }

    private void subscribeLater(Duration delay) {
        try {
            thread.schedule(() -> connectAndSubscribe().whenComplete((v, failure) -> {
                if (failure != null) {
                    log.debug("routes store: still no subscription at Redis at {}: {}", redis.target(),
                            unwrap(failure).toString());
                    final Duration doubled = delay.multipliedBy(2);
                    subscribeLater(doubled.compareTo(RESUBSCRIBE_MAX) > 0 ? RESUBSCRIBE_MAX : doubled);
                } else {
                    log.info("routes store: subscribed at Redis at {}; changes are heard at once", redis.target());
                    // What changed before the subscription, without waiting for the check.
                    onThread.execute(() -> check(null));
                }
            }), delay.toMillis(), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // Closed.
        }
    }

    private static long left(long deadline) {
        return Math.max(0, deadline - System.nanoTime());
    }

    /**
     * {@code routes_set} and {@code degrade_set}: {@code routes} as a new version, here and
     * everywhere. Fails with {@link SharedRoutesException}, nothing changed, when Redis did not take it.
     */
    public CompletionStage<RouteTable> setRoutes(RoutesSpec routes) {
        return change(() -> new Change(routing.nextVersion(), routing.active().backends(), routes));
    }

    /**
     * {@code routes_rollback}: as {@link Routing#rollback}, here and everywhere. Fails as
     * {@link #setRoutes} does, or with {@link IllegalArgumentException} for a version not kept.
     */
    public CompletionStage<RouteTable> rollback(long version) {
        return change(() -> {
            final RouteTable target = routing.rollbackTarget(version);
            return new Change(target.version(), target.backends(), target.routes());
        });
    }

    /**
     * {@code reload_config}: the file's {@code routes} as a new version, here and everywhere, and
     * its {@code backends} here. Fails as {@link #setRoutes} does.
     */
    public CompletionStage<RouteTable> reload(List<BackendSpec> backends, RoutesSpec routes) {
        return change(() -> new Change(routing.nextVersion(), backends, routes));
    }

    private CompletionStage<RouteTable> change(Supplier<Change> make) {
        final CompletableFuture<RouteTable> done = new CompletableFuture<>();
        onThread.execute(() -> {
            try {
                write(make, done);
            } catch (RuntimeException e) {
                done.completeExceptionally(e);
            }
        });
        return done;
    }

    /** On the thread: writes the change on top of the counter seen here, and installs it once Redis took it. */
    private void write(Supplier<Change> make, CompletableFuture<RouteTable> done) {
        final RedisClusterAsyncCommands<String, String> commands = redis.commands();
        if (commands == null) {
            done.completeExceptionally(new SharedRoutesException("Redis at " + redis.target() + " not connected"
                    + " (expected: reachable with routes.store: redis); routes not changed"));
            return;
        }
        if (writing) {
            done.completeExceptionally(new SharedRoutesException("another change of the routes is waiting for Redis at "
                    + redis.target() + " (expected: one at a time); routes not changed"));
            return;
        }
        final Change change = make.get();
        writing = true;
        eval(commands, seen, change.version(), change.routes()).whenCompleteAsync((reply, failure) -> {
            writing = false;
            if (failure != null) {
                done.completeExceptionally(new SharedRoutesException("Redis at " + redis.target()
                        + " did not take the change within " + timeout.toMillis() + " ms ("
                        + unwrap(failure).getClass().getSimpleName() + "); routes not changed"));
                return;
            }
            if (((Long) reply.get(0)) == 0L) {
                final String theirs = String.valueOf(reply.get(2));
                check(null);
                done.completeExceptionally(new SharedRoutesException("routes version " + theirs + " was written by"
                        + " another replica meanwhile (expected: the change made again on top of version " + theirs
                        + "); routes not changed"));
                return;
            }
            seen = (Long) reply.get(1);
            try {
                done.complete(routing.installShared(change.version(), change.backends(), change.routes()));
            } catch (RuntimeException e) {
                log.error("routes store: version {} written to Redis at {} but not installed here: {}",
                        change.version(), redis.target(), e.toString());
                done.completeExceptionally(e);
            }
        }, onThread);
    }

    private CompletableFuture<List<Object>> eval(RedisClusterAsyncCommands<String, String> commands, long expected,
                                                 long version, RoutesSpec routes) {
        return commands.<List<Object>>eval(WRITE, ScriptOutputType.MULTI, new String[] {key},
                String.valueOf(expected), String.valueOf(version), RoutingSection.toJson(routes), channel)
                .toCompletableFuture().orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * On the thread: reads the hash and installs the shared table when it changed since the one
     * installed here; with no table there, writes this replica's as the first one. Completes
     * {@code done} (may be null) with whether a table was installed.
     */
    private void check(CompletableFuture<Boolean> done) {
        final RedisClusterAsyncCommands<String, String> commands = redis.commands();
        if (commands == null || checking) {
            checkAgain |= checking;
            complete(done, false);
            return;
        }
        checking = true;
        commands.hgetall(key).toCompletableFuture().orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS)
                .whenCompleteAsync((hash, failure) -> {
                    checking = false;
                    if (failure != null) {
                        log.debug("routes store: Redis at {} did not answer: {}", redis.target(), failure.toString());
                        complete(done, false);
                    } else if (hash == null || !hash.containsKey("seq")) {
                        // Nothing shared yet, or Redis lost it.
                        seen = 0;
                        writeFirst(commands, done);
                    } else {
                        complete(done, install(hash));
                    }
                    if (checkAgain) {
                        checkAgain = false;
                        check(null);
                    }
                }, onThread);
    }

    /**
     * On the thread: this replica's table as the first shared one, taken only while the hash is
     * still empty. Of replicas starting at once, one writes it and the others install it.
     */
    private void writeFirst(RedisClusterAsyncCommands<String, String> commands, CompletableFuture<Boolean> done) {
        if (writing) {
            complete(done, false); // a change on its way writes the table
            return;
        }
        writing = true;
        final RouteTable active = routing.active();
        eval(commands, 0, active.version(), active.routes()).whenCompleteAsync((reply, failure) -> {
            writing = false;
            if (failure != null) {
                log.debug("routes store: Redis at {} did not answer: {}", redis.target(), failure.toString());
                complete(done, false);
            } else if (((Long) reply.get(0)) == 1L) {
                seen = (Long) reply.get(1);
                log.info("routes store: no shared routes at Redis at {}; this replica's routes version {} written"
                        + " as the first", redis.target(), active.version());
                complete(done, false);
            } else {
                // Another replica wrote first: its table is the one.
                check(done);
            }
        }, onThread);
    }

    /** On the thread: installs what the hash holds when its counter moved; true when it did. */
    private boolean install(Map<String, String> hash) {
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
        final RouteTable after;
        try {
            after = routing.installShared(version, routes);
        } catch (RuntimeException e) {
            log.error("routes store: shared routes version {} not installed, version {} stays active: {}", version,
                    before.version(), e.toString());
            return false;
        }
        if (after != before) {
            log.info("routes store: shared routes installed: version {} -> {}", before.version(), after.version());
        }
        return true;
    }

    private static void complete(CompletableFuture<Boolean> done, boolean installed) {
        if (done != null) {
            done.complete(installed);
        }
    }

    private static Throwable unwrap(Throwable failure) {
        return failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null
                ? failure.getCause() : failure;
    }

    @Override
    public void close() {
        thread.shutdownNow();
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
