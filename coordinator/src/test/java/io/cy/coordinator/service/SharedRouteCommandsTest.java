package io.cy.coordinator.service;

import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.redis.RedisRouteStore;
import io.cy.coordinator.routing.BackendSpec;
import io.cy.coordinator.routing.Catalog;
import io.cy.coordinator.routing.ModelSpec;
import io.cy.coordinator.routing.RouteTarget;
import io.cy.coordinator.sidecar.BalanceSettings;
import io.cy.coordinator.sidecar.Sidecar;
import io.cy.coordinator.transport.netty.Endpoint;
import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import java.nio.file.Path;
import io.cy.coordinator.routing.Routing;
import io.cy.coordinator.routing.RoutesSpec;
import io.cy.coordinator.routing.StickyKey;
import io.cy.coordinator.sidecar.LeastInFlightRouter;
import io.cy.coordinator.sidecar.SidecarPool;
import io.cy.llm.proto.ControlMessage;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Control route commands with {@code routes.store: redis}: answers when Redis takes the change and when it is away. */
class SharedRouteCommandsTest {

    private final String prefix = "cy-test:" + UUID.randomUUID() + ":routes:";
    private RedisRouteStore store;

    @AfterEach
    void close() {
        store.close();
        channel.shutdownNow();
    }

    private final ManagedChannel channel = InProcessChannelBuilder.forName("shared-routes-" + prefix).build();
    private static final String ROUTES = "{aliases: {default: {backend: gpu-a, model: m1}}, sticky_key: session}";

    private Routing routing() {
        final BackendSpec gpu = new BackendSpec("gpu-a", List.of(Endpoint.unix(Path.of("/tmp/shared-routes.sock"))),
                List.of(new ModelSpec("m1", List.of())), false, BalanceSettings.DEFAULT);
        final Map<String, List<Sidecar>> members = Map.of("gpu-a",
                List.of(new Sidecar(gpu.addresses().get(0), channel, 2, 2)));
        return new Routing(new SidecarPool(members, new LeastInFlightRouter()), new Catalog(), List.of(gpu),
                new RoutesSpec(Map.of("default", List.of(new RouteTarget("gpu-a", "m1", 1))), StickyKey.TENANT));
    }

    private RouteCommands commands(String url, Routing routing) {
        store = new RedisRouteStore(url, prefix, Duration.ofSeconds(1), routing);
        store.start(Duration.ofSeconds(2));
        return new RouteCommands(routing, store);
    }

    private static ControlMessage set(String routes) {
        return ControlMessage.newBuilder().setCommand("routes_set").putPayload("routes", routes).build();
    }

    @Test
    void routesSetIsWrittenToRedisAndAnswersTheNewVersion() {
        final Routing routing = routing();
        final ControlMessage answer = commands("redis://127.0.0.1:6379/0", routing)
                .set(set(ROUTES), null).toCompletableFuture().join().build();

        assertThat(answer.getPayloadMap()).containsEntry("status", "ok").containsEntry("version", "2")
                .containsEntry("old_version", "1");
        assertThat(routing.active().routes().stickyKey()).isEqualTo(StickyKey.SESSION);
    }

    @Test
    void withRedisAwayRoutesSetAnswersAnErrorNamingRedisAndTheTableStays() {
        final Routing routing = routing();
        final ControlMessage answer = commands("redis://127.0.0.1:1/0", routing)
                .set(set(ROUTES), null).toCompletableFuture().join().build();

        assertThat(answer.getPayloadMap()).containsEntry("status", "error").containsEntry("version", "1");
        assertThat(answer.getPayloadOrThrow("message")).contains("Redis at 127.0.0.1:1").contains("routes not changed");
        assertThat(routing.active().version()).isEqualTo(1);
        assertThat(routing.active().routes().stickyKey()).isEqualTo(StickyKey.TENANT);
    }
}
