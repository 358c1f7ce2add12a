package io.cy.bridge;

import io.cy.coordinator.transport.netty.NettyTransport;
import io.cy.sim.SimConfig;
import io.cy.sim.SimulatedSidecar;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.util.function.UnaryOperator;

/**
 * A simulated sidecar on 127.0.0.1 (ephemeral port) and a channel to it on event loops of its
 * own: the upstream of the bridge in tests that stream real tokens. Closes all three.
 */
final class SimUpstream implements AutoCloseable {

    final SimulatedSidecar sim;
    final ManagedChannel channel;
    private final NettyTransport transport;

    private SimUpstream(SimulatedSidecar sim, ManagedChannel channel, NettyTransport transport) {
        this.sim = sim;
        this.channel = channel;
        this.transport = transport;
    }

    static SimUpstream start() throws IOException {
        return start(builder -> builder);
    }

    /** @param channel adjusts the channel before it is built, e.g. a small flow-control window */
    static SimUpstream start(UnaryOperator<NettyChannelBuilder> channel) throws IOException {
        final NettyTransport transport = NettyTransport.create(1, "test-upstream");
        try {
            final SimulatedSidecar sim = SimulatedSidecar.start(SimConfig.builder().listen("127.0.0.1:0").build());
            return new SimUpstream(sim, channel.apply(transport.channelBuilder(sim.endpoint())).build(), transport);
        } catch (IOException | RuntimeException e) {
            transport.close();
            throw e;
        }
    }

    @Override
    public void close() {
        channel.shutdownNow();
        sim.close();
        transport.close();
    }
}
