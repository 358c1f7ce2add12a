package io.cy.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cy.coordinator.redis.RedisRouteStore;
import io.cy.coordinator.redis.SharedRoutesException;
import io.cy.coordinator.routing.BackendSpec;
import io.cy.coordinator.routing.Catalog;
import io.cy.coordinator.routing.ModelSpec;
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
import io.grpc.inprocess.InProcessChannelBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
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
        final Map<String, List<Sidecar>> members = new LinkedHashMap<>();
        for (BackendSpec backend : backends) {
            final ManagedChannel channel = InProcessChannelBuilder.forName("routes-" + UUID.randomUUID()).build();
            channels.add(channel);
            members.put(backend.id(), List.of(new Sidecar(backend.addresses().get(0), channel, 2, 2)));
        }
        return new Routing(new SidecarPool(members, new LeastInFlightRouter()), new Catalog(), backends,
                defaultTo("gpu-a", "m1"));
    }

    private RedisRouteStore store(String url, Routing routing) {
        final RedisRouteStore store = new RedisRouteStore(url, prefix, WITHIN, routing);
        stores.add(store);
        store.start(Duration.ofSeconds(2));
        return store;
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

        final long version = storeA.setRoutes(defaultTo("gpu-a", "m2")).version();

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
        storeA.setRoutes(defaultTo("gpu-a", "m2"));
        Eventually.await("replica b on version 2", WITHIN, () -> b.active().version() == 2);

        // Made on the other replica: both know the versions of the shared history.
        storeB.rollback(0);

        assertThat(b.active().version()).isEqualTo(1);
        Eventually.await("replica a back on version 1", WITHIN, () -> a.active().version() == 1 && routesTo(a, "m1"));
        assertThat(storeA.setRoutes(defaultTo("gpu-a", "m2")).version()).isEqualTo(3);
        Eventually.await("replica b on version 3", WITHIN, () -> b.active().version() == 3 && routesTo(b, "m2"));
    }

    @Test
    void aStartingReplicaInstallsTheSharedVersionInsteadOfItsOwn() throws Exception {
        final Routing a = replica(List.of(GPU));
        final RedisRouteStore storeA = store(SHARED_REDIS, a);
        storeA.setRoutes(defaultTo("gpu-a", "m2"));
        storeA.setRoutes(defaultTo("gpu-a", "m1"));
        storeA.setRoutes(defaultTo("gpu-a", "m2"));

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

        storeA.setRoutes(defaultTo("cpu-b", "small"));
        storeA.setRoutes(defaultTo("gpu-a", "m2"));

        Eventually.await("replica b on version 3", WITHIN, () -> b.active().version() == 3 && routesTo(b, "m2"));
        // Version 2 never became active on b: it names cpu-b, which b does not have.
        assertThat(b.versions()).doesNotContain(2L);
    }

    @Test
    void withRedisAwayAChangeIsRefusedNamingRedisAndNothingChanges() {
        final Routing a = replica(List.of(GPU));
        final RedisRouteStore away = store("redis://127.0.0.1:1/0", a);

        assertThatThrownBy(() -> away.setRoutes(defaultTo("gpu-a", "m2")))
                .isInstanceOf(SharedRoutesException.class)
                .hasMessageContaining("Redis at 127.0.0.1:1")
                .hasMessageContaining("routes not changed");
        assertThat(a.active().version()).isEqualTo(1);
        assertThat(routesTo(a, "m1")).isTrue();
        assertThat(a.nextVersion()).isEqualTo(2);
    }
}
