package io.cy.bench.load;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.transport.netty.Endpoint;
import io.cy.coordinator.transport.netty.NettyTransport;
import io.grpc.ManagedChannel;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContext;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;

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
        return open(transport, target, count, null);
    }

    /**
     * As {@link #open(NettyTransport, Endpoint, int)}, over TLS when {@code tlsCa} is not null:
     * the server's certificate must chain to that CA bundle and name the target's host.
     */
    public static ClientChannels open(NettyTransport transport, Endpoint target, int count, Path tlsCa) {
        requireNonNull(transport, "transport");
        requireNonNull(target, "target");
        if (count < 1) {
            throw new IllegalArgumentException("count: " + count + " (expected: >= 1)");
        }
        final SslContext ssl = tlsCa == null ? null : clientContext(tlsCa);
        final List<ManagedChannel> channels = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            final NettyChannelBuilder builder = transport.channelBuilder(target)
                    .directExecutor()
                    .disableRetry();
            if (ssl != null) {
                builder.useTransportSecurity().sslContext(ssl);
            }
            channels.add(builder.build());
        }
        return new ClientChannels(List.copyOf(channels));
    }

    private static SslContext clientContext(Path ca) {
        try {
            return GrpcSslContexts.forClient().trustManager(ca.toFile()).build();
        } catch (SSLException | IllegalArgumentException e) {
            throw new IllegalArgumentException("--tls-ca: " + ca + ": " + e.getMessage(), e);
        }
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
