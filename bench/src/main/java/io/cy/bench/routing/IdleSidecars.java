package io.cy.bench.routing;

import io.cy.coordinator.sidecar.Sidecar;
import io.cy.coordinator.transport.netty.Endpoint;
import io.cy.coordinator.transport.netty.NettyTransport;
import io.grpc.ManagedChannel;
import java.util.ArrayList;
import java.util.List;

/**
 * Real {@link Sidecar}s for measuring routing alone: their channels are built but never used, so
 * nothing connects, and calls in flight are counted with {@code acquire} and {@code release}.
 */
public final class IdleSidecars implements AutoCloseable {

    private final NettyTransport transport = NettyTransport.create(1, "idle-sidecars");
    private final List<ManagedChannel> channels = new ArrayList<>();

    /** {@code n} sidecars at distinct addresses of a private network. */
    public List<Sidecar> make(int n) {
        final List<Sidecar> sidecars = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            final Endpoint endpoint = Endpoint.tcp("10.77." + (i / 250) + "." + (i % 250 + 1), 50051);
            final ManagedChannel channel = transport.channelBuilder(endpoint).build();
            channels.add(channel);
            sidecars.add(new Sidecar(endpoint, channel, 2, 2));
        }
        return sidecars;
    }

    @Override
    public void close() {
        channels.forEach(ManagedChannel::shutdownNow);
        transport.close();
    }
}
