package io.cy.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cy.coordinator.redis.RedisRouteStore;
import io.cy.coordinator.redis.SharedRoutesException;
import io.cy.coordinator.routing.BackendSpec;
import io.cy.coordinator.routing.Catalog;
import io.cy.coordinator.routing.ModelSpec;
import io.cy.coordinator.routing.RouteTable;
import io.cy.coordinator.routing.RouteTarget;
import io.cy.coordinator.routing.Routing;
import io.cy.coordinator.routing.RoutesSpec;
import io.cy.coordinator.routing.StickyKey;
import io.cy.coordinator.sidecar.BalanceSettings;
import io.cy.coordinator.sidecar.LeastInFlightRouter;
import io.cy.coordinator.sidecar.Sidecar;
import io.cy.coordinator.sidecar.SidecarPool;
import io.cy.coordinator.transport.netty.Endpoint;
import io.grpc.ManagedChannel;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.grpc.inprocess.InProcessChannelBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Replicas' route tables shared through the Redis at 127.0.0.1:6379, each test under a key prefix
 * of its own: a change on one is active on the others within a second.
 */
class RedisRouteStoreTest {

    private static final String SHARED_REDIS = "redis://127.0.0.1:6379/0";
    private static final Duration WITHIN = Duration.ofSeconds(1);

    private final List<ManagedChannel> channels = new ArrayList<>();
    private final List<RedisRouteStore> stores = new ArrayList<>();
    private String prefix;

    private static final BackendSpec GPU = backend("gpu-a", "/tmp/rs-gpu-a.sock", "m1", "m2");
    private static final BackendSpec CPU = backend("cpu-b", "/tmp/rs-cpu-b.sock", "small");

    private static BackendSpec backend(String id, String socket, String... models) {
        final List<ModelSpec> specs = new ArrayList<>();
        for (String model : models) {
            specs.add(new ModelSpec(model, List.of()));
        }
        return new BackendSpec(id, List.of(Endpoint.unix(Path.of(socket))), specs, false, BalanceSettings.DEFAULT);
    }

    private static RoutesSpec defaultTo(String backend, String model) {
        return new RoutesSpec(Map.of("default", List.of(new RouteTarget(backend, model, 1))), StickyKey.TENANT);
    }

    @BeforeEach
    void prefix() {
        prefix = "cy-test:" + UUID.randomUUID() + ":routes:";
    }

    @AfterEach
    void close() {
        stores.forEach(RedisRouteStore::close);
        channels.forEach(ManagedChannel::shutdownNow);
    }

    private Routing replica(List<BackendSpec> backends) {
        return replica(backends, defaultTo("gpu-a", "m1"));
    }

    private Routing replica(List<BackendSpec> backends, RoutesSpec routes) {
        final Map<String, List<Sidecar>> members = new LinkedHashMap<>();
        for (BackendSpec backend : backends) {
            final ManagedChannel channel = InProcessChannelBuilder.forName("routes-" + UUID.randomUUID()).build();
            channels.add(channel);
            members.put(backend.id(), List.of(new Sidecar(backend.addresses().get(0), channel, 2, 2)));
        }
        return new Routing(new SidecarPool(members, new LeastInFlightRouter()), new Catalog(), backends, routes);
    }

    private RedisRouteStore store(String url, Routing routing) {
        final RedisRouteStore store = new RedisRouteStore(url, prefix, WITHIN, routing);
        stores.add(store);
        store.start(Duration.ofSeconds(2));
        return store;
    }

    /** The change's table once Redis answered; its failure as thrown. */
    private static RouteTable changed(CompletionStage<RouteTable> change) throws Exception {
        try {
            return change.toCompletableFuture().get(5, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception cause ? cause : e;
        }
    }

    private static boolean routesTo(Routing routing, String model) {
        return routing.active().routes().aliases().get("default").get(0).model().equals(model);
    }

    @Test
    void aChangeOnOneReplicaIsActiveOnTheOtherWithinASecond() throws Exception {
        final Routing a = replica(List.of(GPU));
        final Routing b = replica(List.of(GPU));
        final RedisRouteStore storeA = store(SHARED_REDIS, a);
        store(SHARED_REDIS, b);

        final long version = changed(storeA.setRoutes(defaultTo("gpu-a", "m2"))).version();

        assertThat(version).isEqualTo(2);
        assertThat(routesTo(a, "m2")).isTrue();
        Eventually.await("replica b on version 2", WITHIN, () -> b.active().version() == 2 && routesTo(b, "m2"));
    }

    @Test
    void aRollbackPropagatesAsTheSameVersion() throws Exception {
        final Routing a = replica(List.of(GPU));
        final Routing b = replica(List.of(GPU));
        final RedisRouteStore storeA = store(SHARED_REDIS, a);
        final RedisRouteStore storeB = store(SHARED_REDIS, b);
        changed(storeA.setRoutes(defaultTo("gpu-a", "m2")));
        Eventually.await("replica b on version 2", WITHIN, () -> b.active().version() == 2);

        // Made on the other replica: both know the versions of the shared history.
        changed(storeB.rollback(0));

        assertThat(b.active().version()).isEqualTo(1);
        Eventually.await("replica a back on version 1", WITHIN, () -> a.active().version() == 1 && routesTo(a, "m1"));
        assertThat(changed(storeA.setRoutes(defaultTo("gpu-a", "m2"))).version()).isEqualTo(3);
        Eventually.await("replica b on version 3", WITHIN, () -> b.active().version() == 3 && routesTo(b, "m2"));
    }

    @Test
    void aStartingReplicaInstallsTheSharedVersionInsteadOfItsOwn() throws Exception {
        final Routing a = replica(List.of(GPU));
        final RedisRouteStore storeA = store(SHARED_REDIS, a);
        changed(storeA.setRoutes(defaultTo("gpu-a", "m2")));
        changed(storeA.setRoutes(defaultTo("gpu-a", "m1")));
        changed(storeA.setRoutes(defaultTo("gpu-a", "m2")));

        final Routing late = replica(List.of(GPU));
        assertThat(late.active().version()).isEqualTo(1);
        store(SHARED_REDIS, late);

        assertThat(late.active().version()).isEqualTo(4);
        assertThat(routesTo(late, "m2")).isTrue();
        assertThat(late.nextVersion()).isEqualTo(5);
    }

    @Test
    void sharedRoutesNamingABackendThisReplicaLacksAreRefusedHere() throws Exception {
        final Routing a = replica(List.of(GPU, CPU));
        final Routing b = replica(List.of(GPU));
        final RedisRouteStore storeA = store(SHARED_REDIS, a);
        store(SHARED_REDIS, b);

        changed(storeA.setRoutes(defaultTo("cpu-b", "small")));
        changed(storeA.setRoutes(defaultTo("gpu-a", "m2")));

        Eventually.await("replica b on version 3", WITHIN, () -> b.active().version() == 3 && routesTo(b, "m2"));
        // Version 2 never became active on b: it names cpu-b, which b does not have.
        assertThat(b.versions()).doesNotContain(2L);
    }

    @Test
    void withRedisAwayAChangeIsRefusedNamingRedisAndNothingChanges() {
        final Routing a = replica(List.of(GPU));
        final RedisRouteStore away = store("redis://127.0.0.1:1/0", a);

        assertThatThrownBy(() -> changed(away.setRoutes(defaultTo("gpu-a", "m2"))))
                .isInstanceOf(SharedRoutesException.class)
                .hasMessageContaining("Redis at 127.0.0.1:1")
                .hasMessageContaining("routes not changed");
        assertThat(a.active().version()).isEqualTo(1);
        assertThat(routesTo(a, "m1")).isTrue();
        assertThat(a.nextVersion()).isEqualTo(2);
    }

    @Test
    void aReplicaStartedBeforeRedisSubscribesOnceRedisIsThereAndHearsChanges() throws Exception {
        final int port = RedisServerProcess.freePort();
        final String url = "redis://127.0.0.1:" + port + "/0";
        // Checks once a minute: within this test, a change reaches a replica by its subscription only.
        final Duration noCheck = Duration.ofMinutes(1);
        final Routing a = replica(List.of(GPU));
        final RedisRouteStore storeA = new RedisRouteStore(url, prefix, WITHIN, noCheck, a);
        stores.add(storeA);
        storeA.start(Duration.ofMillis(200));

        try (RedisServerProcess redis = RedisServerProcess.start(port)) {
            Eventually.await("replica a subscribed", Duration.ofSeconds(10),
                    () -> redis(url, c -> c.pubsubNumsub(prefix + "changed")).get(prefix + "changed") == 1L);
            // Its reads go over a connection of their own, made on the first read after subscribing.
            Eventually.await("replica a connected for reads", Duration.ofSeconds(5),
                    () -> redis(url, c -> c.clientList().lines().filter(l -> !l.contains("cmd=client")).count()) >= 2);
            final Routing b = replica(List.of(GPU));
            final RedisRouteStore storeB = new RedisRouteStore(url, prefix, WITHIN, noCheck, b);
            stores.add(storeB);
            storeB.start(Duration.ofSeconds(2));

            final long version = changed(storeB.setRoutes(defaultTo("gpu-a", "m2"))).version();

            Eventually.await("replica a on version " + version, Duration.ofSeconds(5),
                    () -> a.active().version() == version && routesTo(a, "m2"));
        }
    }

    @Test
    void aReplicaFindingNoTableWritesItsRoutesAsTheFirstVersionAndTheNextTakesThem() throws Exception {
        final Routing a = replica(List.of(GPU));
        store(SHARED_REDIS, a);

        final Map<String, String> table = redisHash(prefix + "table");
        assertThat(table).containsEntry("seq", "1").containsEntry("version", "1");
        assertThat(table.get("routes")).contains("m1");

        final Routing b = replica(List.of(GPU), defaultTo("gpu-a", "m2"));
        store(SHARED_REDIS, b);
        assertThat(b.active().version()).isEqualTo(1);
        assertThat(routesTo(b, "m1")).as("the stored routes, not b's own").isTrue();
        assertThat(redisHash(prefix + "table")).containsEntry("seq", "1");
    }

    @Test
    void ofTwoReplicasStartingAtOnceExactlyOneWritesTheFirstTableAndTheOtherTakesIt() throws Exception {
        final Routing a = replica(List.of(GPU), defaultTo("gpu-a", "m1"));
        final Routing b = replica(List.of(GPU), defaultTo("gpu-a", "m2"));
        final RedisRouteStore storeA = new RedisRouteStore(SHARED_REDIS, prefix, WITHIN, a);
        final RedisRouteStore storeB = new RedisRouteStore(SHARED_REDIS, prefix, WITHIN, b);
        stores.add(storeA);
        stores.add(storeB);
        final CountDownLatch go = new CountDownLatch(1);
        final CompletableFuture<Void> startA = CompletableFuture.runAsync(() -> {
            awaitQuietly(go);
            storeA.start(Duration.ofSeconds(2));
        });
        final CompletableFuture<Void> startB = CompletableFuture.runAsync(() -> {
            awaitQuietly(go);
            storeB.start(Duration.ofSeconds(2));
        });
        go.countDown();
        CompletableFuture.allOf(startA, startB).get(10, TimeUnit.SECONDS);

        final Map<String, String> table = redisHash(prefix + "table");
        assertThat(table).as("one first write").containsEntry("seq", "1").containsEntry("version", "1");
        final String stored = table.get("routes").contains("m2") ? "m2" : "m1";
        assertThat(routesTo(a, stored)).isTrue();
        assertThat(routesTo(b, stored)).isTrue();
        assertThat(a.active().version()).isEqualTo(1);
        assertThat(b.active().version()).isEqualTo(1);
    }

    @Test
    void aReloadOnTopOfAVersionThisReplicaHasNotSeenIsRefusedNamingThatVersion() throws Exception {
        final Routing a = replica(List.of(GPU));
        // Checks an hour apart and no announcement below: a stays on what it saw at startup.
        final RedisRouteStore storeA = new RedisRouteStore(SHARED_REDIS, prefix, WITHIN, Duration.ofHours(1), a);
        stores.add(storeA);
        storeA.start(Duration.ofSeconds(2));
        redis(commands -> commands.hset(prefix + "table", Map.of("seq", "2", "version", "7",
                "routes", "{\"aliases\": {\"default\": {\"backend\": \"gpu-a\", \"model\": \"m2\"}}}")));

        assertThatThrownBy(() -> changed(storeA.reload(List.of(GPU), defaultTo("gpu-a", "m2"))))
                .isInstanceOf(SharedRoutesException.class)
                .hasMessageContaining("routes version 7 was written by another replica meanwhile")
                .hasMessageContaining("on top of version 7")
                .hasMessageContaining("routes not changed");
        assertThat(redisHash(prefix + "table")).containsEntry("seq", "2").containsEntry("version", "7");
        // Refused, it reads what it missed, and has no version of its own in between.
        assertThat(a.versions()).doesNotContain(2L);
        Eventually.await("replica a on version 7", WITHIN, () -> a.active().version() == 7 && routesTo(a, "m2"));
    }

    @Test
    void aReloadWritesTheRoutesForEveryReplicaAndItsBackendsHereOnly() throws Exception {
        final Routing a = replica(List.of(GPU, CPU));
        final Routing b = replica(List.of(GPU));
        final RedisRouteStore storeA = store(SHARED_REDIS, a);
        store(SHARED_REDIS, b);

        assertThat(changed(storeA.reload(List.of(GPU, CPU), defaultTo("cpu-b", "small"))).version()).isEqualTo(2);
        assertThat(redisHash(prefix + "table")).containsEntry("version", "2");
        // cpu-b leaves a's backends; the routes go to every replica.
        final RouteTable reloaded = changed(storeA.reload(List.of(GPU), defaultTo("gpu-a", "m2")));

        assertThat(reloaded.version()).isEqualTo(3);
        assertThat(a.active().backends()).containsExactly(GPU);
        Eventually.await("replica b on version 3", WITHIN, () -> b.active().version() == 3 && routesTo(b, "m2"));
        // Version 2 named cpu-b, which b does not have: refused there.
        assertThat(b.versions()).doesNotContain(2L);
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static Map<String, String> redisHash(String key) {
        return redis(commands -> commands.hgetall(key));
    }

    private static <T> T redis(java.util.function.Function<RedisCommands<String, String>, T> work) {
        return redis(SHARED_REDIS, work);
    }

    private static <T> T redis(String url, java.util.function.Function<RedisCommands<String, String>, T> work) {
        final RedisClient client = RedisClient.create(url);
        try (StatefulRedisConnection<String, String> connection = client.connect()) {
            return work.apply(connection.sync());
        } finally {
            client.shutdown();
        }
    }
}
