package io.cy.coordinator.transport.netty;

import static java.util.Objects.requireNonNull;

import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutor;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The event loops and channel types shared by every gRPC server and channel of one process.
 *
 * <p>One set of event loops serves both the listeners and the sidecar channels, so a forwarded
 * message does not cross thread pools on its way through. Native epoll is used when available
 * (it is required for Unix domain sockets); elsewhere TCP falls back to NIO.
 */
public final class NettyTransport implements AutoCloseable {

    private final boolean epoll;
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;

    private NettyTransport(boolean epoll, EventLoopGroup boss, EventLoopGroup workers) {
        this.epoll = epoll;
        this.boss = boss;
        this.workers = workers;
    }

    static final String ALLOCATOR_TYPE_PROPERTY = "io.netty.allocator.type";
    static final String TRACK_PINNED_MEMORY_PROPERTY = "io.netty.trackPinnedMemory";

    /**
     * Creates the event loops.
     *
     * @param workerThreads event-loop threads; 0 means one per available processor
     * @param name thread name prefix, shown in thread dumps and profiles
     */
    public static NettyTransport create(int workerThreads, String name) {
        requireNonNull(name, "name");
        if (workerThreads < 0) {
            throw new IllegalArgumentException("workerThreads: " + workerThreads + " (expected: >= 0)");
        }
        final int threads = workerThreads == 0 ? Runtime.getRuntime().availableProcessors() : workerThreads;
        final boolean epoll = Epoll.isAvailable();
        final IoHandlerFactory io = onFixedThreads(epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        return new NettyTransport(
                epoll,
                new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory(name + "-accept", true), io),
                new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(name + "-io", true), io));
    }

    /**
     * {@code factory}'s handlers on event loops that keep their thread. An event loop whose handler
     * may change threads can be suspended when idle (Netty's auto-scaling, not used here), and to
     * that end reads the clock three times more on every turn with I/O, to add up its busy time.
     */
    static IoHandlerFactory onFixedThreads(IoHandlerFactory factory) {
        return factory::newHandler;
    }

    /**
     * Turns Netty's buffer leak detector off for a server process, unless the
     * {@code io.netty.leakDetection.level} system property asks for a level. Its default samples
     * one buffer in 128 and records a stack trace for it: a few percent of the CPU of a relayed
     * call, for a check that belongs in tests (which keep it on).
     */
    public static void disableLeakDetectionUnlessAsked() {
        if (System.getProperty("io.netty.leakDetection.level") == null) {
            ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
        }
    }

    /**
     * Makes Netty's default buffer allocator the pooled one, with per-thread caches, as grpc-java
     * and Armeria use, unless the {@code io.netty.allocator.type} system property names one. Netty
     * 4.2's own default, the adaptive allocator, cost a relayed call about a tenth more CPU with
     * several client connections on the event loops (h2load, 4 connections of 16 streams), and
     * no less in any other load of {@code scripts/bench}. To be called before any buffer is
     * allocated: the property is read once, when the allocator is made.
     *
     * <p>Its count of pinned memory goes too, unless {@code io.netty.trackPinnedMemory} is set:
     * a counter shared by all the buffers of a chunk, added to when each is handed out and taken
     * from when it is released, for a figure ({@code pinnedDirectMemory()}) nothing here reads.
     * It was 2 % of the event loops' time at h2c64.
     */
    public static void usePooledAllocatorUnlessAsked() {
        if (System.getProperty(ALLOCATOR_TYPE_PROPERTY) == null) {
            System.setProperty(ALLOCATOR_TYPE_PROPERTY, "pooled");
        }
        if (System.getProperty(TRACK_PINNED_MEMORY_PROPERTY) == null) {
            System.setProperty(TRACK_PINNED_MEMORY_PROPERTY, "false");
        }
    }

    /** Whether the native epoll transport is in use; Unix sockets need it. */
    public boolean isNative() {
        return epoll;
    }

    public NettyServerBuilder serverBuilder(Endpoint listen) {
        requireNonNull(listen, "listen");
        return NettyServerBuilder.forAddress(listen.socketAddress())
                .bossEventLoopGroup(boss)
                .workerEventLoopGroup(workers)
                .channelType(serverChannelType(listen));
    }

    public NettyChannelBuilder channelBuilder(Endpoint target) {
        requireNonNull(target, "target");
        final NettyChannelBuilder builder = target.isUnix()
                ? NettyChannelBuilder.forAddress(target.socketAddress())
                : NettyChannelBuilder.forTarget("dns:///" + target.hostPort());
        return builder.eventLoopGroup(workers)
                .channelType(channelType(target))
                .usePlaintext();
    }

    /** The I/O event loops one by one, for a client that keeps a connection per loop. */
    public List<EventLoop> eventLoops() {
        final List<EventLoop> loops = new ArrayList<>();
        for (EventExecutor executor : workers) {
            loops.add((EventLoop) executor);
        }
        return List.copyOf(loops);
    }

    /** The accepting event loop, for another server of this process (the HTTP bridge) to share. */
    public EventLoopGroup bossGroup() {
        return boss;
    }

    /** The I/O event loops, for another server of this process (the HTTP bridge) to share. */
    public EventLoopGroup workerGroup() {
        return workers;
    }

    /** The server channel class that listens on {@code listen} with these event loops. */
    public Class<? extends ServerChannel> serverChannelType(Endpoint listen) {
        if (listen.isUnix()) {
            requireNative(listen);
            return EpollServerDomainSocketChannel.class;
        }
        return epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    /** The client channel class that connects to {@code target} with these event loops (a plain HTTP client's, say). */
    public Class<? extends Channel> channelType(Endpoint target) {
        if (target.isUnix()) {
            requireNative(target);
            return EpollDomainSocketChannel.class;
        }
        return epoll ? EpollSocketChannel.class : NioSocketChannel.class;
    }

    private static void requireNative(Endpoint endpoint) {
        if (!Epoll.isAvailable()) {
            throw new IllegalStateException(endpoint + ": Unix domain sockets need Netty's native epoll transport,"
                    + " which is unavailable here: " + Epoll.unavailabilityCause());
        }
    }

    /** Shuts the event loops down; call after every server and channel using them has terminated. */
    @Override
    public void close() {
        boss.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        boss.terminationFuture().awaitUninterruptibly(5, TimeUnit.SECONDS);
        workers.terminationFuture().awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
}
