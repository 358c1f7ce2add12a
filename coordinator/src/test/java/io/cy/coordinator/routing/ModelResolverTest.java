package io.cy.coordinator.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.cy.coordinator.sidecar.BalanceSettings;
import io.cy.coordinator.sidecar.RoutingKey;
import io.cy.coordinator.sidecar.Sidecar;
import io.cy.coordinator.sidecar.SidecarPool;
import io.cy.coordinator.sidecar.LeastInFlightRouter;
import io.cy.coordinator.transport.netty.Endpoint;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Every resolution path and error of a model id, the canary's shares and stickiness, and the route table's versions. */
class ModelResolverTest {

    private final List<ManagedChannel> channels = new ArrayList<>();
    private final Catalog catalog = new Catalog();
    private SidecarPool pool;
    private Routing routing;
    private Sidecar gpuA1;
    private Sidecar gpuA2;
    private Sidecar cpuB;
    private Sidecar disc;

    static final List<BackendSpec> BACKENDS = List.of(
            backend("gpu-a", List.of("/tmp/gpu-a-1.sock", "/tmp/gpu-a-2.sock"),
                    new ModelSpec("qwen2.5-7b", List.of("sql-lora", "chat-lora")), new ModelSpec("qwen2.5-7b-v2", List.of()),
                    new ModelSpec("shared", List.of())),
            backend("cpu-b", List.of("/tmp/cpu-b.sock"), new ModelSpec("qwen2.5-0.5b", List.of()),
                    new ModelSpec("shared", List.of())),
            backend("disc", List.of("/tmp/disc.sock")));

    static final RoutesSpec ROUTES = new RoutesSpec(Map.of(
            "default", List.of(new RouteTarget("gpu-a", "qwen2.5-7b", 1)),
            "low-cost", List.of(new RouteTarget("cpu-b", "qwen2.5-0.5b", 1)),
            "chat", List.of(new RouteTarget("gpu-a", "qwen2.5-7b", 90), new RouteTarget("gpu-a", "qwen2.5-7b-v2", 10))),
            StickyKey.TENANT);

    private static BackendSpec backend(String id, List<String> sockets, ModelSpec... models) {
        final List<Endpoint> addresses = new ArrayList<>();
        sockets.forEach(socket -> addresses.add(Endpoint.unix(Path.of(socket))));
        return new BackendSpec(id, addresses, List.of(models), false, BalanceSettings.DEFAULT);
    }

    @BeforeEach
    void pool() {
        final Map<String, List<Sidecar>> members = new LinkedHashMap<>();
        for (BackendSpec backend : BACKENDS) {
            final List<Sidecar> sidecars = new ArrayList<>();
            for (Endpoint address : backend.addresses()) {
                final ManagedChannel channel = InProcessChannelBuilder.forName("resolver-" + address).build();
                channels.add(channel);
                sidecars.add(new Sidecar(address, channel, 2, 2));
            }
            members.put(backend.id(), sidecars);
        }
        pool = new SidecarPool(members, new LeastInFlightRouter());
        gpuA1 = pool.backend("gpu-a").get(0);
        gpuA2 = pool.backend("gpu-a").get(1);
        cpuB = pool.backend("cpu-b").get(0);
        disc = pool.backend("disc").get(0);
        routing = new Routing(pool, catalog, BACKENDS, ROUTES);
    }

    @AfterEach
    void close() {
        channels.forEach(ManagedChannel::shutdownNow);
    }

    private Route resolved(String modelId, String adapter, String hint) {
        final Resolution resolution = routing.resolve(modelId, adapter, "tenant-1", hint);
        assertThat(resolution.error()).as("error for %s", modelId).isNull();
        return resolution.route();
    }

    private Status refused(String modelId, String adapter) {
        final Resolution resolution = routing.resolve(modelId, adapter, "tenant-1", "");
        assertThat(resolution.route()).as("route for %s", modelId).isNull();
        assertThat(resolution.error().getCode()).isEqualTo(Status.Code.NOT_FOUND);
        return resolution.error();
    }

    /** One more call in flight on {@code sidecar}. */
    private void busy(Sidecar sidecar) {
        assertThat(pool.acquire(new LeastInFlightRouter(), List.of(sidecar), List.of(), RoutingKey.NONE)).isSameAs(sidecar);
    }

    @Test
    void anEmptyModelIdGoesToAliasDefault() {
        final Route route = resolved("", "", "");
        assertThat(route.alias()).isEqualTo("default");
        assertThat(route.backends()).containsExactly("gpu-a");
        assertThat(route.model()).isEqualTo("qwen2.5-7b");
    }

    @Test
    void anAliasGoesToItsTarget() {
        final Route route = resolved("low-cost", "", "");
        assertThat(route.alias()).isEqualTo("low-cost");
        assertThat(route.backends()).containsExactly("cpu-b");
        assertThat(route.model()).isEqualTo("qwen2.5-0.5b");
    }

    @Test
    void backendSlashModelGoesToThatBackend() {
        final Route route = resolved("cpu-b/shared", "", "");
        assertThat(route.alias()).isEmpty();
        assertThat(route.backends()).containsExactly("cpu-b");
        assertThat(route.model()).isEqualTo("shared");
    }

    @Test
    void aBareModelGoesToTheBackendsServingItLeastLoadedFirst() {
        assertThat(resolved("qwen2.5-7b-v2", "", "").backends()).containsExactly("gpu-a");

        busy(cpuB);
        assertThat(resolved("shared", "", "").backends()).containsExactly("gpu-a", "cpu-b");
        for (int i = 0; i < 3; i++) {
            busy(gpuA1);
            busy(gpuA2);
        }
        // gpu-a: 6 calls over 2 sidecars (3 each) against cpu-b's 1.
        assertThat(resolved("shared", "", "").backends()).containsExactly("cpu-b", "gpu-a");
    }

    @Test
    void aSlashThatNamesNoBackendIsPartOfTheModelId() {
        assertThat(refused("Qwen/Qwen2.5-7B", "").getDescription())
                .isEqualTo("unknown model \"Qwen/Qwen2.5-7B\" (aliases: chat, default, low-cost; backends: cpu-b, disc, gpu-a)");
    }

    @Test
    void unknownThingsAreNotFoundWithTheIssuesMessages() {
        assertThat(refused("x", "").getDescription())
                .isEqualTo("unknown model \"x\" (aliases: chat, default, low-cost; backends: cpu-b, disc, gpu-a)");
        assertThat(refused("gpu-a/y", "").getDescription()).isEqualTo("backend \"gpu-a\" does not serve model \"y\"");
        assertThat(refused("gpu-a/", "").getDescription()).isEqualTo("backend \"gpu-a\" does not serve model \"\"");
        assertThat(refused("disc/m1", "").getDescription()).isEqualTo("backend \"disc\" does not serve model \"m1\"");
    }

    @Test
    void discoveredModelsResolveOnceASidecarNamesThem() {
        catalog.record(disc, List.of("m1", "m2"), List.of());
        assertThat(resolved("disc/m1", "", "").backends()).containsExactly("disc");
        assertThat(resolved("m2", "", "").backends()).containsExactly("disc");
        assertThat(routing.resolver().models(routing.active().backend("disc"))).containsExactly("m1", "m2");
    }

    @Test
    void anAdapterTheCatalogDoesNotListIsNotFound() {
        assertThat(refused("default", "math-lora").getDescription()).isEqualTo(
                "backend \"gpu-a\" model \"qwen2.5-7b\" has no adapter \"math-lora\" (adapters: chat-lora, sql-lora)");
        assertThat(resolved("default", "sql-lora", "").adapter()).isEqualTo("sql-lora");
        // No adapters listed for this model: any may be asked for, the sidecar loads it.
        assertThat(resolved("qwen2.5-7b-v2", "any-lora", "").adapter()).isEqualTo("any-lora");
    }

    @Test
    void aSidecarWithTheAdapterLoadedIsPreferred() {
        catalog.record(gpuA2, List.of(), List.of("sql-lora"));
        final Route route = resolved("default", "sql-lora", "");
        final RoutingKey key = new RoutingKey("tenant-1", "prompt", "sql-lora");
        for (int i = 0; i < 5; i++) {
            final Sidecar sidecar = routing.acquire(route, List.of(), key);
            assertThat(sidecar).isSameAs(gpuA2);
        }
        // Once it is taken (a retry), another sidecar of the backend loads the adapter.
        assertThat(routing.acquire(route, List.of(gpuA2), key)).isSameAs(gpuA1);
    }

    @Test
    void aWorkerHintWithinTheRouteIsHonouredAndAnyOtherIgnoredWithANote() {
        final Route toSidecar = resolved("default", "", gpuA2.endpoint().toString());
        assertThat(toSidecar.hinted()).isSameAs(gpuA2);
        assertThat(routing.acquire(toSidecar, List.of(), RoutingKey.NONE)).isSameAs(gpuA2);
        gpuA2.release();

        final Route toBackend = resolved("shared", "", "cpu-b");
        assertThat(toBackend.backends()).containsExactly("cpu-b");

        final Route outside = resolved("default", "", cpuB.endpoint().toString());
        assertThat(outside.hinted()).isNull();
        assertThat(outside.backends()).containsExactly("gpu-a");
        assertThat(outside.note()).isEqualTo("worker_hint ignored: not a backend or sidecar of this route");

        gpuA2.setDraining(true);
        // A hint is never a way around a drain.
        assertThat(routing.acquire(toSidecar, List.of(), RoutingKey.NONE)).isSameAs(gpuA1);
        assertThat(gpuA2.inflight()).isZero();
        gpuA1.release();
        gpuA2.setDraining(false);
        gpuA2.markUnreachable("connection refused");
        // Nor around the health of the sidecar it names.
        assertThat(routing.acquire(toSidecar, List.of(), RoutingKey.NONE)).isSameAs(gpuA1);
        assertThat(gpuA2.inflight()).isZero();
    }

    @Test
    void canarySharesAreWithinTwoPointsOfTheWeightsOverTenThousandKeys() {
        final Map<String, Integer> arms = new HashMap<>();
        for (int i = 0; i < 10_000; i++) {
            final Route route = routing.resolve("chat", "", "tenant-" + i, "").route();
            arms.merge(route.model(), 1, Integer::sum);
        }
        assertThat(arms.get("qwen2.5-7b") / 100.0).isCloseTo(90.0, within(2.0));
        assertThat(arms.get("qwen2.5-7b-v2") / 100.0).isCloseTo(10.0, within(2.0));
    }

    @Test
    void aStickyKeyStaysOnOneArm() {
        for (int i = 0; i < 200; i++) {
            final String key = "session-" + i;
            final String first = routing.resolve("chat", "", key, "").route().model();
            for (int j = 0; j < 20; j++) {
                assertThat(routing.resolve("chat", "", key, "").route().model()).isEqualTo(first);
            }
        }
    }

    @Test
    void withoutAStickyKeyTheArmIsRandomByWeight() {
        final Map<String, Integer> arms = new HashMap<>();
        for (int i = 0; i < 10_000; i++) {
            arms.merge(routing.resolve("chat", "", "", "").route().model(), 1, Integer::sum);
        }
        assertThat(arms.get("qwen2.5-7b-v2") / 100.0).isCloseTo(10.0, within(2.0));
    }

    @Test
    void setAndRollbackKeepTheLastTwentyVersionsAndRestoreOneExactly() {
        final RouteTable first = routing.active();
        assertThat(first.version()).isEqualTo(1);
        final RoutesSpec cheap = new RoutesSpec(Map.of("default", List.of(new RouteTarget("cpu-b", "qwen2.5-0.5b", 1))),
                StickyKey.NONE);
        final RouteTable second = routing.setRoutes(cheap);
        assertThat(second.version()).isEqualTo(2);
        assertThat(resolved("", "", "").backends()).containsExactly("cpu-b");
        // A call resolved with version 1 keeps it.
        assertThat(routing.resolver().resolve(first, "", "", "", "").route().backends()).containsExactly("gpu-a");

        assertThat(routing.rollback(0)).isSameAs(first);
        assertThat(resolved("", "", "").backends()).containsExactly("gpu-a");
        assertThat(routing.rollback(2)).isSameAs(second);

        for (int i = 0; i < 25; i++) {
            routing.setRoutes(ROUTES);
        }
        assertThat(routing.versions()).hasSize(Routing.KEPT_VERSIONS).startsWith(8L).endsWith(27L);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> routing.rollback(2))
                .hasMessageStartingWith("version: 2 (expected: one of 8,");
    }

    @Test
    void aReloadKeepsTheSidecarsItStillNamesAndDrainsTheOthers() {
        catalog.record(disc, List.of("m1"), List.of());
        final List<BackendSpec> without = List.of(BACKENDS.get(0), BACKENDS.get(1));
        final RoutesSpec routes = new RoutesSpec(Map.of("default", List.of(new RouteTarget("gpu-a", "qwen2.5-7b", 1))),
                StickyKey.TENANT);

        assertThat(routing.reload(without, routes).version()).isEqualTo(2);
        assertThat(pool.all()).containsExactly(gpuA1, gpuA2, cpuB);
        assertThat(pool.backend("disc")).isEmpty();
        assertThat(disc.isDraining()).isTrue();
        assertThat(pool.retiringCount()).isEqualTo(1);
        assertThat(catalog.servedAnywhere("m1")).isFalse();

        // Back as it was, sidecars included: the one that left and is not closed yet returns.
        assertThat(routing.rollback(1).version()).isEqualTo(1);
        assertThat(pool.backend("disc")).containsExactly(disc);
        assertThat(disc.isDraining()).isFalse();
        assertThat(pool.retiringCount()).isZero();
    }

    @Test
    void aNewAddressNeedsAPoolThatCanOpenSidecarsAndARefusedReloadChangesNothing() {
        final List<BackendSpec> moved = new ArrayList<>(BACKENDS);
        moved.set(2, backend("disc", List.of("/tmp/elsewhere.sock")));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> routing.reload(moved, ROUTES))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("/tmp/elsewhere.sock");
        assertThat(routing.active().version()).isEqualTo(1);
        assertThat(pool.backend("disc")).containsExactly(disc);
        assertThat(routing.reload(BACKENDS, ROUTES).version()).isEqualTo(2);
    }
}
