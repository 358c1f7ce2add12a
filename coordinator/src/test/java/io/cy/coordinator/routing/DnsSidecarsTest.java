package io.cy.coordinator.routing;

import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.config.ConfigLoader;
import io.cy.coordinator.config.CoordinatorConfig;
import io.cy.coordinator.sidecar.BalanceSettings;
import io.cy.coordinator.sidecar.LeastInFlightRouter;
import io.cy.coordinator.sidecar.Sidecar;
import io.cy.coordinator.sidecar.SidecarAddresses;
import io.cy.coordinator.sidecar.SidecarPool;
import io.cy.coordinator.transport.netty.Endpoint;
import io.cy.coordinator.transport.netty.NettyTransport;
import io.cy.llm.proto.AiInferenceGrpc;
import io.cy.llm.proto.WorkerHealthRequest;
import io.cy.sim.SimConfig;
import io.cy.sim.SimulatedSidecar;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A backend on {@code dns:///workers:port}: every address the name resolves to is a sidecar.
 * Simulated sidecars listen on 127.0.0.1, .2 and .3 with one port, a resolver answers what the
 * test says, and each refresh makes new addresses join (reachable: their Health answers) and
 * addresses gone drain; a failed lookup changes nothing.
 */
class DnsSidecarsTest {

    private final List<SimulatedSidecar> sims = new ArrayList<>();
    private final AtomicReference<List<String>> answer = new AtomicReference<>();
    private NettyTransport transport;
    private SidecarPool pool;
    private Routing routing;
    private Endpoint name;

    @BeforeEach
    void start() throws Exception {
        final SimulatedSidecar first = SimulatedSidecar.start(SimConfig.builder().listen("127.0.0.1:0").build());
        sims.add(first);
        final int port = first.endpoint().port();
        for (String host : List.of("127.0.0.2", "127.0.0.3")) {
            sims.add(SimulatedSidecar.start(SimConfig.builder().listen(host + ":" + port).build()));
        }
        name = Endpoint.parse("dns:///workers.test:" + port);
        answer.set(List.of("127.0.0.1"));
        final SidecarAddresses addresses = new SidecarAddresses(host -> {
            assertThat(host).isEqualTo("workers.test");
            final List<String> ips = answer.get();
            if (ips.isEmpty()) {
                throw new UnknownHostException(host);
            }
            final List<InetAddress> out = new ArrayList<>();
            for (String ip : ips) {
                out.add(InetAddress.getByName(ip));
            }
            return out;
        });
        final BackendSpec workers = new BackendSpec("workers", List.of(name), List.of(), true, BalanceSettings.DEFAULT);
        final CoordinatorConfig.Sidecars settings = ConfigLoader.fromYaml("", Map.of("CY_AUTH_MODE", "none")).config().sidecars();
        transport = NettyTransport.create(1, "dns-test");
        addresses.refresh(Routing.addressesOf(List.of(workers)));
        pool = SidecarPool.connect(addresses.expand(Routing.addressesOf(List.of(workers))), settings, transport,
                new LeastInFlightRouter());
        routing = new Routing(pool, new Catalog(), List.of(workers),
                new RoutesSpec(Map.of("default", List.of(new RouteTarget("workers", "m", 1))), StickyKey.NONE),
                addresses);
    }

    @AfterEach
    void stop() {
        if (pool != null) {
            pool.close(Duration.ofSeconds(1));
        }
        if (transport != null) {
            transport.close();
        }
        sims.forEach(SimulatedSidecar::close);
    }

    private List<String> members() {
        return pool.all().stream().map(Sidecar::toString).toList();
    }

    private static boolean answersHealth(Sidecar sidecar) {
        return AiInferenceGrpc.newBlockingStub(sidecar.probeChannel()).withDeadlineAfter(5, TimeUnit.SECONDS)
                .health(WorkerHealthRequest.getDefaultInstance()).getHealthy();
    }

    @Test
    void everyAddressOfTheNameIsASidecarAndRefreshesFollowTheName() {
        final int port = name.port();
        assertThat(members()).containsExactly("127.0.0.1:" + port);
        assertThat(name.toString()).isEqualTo("dns:///workers.test:" + port);

        answer.set(List.of("127.0.0.3", "127.0.0.2", "127.0.0.1"));
        routing.refreshAddresses();
        assertThat(members()).containsExactly("127.0.0.1:" + port, "127.0.0.2:" + port, "127.0.0.3:" + port);
        assertThat(pool.backend("workers")).hasSize(3).allSatisfy(sidecar -> assertThat(answersHealth(sidecar)).isTrue());

        answer.set(List.of("127.0.0.2"));
        routing.refreshAddresses();
        assertThat(members()).containsExactly("127.0.0.2:" + port);
        // The two that left had no call: the prober's next round closes them.
        assertThat(pool.retiringCount()).isEqualTo(2);
        pool.closeRetired();
        assertThat(pool.retiringCount()).isZero();

        // A name that stops resolving keeps its last addresses.
        answer.set(List.of());
        routing.refreshAddresses();
        assertThat(members()).containsExactly("127.0.0.2:" + port);
    }

    @Test
    void theSameAnswerInAnotherOrderChangesNothing() {
        answer.set(List.of("127.0.0.2", "127.0.0.1"));
        routing.refreshAddresses();
        final List<Sidecar> before = List.copyOf(pool.all());
        answer.set(List.of("127.0.0.1", "127.0.0.2"));
        routing.refreshAddresses();
        assertThat(pool.all()).containsExactlyElementsOf(before);
        assertThat(pool.retiringCount()).isZero();
    }
}
