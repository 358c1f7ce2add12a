package io.cy.coordinator.sidecar;

import io.cy.coordinator.transport.netty.Endpoint;
import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Real {@link Sidecar}s whose channels never need to connect, for routing tests; closed together. */
final class TestSidecars implements AutoCloseable {

    private final List<ManagedChannel> channels = new ArrayList<>();

    Sidecar sidecar(String name) {
        final ManagedChannel channel = InProcessChannelBuilder.forName("routing-test-" + name).directExecutor().build();
        channels.add(channel);
        return new Sidecar(Endpoint.unix(Path.of("/tmp/" + name + ".sock")), channel, 2, 2);
    }

    /** Sidecars {@code prefix0} to {@code prefix(n-1)}. */
    List<Sidecar> sidecars(String prefix, int n) {
        final List<Sidecar> made = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            made.add(sidecar(prefix + i));
        }
        return made;
    }

    static void busy(Sidecar sidecar, int calls) {
        for (int i = 0; i < calls; i++) {
            sidecar.acquire();
        }
    }

    static void idle(Sidecar sidecar) {
        while (sidecar.inflight() > 0) {
            sidecar.release();
        }
    }

    @Override
    public void close() {
        channels.forEach(ManagedChannel::shutdownNow);
    }
}
