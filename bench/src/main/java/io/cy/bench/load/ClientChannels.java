package io.cy.bench.load;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.transport.netty.Endpoint;
import io.cy.coordinator.transport.netty.NettyTransport;
import io.grpc.ManagedChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The channels a load run uses towards one target, closed together. */
public final class ClientChannels implements AutoCloseable {

    private final List<ManagedChannel> channels;

    private ClientChannels(List<ManagedChannel> channels) {
        this.channels = channels;
    }

    /**
     * Opens {@code count} channels, each its own connection. Callbacks run on the event loops
     * (the generator never blocks in them), and retries are off: neither should add client work
     * to what is measured.
     */
    public static ClientChannels open(NettyTransport transport, Endpoint target, int count) {
        requireNonNull(transport, "transport");
        requireNonNull(target, "target");
        if (count < 1) {
            throw new IllegalArgumentException("count: " + count + " (expected: >= 1)");
        }
        final List<ManagedChannel> channels = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            channels.add(transport.channelBuilder(target)
                    .directExecutor()
                    .disableRetry()
                    .build());
        }
        return new ClientChannels(List.copyOf(channels));
    }

    public List<ManagedChannel> channels() {
        return channels;
    }

    @Override
    public void close() {
        for (ManagedChannel channel : channels) {
            channel.shutdownNow();
        }
        for (ManagedChannel channel : channels) {
            try {
                channel.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
