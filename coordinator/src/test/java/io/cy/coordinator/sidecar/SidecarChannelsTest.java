package io.cy.coordinator.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cy.coordinator.config.ConfigLoader;
import io.cy.coordinator.config.CoordinatorConfig;
import io.cy.coordinator.transport.netty.Endpoint;
import io.cy.coordinator.transport.netty.NettyTransport;
import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.netty.channel.EventLoop;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Each event loop forwards on a sidecar channel of its own; other threads get the first. */
class SidecarChannelsTest {

    private final NettyTransport transport = NettyTransport.create(3, "sidecar-channels-test");
    private SidecarPool pool;

    @AfterEach
    void close() {
        if (pool != null) {
            pool.close(Duration.ZERO);
        }
        transport.close();
    }

    @Test
    void everyEventLoopHasItsOwnChannelToEverySidecar() throws Exception {
        final CoordinatorConfig config = ConfigLoader.fromYaml("", Map.of(
                "CY_AUTH_MODE", "none",
                "SIDECAR_GRPC_ADDR", "unix:///tmp/sidecar-channels-a.sock,unix:///tmp/sidecar-channels-b.sock"))
                .config();
        pool = SidecarPool.connect(config.sidecars(), transport, new LeastInFlightRouter());
        final List<EventLoop> loops = transport.eventLoops();
        assertThat(loops).hasSize(3);

        for (Sidecar sidecar : pool.all()) {
            assertThat(sidecar.channels()).hasSize(3).doesNotHaveDuplicates();
            for (int i = 0; i < loops.size(); i++) {
                final ManagedChannel onLoop = loops.get(i).submit(sidecar::channel).get(5, TimeUnit.SECONDS);
                assertThat(onLoop).as("the channel of loop %d", i).isSameAs(sidecar.channels().get(i));
            }
            assertThat(sidecar.channel()).as("from a thread outside the loops").isSameAs(sidecar.channels().get(0));
        }
    }

    @Test
    void channelsAndLoopsMustPair() {
        final ManagedChannel a = InProcessChannelBuilder.forName("sidecar-channels-a").build();
        final ManagedChannel b = InProcessChannelBuilder.forName("sidecar-channels-b").build();
        final Endpoint endpoint = Endpoint.unix(Path.of("/tmp/sidecar-channels.sock"));
        try {
            assertThatThrownBy(() -> new Sidecar(endpoint, List.of(), List.of(), null, 2, 2))
                    .hasMessage("channels: empty (expected: at least one)");
            assertThatThrownBy(() -> new Sidecar(endpoint, List.of(a, b), transport.eventLoops(), null, 2, 2))
                    .hasMessage("loops: 3 (expected: 0 or 2, one per channel)");
        } finally {
            a.shutdownNow();
            b.shutdownNow();
        }
    }
}
